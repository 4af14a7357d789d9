//! `hivec run --journal` killed with SIGKILL in the middle of a run, then `--resume`d: the
//! run completes and no step or map element that had finished runs again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every step appends its name to `runs.log`, so the log shows what ran how often. Step `b`
/// waits for a file named `go`, which the test creates only after the kill.
const WORKFLOW: &str = r#"
workflow main() -> string {
  step a = std.shell(command: "echo a >> runs.log; printf A")
  step c = for i in range(0, 3) {
    std.shell(command: "echo c${i} >> runs.log; printf ${i}")
  } with { after: [a] }
  step b = std.shell(command: "echo b >> runs.log; while [ ! -f go ]; do sleep 0.02; done; printf B")
    with { after: [c] }
  output "${a.stdout}${c[0].stdout}${c[1].stdout}${c[2].stdout}${b.stdout}"
}
"#;

fn dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), WORKFLOW).expect("write");
    dir
}

fn hivec(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.args(args).current_dir(dir);
    cmd
}

fn runs(dir: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(dir.join("runs.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn a_killed_run_resumes_without_redoing_finished_steps() {
    let dir = dir("resume");
    let mut child = hivec(&dir, &["run", "main.hive", "--journal", "run.jsonl"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hivec");
    // Wait until `b` has started, so `a` and all of `c` are finished and journaled.
    let started = Instant::now();
    while !runs(&dir).contains(&"b".to_string()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "b never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_eq!(runs(&dir), ["a", "b", "c0", "c1", "c2"]);

    std::fs::write(dir.join("go"), "").expect("go");
    let out = hivec(&dir, &["run", "main.hive", "--resume", "run.jsonl"])
        .output()
        .expect("resume");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "\"A012B\"");
    // Only `b`, which was running when the run was killed, ran again.
    assert_eq!(runs(&dir), ["a", "b", "b", "c0", "c1", "c2"]);
    let journal = std::fs::read_to_string(dir.join("run.jsonl")).expect("journal");
    assert!(journal.contains(r#""event":"resumed""#), "{journal}");
    assert!(journal.contains(r#""event":"finished""#), "{journal}");

    // Resuming a finished run runs nothing and gives the same output.
    let again = hivec(&dir, &["run", "main.hive", "--resume", "run.jsonl"])
        .output()
        .expect("resume again");
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "\"A012B\"");
    assert_eq!(runs(&dir).len(), 6);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_journal_of_other_sources_is_refused() {
    let dir = dir("refuse");
    std::fs::write(dir.join("go"), "").expect("go");
    let out = hivec(&dir, &["run", "main.hive", "--journal", "run.jsonl"])
        .output()
        .expect("run");
    assert!(out.status.success());
    std::fs::write(
        dir.join("main.hive"),
        WORKFLOW.replace("printf A", "printf AA"),
    )
    .expect("edit");
    let out = hivec(&dir, &["run", "main.hive", "--resume", "run.jsonl"])
        .output()
        .expect("resume");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("changed since"), "{err}");
    let out = hivec(
        &dir,
        &[
            "run",
            "main.hive",
            "--resume",
            "run.jsonl",
            "--input",
            "x=1",
        ],
    )
    .output()
    .expect("resume with inputs");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
