//! Files outside the project, as a careless user or an attacker lays them out: real symbolic
//! links, a link to `/dev/zero`, a FIFO. Nothing outside the root is read or written, nothing
//! but a regular file is read, and nothing hangs.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh directory holding `proj/` (the project) and `outside/` (anything else).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("proj")).expect("proj");
    std::fs::create_dir_all(dir.join("outside")).expect("outside");
    dir
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("dir");
    }
    std::fs::write(path, text).expect("write");
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// Runs `hivec args` in `dir`: exit code, stdout and stderr, with `scratch`'s directory
/// written as `<tmp>`. A run that has not ended after a minute is killed and fails the test:
/// reading a FIFO or a device would never end.
fn hivec(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(args)
        .current_dir(dir.join("proj"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hivec");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("hivec {args:?} did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let tmp = dir.display().to_string();
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace(&tmp, "<tmp>");
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

const LIB: &str = "capability summarize(text: string) -> string\n";
const MAIN: &str = "import \"lib/l.hive\"\n";

#[test]
fn an_import_through_a_link_to_a_file_outside_the_root_is_refused() {
    let dir = scratch("file-link");
    write(&dir.join("outside/l.hive"), LIB);
    std::fs::create_dir_all(dir.join("proj/lib")).expect("lib");
    symlink(dir.join("outside/l.hive"), dir.join("proj/lib/l.hive")).expect("link");
    write(&dir.join("proj/main.hive"), MAIN);
    let (code, out, _) = hivec(&dir, &["check", "--color", "never", "main.hive"]);
    assert_eq!(code, 1, "{out}");
    insta::assert_snapshot!("import_through_a_linked_file", out);
    let (code, _, err) = hivec(&dir, &["plan", "--format", "json", "main.hive"]);
    assert_eq!(code, 1, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_import_through_a_linked_directory_outside_the_root_is_refused() {
    let dir = scratch("dir-link");
    write(&dir.join("outside/shared/l.hive"), LIB);
    symlink(dir.join("outside/shared"), dir.join("proj/lib")).expect("link");
    write(&dir.join("proj/main.hive"), MAIN);
    let (code, out, _) = hivec(&dir, &["check", "--color", "never", "main.hive"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("E0104"), "{out}");
    assert!(out.contains("<tmp>/outside/shared/l.hive"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_import_through_a_link_that_stays_inside_the_root_is_read() {
    let dir = scratch("inner-link");
    write(&dir.join("proj/shared/l.hive"), LIB);
    symlink(dir.join("proj/shared"), dir.join("proj/lib")).expect("link");
    write(&dir.join("proj/main.hive"), MAIN);
    let (code, out, _) = hivec(&dir, &["check", "main.hive"]);
    assert_eq!(code, 0, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_import_of_a_device_or_a_fifo_is_refused_without_reading_it() {
    let dir = scratch("special");
    symlink("/dev/zero", dir.join("proj/zero.hive")).expect("link");
    mkfifo(&dir.join("proj/fifo.hive"));
    write(
        &dir.join("proj/main.hive"),
        "import \"zero.hive\"\nimport \"fifo.hive\"\n",
    );
    // With the default root the link to /dev/zero leads out of it; with `/` as the root, it
    // is refused as a device.
    let (code, out, _) = hivec(&dir, &["check", "main.hive"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("E0104") && out.contains("E0009"), "{out}");
    let args = ["check", "--color", "never", "--root", "/", "main.hive"];
    let (code, out, _) = hivec(&dir, &args);
    assert_eq!(code, 1, "{out}");
    insta::assert_snapshot!("import_of_a_device_or_a_fifo", out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_fifo_named_on_the_command_line_is_refused() {
    let dir = scratch("named-fifo");
    mkfifo(&dir.join("proj/x.hive"));
    let (code, out, _) = hivec(&dir, &["check", "--color", "never", "x.hive"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("E0009"), "{out}");
    let (code, _, err) = hivec(&dir, &["fmt", "x.hive"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `fmt DIR` and `check DIR` see only what is in DIR: a linked file or directory is skipped,
/// so nothing outside it is rewritten or checked.
#[test]
fn directory_walks_do_not_follow_links() {
    let dir = scratch("walk");
    let unformatted = "const   x: int = 1\n";
    write(&dir.join("proj/src/a.hive"), unformatted);
    write(&dir.join("outside/o.hive"), unformatted);
    write(&dir.join("outside/sub/bad.hive"), "const y: int = \"a\"\n");
    symlink(dir.join("outside/o.hive"), dir.join("proj/src/o.hive")).expect("link");
    symlink(dir.join("outside/sub"), dir.join("proj/src/sub")).expect("link");

    let (code, out, err) = hivec(&dir, &["check", "src"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("bad.hive"), "{out}");

    let (code, _, err) = hivec(&dir, &["fmt", "src"]);
    assert_eq!(code, 0, "{err}");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).expect("read");
    assert_eq!(read("proj/src/a.hive"), "const x: int = 1\n");
    assert_eq!(
        read("outside/o.hive"),
        unformatted,
        "a file outside was rewritten"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
