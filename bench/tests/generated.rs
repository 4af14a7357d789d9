//! The generated benchmark inputs are what they claim: valid, warning-free `.hive` that
//! exercises every kind of item, and as large as asked.

use hive_bench::generate;
use hive_compiler::pipeline;
use hive_compiler::render::{Style, human};
use hive_compiler::workspace::Disk;
use std::path::PathBuf;

fn check_clean(paths: &[PathBuf]) {
    let loaded = pipeline::check(&Disk, paths, None);
    let diagnostics = loaded.diagnostics();
    let shown: String = diagnostics
        .iter()
        .take(5)
        .map(|d| human(&loaded.db, d, Style { color: false }))
        .collect();
    assert!(
        diagnostics.is_empty(),
        "{} diagnostics:\n{shown}",
        diagnostics.len()
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-gen-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn a_generated_file_checks_clean_and_has_the_size_asked() {
    let text = generate::single_file(3_000);
    let lines = text.lines().count();
    assert!((3_000..3_200).contains(&lines), "{lines} lines");
    for item in [
        "type ",
        "enum ",
        "capability ",
        "agent ",
        "pool ",
        "route ",
        "workflow ",
    ] {
        assert!(text.contains(item), "no {item}");
    }
    // Every tenth stage calls the one before it.
    assert!(text.contains("step earlier = flow8("));
    let path = scratch("file").join("large.hive");
    std::fs::write(&path, text).expect("write");
    check_clean(&[path]);
}

#[test]
fn a_generated_workspace_checks_clean() {
    let dir = scratch("workspace");
    let files = generate::workspace(4, 2);
    assert_eq!(files.len(), 5);
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    check_clean(&[dir]);
}

#[test]
fn every_runtime_workload_checks_clean() {
    let dir = scratch("workloads");
    for w in hive_bench::workloads::Workload::ALL {
        let path = dir.join(format!("{}.hive", w.name()));
        std::fs::write(&path, w.source("hive-echo-agent")).expect("write");
        check_clean(&[path]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
