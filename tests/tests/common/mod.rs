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

/// An exec agent in Python that appends every message it receives to `AGENT.messages` (one
/// JSON object a line, the agent's name from `hello`) and answers each task in a thread of
/// its own, so that it keeps reading (and recording `cancel`s) while tasks run. `answer` is
/// the body of `def answer(msg, me)`, indented four spaces: it returns the task's output, or
/// raises to fail the task (not retryable); the dict `state` is shared by all its calls.
pub fn recording_agent(capabilities: &[&str], answer: &str) -> String {
    format!(
        r#"import json, os, sys, threading, time
lock = threading.Lock()
me = "agent"
state = {{}}
def send(obj):
    with lock:
        print(json.dumps(obj), flush=True)
def answer(msg, me):
{answer}
def run(msg):
    try:
        send({{"type": "result", "id": msg["id"], "output": answer(msg, me)}})
    except Exception as e:
        send({{"type": "error", "id": msg["id"], "message": str(e), "retryable": False}})
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        me = msg["agent"]
    with lock, open(me + ".messages", "a") as log:
        log.write(line.strip() + "\n")
    if msg["type"] == "hello":
        send({{"type": "ready", "capabilities": {capabilities:?}}})
    elif msg["type"] == "task":
        threading.Thread(target=run, args=(msg,), daemon=True).start()
    elif msg["type"] == "shutdown":
        break
"#
    )
}

/// The messages `agent` recorded in `dir` (see [`recording_agent`]), in order.
pub fn messages(dir: &std::path::Path, agent: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("{agent}.messages")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The types of the messages `agent` recorded, in order.
pub fn kinds(dir: &std::path::Path, agent: &str) -> Vec<String> {
    messages(dir, agent)
        .iter()
        .map(|m| m["type"].as_str().unwrap_or_default().to_string())
        .collect()
}
