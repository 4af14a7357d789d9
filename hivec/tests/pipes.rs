//! Output to a reader that went away (`hivec … | head -3`): every command ends quietly with
//! status 141 (128 + SIGPIPE), never a panic or a hang. Each test gives hivec a real pipe
//! whose read end is closed, before it starts or after a few lines, and fails if hivec is
//! still running after a generous timeout rather than blocking the test run.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a command may take to notice its closed output and end.
const LIMIT: Duration = Duration::from_secs(30);

/// A failing agent that writes a lot to stderr before it exits, restarted by the runtime
/// again and again: the log has far more than three lines.
const FAILING: &str = r#"capability work(n: int) -> int

agent crasher {
  provides: [work]
  exec: "python3 crash.py"
}

workflow main() -> int {
  step a = work(n: 1) with { timeout: 20s, retry: 2 }
  output a
}
"#;

const CRASH: &str = r#"import sys
for i in range(40):
    print("crash.py: noise line", i, file=sys.stderr, flush=True)
sys.exit(3)
"#;

fn dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-pipes-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn hivec(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
    cmd
}

/// A pipe whose read end is already closed: the first write to it fails.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    writer
}

/// Waits for `child` to exit; kills it and fails the test after [`LIMIT`].
fn status_within_limit(mut child: Child, what: &str) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still ran {LIMIT:?} after its output was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `args` with stdout closed; returns the status and what went to stderr.
fn with_stdout_closed(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut child = hivec(dir, args)
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hivec");
    let mut stderr = child.stderr.take().expect("stderr");
    let reading = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let code = status_within_limit(child, &args.join(" "));
    (code, reading.join().unwrap_or_default())
}

#[test]
fn explain_check_plan_and_fmt_end_quietly_on_a_closed_stdout() {
    let dir = dir("commands");
    std::fs::write(dir.join("main.hive"), FAILING).expect("write");
    std::fs::write(dir.join("messy.hive"), "const  a : int = 1\n").expect("write");
    std::fs::write(dir.join("wrong.hive"), "const a: int = \"one\"\n").expect("write");
    for args in [
        &["explain", "E0101"][..],
        &["check", "--format", "json", "wrong.hive"][..],
        &["check", "wrong.hive"][..],
        &["plan", "main.hive"][..],
        &["plan", "main.hive", "--format", "json"][..],
        &["fmt", "--check", "messy.hive"][..],
        &["--help"][..],
    ] {
        let (code, stderr) = with_stdout_closed(&dir, args);
        assert_eq!(code, 141, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_whose_stdout_is_closed_ends_without_its_summary() {
    let dir = dir("success");
    std::fs::write(
        dir.join("main.hive"),
        "workflow main() -> string {\n  step a = std.echo(value: \"hello\")\n  output a\n}\n",
    )
    .expect("write");
    let (code, stderr) = with_stdout_closed(&dir, &["run", "main.hive"]);
    assert_eq!(code, 141, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Quietly: no summary after the output could not be written.
    assert!(!stderr.contains("run took"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `hivec run plan.json 2>&1 | head -3` on a run that fails: the log has many lines, the
/// reader takes three and goes away.
#[test]
fn a_failing_run_piped_into_head_ends() {
    let dir = dir("failing");
    std::fs::write(dir.join("main.hive"), FAILING).expect("write");
    std::fs::write(dir.join("crash.py"), CRASH).expect("write");
    let plan = hivec(&dir, &["plan", "main.hive", "--format", "json"])
        .output()
        .expect("plan");
    assert!(plan.status.success());
    std::fs::write(dir.join("plan.json"), &plan.stdout).expect("write plan");
    let (reader, writer) = std::io::pipe().expect("pipe");
    let child = hivec(&dir, &["run", "plan.json", "-v"])
        .stdout(writer.try_clone().expect("dup"))
        .stderr(writer)
        .spawn()
        .expect("start hivec");
    let mut lines = BufReader::new(reader).lines();
    for _ in 0..3 {
        lines.next().expect("a line").expect("text");
    }
    drop(lines);
    assert_eq!(status_within_limit(child, "hivec run"), 141);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An editor that stops reading the server's output but keeps its input open.
#[test]
fn the_language_server_ends_when_its_output_is_closed() {
    let dir = dir("lsp");
    let mut child = hivec(&dir, &["lsp"])
        .stdin(Stdio::piped())
        .stdout(closed_pipe())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hivec lsp");
    let mut stdin = child.stdin.take().expect("stdin");
    for message in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
        r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"textDocument/documentSymbol","params":{"textDocument":{"uri":"file:///nowhere.hive"}}}"#,
    ] {
        // The server may be gone already: that is what is tested.
        let _ = write!(stdin, "Content-Length: {}\r\n\r\n{message}", message.len());
        let _ = stdin.flush();
    }
    let code = status_within_limit(child, "hivec lsp");
    drop(stdin);
    assert_eq!(code, 141);
    let _ = std::fs::remove_dir_all(&dir);
}
