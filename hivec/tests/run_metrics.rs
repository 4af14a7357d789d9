//! `hivec run --metrics ADDR`: a real run's `/metrics`, read while it runs by a Prometheus
//! text parser, counts what the run's summary reports.

#[path = "common/metrics.rs"]
mod metrics;
#[path = "common/project.rs"]
mod project;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `flaky` fails the first task it is given and answers every later one; `gate` answers
/// only once a file `go` exists.
const AGENTS: &str = r#"import json, os, sys, time
kind = sys.argv[1]
failed = False
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": [kind]}), flush=True)
    elif msg["type"] == "task":
        if kind == "flake" and not failed:
            failed = True
            print(json.dumps({"type": "error", "id": msg["id"], "message": "not this time", "retryable": True}), flush=True)
            continue
        while kind == "gate" and not os.path.exists("go"):
            time.sleep(0.02)
        print(json.dumps({"type": "result", "id": msg["id"], "output": kind}), flush=True)
    elif msg["type"] == "shutdown":
        break
"#;

const SOURCE: &str = r#"
capability flake() -> string
capability gate() -> string
agent flaky { provides: [flake], exec: "python3 agents.py flake" }
agent gated { provides: [gate], exec: "python3 agents.py gate" }

workflow main() -> string {
  step a = std.echo(value: "a")
  step b = std.echo(value: "b")
  step c = std.echo(value: "c")
  step f = flake() with { retry: 1, backoff: fixed(10ms) }
  step g = gate() with { after: [a, b, c, f] }
  output "${g}"
}
"#;

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The `tasks` and `failed` columns of `agent`'s row in the summary.
fn summary_row(stderr: &str, agent: &str) -> (f64, f64) {
    let row = stderr
        .lines()
        .find(|l| l.split_whitespace().next() == Some(agent))
        .unwrap_or_else(|| panic!("no row for {agent}:\n{stderr}"));
    let cols: Vec<f64> = row
        .split_whitespace()
        .skip(1)
        .take(2)
        .map(|c| c.parse().expect("a count"))
        .collect();
    (cols[0], cols[1])
}

#[test]
fn a_plain_run_serves_metrics_that_match_its_summary() {
    let dir = project::dir(
        "run-metrics",
        &[("main.hive", SOURCE), ("agents.py", AGENTS)],
    );
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(["run", "main.hive", "--metrics", &addr])
        .current_dir(&dir)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hivec run");
    // While `g` waits at its gate, every other task has ended.
    let started = Instant::now();
    let (text, scrape) = loop {
        let (status, _, text) = metrics::fetch(port, None);
        if status == 200 {
            let scrape = metrics::parse(&text);
            let busy = [("agent", "gated"), ("state", "busy")];
            if metrics::value(&scrape, "hive_instances", &busy) == 1.0 {
                break (text, scrape);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never at the gate: {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::fs::write(dir.join("go"), "").expect("open the gate");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "\"gate\"");

    let count = |agent: &str, capability: &str, outcome: &str| {
        let labels = [
            ("agent", agent),
            ("capability", capability),
            ("outcome", outcome),
        ];
        metrics::value(&scrape, "hive_tasks_total", &labels)
    };
    let (tasks, failed) = summary_row(&stderr, "std");
    assert_eq!((tasks, failed), (3.0, 0.0), "{stderr}");
    assert_eq!(count("std", "std.echo", "ok"), tasks, "{text}");
    let (tasks, failed) = summary_row(&stderr, "flaky");
    assert_eq!((tasks, failed), (2.0, 1.0), "{stderr}");
    assert_eq!(count("flaky", "flake", "failed"), failed, "{text}");
    assert_eq!(count("flaky", "flake", "ok") + failed, tasks, "{text}");
    // The gate's task had not ended when the metrics were read.
    assert_eq!(count("gated", "gate", "ok"), 0.0, "{text}");
    let flaky = [("agent", "flaky"), ("capability", "flake")];
    assert_eq!(
        metrics::value(&scrape, "hive_task_duration_seconds_count", &flaky),
        2.0,
        "{text}"
    );
    assert!(metrics::described(&text, "hive_tasks"), "{text}");
    // Once the run is over, nothing serves them.
    assert_eq!(metrics::fetch(port, None).0, 0);
}

#[test]
fn a_metrics_address_that_is_taken_is_an_error_before_the_run() {
    let dir = project::dir(
        "run-metrics-taken",
        &[("main.hive", SOURCE), ("agents.py", AGENTS)],
    );
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = project::hivec(&dir, &["run", "main.hive", "--metrics", &addr]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--metrics: cannot listen on"), "{stderr}");
    assert!(!dir.join("go").exists());
}
