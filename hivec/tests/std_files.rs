//! The `std` agent's files are confined to the run's directory (where `hivec run` started)
//! or to the root its `files` property grants: `..`, absolute paths and symbolic links do
//! not lead out. `std.exec` runs a program through no shell, so a value cannot inject a
//! command; `hivec check` warns where a value is interpolated into a `std.shell` command.

use std::path::{Path, PathBuf};

#[path = "common/project.rs"]
mod project;

use project::hivec;

const FILES: &str = r#"workflow read(path: string) -> string {
  step text = std.read_file(path: path) with { timeout: 10s }
  output text
}

workflow write(path: string) -> bool {
  step saved = std.write_file(path: path, content: "written") with { timeout: 10s }
  output saved
}
"#;

/// A scratch directory with `run/` (where `hivec run` starts, holding `files.hive`),
/// `outside/` next to it with `secret.txt`, and `run/link`, a link to `outside`.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-std-files-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("run")).expect("dir");
    std::fs::create_dir_all(dir.join("outside")).expect("dir");
    std::fs::write(dir.join("outside/secret.txt"), "the secret").expect("write");
    std::fs::write(dir.join("run/files.hive"), FILES).expect("write");
    std::os::unix::fs::symlink(dir.join("outside"), dir.join("run/link")).expect("link");
    dir
}

/// Runs workflow `workflow` of `file` in `run/` with `path`; returns exit code and stderr.
fn run(dir: &Path, file: &str, workflow: &str, path: &str) -> (Option<i32>, String, String) {
    let input = format!("path={path}");
    let out = hivec(
        &dir.join("run"),
        &["run", file, "--workflow", workflow, "--input", &input],
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The run failed on `std` naming the path, where it resolves and the directory it must be in.
fn assert_refused(
    dir: &Path,
    (code, stdout, stderr): (Option<i32>, String, String),
    cap: &str,
    path: &str,
    real: &str,
) {
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stdout.contains("the secret"), "{stdout}");
    let root = std::fs::canonicalize(dir.join("run")).expect("real path");
    let real = std::fs::canonicalize(dir).expect("real path").join(real);
    let expected = format!(
        "{cap}: {path}: resolves to {}, outside {} (the run's directory), the only directory this agent's files may be in",
        real.display(),
        root.display()
    );
    assert!(stderr.contains(&expected), "{expected}\n{stderr}");
}

#[test]
fn a_relative_path_out_of_the_run_directory_is_refused() {
    let dir = scratch("dotdot");
    let result = run(&dir, "files.hive", "read", "../outside/secret.txt");
    assert_refused(
        &dir,
        result,
        "std.read_file",
        "../outside/secret.txt",
        "outside/secret.txt",
    );
    let result = run(&dir, "files.hive", "write", "../outside/new.txt");
    assert_refused(
        &dir,
        result,
        "std.write_file",
        "../outside/new.txt",
        "outside/new.txt",
    );
    assert!(!dir.join("outside/new.txt").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_absolute_path_outside_is_refused() {
    let dir = scratch("absolute");
    let secret = dir.join("outside/secret.txt").display().to_string();
    let result = run(&dir, "files.hive", "read", &secret);
    assert_refused(&dir, result, "std.read_file", &secret, "outside/secret.txt");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_symbolic_link_out_of_the_run_directory_is_refused() {
    let dir = scratch("link");
    let result = run(&dir, "files.hive", "read", "link/secret.txt");
    assert_refused(
        &dir,
        result,
        "std.read_file",
        "link/secret.txt",
        "outside/secret.txt",
    );
    // A file that does not exist yet, behind the link, and one under a new directory there.
    let result = run(&dir, "files.hive", "write", "link/new.txt");
    assert_refused(
        &dir,
        result,
        "std.write_file",
        "link/new.txt",
        "outside/new.txt",
    );
    let result = run(&dir, "files.hive", "write", "link/sub/new.txt");
    assert_refused(
        &dir,
        result,
        "std.write_file",
        "link/sub/new.txt",
        "outside/sub/new.txt",
    );
    // Back to the link through a directory that does not exist.
    let result = run(&dir, "files.hive", "write", "new/../link/new.txt");
    assert_refused(
        &dir,
        result,
        "std.write_file",
        "new/../link/new.txt",
        "outside/new.txt",
    );
    let result = run(&dir, "files.hive", "read", "new/../link/secret.txt");
    assert_refused(
        &dir,
        result,
        "std.read_file",
        "new/../link/secret.txt",
        "outside/secret.txt",
    );
    // A link whose target is missing is not followed out either.
    std::os::unix::fs::symlink(dir.join("outside/missing.txt"), dir.join("run/dangling"))
        .expect("link");
    let (code, _, stderr) = run(&dir, "files.hive", "write", "dangling");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("std.write_file: dangling: "), "{stderr}");
    assert!(!dir.join("outside/missing.txt").exists());
    assert!(!dir.join("outside/new.txt").exists());
    assert!(!dir.join("outside/sub").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_inside_the_run_directory_are_read_and_written() {
    let dir = scratch("inside");
    let (code, stdout, stderr) = run(&dir, "files.hive", "write", "reports/new/../a.txt");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), "true");
    assert_eq!(
        std::fs::read_to_string(dir.join("run/reports/a.txt")).expect("written"),
        "written"
    );
    let (code, stdout, stderr) = run(&dir, "files.hive", "read", "./reports/a.txt");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), "\"written\"");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_agent_with_files_reaches_its_root_and_no_further() {
    let dir = scratch("granted");
    let granted = format!(
        "agent outside_files {{ provides: [std.read_file, std.write_file], builtin: \"std\", files: \"../outside\" }}\n\
         route std.read_file -> outside_files\n\
         route std.write_file -> outside_files\n\n{FILES}"
    );
    std::fs::write(dir.join("run/granted.hive"), granted).expect("write");
    let (code, stdout, stderr) = run(&dir, "granted.hive", "read", "../outside/secret.txt");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), "\"the secret\"");
    let (code, _, stderr) = run(&dir, "granted.hive", "write", "link/granted.txt");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(dir.join("outside/granted.txt").exists());
    // The run's directory is not inside this agent's root.
    let (code, _, stderr) = run(&dir, "granted.hive", "write", "here.txt");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("(the agent's `files`), the only directory this agent's files may be in; to reach it, widen the agent's `files`"),
        "{stderr}"
    );
    assert!(!dir.join("run/here.txt").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

const COMMANDS: &str = r#"workflow exec(name: string) -> ShellResult {
  step greet = std.exec(argv: ["echo", "hello", name]) with { timeout: 10s }
  output greet
}

workflow shell(name: string) -> ShellResult {
  step greet = std.shell(command: "echo hello ${name}") with { timeout: 10s }
  output greet
}
"#;

#[test]
fn std_exec_passes_a_value_as_one_argument_and_runs_no_shell() {
    let dir = scratch("exec");
    std::fs::write(dir.join("run/commands.hive"), COMMANDS).expect("write");
    let out = hivec(
        &dir.join("run"),
        &[
            "run",
            "commands.hive",
            "--workflow",
            "exec",
            "--input",
            "name=x; touch PWNED",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let output: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(output["stdout"], "hello x; touch PWNED\n");
    assert_eq!(output["code"], 0);
    assert!(!dir.join("run/PWNED").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_program_std_exec_cannot_find_is_code_127() {
    let dir = scratch("exec-missing");
    let hive = "workflow main() -> ShellResult {\n  step r = std.exec(argv: [\"hive-no-such-program\"])\n  output r\n}\n";
    std::fs::write(dir.join("run/missing.hive"), hive).expect("write");
    let out = hivec(&dir.join("run"), &["run", "missing.hive"]);
    assert!(out.status.success(), "{out:?}");
    let output: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(output["code"], 127);
    assert!(
        output["stderr"]
            .as_str()
            .is_some_and(|s| s.starts_with("std.exec: cannot start `hive-no-such-program`")),
        "{output}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_interpolated_shell_command_warns_with_the_std_exec_call() {
    let dir = scratch("shell");
    std::fs::write(dir.join("run/commands.hive"), COMMANDS).expect("write");
    let out = hivec(
        &dir.join("run"),
        &["check", "commands.hive", "--format", "json"],
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let diags: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(diags.len(), 1, "{stdout}");
    assert_eq!(diags[0]["code"], "W0006");
    assert!(
        diags[0]["help"]
            .as_str()
            .is_some_and(|h| h.contains(r#"`std.exec(argv: ["echo", "hello", name])`"#)),
        "{stdout}"
    );
    // The fix replaces the whole call.
    let fix = &diags[0]["fix"];
    assert_eq!(
        fix["replacement"],
        r#"std.exec(argv: ["echo", "hello", name])"#
    );
    assert_eq!(
        (&fix["line"], &fix["column"]),
        (&7.into(), &16.into()),
        "{fix}"
    );
    assert_eq!(fix["end_column"], 56, "{fix}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_is_checked_and_its_root_must_exist() {
    let dir = scratch("property");
    let exec = "agent x { provides: [std.read_file], exec: \"true\", files: \"data\" }\n\
                workflow main() -> string {\n  step r = std.read_file(path: \"a\") with { on: x }\n  output r\n}\n";
    std::fs::write(dir.join("run/exec.hive"), exec).expect("write");
    let out = hivec(&dir.join("run"), &["check", "exec.hive"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "[E0304/value-out-of-range] Error: `files` applies only to `builtin: \"std\"` agents"
        ),
        "{stdout}"
    );
    let missing = format!(
        "agent data {{ provides: [std.read_file], builtin: \"std\", files: \"no-such-dir\" }}\n\
         route std.read_file -> data\n\n{FILES}"
    );
    std::fs::write(dir.join("run/missing.hive"), missing).expect("write");
    let (code, _, stderr) = run(&dir, "missing.hive", "read", "a.txt");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: agent `data`: files: ")
            && stderr.contains("no-such-dir: No such file or directory"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A directory swapped for a link out of the run's directory while files are read through
/// it: every read is of the file inside, or refused; none reaches the file outside, however
/// the swap falls between the check of the path and the opening of the file.
#[test]
fn a_directory_swapped_for_a_link_while_files_are_read_leads_nowhere_outside() {
    let dir = scratch("race");
    let run = dir.join("run");
    std::fs::create_dir_all(run.join("d")).expect("dir");
    std::fs::write(run.join("d/secret.txt"), "inside").expect("write");
    std::fs::write(
        run.join("race.hive"),
        r#"workflow reads(path: string, n: int) -> list<string> {
  step texts = for i in range(0, n) { std.read_file(path: path) } with { fallback: "refused" }
  output texts
}

workflow writes(path: string, n: int) -> list<bool> {
  step saved = for i in range(0, n) { std.write_file(path: path, content: "w") } with { fallback: false }
  output saved
}
"#,
    )
    .expect("write");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, run, outside) = (stop.clone(), run.clone(), dir.join("outside"));
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::rename(run.join("d"), run.join("d.real"));
                let _ = std::os::unix::fs::symlink(&outside, run.join("d"));
                let _ = std::fs::remove_file(run.join("d"));
                let _ = std::fs::rename(run.join("d.real"), run.join("d"));
                flips += 1;
            }
            flips
        })
    };
    let out = hivec(
        &run,
        &[
            "run",
            "race.hive",
            "--workflow",
            "reads",
            "--input",
            "path=d/secret.txt",
            "--input",
            "n=3000",
        ],
    );
    let wrote = hivec(
        &run,
        &[
            "run",
            "race.hive",
            "--workflow",
            "writes",
            "--input",
            "path=d/sub/new.txt",
            "--input",
            "n=3000",
        ],
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        wrote.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&wrote.stderr)
    );
    assert!(!dir.join("outside/sub").exists(), "a write reached outside");
    let flips = flipper.join().expect("flipper");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let texts: Vec<String> = serde_json::from_str(&stdout).expect("a list");
    let count = |t: &str| texts.iter().filter(|x| *x == t).count();
    assert!(flips > 100, "the directory was swapped {flips} times only");
    assert_eq!(
        count("the secret"),
        0,
        "read outside: {} inside, {} refused",
        count("inside"),
        count("refused")
    );
    assert_eq!(count("inside") + count("refused"), 3000);
}
