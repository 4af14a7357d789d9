//! `hivec` as a user runs it: exit codes, JSON lines, `explain`, plans, the log's colour, inputs.

use std::process::Command;

fn hivec(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(args)
        .current_dir("..")
        .output()
        .expect("run hivec");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A fresh directory holding `main.hive`.
fn scratch(tag: &str, source: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), source).expect("write");
    dir
}

/// `hivec ARGS` in `dir`, without the caller's `RUST_LOG`.
fn hivec_in(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
    cmd
}

#[test]
fn exit_codes_follow_the_language_reference() {
    assert_eq!(hivec(&["check", "examples/code_review.hive"]).0, 0);
    assert_eq!(
        hivec(&["check", "tests/errors/unused-agent.hive"]).0,
        0,
        "warnings only"
    );
    assert_eq!(hivec(&["check", "tests/errors/type-mismatch.hive"]).0, 1);
    assert_eq!(hivec(&["check", "examples/no-such-file.hive"]).0, 2);
    assert_eq!(hivec(&["check"]).0, 2, "usage error");
}

/// The examples directory holds only files that check without a diagnostic and are
/// formatted: the error fixtures live under `tests/errors/`.
#[test]
fn the_examples_directory_is_clean_and_formatted() {
    assert_eq!(hivec(&["check", "examples"]), (0, String::new()));
    assert_eq!(hivec(&["fmt", "--check", "examples"]), (0, String::new()));
}

#[test]
fn json_format_prints_one_object_per_diagnostic() {
    let (code, out) = hivec(&[
        "check",
        "--format",
        "json",
        "tests/errors/unknown-argument.hive",
    ]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let d: serde_json::Value = serde_json::from_str(lines[0]).expect("valid JSON");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "E0203");
    assert_eq!(d["file"], "tests/errors/unknown-argument.hive");
    for field in ["line", "column", "end_line", "end_column"] {
        assert!(d[field].as_u64().is_some_and(|n| n >= 1), "{field}: {d}");
    }
    assert_eq!(d["help"], "did you mean `max_words`?");
    // The "did you mean" as an edit: `max_words` over `max_wrods`.
    assert_eq!(d["fix"]["replacement"], "max_words");
    assert_eq!(d["fix"]["line"], d["line"]);
    assert_eq!(d["fix"]["column"], d["column"]);
    assert_eq!(d["fix"]["end_column"], d["end_column"]);
    assert!(d["labels"].is_array());
}

#[test]
fn explain_prints_the_explanation_by_code_or_name() {
    let (code, by_code) = hivec(&["explain", "E0501"]);
    assert_eq!(code, 0);
    assert!(by_code.contains("step-cycle"));
    assert_eq!(hivec(&["explain", "step-cycle"]).1, by_code);
    assert_eq!(hivec(&["explain", "E9999"]).0, 2);
}

#[test]
fn plan_prints_a_plan_only_for_a_clean_file() {
    let (code, text) = hivec(&["plan", "examples/code_review.hive"]);
    assert_eq!(code, 0);
    assert!(text.contains("workflow main("), "{text}");
    assert!(
        text.contains("critical path: patch → security → tests"),
        "{text}"
    );

    let (code, json) = hivec(&["plan", "examples/code_review.hive", "--format", "json"]);
    assert_eq!(code, 0);
    let plan: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(plan["format"], 2);
    assert_eq!(plan["workflows"]["main"]["steps"][0]["name"], "patch");

    let (code, dot) = hivec(&["plan", "examples/coordinator.hive", "--format", "dot"]);
    assert_eq!(code, 0);
    assert!(dot.starts_with("digraph plan {"), "{dot}");
    let (code, mermaid) = hivec(&[
        "plan",
        "examples/coordinator.hive",
        "--format",
        "mermaid",
        "--workflow",
        "build_target",
    ]);
    assert_eq!(code, 0);
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert!(mermaid.contains("workflow build_target"));
    assert!(!mermaid.contains("workflow main"), "{mermaid}");

    let (code, out) = hivec(&["plan", "tests/errors/type-mismatch.hive"]);
    assert_eq!((code, out.as_str()), (1, ""), "errors: no plan on stdout");
    assert_eq!(
        hivec(&["plan", "examples/coordinator.hive", "--workflow", "nope"]).0,
        2
    );
    assert_eq!(hivec(&["plan", "examples/missing.hive"]).0, 2);
}

#[test]
fn log_lines_are_coloured_only_when_asked_for() {
    let dir = scratch(
        "log-colour",
        "workflow main() -> bool {\n  step a = std.log(message: \"a line of the log\")\n  output a\n}\n",
    );
    let stderr = |colour: &str| {
        let out = hivec_in(&dir, &["run", "main.hive", "-v", "--color", colour])
            .env_remove("NO_COLOR")
            .output()
            .expect("run hivec");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // stderr is a pipe here, not a terminal.
    for colour in ["auto", "never"] {
        let log = stderr(colour);
        assert!(log.contains("a line of the log"), "{log}");
        assert!(!log.contains('\x1b'), "--color {colour}: {log:?}");
    }
    assert!(stderr("always").contains('\x1b'));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_bad_input_is_a_usage_error_and_all_are_reported() {
    let dir = scratch(
        "inputs",
        "workflow main(n: int, s: string, xs: list<int>, note: string?, k: int = 2) -> int {\n  step a = std.echo(value: n + k + len(xs))\n  output a\n}\n",
    );
    let run = |inputs: &[&str]| {
        let mut args = vec!["run", "main.hive"];
        for i in inputs {
            args.extend(["--input", i]);
        }
        let out = hivec_in(&dir, &args).output().expect("run hivec");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), stderr)
    };
    let (code, stderr) = run(&["n=three", "xs=[\"a\"]", "nope=1", "bare"]);
    assert_eq!(code, 2, "{stderr}");
    for problem in [
        "input `n` is not valid JSON for its type `int`",
        "input `xs` at $[0]: expected int",
        "the workflow has no input `nope`",
        "--input `bare` is not `name=value`",
        "the workflow needs input `s: string`",
    ] {
        assert!(stderr.contains(problem), "{problem}: {stderr}");
    }
    assert_eq!(stderr.lines().count(), 5, "{stderr}");
    // Missing alone is as much a usage error as invalid JSON.
    let (code, stderr) = run(&["n=1", "xs=[]"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("needs input `s: string`"), "{stderr}");
    let (code, stderr) = run(&["n=1", "xs=[]", "s=text"]);
    assert_eq!(code, 0, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Past 100 diagnostics in a file the rest are summed up in one more, and the summary line
/// still counts every one.
#[test]
fn the_summary_counts_the_diagnostics_left_out() {
    let dir = std::env::temp_dir().join(format!("hive-cli-many-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("many.hive");
    let text: String = (0..150)
        .map(|i| format!("const c{i}: int = \"a\"\n"))
        .collect();
    std::fs::write(&file, text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .arg("check")
        .arg(&file)
        .output()
        .expect("run hivec");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("[E0201/").count(), 100, "{stdout}");
    assert!(
        stdout.contains("50 more errors in this file are not shown"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("150 errors, 0 warnings in 1 path"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
