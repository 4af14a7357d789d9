//! `hive-bench topics`: publish → subscriber delivery latency through the agent protocol in
//! one process. `hive-echo-agent`, subscribed to the topic it publishes to, sends one
//! `publish` at a time and times, on its own clock, how long the `event` of that message
//! takes to come back: the runtime reading the line, checking and storing the message, and
//! sending it to the subscriber.

use hive_runtime::{RunOptions, Runtime};
use serde_json::Map;

/// Runs `pings` publishes `runs` times and prints each run's latency percentiles.
pub fn run(pings: u64, runs: usize) -> Result<(), String> {
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
    let plan = crate::run::plan_of(&file)?;
    // As `hivec run` does: one scheduler thread.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!("publish → subscriber delivery through the protocol, {pings} messages a run");
    println!(
        "{:>4} {:>9} {:>9} {:>9} {:>9}",
        "run", "messages", "p50 µs", "p99 µs", "max µs"
    );
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
        println!(
            "{r:>4} {:>9} {:>9} {:>9} {:>9}",
            out["n"].to_string(),
            out["p50_us"].to_string(),
            out["p99_us"].to_string(),
            out["max_us"].to_string()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
