//! Every example runs as its header says (`//   hivec run …`), exactly as written, from the
//! checkout as a new user would: on its stand-in agents in `examples/agents/`, without any of
//! the secrets it reads, leaving the checkout as it was; and every example runs under
//! `--simulate`. Outputs are snapshots; the few fields that depend on which agent happened
//! to take a task are redacted by name.

#[path = "common/redis.rs"]
mod redis;

use std::process::Command;

/// The `hivec run` command in an example's header comment, split into arguments as a shell
/// would (quotes, `\` line continuations), without the leading `hivec`.
fn documented_run(source: &str) -> Vec<String> {
    let mut text = String::new();
    let lines = source
        .lines()
        .skip_while(|l| !l.starts_with("//   hivec run "));
    for line in lines {
        let line = line.trim_start_matches('/').trim();
        match line.strip_suffix('\\') {
            Some(head) => text.push_str(head),
            None => {
                text.push_str(line);
                break;
            }
        }
    }
    shell_words(&text).into_iter().skip(1).collect()
}

/// The `hivec` arguments of the README's first command (`cargo run -p hivec -- ARGS`).
fn readme_run() -> Vec<String> {
    let readme = std::fs::read_to_string("../README.md").expect("README");
    let first = readme
        .lines()
        .skip_while(|l| *l != "```sh")
        .nth(1)
        .expect("a command block in the README");
    let words = shell_words(first);
    let args = words
        .iter()
        .position(|w| w == "--")
        .expect("cargo run … --");
    assert_eq!(words[..2], ["cargo", "run"], "{first}");
    words[args + 1..].to_vec()
}

/// `text` split into words as a shell would: quotes group, whitespace separates, `#` at
/// the start of a word begins a comment.
fn shell_words(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in text.chars() {
        match (quote, c) {
            (None, '#') if !started => break,
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if started {
                    args.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        args.push(word);
    }
    args
}

/// The variables the examples read with `env("NAME")`.
fn secrets() -> Vec<String> {
    let mut names = Vec::new();
    for path in example_paths() {
        let source = std::fs::read_to_string(&path).expect("read");
        for (at, _) in source.match_indices("env(\"") {
            let rest = &source[at + "env(\"".len()..];
            names.extend(rest.split('"').next().map(str::to_string));
        }
    }
    assert!(!names.is_empty(), "the examples read no secrets");
    names
}

/// `hivec ARGS` from the root of the checkout, with none of the examples' secrets set.
fn hivec(args: &[String]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.args(args).current_dir("..").env_remove("RUST_LOG");
    for s in secrets() {
        cmd.env_remove(s);
    }
    let out = cmd.output().expect("run hivec");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn example_paths() -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir("../examples")
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "hive"))
        .collect();
    paths.sort();
    paths
}

/// What `git status` says of the checkout: every changed, new or deleted file that git does
/// not ignore.
fn checkout_status() -> String {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir("..")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git status: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The files git tracks, or that `status` shows as changed or new, written since `since`:
/// those a run wrote into the checkout, even with the content they had.
fn written_since(status: &str, since: std::time::SystemTime) -> Vec<String> {
    let tracked = Command::new("git")
        .args(["ls-files"])
        .current_dir("..")
        .output()
        .expect("git runs");
    let tracked = String::from_utf8_lossy(&tracked.stdout).into_owned();
    let shown = status
        .lines()
        .filter(|l| !l.starts_with('D'))
        .filter_map(|l| l.get(3..));
    tracked
        .lines()
        .chain(shown)
        .filter(|path| {
            std::fs::metadata(format!("../{path}"))
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .map(str::to_string)
        .collect()
}

fn examples() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for path in example_paths() {
        let source = std::fs::read_to_string(&path).expect("read");
        let args = documented_run(&source);
        assert!(
            args.first().is_some_and(|a| a == "run"),
            "{} documents no `hivec run` command",
            path.display()
        );
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        out.push((name.to_string(), args));
    }
    assert!(out.len() >= 8, "{} examples", out.len());
    out
}

#[test]
fn the_header_command_is_split_as_a_shell_would() {
    let args = documented_run(
        "// x\n//   hivec run a.hive --input 'xs=[\"a b\", \"c\"]' \\\n//     --input q=\"two words\" --trace-out t.json\n\nagent …",
    );
    assert_eq!(
        args,
        [
            "run",
            "a.hive",
            "--input",
            "xs=[\"a b\", \"c\"]",
            "--input",
            "q=two words",
            "--trace-out",
            "t.json"
        ]
    );
}

#[test]
fn every_example_runs_as_its_header_says() {
    let before = checkout_status();
    let started = std::time::SystemTime::now();
    let readme = ("README".to_string(), readme_run());
    for (name, args) in examples().into_iter().chain([readme]) {
        let (code, stdout, stderr) = hivec(&args);
        assert_eq!(code, 0, "{name}: {args:?}\n{stderr}");
        let output: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: stdout is not JSON ({e}): {stdout}"));
        if name == "README" || args.iter().any(|a| a == "--simulate") {
            continue; // in the snapshots of the example and of the simulation
        }
        snapshot(&name, &output);
    }
    // What the runs write (reports, traces) goes where git ignores it.
    let after = checkout_status();
    assert_eq!(after, before, "the runs changed the checkout");
    assert_eq!(written_since(&after, started), Vec::<String>::new());
}

/// The output of example `name`, compared with its snapshot: the few fields that depend on
/// which agent happened to take a task (timing) are redacted.
fn snapshot(name: &str, output: &serde_json::Value) {
    match name {
        "browser_fleet" => insta::assert_json_snapshot!(format!("run_{name}"), output, {
            ".pages[].load_ms" => "[depends on the browser]",
            ".screenshot" => "[depends on the browser]"
        }),
        "code_review" => insta::assert_json_snapshot!(format!("run_{name}"), output, {
            ".reviews[].score" => "[depends on the reviewer]"
        }),
        "task_auction" => insta::assert_json_snapshot!(format!("run_{name}"), output, {
            ".captions[].url" => "[depends on the winning bidder]"
        }),
        _ => insta::assert_json_snapshot!(format!("run_{name}"), output),
    }
}

/// Every example with exec agents also runs as its header says with `--redis`, its agents
/// hosted by two `hivec worker` processes: the output is the snapshot of the run in one
/// process.
#[test]
fn every_example_runs_over_redis_with_two_workers() {
    let redis = redis::Redis::start(&[]);
    for (name, args) in examples() {
        if args.iter().any(|a| a == "--simulate") {
            continue;
        }
        let file = &args[1];
        // Topics are kept in one process: such a run is refused with --redis (tested in
        // topics.rs).
        let source = std::fs::read_to_string(format!("../{file}")).unwrap_or_default();
        if source.lines().any(|l| l.starts_with("topic ")) {
            continue;
        }
        let namespace = format!("examples-{name}");
        let distributed = [
            "--redis".to_string(),
            redis.url(),
            "--namespace".into(),
            namespace.clone(),
        ];
        let workers: Vec<std::process::Child> = (0..2)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_hivec"))
                    .args(["worker", file])
                    .args(&distributed)
                    .current_dir("..")
                    .env_remove("RUST_LOG")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("hivec worker")
            })
            .collect();
        let registered = format!("hive:{namespace}:workers");
        let start = std::time::Instant::now();
        while redis.cli(&["SCARD", &registered]) != "2" {
            assert!(
                start.elapsed().as_secs() < 30,
                "{name}: the workers did not register"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let mut run = args.clone();
        run.extend(distributed);
        let (code, stdout, stderr) = hivec(&run);
        for mut w in workers {
            let _ = Command::new("kill")
                .args(["-TERM", &w.id().to_string()])
                .status();
            let drained = w.wait().expect("worker exits");
            assert!(
                drained.success(),
                "{name}: a worker did not drain: {drained}"
            );
        }
        assert_eq!(code, 0, "{name}: {run:?}\n{stderr}");
        assert!(stderr.starts_with("run id: "), "{name}: {stderr}");
        let output: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: stdout is not JSON ({e}): {stdout}"));
        snapshot(&name, &output);
    }
}

#[test]
fn every_example_runs_under_simulation() {
    for (name, mut args) in examples() {
        if !args.iter().any(|a| a == "--simulate") {
            args.push("--simulate".to_string());
        }
        // The trace and the state file are the header command's business, tested above.
        for flag in ["--trace-out", "--state-out"] {
            if let Some(i) = args.iter().position(|a| a == flag) {
                args.drain(i..(i + 2).min(args.len()));
            }
        }
        let (code, stdout, stderr) = hivec(&args);
        assert_eq!(code, 0, "{name}: {args:?}\n{stderr}");
        // Virtual time makes the summary repeatable, except the real time it took.
        let summary: Vec<&str> = stderr
            .lines()
            .map(|l| l.split(" (simulated in").next().unwrap_or(l))
            .collect();
        insta::assert_snapshot!(
            format!("simulate_{name}"),
            format!("{stdout}\n{}", summary.join("\n"))
        );
    }
}

#[test]
fn simulate_needs_a_simulate_block_on_exec_agents() {
    let dir = std::env::temp_dir().join(format!("hive-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("main.hive");
    std::fs::write(
        &file,
        "capability work() -> int\nagent w { provides: [work], exec: \"true\" }\nworkflow main() -> int {\n  step a = work()\n  output a\n}\n",
    )
    .expect("write");
    let path = file.display().to_string();
    let (code, stdout, stderr) = hivec(&["run".into(), path, "--simulate".into()]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("agent `w` has no `simulate` block"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_trace_shows_every_attempt_on_its_instance() {
    let trace = std::env::temp_dir().join(format!("hive-trace-{}.json", std::process::id()));
    let args: Vec<String> = [
        "run",
        "examples/strategy_comparison.hive",
        "--simulate",
        "--trace-out",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([trace.display().to_string()])
    .collect();
    let (code, _, stderr) = hivec(&args);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&trace).expect("trace written");
    let _ = std::fs::remove_file(&trace);
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let events = value["traceEvents"].as_array().expect("traceEvents");
    let spans: Vec<&serde_json::Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    // One complete event per attempt: the summary's task counts add up to the same number.
    let attempts: u64 = stderr
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    assert_eq!(spans.len() as u64, attempts, "{stderr}");
    // Every event's lane is named, and events on one lane never overlap.
    let named: std::collections::HashSet<(u64, u64)> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| {
            (
                e["pid"].as_u64().unwrap_or(0),
                e["tid"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let mut lanes: std::collections::HashMap<(u64, u64), Vec<(u64, u64)>> = Default::default();
    for s in &spans {
        let lane = (
            s["pid"].as_u64().unwrap_or(0),
            s["tid"].as_u64().unwrap_or(0),
        );
        assert!(named.contains(&lane), "unnamed lane {lane:?}");
        let start = s["ts"].as_u64().unwrap_or(0);
        lanes
            .entry(lane)
            .or_default()
            .push((start, start + s["dur"].as_u64().unwrap_or(0)));
    }
    for (lane, mut spans) in lanes {
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlap on {lane:?}: {w:?}");
        }
    }
}

/// The strategy comparison's table: one row per strategy, measured from the same attempts as
/// the table of agents, and makespans that add up to the run's (the steps run one after
/// another).
#[test]
fn the_strategy_comparison_has_a_row_per_strategy() {
    let args: Vec<String> = ["run", "examples/strategy_comparison.hive", "--simulate"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (code, _, stderr) = hivec(&args);
    assert_eq!(code, 0, "{stderr}");
    let seconds = |text: &str| -> f64 {
        match text.strip_suffix("ms") {
            Some(ms) => ms.parse::<f64>().expect("ms") / 1000.0,
            None => text.trim_end_matches('s').parse().expect("s"),
        }
    };
    let mut lines = stderr.lines();
    let header = lines.next().expect("the table of steps");
    assert!(header.starts_with("step "), "{stderr}");
    let rows: Vec<Vec<&str>> = lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    let strategies: Vec<&str> = rows.iter().map(|r| r[3]).collect();
    assert_eq!(
        strategies,
        [
            "(round_robin)",
            "(weighted)",
            "(least_busy)",
            "(performance)",
            "(random(two_choices))",
            "(hash)"
        ]
    );
    let step_tasks: u64 = rows
        .iter()
        .map(|r| r[4].parse::<u64>().expect("tasks"))
        .sum();
    let agent_tasks: u64 = lines
        .skip(1)
        .take_while(|l| !l.starts_with("pool "))
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .expect("tasks")
                .parse::<u64>()
                .expect("tasks")
        })
        .sum();
    assert_eq!(step_tasks, agent_tasks, "{stderr}");
    assert!(rows.iter().all(|r| r[4].parse::<u64>().unwrap_or(0) >= 200));
    let makespans: f64 = rows.iter().map(|r| seconds(r[6])).sum();
    let total = stderr
        .lines()
        .find_map(|l| l.strip_prefix("makespan "))
        .and_then(|l| l.split_whitespace().next())
        .map(seconds)
        .expect("the run's makespan");
    assert!(
        (makespans - total).abs() < 0.05,
        "{makespans} against {total}"
    );
}

/// The cache invalidation example with one cache node down: the run succeeds, the node is
/// absent from the broadcast's map and the totals, and stderr names it with its error, after
/// the step's retry was spent on it.
#[test]
fn a_cache_node_that_is_down_is_left_out_and_reported() {
    let (_, args) = examples()
        .into_iter()
        .find(|(name, _)| name == "cache_invalidation")
        .expect("the cache invalidation example");
    let out = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(&args)
        .current_dir("..")
        .env_remove("RUST_LOG")
        .env("CACHE_NODES_DOWN", "cache_ap")
        .output()
        .expect("run hivec");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let output: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let dropped = output["dropped"].as_object().expect("a map");
    let nodes: Vec<&str> = dropped.keys().map(String::as_str).collect();
    assert_eq!(nodes, ["cache_eu", "cache_us"], "{output}");
    assert_eq!(output["nodes"], 2);
    let total: i64 = dropped.values().filter_map(serde_json::Value::as_i64).sum();
    assert_eq!(output["total"], total);
    let warning = stderr
        .lines()
        .find(|l| l.contains("broadcast member `cache_ap` is absent"))
        .unwrap_or_else(|| panic!("no warning names the node: {stderr}"));
    assert!(
        warning.contains("WARN") && warning.contains("cache_ap (ap-southeast-1) is down"),
        "{warning}"
    );
    // Two attempts (`retry: 1`), both failed; the other nodes answered at once.
    let row = |agent: &str| -> Vec<String> {
        stderr
            .lines()
            .find(|l| l.starts_with(&format!("{agent} ")))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .take(3)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(row("cache_ap"), ["2", "2", "1"], "{stderr}");
    assert_eq!(row("cache_eu"), ["1", "0", "0"], "{stderr}");
}
