//! `hive-bench run`: the runtime's throughput and memory on the workloads of
//! [`hive_bench::workloads`], next to a bare tokio program running the same graph.
//!
//! Each measurement runs in a child process of its own (`hive-bench run-one`), so that its
//! peak memory is its own. The timed part is the run alone: the plan is compiled first.

use hive_bench::workloads::Workload;
use hive_runtime::{RunOptions, Runtime};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One measured run, as a child reports it.
struct Measured {
    tasks: u64,
    secs: f64,
    peak_mb: f64,
}

/// Measures `workloads` `runs` times each and prints the table BENCHMARKS.md records.
pub fn run(workloads: &[Workload], runs: usize) -> Result<(), String> {
    println!(
        "cores available: {}; median of {runs} runs; each run in its own process",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<9} {:>9} {:>10} {:>12} {:>14} {:>7} {:>9}",
        "workload", "tasks", "time", "tasks/s", "bare tokio/s", "ratio", "peak MB"
    );
    for &w in workloads {
        let hive = median(w, false, runs)?;
        let bare = match w.graph() {
            Some(_) => Some(median(w, true, runs)?),
            None => None,
        };
        let rate = hive.tasks as f64 / hive.secs;
        let (bare_rate, ratio) = match &bare {
            Some(b) => {
                let r = b.tasks as f64 / b.secs;
                (format!("{r:.0}"), format!("{:.2}", rate / r))
            }
            None => ("-".to_string(), "-".to_string()),
        };
        println!(
            "{:<9} {:>9} {:>9.3}s {:>12.0} {:>14} {:>7} {:>9.1}",
            w.name(),
            hive.tasks,
            hive.secs,
            rate,
            bare_rate,
            ratio,
            hive.peak_mb
        );
    }
    Ok(())
}

/// The run with the median time among `runs` runs.
fn median(w: Workload, bare: bool, runs: usize) -> Result<Measured, String> {
    let mut all = (0..runs.max(1))
        .map(|_| child(w, bare))
        .collect::<Result<Vec<_>, _>>()?;
    all.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    Ok(all.swap_remove(all.len() / 2))
}

fn child(w: Workload, bare: bool) -> Result<Measured, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(me);
    cmd.arg("run-one").arg(w.name());
    if bare {
        cmd.arg("--bare");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start a child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            w.name(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{}: the child's report is not JSON: {e}", w.name()))?;
    Ok(Measured {
        tasks: v["tasks"].as_u64().unwrap_or(0),
        secs: v["secs"].as_f64().unwrap_or(f64::NAN),
        peak_mb: v["peak_kb"].as_f64().unwrap_or(0.0) / 1024.0,
    })
}

/// In a child process: runs `w` once (on hive's runtime, or `bare` on plain tokio) and
/// prints `{tasks, secs, peak_kb}`.
///
/// With `repeat` above 1 the timed part runs that many times in this process and the
/// fastest counts (a way to profile the steady state; `run` does not use it).
pub fn one(w: Workload, bare: bool, repeat: usize) -> Result<(), String> {
    let (tasks, elapsed) = if bare {
        let graph = w
            .graph()
            .ok_or_else(|| format!("{} has no bare tokio version", w.name()))?;
        fastest(repeat, || bare_tokio(&graph))?
    } else {
        on_hive(w, repeat)?
    };
    println!(
        "{}",
        json!({"tasks": tasks, "secs": elapsed.as_secs_f64(), "peak_kb": peak_kb()})
    );
    Ok(())
}

/// The fastest of `repeat` runs of `f`.
fn fastest(
    repeat: usize,
    mut f: impl FnMut() -> Result<(u64, Duration), String>,
) -> Result<(u64, Duration), String> {
    let mut best = f()?;
    for _ in 1..repeat {
        let next = f()?;
        if next.1 < best.1 {
            best = next;
        }
    }
    Ok(best)
}

/// Compiles the workload, then times starting the runtime and running it.
fn on_hive(w: Workload, repeat: usize) -> Result<(u64, Duration), String> {
    let dir = std::env::temp_dir().join(format!("hive-bench-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let agent = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("hive-echo-agent");
    let file = dir.join(format!("{}.hive", w.name()));
    std::fs::write(&file, w.source(&agent.display().to_string())).map_err(|e| e.to_string())?;
    let plan = plan_of(&file)?;
    let simulate = w == Workload::Simulate;
    // As `hivec run` does: one scheduler thread (see docs/language.md, "Runs").
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(simulate)
        .build()
        .map_err(|e| e.to_string())?;
    let result = fastest(repeat, || {
        let plan = plan.clone();
        let start = Instant::now();
        let (report, rt) = tokio
            .block_on(async {
                let options = RunOptions {
                    simulate,
                    ..RunOptions::default()
                };
                let rt = Runtime::start(plan, options)?;
                Ok::<_, hive_runtime::RunError>((rt.run(None, Map::new()).await, rt))
            })
            .map_err(|e| format!("{}: {e}", w.name()))?;
        let elapsed = start.elapsed();
        // Stopping the agents is not part of the measurement.
        tokio.block_on(rt.shutdown());
        let report = report.map_err(|e| format!("{}: {e}", w.name()))?;
        Ok((report.members.iter().map(|m| m.stats.tasks).sum(), elapsed))
    });
    // Exec agents start in the plan's directory: removed only after the run.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The same graph on plain tokio: a task per node that waits for its dependencies' values
/// on oneshot channels, "echoes" their sum, and sends it to its dependents. No queues, no
/// strategy, no checks: the floor the runtime is compared with. It runs on both of tokio's
/// schedulers and the faster counts.
fn bare_tokio(graph: &[Vec<usize>]) -> Result<(u64, Duration), String> {
    let one = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let many = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let a = bare_on(&one, graph);
    let b = bare_on(&many, graph);
    Ok(if a.1 <= b.1 { a } else { b })
}

fn bare_on(tokio: &tokio::runtime::Runtime, graph: &[Vec<usize>]) -> (u64, Duration) {
    let start = Instant::now();
    let total = tokio.block_on(async {
        let n = graph.len();
        let mut senders: Vec<Vec<tokio::sync::oneshot::Sender<Value>>> =
            (0..n).map(|_| Vec::new()).collect();
        let mut receivers: Vec<Vec<tokio::sync::oneshot::Receiver<Value>>> =
            (0..n).map(|_| Vec::new()).collect();
        for (node, deps) in graph.iter().enumerate() {
            for &d in deps {
                let (tx, rx) = tokio::sync::oneshot::channel();
                senders[d].push(tx);
                receivers[node].push(rx);
            }
        }
        let mut handles = Vec::with_capacity(n);
        for (inputs, outputs) in receivers.into_iter().zip(senders) {
            handles.push(tokio::spawn(async move {
                let mut sum = 1i64;
                for rx in inputs {
                    sum += rx.await.ok().and_then(|v| v.as_i64()).unwrap_or(0);
                }
                let value = std::hint::black_box(Value::from(sum));
                for tx in outputs {
                    let _ = tx.send(value.clone());
                }
                value
            }));
        }
        let mut done = 0u64;
        for h in handles {
            if h.await.is_ok() {
                done += 1;
            }
        }
        done
    });
    (total, start.elapsed())
}

fn plan_of(path: &Path) -> Result<hive_plan::Plan, String> {
    use hive_compiler::diagnostic::Severity;
    use hive_compiler::workspace::{Disk, load};
    let loaded = load(&Disk, &[PathBuf::from(path)], None);
    let errors = hive_compiler::queries::workspace_diagnostics(&loaded.db, loaded.workspace)
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    if errors > 0 || loaded.roots.is_empty() {
        return Err(format!("{} does not check clean", path.display()));
    }
    Ok(hive_compiler::lower::plan(&loaded.db, loaded.roots[0]).clone())
}

/// This process's peak resident memory, in KiB.
fn peak_kb() -> u64 {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct, and getrusage
    // only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for writes.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    usage.ru_maxrss as u64
}
