//! `hive-bench topics`: publish → subscriber delivery latency through the agent protocol in
//! one process. `hive-echo-agent`, subscribed to the topic it publishes to, sends one
//! `publish` at a time and times, on its own clock, how long the `event` of that message
//! takes to come back: the runtime reading the line, checking and storing the message, and
//! sending it to the subscriber. With `--redis`, the agent runs on a `hivec worker` and
//! `hivec run --redis` coordinates: each message goes through the run's stream in a
//! `redis-server` started for the measurement and back to the agent through its consumer
//! group.

use hive_runtime::{RunOptions, Runtime};
use serde_json::Map;

/// Runs `pings` publishes `runs` times and prints each run's latency percentiles; through
/// Redis with `hivec` as coordinator and worker when it is given.
pub fn run(pings: u64, runs: usize, redis: Option<&std::path::Path>) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("hive-bench-topics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let agent = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("hive-echo-agent");
    let file = dir.join("topics.hive");
    let source = format!(
        r#"
type Ping {{ i: int }}
topic pings: Ping {{ retain: 1m }}
capability ping(pings: int) -> json
agent pinger {{ provides: [ping], subscribes: [pings], exec: "{}" }}
workflow main() -> json {{
  step latency = ping(pings: {pings})
  output latency
}}
"#,
        agent.display()
    );
    std::fs::write(&file, source).map_err(|e| e.to_string())?;
    if let Some(hivec) = redis {
        let result = through_redis(hivec, &file, pings, runs);
        let _ = std::fs::remove_dir_all(&dir);
        return result;
    }
    let plan = crate::run::plan_of(&file)?;
    // As `hivec run` does: one scheduler thread.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!("publish → subscriber delivery through the protocol, {pings} messages a run");
    header();
    for r in 1..=runs {
        let plan = plan.clone();
        let (report, rt) = tokio
            .block_on(async {
                let rt = Runtime::start(plan, RunOptions::default())?;
                Ok::<_, hive_runtime::RunError>((rt.run(None, Map::new()).await, rt))
            })
            .map_err(|e| e.to_string())?;
        tokio.block_on(rt.shutdown());
        let out = report.map_err(|e| e.to_string())?.output;
        row(r, &out);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn header() {
    println!(
        "{:>4} {:>9} {:>9} {:>9} {:>9}",
        "run", "messages", "p50 µs", "p99 µs", "max µs"
    );
}

/// One run's line: the percentiles the agent measured.
fn row(r: usize, out: &serde_json::Value) {
    println!(
        "{r:>4} {:>9} {:>9} {:>9} {:>9}",
        out["n"].to_string(),
        out["p50_us"].to_string(),
        out["p99_us"].to_string(),
        out["max_us"].to_string()
    );
}

/// The same runs with the agent on a `hivec worker` and `hivec run --redis` as coordinator.
fn through_redis(
    hivec: &std::path::Path,
    file: &std::path::Path,
    pings: u64,
    runs: usize,
) -> Result<(), String> {
    use std::process::{Command, Stdio};
    let server = crate::redis::Server::start()?;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let worker = Command::new(hivec)
        .args(["worker", &file.display().to_string(), "--redis", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start hivec worker: {e}"))?;
    let _workers = crate::redis::Workers(vec![worker]);
    crate::redis::await_workers(server.port, 1)?;
    println!(
        "publish → subscriber delivery through Redis (agent on a hivec worker, redis-server on loopback), {pings} messages a run"
    );
    header();
    for r in 1..=runs {
        let out = Command::new(hivec)
            .arg("run")
            .arg(file)
            .args(["--redis", &url])
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start hivec run: {e}"))?;
        if !out.status.success() {
            return Err(format!("hivec run --redis failed ({})", out.status));
        }
        let out: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("the run's output is not JSON: {e}"))?;
        row(r, &out);
    }
    Ok(())
}
