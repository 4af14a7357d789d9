//! `hivec fmt` on files: `--check` lists and changes nothing, a plain run rewrites, standard
//! input goes to standard output, and a file with a syntax error is reported and left alone.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const MESSY: &str = "agent a{exec:\"x\",provides:[c]}\ncapability c()->int\n";
const TIDY: &str = "agent a { exec: \"x\", provides: [c] }\ncapability c() -> int\n";

fn hivec(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("hivec runs")
}

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-fmt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

#[test]
fn check_lists_then_fmt_rewrites() {
    let dir = scratch("rewrite");
    std::fs::write(dir.join("a.hive"), MESSY).expect("write");
    std::fs::write(dir.join("b.hive"), TIDY).expect("write");
    let out = hivec(&["fmt", "--check", "."], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "./a.hive\n");
    assert_eq!(std::fs::read_to_string(dir.join("a.hive")).unwrap(), MESSY);
    let out = hivec(&["fmt", "a.hive", "b.hive"], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(dir.join("a.hive")).unwrap(), TIDY);
    assert_eq!(hivec(&["fmt", "--check", "."], &dir).status.code(), Some(0));
}

#[test]
fn standard_input_to_standard_output() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(MESSY.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), TIDY);
}

#[test]
fn a_syntax_error_is_shown_and_the_file_kept() {
    let dir = scratch("broken");
    let broken = "agent a {exec:\"x\"}\ncapability c() int\n";
    std::fs::write(dir.join("x.hive"), broken).expect("write");
    let out = hivec(&["fmt", "--color", "never", "x.hive"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x.hive: the file has 1 syntax error"), "{err}");
    assert!(err.contains("E0001/syntax-error"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("x.hive")).unwrap(), broken);
}
