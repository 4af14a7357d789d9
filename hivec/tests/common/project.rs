//! A project directory for one test: its files written afresh under the temp directory.

use std::path::PathBuf;

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
