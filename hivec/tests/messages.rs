//! What `hivec run` says about cancelled tasks: a consensus replica cancelled once the vote
//! is decided answers late without a warning and shows as cancelled, not failed, in the
//! summary; an answer to a task id never sent is a protocol error, logged as a warning.

use std::path::PathBuf;
use std::process::Command;

/// `a` and `b` answer `yes` at once; `c` answers only when its task is cancelled, as an
/// agent whose answer crossed the `cancel` would. With `UNKNOWN`, `a` also answers a task id
/// it was never sent.
const AGENT: &str = r#"import json, sys
me = None
def send(obj):
    print(json.dumps(obj), flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        me = msg["agent"]
        send({"type": "ready", "capabilities": ["vote"]})
    elif msg["type"] == "task" and me != "c":
        send({"type": "result", "id": msg["id"], "output": "yes"})
        if me == "a" and UNKNOWN:
            send({"type": "result", "id": 999, "output": "yes"})
    elif msg["type"] == "cancel":
        send({"type": "result", "id": msg["id"], "output": "late"})
    elif msg["type"] == "shutdown":
        break
"#;

const SOURCE: &str = r#"
capability vote() -> string
agent a { provides: [vote], exec: "python3 agent.py" }
agent b { provides: [vote], exec: "python3 agent.py" }
agent c { provides: [vote], exec: "python3 agent.py" }
pool trio { members: [a, b, c] }
route vote -> trio
workflow main() -> string {
  step v = vote() with { replicas: 3 }
  output v
}
"#;

/// Runs the vote in a fresh directory; returns stdout and stderr.
fn run(tag: &str, unknown: bool) -> (String, String) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("hive-messages-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), SOURCE).expect("write");
    let agent = AGENT.replace("UNKNOWN", if unknown { "True" } else { "False" });
    std::fs::write(dir.join("agent.py"), agent).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(["run", "main.hive"])
        .current_dir(&dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("run hivec");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (stdout, stderr)
}

#[test]
fn a_late_answer_to_a_cancelled_replica_is_not_a_warning() {
    let (stdout, stderr) = run("late", false);
    assert_eq!(stdout.trim(), r#""yes""#);
    assert!(!stderr.contains("WARN"), "{stderr}");
}

#[test]
fn an_answer_to_a_task_never_sent_is_a_protocol_warning() {
    let (_, stderr) = run("unknown", true);
    assert!(
        stderr.contains("agent a#0 answered task id 999, which it was never sent"),
        "{stderr}"
    );
}

#[test]
fn a_cancelled_replica_is_counted_as_cancelled_not_failed() {
    let (_, stderr) = run("summary", false);
    let header = stderr.lines().next().unwrap_or_default();
    assert_eq!(
        header.split_whitespace().take(5).collect::<Vec<_>>(),
        ["agent", "tasks", "failed", "cancelled", "retries"],
        "{stderr}"
    );
    let row = |agent: &str| -> Vec<String> {
        let line = stderr
            .lines()
            .find(|l| l.split_whitespace().next() == Some(agent))
            .unwrap_or_else(|| panic!("no row for {agent}:\n{stderr}"));
        line.split_whitespace()
            .take(4)
            .map(str::to_string)
            .collect()
    };
    // agent, tasks finished, failed, cancelled.
    assert_eq!(row("a"), ["a", "1", "0", "0"]);
    assert_eq!(row("c"), ["c", "0", "0", "1"]);
}
