//! What `hivec run` says when an exec agent fails: the cause is in the error itself, without
//! `-v`. The agents are small Python scripts speaking the protocol.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/project.rs"]
mod project;

fn dir(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    project::dir(&format!("agent-errors-{tag}"), files)
}

fn hivec(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
    cmd
}

const CRASHES: &str = r#"capability work(n: int) -> int

agent worker {
  provides: [work]
  exec: "python3 crash.py"
  env: { MODEL_TOKEN: "tok-8c1f2e" }
}

workflow main() -> int {
  step a = work(n: 1) with { timeout: 20s }
  output a
}
"#;

/// Answers `ready`, then dies on its first task with a traceback on stderr, after more
/// lines than the error keeps and one line that shows its secret.
const CRASH: &str = r#"import json, os, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["work"]}), flush=True)
    elif msg["type"] == "task":
        for i in range(20):
            print("warming up", i, file=sys.stderr)
        print("using token", os.environ["MODEL_TOKEN"], file=sys.stderr)
        raise ValueError("the model file is missing: /models/x.bin")
"#;

#[test]
fn a_crashed_agents_error_shows_the_end_of_its_stderr() {
    let dir = dir("crash", &[("main.hive", CRASHES), ("crash.py", CRASH)]);
    let out = hivec(&dir, &["run", "main.hive"])
        .output()
        .expect("run hivec");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = &stderr[stderr.find("error: ").expect("an error")..];
    assert!(
        error.contains("exited with code 1 while running the task; its stderr ended with:"),
        "{error}"
    );
    assert!(
        error.contains("    ValueError: the model file is missing: /models/x.bin"),
        "{error}"
    );
    assert!(error.contains("    using token ***"), "{error}");
    assert!(!error.contains("tok-8c1f2e"), "{error}");
    assert!(
        !error.contains("warming up 15"),
        "only the last lines: {error}"
    );
    assert!(error.contains("`hivec run -v` shows all of it"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

const SILENT: &str = r#"capability work(n: int) -> int

agent buffered {
  provides: [work]
  exec: "python3 buffered.py"
}

workflow main() -> int {
  step a = work(n: 1) with { timeout: 5s }
  output a
}
"#;

/// Answers `hello` without flushing: to a pipe, Python's stdout is block-buffered, so the
/// runtime never sees `ready`.
const BUFFERED: &str = r#"import json, sys
for line in sys.stdin:
    if json.loads(line)["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["work"]}))
"#;

#[test]
fn an_agent_that_does_not_flush_is_told_to() {
    let dir = dir("flush", &[("main.hive", SILENT), ("buffered.py", BUFFERED)]);
    let mut child = hivec(&dir, &["run", "main.hive", "--color", "never"])
        .env_remove("PYTHONUNBUFFERED")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hivec");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // The first start fails after the 10 s the runtime waits for `ready`.
    let started = Instant::now();
    let warning = loop {
        let left = Duration::from_secs(40).saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("did not answer `hello`") => break line,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                panic!("no warning about `hello` within 40 s");
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(warning.contains("python3 buffered.py"), "{warning}");
    assert!(
        warning.contains(&format!("in {}", dir.display())),
        "{warning}"
    );
    assert!(
        warning.contains("flush it at once (in Python, `print(..., flush=True)`)"),
        "{warning}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
