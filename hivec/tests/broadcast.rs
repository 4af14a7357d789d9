//! Broadcast and multicast steps run by `hivec run` on real exec agents: every member answers,
//! a member that fails or has no live instance is absent and reported, a step none of whose
//! members answered fails (or takes its `fallback`), `on: [a, b]` reaches only those, a resumed
//! run asks only the members that had not answered, and in distributed mode the members'
//! tasks go to the workers that host them.

#[path = "common/redis.rs"]
mod redis;

#[path = "common/cluster.rs"]
mod cluster;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A node agent: `python3 node.py NAME MODE` serves `ping(n: int) -> string`, answering
/// `NAME:n` and appending `NAME n` to `calls.log` for every task it is given. MODE `fail`
/// fails every task (retryable); `slow` sleeps 60 s before answering while the file `slow`
/// exists.
const NODE: &str = r#"import json, os, sys, time
name, mode = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["ping"]}), flush=True)
    elif msg["type"] == "task":
        n = msg["input"]["n"]
        with open("calls.log", "a") as log:
            log.write(f"{name} {n}\n")
        if mode == "fail":
            print(json.dumps({"type": "error", "id": msg["id"], "message": f"{name} is broken", "retryable": True}), flush=True)
            continue
        if mode == "slow" and os.path.exists("slow"):
            time.sleep(60)
        print(json.dumps({"type": "result", "id": msg["id"], "output": f"{name}:{n}"}), flush=True)
    elif msg["type"] == "shutdown":
        break
"#;

/// Agents `a`, `b`, `c` running [`NODE`] in `modes`, in pool `nodes`, and `workflow`.
fn source(modes: [&str; 3], workflow: &str) -> String {
    let mut out = String::from("capability ping(n: int) -> string\n\n");
    for (name, mode) in ["a", "b", "c"].iter().zip(modes) {
        let exec = match mode {
            // A command that exits at once: the agent never has a live instance.
            "dead" => "python3 -c 'import sys; sys.exit(3)'".to_string(),
            mode => format!("python3 node.py {name} {mode}"),
        };
        out.push_str(&format!(
            "agent {name} {{\n  provides: [ping]\n  exec: \"{}\"\n  heartbeat: 1s\n}}\n\n",
            exec.replace('"', "\\\"")
        ));
    }
    out.push_str("pool nodes { members: [a, b, c] }\n\n");
    out.push_str(workflow);
    out
}

const BROADCAST: &str = r#"workflow main(n: int) -> map<string> {
  step pinged = ping(n: n) with { on: nodes, broadcast: true, retry: 1, timeout: 20s }
  output pinged
}
"#;

fn project(tag: &str, source: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-broadcast-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("node.py"), NODE).expect("agent");
    std::fs::write(dir.join("main.hive"), source).expect("source");
    dir
}

/// `hivec run main.hive ARGS` in `dir`, at most a minute.
fn run(dir: &Path, args: &[&str]) -> (Output, Value) {
    let child = cluster::hivec(dir)
        .args(["run", "main.hive", "--color", "never"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec run");
    let out = cluster::finish(child, Duration::from_secs(60));
    let value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, value)
}

/// The tasks each agent was given, from `calls.log`: (agent, n).
fn calls(dir: &Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (a, n) = l.split_once(' ')?;
            Some((a.to_string(), n.parse().ok()?))
        })
        .collect();
    out.sort();
    out
}

fn called(agents: &[&str], n: u64) -> Vec<(String, u64)> {
    agents.iter().map(|a| (a.to_string(), n)).collect()
}

/// The warning lines of `stderr` that say member `agent` is absent.
fn absent<'s>(stderr: &'s str, agent: &str) -> Vec<&'s str> {
    stderr
        .lines()
        .filter(|l| l.contains(&format!("broadcast member `{agent}` is absent")))
        .collect()
}

#[test]
fn every_member_of_the_pool_answers() {
    let dir = project("all", &source(["ok", "ok", "ok"], BROADCAST));
    let (out, value) = run(&dir, &["--input", "n=7"]);
    let stderr = cluster::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(value, json!({"a": "a:7", "b": "b:7", "c": "c:7"}));
    assert_eq!(calls(&dir), called(&["a", "b", "c"], 7));
    assert!(!stderr.contains("absent"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_member_that_fails_is_absent_and_reported() {
    let dir = project("one-fails", &source(["ok", "fail", "ok"], BROADCAST));
    let (out, value) = run(&dir, &["--input", "n=3"]);
    let stderr = cluster::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(value, json!({"a": "a:3", "c": "c:3"}));
    // `retry: 1`: the failing member was asked twice, the others once.
    assert_eq!(
        calls(&dir),
        [called(&["a"], 3), called(&["b", "b"], 3), called(&["c"], 3)].concat()
    );
    let warnings = absent(&stderr, "b");
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("WARN")
            && warnings[0].contains("step `main.pinged`")
            && warnings[0].contains("(attempt 2 of 2)")
            && warnings[0].contains("b is broken"),
        "{}",
        warnings[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broadcast_none_of_whose_members_answered_fails_or_takes_its_fallback() {
    let dir = project("all-fail", &source(["fail", "fail", "fail"], BROADCAST));
    let (out, _) = run(&dir, &["--input", "n=1"]);
    let stderr = cluster::text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.contains("step `main.pinged` failed"))
        .unwrap_or_else(|| panic!("no error names the step: {stderr}"));
    assert!(
        error.contains("no member of the broadcast answered")
            && ["`a`", "`b`", "`c`"].iter().all(|m| error.contains(m)),
        "{error}"
    );
    for member in ["a", "b", "c"] {
        assert_eq!(absent(&stderr, member).len(), 1, "{stderr}");
    }

    // With a fallback, the map it stands for is the step's value.
    let with_fallback = BROADCAST.replace(
        "retry: 1, timeout: 20s",
        "retry: 1, timeout: 20s, fallback: { all: \"down\" }",
    );
    std::fs::write(
        dir.join("main.hive"),
        source(["fail", "fail", "fail"], &with_fallback),
    )
    .expect("source");
    let (out, value) = run(&dir, &["--input", "n=1"]);
    assert!(out.status.success(), "{}", cluster::text(&out.stderr));
    assert_eq!(value, json!({"all": "down"}));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_multicast_reaches_only_the_agents_it_lists() {
    let workflow = r#"workflow main(n: int) -> map<string> {
  step pinged = ping(n: n) with { on: [a, c], broadcast: true, timeout: 20s }
  output pinged
}
"#;
    let dir = project("multicast", &source(["ok", "ok", "ok"], workflow));
    let (out, value) = run(&dir, &["--input", "n=5"]);
    let stderr = cluster::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(value, json!({"a": "a:5", "c": "c:5"}));
    assert_eq!(calls(&dir), called(&["a", "c"], 5));
    // `b` serves no step of the run, so it is not even started.
    assert!(
        stderr.lines().any(|l| l.starts_with("a ")) && !stderr.lines().any(|l| l.starts_with("b ")),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_member_with_no_live_instance_is_absent_and_not_waited_for() {
    let dir = project("dead", &source(["ok", "dead", "ok"], BROADCAST));
    let started = Instant::now();
    let (out, value) = run(&dir, &["--input", "n=2"]);
    let stderr = cluster::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(value, json!({"a": "a:2", "c": "c:2"}));
    let warnings = absent(&stderr, "b");
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("no live instance")
            || warnings[0].contains("no instance of it was live"),
        "{}",
        warnings[0]
    );
    // Given up after its failed starts, or after three 1 s heartbeats at most.
    assert!(started.elapsed() < Duration::from_secs(20), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_resumed_broadcast_asks_only_the_members_that_had_not_answered() {
    let dir = project("resume", &source(["ok", "ok", "slow"], BROADCAST));
    std::fs::write(dir.join("slow"), "").expect("flag");
    let child = cluster::hivec(&dir)
        .args([
            "run",
            "main.hive",
            "--input",
            "n=4",
            "--journal",
            "run.jsonl",
        ])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hivec run");
    let mut child = cluster::Reaped::new(child);
    // Killed once `a` and `b` answered and `c` is still working.
    let start = Instant::now();
    let journal = || std::fs::read_to_string(dir.join("run.jsonl")).unwrap_or_default();
    while !(journal().contains("pinged@a")
        && journal().contains("pinged@b")
        && calls(&dir).len() == 3)
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no answers: {}",
            journal()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.child().kill();
    let _ = child.child().wait();
    std::fs::remove_file(dir.join("slow")).expect("flag");
    let (out, value) = run(&dir, &["--resume", "run.jsonl"]);
    let stderr = cluster::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(value, json!({"a": "a:4", "b": "b:4", "c": "c:4"}));
    // `a` and `b` answered before the kill and were not asked again; `c` was, once.
    assert_eq!(calls(&dir), called(&["a", "b", "c", "c"], 4));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_keyed_broadcast_runs_each_member_once_per_key() {
    let workflow = r#"workflow main(n: int) -> int {
  step first = ping(n: n) with { on: nodes, broadcast: true, key: "ping-${n}", timeout: 20s }
  step again = ping(n: n) with { on: [a, b], broadcast: true, key: "ping-${n}", after: [first], timeout: 20s }
  output len(first) + len(again)
}
"#;
    let dir = project("keyed", &source(["ok", "ok", "ok"], workflow));
    let (out, value) = run(&dir, &["--input", "n=9"]);
    let stderr = cluster::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(value, json!(5));
    // The second broadcast took each member's keyed answer from the first.
    assert_eq!(calls(&dir), called(&["a", "b", "c"], 9));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Distributed mode: `a` and a failing `d` on one worker, `b` on another, `c` on none. The
/// members' tasks reach the workers that host them; `d` is absent with its error, and `c`,
/// which no worker hosts, is absent once three of its heartbeats passed without one.
#[test]
fn over_redis_each_member_runs_on_a_worker_that_hosts_it() {
    let _serial = cluster::serial();
    let redis = redis::Redis::start(&[]);
    let mut source = source(["ok", "ok", "ok"], "");
    source = source.replace(
        "pool nodes { members: [a, b, c] }",
        "agent d {\n  provides: [ping]\n  exec: \"python3 node.py d fail\"\n  heartbeat: 1s\n}\n\npool nodes { members: [a, b, c, d] }",
    );
    source.push_str(BROADCAST);
    let dir = project("redis", &source);
    let workers = [
        cluster::Reaped::new(cluster::worker(
            &dir,
            &redis,
            &["--agent", "a", "--agent", "d"],
        )),
        cluster::Reaped::new(cluster::worker(&dir, &redis, &["--agent", "b"])),
    ];
    cluster::await_workers(&redis, 2);
    let started = Instant::now();
    let child = cluster::hivec(&dir)
        .args([
            "run",
            "main.hive",
            "--input",
            "n=6",
            "--redis",
            &redis.url(),
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec run");
    let out = cluster::finish(child, Duration::from_secs(60));
    let stderr = cluster::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or_default(),
        json!({"a": "a:6", "b": "b:6"})
    );
    assert_eq!(
        calls(&dir),
        [called(&["a"], 6), called(&["b"], 6), called(&["d", "d"], 6)].concat()
    );
    let d = absent(&stderr, "d");
    assert!(d.len() == 1 && d[0].contains("d is broken"), "{stderr}");
    let c = absent(&stderr, "c");
    assert!(
        c.len() == 1 && c[0].contains("no instance of it was live within 3s"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(30), "{stderr}");
    for mut w in workers {
        let _ = Command::new("kill")
            .args(["-TERM", &w.child().id().to_string()])
            .status();
        let _ = w.take().wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
