//! Helpers of the runtime tests: write sources, run plans, read the per-agent summary.

#![allow(dead_code)] // each test file uses its own subset

use hive_runtime::{RunError, RunOptions, RunReport, Runtime};
use hive_tests::plan_of;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Writes `source` as `name.hive` into this process's temporary directory.
pub fn write(name: &str, source: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-run-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.hive"));
    std::fs::write(&path, source).expect("write");
    path
}

/// Attempts that finished on `agent`.
pub fn tasks_of(report: &RunReport, agent: &str) -> u64 {
    report
        .members
        .iter()
        .find(|m| m.name == agent)
        .map_or(0, |m| m.stats.tasks)
}

/// Runs the plan's entry workflow for real, on two worker threads.
pub fn run_plan(plan: hive_plan::Plan, inputs: Value) -> Result<RunReport, RunError> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    run_on(&tokio, plan, inputs, RunOptions::default())
}

/// Runs `source` under `--simulate`: one thread, tokio's paused clock, a fixed seed.
pub fn simulate(name: &str, source: &str, inputs: Value, seed: u64) -> Result<RunReport, RunError> {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("tokio");
    let options = RunOptions {
        seed,
        simulate: true,
        ..RunOptions::default()
    };
    run_on(&tokio, plan_of(&write(name, source)), inputs, options)
}

fn run_on(
    tokio: &tokio::runtime::Runtime,
    plan: hive_plan::Plan,
    inputs: Value,
    options: RunOptions,
) -> Result<RunReport, RunError> {
    let inputs = match inputs {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    tokio.block_on(async {
        let rt = Runtime::start(plan, options)?;
        let report = rt.run(None, inputs).await;
        rt.shutdown().await;
        report
    })
}

/// The plan of `main.hive` written with `files` into a fresh directory that exec agents run in.
pub fn plan_in(tag: &str, files: &[(&str, &str)]) -> (hive_plan::Plan, PathBuf) {
    let dir = std::env::temp_dir().join(format!("hive-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let mut plan = plan_of(&dir.join("main.hive"));
    plan.base = dir.display().to_string();
    (plan, dir)
}
