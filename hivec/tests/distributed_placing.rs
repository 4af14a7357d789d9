//! Placing in distributed mode with real processes: the capacity workers report with their
//! heartbeats (what other runs hold, a stale heartbeat) reaches the strategies.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/redis.rs"]
mod redis;

use cluster::*;
use redis::Redis;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// An agent named by its first argument that squares `n` (`square`, after 0.1 s) or holds a
/// slot for 20 s (`hog`), logging `name capability n` to `executed.log`.
const PAIRED: &str = r#"import json, sys, time
name = sys.argv[1]
log = open("executed.log", "a")
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["square", "hog"]}), flush=True)
    elif msg["type"] == "task":
        n = msg["input"]["n"]
        time.sleep(20 if msg["capability"] == "hog" else 0.1)
        log.write(f"{name} {msg['capability']} {n}\n")
        log.flush()
        print(json.dumps({"type": "result", "id": msg["id"], "output": n * n}), flush=True)
    elif msg["type"] == "shutdown":
        break
"#;

/// Agents `a` and `b` in a `least_busy` pool for `square`; only `a` provides `hog`, whose
/// tasks keep its slots for 20 s. Each is hosted by its own worker (`wa`, `wb`).
fn paired_project(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-distributed-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("pair.py"), PAIRED).expect("agent");
    let source = r#"capability square(n: int) -> int
capability hog(n: int) -> int
agent a {
  provides: [square, hog]
  exec: "python3 pair.py a"
  concurrency: 2
  heartbeat: 4s
}
agent b {
  provides: [square]
  exec: "python3 pair.py b"
  concurrency: 2
  heartbeat: 4s
}
pool both {
  members: [a, b]
  strategy: least_busy
}
route square -> both
workflow main(count: int) -> int {
  step xs = for i in range(0, count) { square(n: i) }
  output sum(xs)
}
workflow busy(count: int) -> int {
  step xs = for i in range(0, count) { hog(n: i) }
  output sum(xs)
}
"#;
    std::fs::write(dir.join("main.hive"), source).expect("source");
    dir
}

/// Who ran the `square` tasks: the agents' names, as they logged them.
fn squares_by(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("executed.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" square "))
        .filter_map(|l| l.split(' ').next().map(str::to_string))
        .collect()
}

/// A worker's registration as the coordinators read it.
fn registration(redis: &Redis, id: &str) -> serde_json::Value {
    let text = redis.cli(&["GET", &format!("hive:default:worker:{id}")]);
    serde_json::from_str(&text).unwrap_or_default()
}

/// A worker serves many runs: the slots another run's tasks hold on it are reported with its
/// heartbeats, and a `least_busy` pool sends the new run's tasks to the free member instead
/// of queueing them behind the other run's.
#[test]
fn a_worker_busy_with_another_run_is_not_chosen_by_least_busy() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = paired_project("busy");
    let wa = worker(&dir, &redis, &["--agent", "a", "--id", "wa"]);
    let wb = worker(&dir, &redis, &["--agent", "b", "--id", "wb"]);
    await_workers(&redis, 2);
    // Another run takes both of a's slots for 20 s.
    let hog = hivec(&dir)
        .args([
            "run",
            "main.hive",
            "--workflow",
            "busy",
            "--redis",
            &redis.url(),
        ])
        .args(["--input", "count=2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec run");
    let start = Instant::now();
    loop {
        let report = registration(&redis, "wa");
        let a = &report["capacity"]["a"];
        if a["free"] == 0 && a["instances"] == 1 {
            let runs = a["slots"][0]["runs"].as_object().expect("runs held");
            assert_eq!(runs.len(), 1, "{report}");
            assert_eq!(runs.values().next().unwrap()["tasks"], 2, "{report}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "a's slots were never reported taken: {report}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(registration(&redis, "wb")["capacity"]["b"]["free"], 2);
    let out = finish(coordinator(&dir, &redis, 12, &[]), Duration::from_secs(15));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout).trim(), sum_of_squares(12).to_string());
    let by = squares_by(&dir);
    assert_eq!(by.len(), 12, "{by:?}");
    assert!(
        by.iter().all(|a| a == "b"),
        "the busy member was chosen: {by:?}"
    );
    stop(hog);
    stop(wa);
    stop(wb);
}

/// A worker whose heartbeat is two intervals old (here: stopped with SIGSTOP, its key not yet
/// expired) is not chosen: the run's tasks go to the other member, and it finishes while
/// the stopped worker still is.
#[test]
fn a_worker_with_a_stale_heartbeat_receives_no_placement() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = paired_project("stale");
    let wa = worker(&dir, &redis, &["--agent", "a", "--id", "wa"]);
    let wb = worker(&dir, &redis, &["--agent", "b", "--id", "wb"]);
    await_workers(&redis, 2);
    signal(&wa, "-STOP");
    // Its key lives three heartbeats (12 s) after the last one; stale after two (8 s).
    let start = Instant::now();
    loop {
        let left: i64 = redis
            .cli(&["PTTL", "hive:default:worker:wa"])
            .parse()
            .unwrap_or(-2);
        if (0..3500).contains(&left) {
            break;
        }
        assert!(
            left > 0,
            "the stopped worker's key expired before it was stale"
        );
        assert!(start.elapsed() < Duration::from_secs(15), "{left}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = finish(coordinator(&dir, &redis, 12, &[]), Duration::from_secs(15));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout).trim(), sum_of_squares(12).to_string());
    signal(&wa, "-CONT");
    let by = squares_by(&dir);
    assert!(
        by.iter().all(|a| a == "b"),
        "the stale worker got tasks: {by:?}"
    );
    assert_eq!(by.len(), 12, "{by:?}");
    stop(wa);
    stop(wb);
}
