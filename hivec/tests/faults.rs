//! `hivec run` against exec agents that misbehave — fail, answer wrongly, close their
//! output, hang, or are left busy by a signal to hivec — and what the run then does. The
//! agents are small Python scripts speaking the protocol; every run has a time limit, so a
//! hang fails its test instead of stalling the suite.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "common/project.rs"]
mod project;

fn dir(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    project::dir(&format!("faults-{tag}"), files)
}

fn hivec(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.args(args)
        .args(["--color", "never"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for `child` at most `limit`; one still running then is killed and the test fails.
fn wait_within(mut child: Child, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return (child.wait_with_output().expect("output"), started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "hivec still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run_within(dir: &Path, args: &[&str], limit: Duration) -> (Output, Duration) {
    wait_within(hivec(dir, args).spawn().expect("start hivec"), limit)
}

/// A protocol agent whose answer to each task is `answer(msg)`: a message (its `id` is the
/// task's unless it has one), or `None` for no answer.
fn agent(answer: &str) -> String {
    format!(
        r#"import json, os, sys, time
{answer}
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({{"type": "ready", "capabilities": ["work"]}}), flush=True)
    elif msg["type"] == "task":
        reply = answer(msg)
        if reply is not None:
            reply.setdefault("id", msg["id"])
            print(json.dumps(reply), flush=True)
"#
    )
}

const FLAKY_TRACE: &str = r#"capability work(n: int) -> int

agent flaky {
  provides: [work]
  exec: "python3 flaky.py"
}

workflow main() -> int {
  step a = work(n: 1) with { retry: 2, timeout: 20s }
  output a
}
"#;

#[test]
fn the_trace_labels_each_attempt_by_its_outcome() {
    // Attempt 1 fails, attempt 2 answers with a string for an `int`, attempt 3 succeeds.
    let flaky = agent(
        r#"def answer(msg):
    if msg["attempt"] == 1:
        return {"type": "error", "message": "not yet"}
    if msg["attempt"] == 2:
        return {"type": "result", "output": "seven"}
    return {"type": "result", "output": 7}"#,
    );
    let dir = dir("trace", &[("main.hive", FLAKY_TRACE), ("flaky.py", &flaky)]);
    let (out, _) = run_within(
        &dir,
        &["run", "main.hive", "--trace-out", "trace.json"],
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("trace.json")).expect("trace"))
            .expect("trace JSON");
    let mut attempts: Vec<(u64, String, Value)> = trace["traceEvents"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| {
            (
                e["args"]["attempt"].as_u64().expect("attempt"),
                e["cat"].as_str().expect("cat").to_string(),
                e["args"]["error"].clone(),
            )
        })
        .collect();
    attempts.sort_by_key(|a| a.0);
    let cats: Vec<&str> = attempts.iter().map(|a| a.1.as_str()).collect();
    assert_eq!(cats, ["failed", "failed", "ok"], "{trace}");
    assert!(
        attempts[1]
            .2
            .as_str()
            .is_some_and(|e| e.contains("does not match its type `int`")),
        "{trace}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const ONE_TASK: &str = r#"capability work(n: int) -> int

agent worker {
  provides: [work]
  exec: "python3 worker.py"
}

workflow main() -> int {
  step a = work(n: 7)
  output a
}
"#;

#[test]
fn an_agent_that_closes_its_output_has_crashed() {
    // Its first life closes stdout on its task and sleeps on; the next one answers.
    let worker = agent(
        r#"def answer(msg):
    if not os.path.exists("closed"):
        open("closed", "w").close()
        os.close(1)
        time.sleep(60)
    return {"type": "result", "output": msg["input"]["n"]}"#,
    );
    let dir = dir("eof", &[("main.hive", ONE_TASK), ("worker.py", &worker)]);
    let (out, took) = run_within(&dir, &["run", "main.hive", "-v"], Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "7");
    assert!(
        stderr.contains("agent worker#0 closed its output and was killed"),
        "{stderr}"
    );
    // Handled at once, not after three heartbeats (15 s) of silence.
    assert!(took < Duration::from_secs(10), "took {took:?}: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_answer_to_a_task_never_sent_fails_the_tasks_in_flight() {
    // Its answer carries an id it was never sent.
    let worker = agent(
        r#"def answer(msg):
    return {"type": "result", "id": msg["id"] + 100, "output": 1}"#,
    );
    let dir = dir(
        "unknown-id",
        &[("main.hive", ONE_TASK), ("worker.py", &worker)],
    );
    let (out, took) = run_within(&dir, &["run", "main.hive"], Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "protocol error: agent worker#0 answered task id 101, which it was never sent"
        ),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

const TWO_TASKS: &str = r#"capability work(n: int) -> int

agent worker {
  provides: [work]
  exec: "python3 worker.py"
  concurrency: 2
}

workflow main() -> int {
  step a = work(n: 1)
  step b = work(n: 2)
  output a + b
}
"#;

#[test]
fn a_second_answer_to_a_task_fails_the_tasks_in_flight() {
    // Once both tasks are in flight, it answers the first twice and never the second.
    let worker = agent(
        r#"held = []
def answer(msg):
    held.append(msg)
    if len(held) < 2:
        return None
    first = held[0]
    for _ in range(2):
        print(json.dumps({"type": "result", "id": first["id"], "output": 1}), flush=True)
    return None"#,
    );
    let dir = dir(
        "duplicate",
        &[("main.hive", TWO_TASKS), ("worker.py", &worker)],
    );
    let (out, took) = run_within(&dir, &["run", "main.hive"], Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("protocol error: agent worker#0 answered task 1 a second time"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether process `pid` has ended (a zombie has ended too: only its exit status is left).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

fn read_when_there(path: &Path, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            started.elapsed() < limit,
            "no {} after {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const BUSY: &str = r#"capability work(n: int) -> int

agent worker {
  provides: [work]
  exec: "python3 busy.py"
}

workflow main() -> int {
  step a = work(n: 1)
  step b = work(n: a + 1)
  output b
}
"#;

/// Answers `n: 1` at once; on `n: 2` it writes its pid and that of a child it starts, then
/// works without reading its input (it sees neither `cancel` nor `shutdown`), unless the
/// file `go` exists.
const BUSY_AGENT: &str = r#"def answer(msg):
    n = msg["input"]["n"]
    with open("runs", "a") as f:
        f.write(f"{n}\n")
    if n == 2 and not os.path.exists("go"):
        import subprocess
        child = subprocess.Popen(["sleep", "600"])
        with open("busy.pid", "w") as f:
            f.write(f"{os.getpid()} {child.pid}\n")
        time.sleep(600)
    return {"type": "result", "output": n if n == 1 else n * 10}"#;

#[test]
fn a_signal_stops_the_run_its_agents_and_leaves_a_journal_to_resume() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let dir = dir(
            &format!("signal-{signal}"),
            &[("main.hive", BUSY), ("busy.py", &agent(BUSY_AGENT))],
        );
        let child = hivec(&dir, &["run", "main.hive", "--journal", "run.jsonl"])
            .spawn()
            .expect("start hivec");
        let pids = read_when_there(&dir.join("busy.pid"), Duration::from_secs(30));
        let pids: Vec<u32> = pids
            .split_whitespace()
            .map(|p| p.parse().expect("pid"))
            .collect();
        let sent = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let (out, took) = wait_within(child, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(stderr.contains(&format!("SIG{signal}")), "{stderr}");
        // The agent ignored `shutdown`: it was killed after the grace period, with its child.
        assert!(took < Duration::from_secs(10), "SIG{signal} took {took:?}");
        let started = Instant::now();
        while !pids.iter().all(|&p| gone(p)) && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in &pids {
            assert!(gone(*pid), "SIG{signal}: process {pid} still runs");
        }
        let journal = std::fs::read_to_string(dir.join("run.jsonl")).expect("journal");
        let events: Vec<Value> = journal
            .lines()
            .map(|l| serde_json::from_str(l).expect("a journal event"))
            .collect();
        let last = events.last().expect("events");
        assert_eq!(last["event"], "interrupted", "{journal}");
        assert_eq!(last["signal"], format!("SIG{signal}"), "{journal}");
        // Resumed, it runs only what had not finished.
        std::fs::write(dir.join("go"), "").expect("go");
        let (out, _) = run_within(
            &dir,
            &["run", "main.hive", "--resume", "run.jsonl"],
            Duration::from_secs(30),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "20");
        let runs = std::fs::read_to_string(dir.join("runs")).expect("runs");
        assert_eq!(runs, "1\n2\n2\n", "SIG{signal}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_agent_that_exits_before_ready_is_named_with_its_code_and_stderr() {
    let source = ONE_TASK.replace("python3 worker.py", "python3 start.py");
    let start = "import sys\nprint('cannot load /models/x.bin', file=sys.stderr)\nsys.exit(3)\n";
    let dir = dir(
        "exit-at-start",
        &[("main.hive", &source), ("start.py", start)],
    );
    let (out, took) = run_within(&dir, &["run", "main.hive"], Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = &stderr[stderr.find("error: ").expect("an error")..];
    assert!(error.contains("step `main.a` failed"), "{error}");
    assert!(
        error.contains("agent worker#0 exited with code 3 before answering `hello` with `ready`"),
        "{error}"
    );
    assert!(error.contains("    cannot load /models/x.bin"), "{error}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_agent_that_never_gets_ready_is_given_up_after_one_wait() {
    // `ready` without a flush: to a pipe, Python's stdout is block-buffered.
    let buffered = r#"import json, sys
for line in sys.stdin:
    if json.loads(line)["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["work"]}))
"#;
    let source = ONE_TASK.replace("python3 worker.py", "python3 buffered.py");
    let dir = dir(
        "never-ready",
        &[("main.hive", &source), ("buffered.py", buffered)],
    );
    let child = hivec(&dir, &["run", "main.hive"])
        .env_remove("PYTHONUNBUFFERED")
        .spawn()
        .expect("start hivec");
    let (out, took) = wait_within(child, Duration::from_secs(70));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = &stderr[stderr.find("error: ").expect("an error")..];
    assert!(
        error.contains("agent worker#0 did not answer `hello` with `ready` within 10s"),
        "{error}"
    );
    assert!(error.contains("flush it at once"), "{error}");
    // One wait for `ready`, not five.
    assert!(took < Duration::from_secs(25), "took {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_step_timeout_holds_across_handoffs() {
    // Silent on its task: killed after three heartbeats, again and again.
    let source = r#"capability work(n: int) -> int

agent worker {
  provides: [work]
  exec: "python3 worker.py"
  heartbeat: 1s
}

workflow main() -> int {
  step a = work(n: 1) with { timeout: 5s }
  output a
}
"#;
    let worker = agent("def answer(msg):\n    return None");
    let dir = dir(
        "timeout-handoff",
        &[("main.hive", source), ("worker.py", &worker)],
    );
    let (out, took) = run_within(&dir, &["run", "main.hive"], Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out after 5s"), "{stderr}");
    assert!(took < Duration::from_secs(15), "took {took:?}: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_retry_goes_to_a_member_that_has_not_failed_the_task() {
    let source = r#"capability work(n: int) -> int

agent bad {
  provides: [work]
  exec: "python3 worker.py bad"
}

agent good {
  provides: [work]
  exec: "python3 worker.py good"
}

pool workers {
  members: [bad, good]
  strategy: least_busy
}

route work -> workers

workflow main() -> int {
  step a = work(n: 4) with { retry: 5 }
  output a
}
"#;
    let worker = agent(
        r#"def answer(msg):
    me = sys.argv[1]
    with open(me + ".log", "a") as f:
        f.write(f"{msg['attempt']}\n")
    if me == "bad":
        return {"type": "error", "message": "bad at this"}
    return {"type": "result", "output": msg["input"]["n"]}"#,
    );
    let dir = dir(
        "retry-elsewhere",
        &[("main.hive", source), ("worker.py", &worker)],
    );
    let (out, _) = run_within(&dir, &["run", "main.hive"], Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4");
    let tries =
        |who: &str| std::fs::read_to_string(dir.join(format!("{who}.log"))).unwrap_or_default();
    assert_eq!(tries("bad"), "1\n", "{stderr}");
    assert_eq!(tries("good"), "2\n", "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_agent_idle_for_long_is_not_dead_when_a_task_comes() {
    // Its task comes 4 s (four heartbeats) after its `ready`; it answers 2 s later, without
    // a heartbeat, within the three heartbeats it has.
    let source = r#"capability work(n: int) -> int

agent worker {
  provides: [work]
  exec: "python3 worker.py"
  heartbeat: 1s
}

workflow main() -> int {
  step pause = std.sleep(duration: 4s)
  step a = work(n: 3) with { after: [pause] }
  output a
}
"#;
    let worker = agent(
        r#"def answer(msg):
    time.sleep(2)
    return {"type": "result", "output": msg["input"]["n"]}"#,
    );
    let dir = dir("idle", &[("main.hive", source), ("worker.py", &worker)]);
    let (out, _) = run_within(&dir, &["run", "main.hive"], Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
    assert!(!stderr.contains("silent"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
