//! The live display of `hivec run`: drawn on a terminal (a pseudo-terminal from `script`),
//! absent when stderr is a pipe.

use std::process::Command;

const SOURCE: &str = r#"
agent sleeper { provides: [std.sleep], builtin: "std", concurrency: 2 }
route std.sleep -> sleeper
workflow main() -> int {
  step xs = for i in range(0, 8) { std.sleep(duration: 150ms) }
  step y = std.sleep(duration: 100ms) with { after: [xs] }
  output len(xs)
}
"#;

fn source(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-progress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("{name}.hive"));
    std::fs::write(&path, SOURCE).expect("write");
    path
}

#[test]
fn a_terminal_shows_steps_and_agents_while_the_run_goes_on() {
    let file = source("terminal");
    let command = format!("{} run {}", env!("CARGO_BIN_EXE_hivec"), file.display());
    // `script` gives the command a terminal and copies what it drew to our stdout.
    let out = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .output()
        .expect("script (util-linux) runs");
    assert!(out.status.success(), "{out:?}");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains(" steps "), "{screen}");
    assert!(screen.contains("tasks queued"), "{screen}");
    assert!(screen.contains("sleeper"), "{screen}");
    assert!(screen.contains("2/2 running"), "{screen}");
    // The summary comes after the display is cleared.
    let summary = screen.rfind("agent              tasks").expect("summary");
    assert!(!screen[summary..].contains("running ·"), "{screen}");
}

#[test]
fn a_pipe_gets_only_the_summary() {
    let file = source("pipe");
    let out = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(["run", &file.display().to_string()])
        .output()
        .expect("run hivec");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "8");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("agent              tasks"), "{stderr}");
    assert!(!stderr.contains("running ·"), "{stderr}");
}
