//! Shared state in distributed mode, with real components: a `redis-server` of each test's
//! own, two `hivec worker` processes and `hivec run --redis` coordinators, real exec agents
//! sending state requests, and real signals (SIGKILL, SIGSTOP) to lock holders. Every
//! process is killed on every exit path (drop guards).

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/probe.rs"]
mod probe;
#[path = "common/redis.rs"]
mod redis;

use cluster::{Reaped, Stopped, await_workers, finish, hivec, run_id, serial, text, worker};
use probe::{HIVE, PROBE, reasons};
use redis::Redis;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A project directory `hive-dstate-{tag}-{pid}` holding `files`.
fn project(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-dstate-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, body) in files {
        std::fs::write(dir.join(name), body).expect("file");
    }
    dir
}

/// A redis-server and two workers hosting the agents of `dir/main.hive`.
struct Cluster {
    dir: PathBuf,
    // Dropped first: the workers go before their Redis.
    _workers: Vec<Reaped>,
    redis: Redis,
}

impl Cluster {
    fn start(dir: PathBuf) -> Cluster {
        let redis = Redis::start(&[]);
        let workers = (0..2)
            .map(|_| Reaped::new(worker(&dir, &redis, &[])))
            .collect();
        await_workers(&redis, 2);
        Cluster {
            dir,
            _workers: workers,
            redis,
        }
    }

    /// `hivec run main.hive --redis … --workflow W --input k=v… --state-out STATE`, started.
    fn coordinator(&self, workflow: &str, inputs: &[(&str, Value)], state: &str) -> Reaped {
        Reaped::new(run_command(
            &self.dir,
            workflow,
            inputs,
            state,
            Some(&self.redis),
        ))
    }

    /// Runs `workflow` to its end: its output, its `--state-out` and its stderr.
    fn run(&self, workflow: &str, inputs: &[(&str, Value)]) -> (Value, Value, String) {
        let mut run = self.coordinator(workflow, inputs, "state.json");
        ended(
            &self.dir,
            finish(run.take(), Duration::from_secs(60)),
            "state.json",
        )
    }
}

fn run_command(
    dir: &Path,
    workflow: &str,
    inputs: &[(&str, Value)],
    state: &str,
    redis: Option<&Redis>,
) -> std::process::Child {
    let mut cmd = hivec(dir);
    cmd.args([
        "run",
        "main.hive",
        "--workflow",
        workflow,
        "--state-out",
        state,
    ]);
    if let Some(redis) = redis {
        cmd.args(["--redis", &redis.url()]);
    }
    for (k, v) in inputs {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        cmd.arg("--input").arg(format!("{k}={v}"));
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec run")
}

/// The output, the state written and the stderr of a run that succeeded.
fn ended(dir: &Path, out: std::process::Output, state: &str) -> (Value, Value, String) {
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let output = serde_json::from_slice(&out.stdout).expect("output is JSON");
    let state = std::fs::read_to_string(dir.join(state)).expect("state written");
    (
        output,
        serde_json::from_str(&state).expect("state is JSON"),
        stderr,
    )
}

fn probe_cluster(tag: &str) -> Cluster {
    Cluster::start(project(tag, &[("main.hive", HIVE), ("probe.py", PROBE)]))
}

/// Waits until the agent writes its pid to `file` (a `hold` request).
fn holder(dir: &Path, file: &str) -> u32 {
    let start = Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(dir.join(file))
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no agent took the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_refusal_is_answered_through_redis_and_the_run_goes_on() {
    let _serial = serial();
    let cluster = probe_cluster("refusals");
    let (workflow, inputs) = probe::refusals();
    let (output, state, _) = cluster.run(workflow, &inputs);
    probe::check_refusals(&output, &state);
}

#[test]
fn a_lease_in_redis_is_waited_for_and_fences_the_cell() {
    let _serial = serial();
    let cluster = probe_cluster("lease");
    let (workflow, inputs) = probe::lease();
    let (output, state, _) = cluster.run(workflow, &inputs);
    probe::check_lease(&output, &state);
    let (workflow, inputs) = probe::stale();
    let (output, state, _) = cluster.run(workflow, &inputs);
    probe::check_stale(&output, &state);
}

/// A holder stopped with SIGSTOP past its 500 ms lease, while a writer on the other worker
/// takes the lock and writes, is refused when it is continued and writes with its token.
#[test]
fn a_holder_stopped_past_its_lease_is_refused_when_it_writes() {
    let _serial = serial();
    let cluster = probe_cluster("sigstop");
    let first = json!([
        {"type": "lock", "name": "total", "ttl": 500},
        // Unstopped, it would write well within its lease.
        {"type": "hold", "file": "holding", "sleep_ms": 200},
        {"type": "put", "key": "total", "value": 1, "use_token": true},
    ]);
    // The rival asks once the holder has the lock, and gets it when the lease ends.
    let second = json!([
        {"type": "lock", "name": "total", "ttl": 5000, "pause_ms": 300},
        {"type": "put", "key": "total", "value": 10, "use_token": true},
        {"type": "unlock", "name": "total", "use_token": true},
    ]);
    let mut run = cluster.coordinator(
        "rivals",
        &[("first", first), ("second", second)],
        "state.json",
    );
    let mut stopped = Stopped::stop(holder(&cluster.dir, "holding"));
    // Past the lease, long enough for the rival to lock, write and unlock.
    std::thread::sleep(Duration::from_millis(1_500));
    stopped.resume();
    let (output, state, _) = ended(
        &cluster.dir,
        finish(run.take(), Duration::from_secs(60)),
        "state.json",
    );
    let held = reasons(&output[0]);
    assert_eq!(held[0], "locked");
    assert!(
        held[1].starts_with("put_refused: lock token 1 of `total` is stale: its lease ended"),
        "{held:?}"
    );
    assert_eq!(reasons(&output[1]), ["locked", "put_ok"]);
    assert_eq!(output[1][0]["token"], json!(2));
    assert_eq!(state["total"], json!(10));
}

/// A holder killed with SIGKILL never unlocks: its lease ends, and a writer on the other
/// worker takes the lock and writes.
#[test]
fn a_writer_killed_holding_a_lock_keeps_nobody_waiting_past_its_lease() {
    let _serial = serial();
    let cluster = probe_cluster("sigkill");
    let first = json!([
        {"type": "lock", "name": "total", "ttl": 1000},
        {"type": "hold", "file": "holding", "sleep_ms": 60_000},
        {"type": "put", "key": "total", "value": 1, "use_token": true},
    ]);
    let second = json!([
        {"type": "lock", "name": "total", "ttl": 5000, "pause_ms": 500},
        {"type": "put", "key": "total", "value": 10, "use_token": true},
        {"type": "unlock", "name": "total", "use_token": true},
    ]);
    let mut run = cluster.coordinator(
        "rivals",
        &[("first", first), ("second", second)],
        "state.json",
    );
    let pid = holder(&cluster.dir, "holding");
    assert!(cluster::kill_pid(pid, "-KILL"));
    let (output, state, stderr) = ended(
        &cluster.dir,
        finish(run.take(), Duration::from_secs(60)),
        "state.json",
    );
    // The rival waited for the dead holder's lease, not for its 60 s sleep.
    let rival = reasons(&output[1]);
    assert_eq!(rival, ["locked", "put_ok"], "{stderr}");
    assert!(output[1][0]["token"].as_u64() > Some(1));
    // The killed task ran again elsewhere, with a lock of its own.
    assert_eq!(reasons(&output[0]), ["locked", "put_ok"], "{stderr}");
    assert!(output[0][0]["token"].as_u64() > Some(1));
    assert_eq!(state["total"], json!(11));
}

/// Both workers write one `last_writer` cell and one `merge: sum` cell, 200 times: every
/// write is accepted, none is lost, the last one stands.
#[test]
fn two_workers_write_one_last_writer_cell() {
    let _serial = serial();
    let cluster = probe_cluster("last-writer");
    let (output, state, _) = cluster.run("many", &[("count", json!(200))]);
    let runs = output["runs"].as_array().expect("runs");
    let pids: std::collections::BTreeSet<u64> =
        runs.iter().filter_map(|r| r["pid"].as_u64()).collect();
    assert_eq!(pids.len(), 2, "both workers' agents wrote: {pids:?}");
    assert!(
        runs.iter()
            .all(|r| r["answers"] == json!(["put_ok", "put_ok"])),
        "{runs:?}"
    );
    assert_eq!(output["tally"], json!(200));
    assert_eq!(state["tally"], json!(200));
    let latest = state["latest"].as_i64().expect("latest is set");
    assert!((0..200).contains(&latest), "{latest}");
    // The cell's version in Redis counts every write, and the run's state keys expire.
    let keys = cluster.redis.cli(&[
        "--scan",
        "--pattern",
        "hive:default:run:*:state:cell:latest",
    ]);
    assert_eq!(cluster.redis.cli(&["HGET", keys.trim(), "n"]), "200");
    let ttl: i64 = cluster
        .redis
        .cli(&["TTL", keys.trim()])
        .parse()
        .unwrap_or(-1);
    assert!(ttl > 0, "the cell of a finished run expires: {ttl}");
    // The run's journal ends with the final state.
    let journal = keys.trim().replace(":state:cell:latest", ":journal");
    let events = cluster.redis.cli(&["XRANGE", &journal, "-", "+"]);
    let tally = events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|e| e["event"] == "state" && e["key"] == "tally");
    assert_eq!(
        tally.map(|e| e["value"].clone()),
        Some(json!(200)),
        "{events}"
    );
    // Every write was journaled by the script that applied it: one event per version.
    let versions: std::collections::BTreeSet<u64> = events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "state" && e["key"] == "latest")
        .filter_map(|e| e["version"].as_u64())
        .collect();
    assert_eq!(versions, (1..=200).collect(), "{events}");
}

/// A coordinator killed with SIGKILL after its first step wrote the state: the resumed one
/// finds the cells in Redis (the finished step is not run again).
#[test]
fn a_resumed_coordinator_keeps_the_state() {
    let _serial = serial();
    let cluster = probe_cluster("resume");
    let first = json!([{"type": "put", "key": "notes", "value": ["kept"]}]);
    let second = json!([{"type": "get", "key": "total", "pause_ms": 2000}]);
    let mut run = cluster.coordinator(
        "twice",
        &[("first", first), ("second", second)],
        "lost.json",
    );
    let id = run_id(run.child());
    let journal = format!("hive:default:run:{id}:journal");
    let start = Instant::now();
    while !cluster
        .redis
        .cli(&["XRANGE", &journal, "-", "+"])
        .contains(r#""event":"done""#)
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the first step never finished"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    run.child().kill().expect("SIGKILL");
    let _ = run.child().wait();
    // The killed coordinator's lease on the run has to end first.
    let lease = format!("hive:default:run:{id}:coordinator");
    while cluster.redis.cli(&["EXISTS", &lease]) != "0" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the lease never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut resumed = Reaped::new(
        hivec(&cluster.dir)
            .args([
                "run",
                "main.hive",
                "--resume",
                &id,
                "--redis",
                &cluster.redis.url(),
            ])
            .args(["--state-out", "state.json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run --resume"),
    );
    let (output, state, stderr) = ended(
        &cluster.dir,
        finish(resumed.take(), Duration::from_secs(60)),
        "state.json",
    );
    assert_eq!(reasons(&output[0]), ["put_ok"], "{stderr}");
    assert_eq!(state["notes"], json!(["kept"]), "{stderr}");
}

/// The research team example gives the same output and final state under `--redis` with
/// two workers as in one process.
#[test]
fn the_research_team_runs_the_same_with_two_workers() {
    let _serial = serial();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let source = std::fs::read_to_string(examples.join("research_team.hive")).expect("example");
    let dir = project("research", &[("main.hive", &source)]);
    std::fs::create_dir_all(dir.join("agents")).expect("agents dir");
    for entry in std::fs::read_dir(examples.join("agents")).expect("agents") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "py") {
            std::fs::copy(
                &path,
                dir.join("agents").join(path.file_name().expect("name")),
            )
            .expect("copy");
        }
    }
    let inputs = [("topic", json!("heat pumps in cold climates"))];
    let local = run_command(&dir, "main", &inputs, "local.json", None);
    let (local_out, local_state, _) =
        ended(&dir, finish(local, Duration::from_secs(60)), "local.json");
    let cluster = Cluster::start(dir);
    let (output, state, stderr) = cluster.run("main", &inputs);
    assert_eq!(output, local_out, "{stderr}");
    assert_eq!(state["summary"], local_state["summary"]);
    let sorted = |s: &Value| {
        let mut notes: Vec<String> = s["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .map(Value::to_string)
            .collect();
        notes.sort();
        notes
    };
    assert_eq!(sorted(&state), sorted(&local_state));
    assert_eq!(output["findings"], json!(6));
}
