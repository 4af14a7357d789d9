//! A project directory for one test: its files written afresh under the temp directory;
//! the `hivec` binary run in one; an agent that doubles.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `hive-{name}-{pid}` under the temp directory, emptied, holding `files` (name, text).
pub fn dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write");
    }
    dir
}

/// `hivec args…` run in `cwd` to its end, without the caller's `RUST_LOG`.
pub fn hivec(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("run hivec")
}

/// An exec agent providing `double(n: int) -> int`.
pub const DOUBLE: &str = r#"import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["double"]}), flush=True)
    elif msg["type"] == "task":
        n = msg["input"]["n"]
        print(json.dumps({"type": "result", "id": msg["id"], "output": 2 * n}), flush=True)
    elif msg["type"] == "shutdown":
        break
"#;
