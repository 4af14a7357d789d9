//! `hive-bench run`: the runtime's throughput and memory on the workloads of
//! [`hive_bench::workloads`], next to a bare tokio program running the same graph.
//!
//! Each measurement runs in a child process of its own (`hive-bench run-one`), so that its
//! peak memory is its own. The timed part is the run alone: the plan is compiled first.
//! Within a child the workload runs [`Workload::repeats`] times: the first run is reported
//! as "cold" (fresh process, nothing cached, memory still to be faulted in), the median of
//! the others as the steady state, for the runtime and bare tokio alike.

use hive_bench::workloads::Workload;
use hive_runtime::{RunOptions, Runtime};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One measured run, as a child reports it.
struct Measured {
    tasks: u64,
    /// The median of the runs after the first.
    secs: f64,
    /// The first run.
    cold_secs: f64,
    peak_mb: f64,
}

/// Measures `workloads` `runs` times each and prints the table BENCHMARKS.md records.
pub fn run(workloads: &[Workload], runs: usize) -> Result<(), String> {
    println!(
        "cores available: {}; median of {runs} processes; in each, the first run (cold) and \
         the median of the runs after it (warm)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<9} {:>9} {:>9} {:>9} {:>10} {:>13} {:>6} {:>11} {:>8}",
        "workload",
        "tasks",
        "cold",
        "warm",
        "tasks/s",
        "bare tokio/s",
        "ratio",
        "cold ratio",
        "peak MB"
    );
    for &w in workloads {
        let hive = median(w, false, runs)?;
        let bare = match w.graph() {
            Some(_) => Some(median(w, true, runs)?),
            None => None,
        };
        let rate = hive.tasks as f64 / hive.secs;
        let (bare_rate, ratio, cold_ratio) = match &bare {
            Some(b) => {
                let r = b.tasks as f64 / b.secs;
                (
                    format!("{r:.0}"),
                    format!("{:.2}", rate / r),
                    format!("{:.2}", b.cold_secs / hive.cold_secs),
                )
            }
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<9} {:>9} {:>8.4}s {:>8.4}s {:>10.0} {:>13} {:>6} {:>11} {:>8.1}",
            w.name(),
            hive.tasks,
            hive.cold_secs,
            hive.secs,
            rate,
            bare_rate,
            ratio,
            cold_ratio,
            hive.peak_mb
        );
    }
    Ok(())
}

/// The median over `runs` child processes of the warm and of the cold time.
fn median(w: Workload, bare: bool, runs: usize) -> Result<Measured, String> {
    let mut all = (0..runs.max(1))
        .map(|_| child(w, bare))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cold: Vec<f64> = all.iter().map(|m| m.cold_secs).collect();
    cold.sort_by(f64::total_cmp);
    all.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let mut mid = all.swap_remove(all.len() / 2);
    mid.cold_secs = cold[cold.len() / 2];
    Ok(mid)
}

fn child(w: Workload, bare: bool) -> Result<Measured, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(me);
    cmd.arg("run-one")
        .arg(w.name())
        .arg("--repeat")
        .arg(w.repeats().to_string());
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
        cold_secs: v["cold_secs"].as_f64().unwrap_or(f64::NAN),
        peak_mb: v["peak_kb"].as_f64().unwrap_or(0.0) / 1024.0,
    })
}

/// In a child process: runs `w` `repeat` times (on hive's runtime, or `bare` on plain
/// tokio) and prints `{tasks, cold_secs, secs, peak_kb}`: the first run's time and the
/// median of the others (the first again when there are no others).
pub fn one(w: Workload, bare: bool, repeat: usize) -> Result<(), String> {
    let times = if bare {
        let graph = w
            .graph()
            .ok_or_else(|| format!("{} has no bare tokio version", w.name()))?;
        repeated(repeat, || bare_tokio(&graph))?
    } else {
        on_hive(w, repeat)?
    };
    println!(
        "{}",
        json!({
            "tasks": times.tasks,
            "cold_secs": times.cold.as_secs_f64(),
            "secs": times.warm.as_secs_f64(),
            "peak_kb": peak_kb(),
        })
    );
    Ok(())
}

/// Tasks run, and the first and the median later time of repeated runs.
struct Times {
    tasks: u64,
    cold: Duration,
    warm: Duration,
}

/// Runs `f` `repeat` times.
fn repeated(
    repeat: usize,
    mut f: impl FnMut() -> Result<(u64, Duration), String>,
) -> Result<Times, String> {
    let (tasks, cold) = f()?;
    let mut warm = (1..repeat)
        .map(|_| f().map(|r| r.1))
        .collect::<Result<Vec<_>, _>>()?;
    warm.sort();
    Ok(Times {
        tasks,
        cold,
        warm: warm.get(warm.len() / 2).copied().unwrap_or(cold),
    })
}

/// Compiles the workload, then times starting the runtime and running it.
fn on_hive(w: Workload, repeat: usize) -> Result<Times, String> {
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
    let result = repeated(repeat, || {
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
        // The state workload counts the writes its cell took.
        if w == Workload::State {
            return Ok((report.output.as_u64().unwrap_or(0), elapsed));
        }
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

pub(crate) fn plan_of(path: &Path) -> Result<hive_plan::Plan, String> {
    use hive_compiler::diagnostic::Severity;
    let loaded = hive_compiler::pipeline::check(
        &hive_compiler::workspace::Disk,
        &[PathBuf::from(path)],
        None,
    );
    let errors = loaded
        .diagnostics()
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
