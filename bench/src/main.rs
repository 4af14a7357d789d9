//! `hive-bench`: generates large inputs and measures the `hivec` binary on them.
//!
//! Every figure it prints is measured in this run: wall time per run, lines per second, peak
//! resident memory and CPU time of the `hivec` process (from `wait4`).

mod chromium;
mod dashboard;
mod redis;
mod run;
mod serve;
mod topics;
mod whole;

// The same allocator as `hivec`, so that runtime figures are what `hivec run` gets.
#[global_allocator]
static ALLOCATOR: hive_runtime::allocator::Allocator = hive_runtime::allocator::Allocator;

use hive_bench::generate;
use hive_bench::workloads::Workload;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "hive-bench", about = "Benchmarks of the hive toolchain")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write one large generated file.
    File {
        /// About this many lines.
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
        /// Where to write it.
        out: PathBuf,
    },
    /// Write a generated workspace: many files importing one shared library.
    Workspace {
        /// Number of files (besides the shared library).
        #[arg(long, default_value_t = 1_000)]
        files: usize,
        /// Stages (workflows with their declarations) per file.
        #[arg(long, default_value_t = 2)]
        stages: usize,
        /// Directory to write into.
        out: PathBuf,
    },
    /// Time the parser alone on a file, in this process.
    Parse {
        /// The file.
        file: PathBuf,
        /// Runs.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Measure `hivec check` on a generated file and a generated workspace.
    Check {
        /// Lines of the single file.
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
        /// Files of the workspace.
        #[arg(long, default_value_t = 1_000)]
        files: usize,
        /// Runs of each measurement.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The `hivec` binary (default: next to this one).
        #[arg(long)]
        hivec: Option<PathBuf>,
    },
    /// Measure publish → subscriber delivery latency through the protocol, in one process
    /// (or through Redis with `--redis`).
    Topics {
        /// Messages published one after the other in each run.
        #[arg(long, default_value_t = 10_000)]
        pings: u64,
        /// Runs.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Through a `redis-server` started for it, the agent on a `hivec worker`.
        #[arg(long)]
        redis: bool,
        /// The `hivec` binary (default: next to this one).
        #[arg(long)]
        hivec: Option<PathBuf>,
    },
    /// Measure the runtime: tasks per second and peak memory per workload, next to a bare
    /// tokio program running the same graph.
    Run {
        /// Workloads: fanout, chain, layered, exec, simulate, map, state (default: all).
        workloads: Vec<String>,
        /// Runs of each measurement.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Measure `hivec run FILE` as a whole process, from start to exit, next to the whole
    /// process of a bare tokio program running the same graph.
    Whole {
        /// Workloads with a bare tokio version: fanout, chain, layered (default: all three).
        workloads: Vec<String>,
        /// Runs of each measurement.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Keep the generated `.hive` files (their folder is printed).
        #[arg(long)]
        keep: bool,
        /// The `hivec` binary (default: next to this one).
        #[arg(long)]
        hivec: Option<PathBuf>,
    },
    /// Measure `hivec` on inputs shaped to grow costs faster than their size, each at two
    /// sizes: time, peak memory and how much each grew.
    Shapes {
        /// The `hivec` binary (default: next to this one).
        #[arg(long)]
        hivec: Option<PathBuf>,
        /// Only the shapes whose name contains this.
        #[arg(long)]
        only: Option<String>,
    },
    /// Measure `hivec lsp`: diagnostics republished after one-line edits of a large file.
    Lsp {
        /// Lines of the edited file.
        #[arg(long, default_value_t = 20_000)]
        lines: usize,
        /// Edits to time.
        #[arg(long, default_value_t = 40)]
        edits: usize,
        /// Send each edit as the whole new text (full-document sync) instead of its range.
        #[arg(long)]
        full: bool,
        /// The `hivec` binary (default: next to this one).
        #[arg(long)]
        hivec: Option<PathBuf>,
    },
    /// Measure a distributed run: `hivec run --redis` with two `hivec worker`s hosting the
    /// echo agent, through a redis-server started for it, next to the same run in one process.
    Redis {
        /// Echo tasks per run (with `--state`: state writes per run).
        #[arg(long, default_value_t = 100_000)]
        tasks: usize,
        /// Measure state writes instead of tasks: 10 tasks, each sending a tenth of the writes
        /// as `put`s to one `merge: sum` cell, their instances on both workers.
        #[arg(long)]
        state: bool,
        /// Runs of each measurement.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The `hivec` binary (default: next to this one).
        #[arg(long)]
        hivec: Option<PathBuf>,
    },
    /// Measure the dashboard: how long `hivec serve`'s run page takes to render a finished run
    /// of many steps in headless Chromium (`/usr/bin/chromium`).
    Dashboard {
        /// Steps of the run.
        #[arg(long, default_value_t = 5_000)]
        steps: usize,
        /// Loads of the page measured (after one that warms the browser).
        #[arg(long, default_value_t = 5)]
        loads: usize,
        /// The `hivec` binary (default: next to this one).
        #[arg(long)]
        hivec: Option<PathBuf>,
    },
    /// Measure `hivec serve`: runs of a `std.echo` workflow submitted over HTTP as fast as
    /// `connections` keep-alive connections can, then waited for.
    Serve {
        /// Runs to submit.
        #[arg(long, default_value_t = 1_000)]
        runs: usize,
        /// Client connections, each submitting its share in turn.
        #[arg(long, default_value_t = 20)]
        connections: usize,
        /// The `hivec` binary (default: next to this one).
        #[arg(long)]
        hivec: Option<PathBuf>,
    },
    /// One measured run in this process (what `run` starts for each measurement).
    #[command(hide = true)]
    RunOne {
        /// The workload.
        workload: String,
        /// On plain tokio instead of the runtime.
        #[arg(long)]
        bare: bool,
        /// Runs of the timed part in this process: the first is reported as cold, the median of
        /// the others as warm.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::File { lines, out } => std::fs::write(&out, generate::single_file(lines))
            .map_err(|e| format!("cannot write {}: {e}", out.display())),
        Cmd::Workspace { files, stages, out } => write_workspace(&out, files, stages),
        Cmd::Parse { file, runs } => parse(&file, runs.max(1)),
        Cmd::Check {
            lines,
            files,
            runs,
            hivec,
        } => check(lines, files, runs.max(1), hivec),
        Cmd::Topics {
            pings,
            runs,
            redis,
            hivec,
        } => match redis.then(|| sibling_hivec(hivec)).transpose() {
            Ok(hivec) => topics::run(pings.max(1), runs.max(1), hivec.as_deref()),
            Err(e) => Err(e),
        },
        Cmd::Run { workloads, runs } => {
            workloads_named(&workloads).and_then(|w| run::run(&w, runs.max(1)))
        }
        Cmd::Whole {
            workloads,
            runs,
            keep,
            hivec,
        } => sibling_hivec(hivec).and_then(|h| {
            workloads_named(&workloads).and_then(|w| whole::run(&h, &w, runs.max(1), keep))
        }),
        Cmd::Shapes { hivec, only } => {
            sibling_hivec(hivec).and_then(|h| shapes(&h, only.as_deref().unwrap_or("")))
        }
        Cmd::Lsp {
            lines,
            edits,
            full,
            hivec,
        } => sibling_hivec(hivec).and_then(|h| hive_bench::lsp::run(&h, lines, edits.max(1), full)),
        Cmd::Redis {
            tasks,
            state,
            runs,
            hivec,
        } => sibling_hivec(hivec).and_then(|h| redis::run(&h, tasks, state, runs.max(1))),
        Cmd::Dashboard {
            steps,
            loads,
            hivec,
        } => sibling_hivec(hivec).and_then(|h| dashboard::run(&h, steps.max(1), loads.max(1))),
        Cmd::Serve {
            runs,
            connections,
            hivec,
        } => sibling_hivec(hivec).and_then(|h| serve::run(&h, runs.max(1), connections.max(1))),
        Cmd::RunOne {
            workload,
            bare,
            repeat,
        } => workloads_named(&[workload]).and_then(|w| run::one(w[0], bare, repeat.max(1))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The workloads named, or all of them when none is.
fn workloads_named(names: &[String]) -> Result<Vec<Workload>, String> {
    if names.is_empty() {
        return Ok(Workload::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Workload::named(n).ok_or_else(|| {
                format!("no workload `{n}`; there are fanout, chain, layered, exec, simulate, map, state")
            })
        })
        .collect()
}

fn parse(file: &Path, runs: usize) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let lines = text.lines().count();
    let median = |f: &dyn Fn()| {
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect();
        times.sort();
        times[times.len() / 2]
    };
    let whole = median(&|| {
        std::hint::black_box(hive_compiler::syntax::parse(&text));
    });
    let pest = median(&|| {
        std::hint::black_box(hive_compiler::syntax::recognise(&text));
    });
    println!(
        "parse {}: {lines} lines, {:.1} MB; median of {runs}",
        file.display(),
        text.len() as f64 / 1e6
    );
    println!(
        "  parse (pest and tree): {:.3} s, {:.0} lines/s",
        whole.as_secs_f64(),
        lines as f64 / whole.as_secs_f64()
    );
    println!(
        "  pest alone (no tree):  {:.3} s, {:.0} lines/s",
        pest.as_secs_f64(),
        lines as f64 / pest.as_secs_f64()
    );
    Ok(())
}

fn write_workspace(dir: &Path, files: usize, stages: usize) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in generate::workspace(files, stages) {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// One measured run of a child process.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    /// CPU time in the program itself, without the kernel's (which grows with the memory
    /// taken, as each new page is cleared).
    user: Duration,
    peak_rss_kb: u64,
}

/// Runs `cmd` to completion and reads its resource use from `wait4`; it must exit with 0.
fn measure(cmd: &mut Command) -> Result<Sample, String> {
    measure_exit(cmd, &[0])
}

/// [`measure`], accepting any of the exit codes `ok`.
fn measure_exit(cmd: &mut Command, ok: &[i32]) -> Result<Sample, String> {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start hivec: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped; both pointers are valid for writes.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if r != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || !ok.contains(&libc::WEXITSTATUS(status)) {
        let mut text = String::new();
        if let Some(e) = stderr.as_mut() {
            use std::io::Read;
            let _ = e.read_to_string(&mut text);
        }
        return Err(format!(
            "hivec exited unexpectedly (status {status}): {}",
            text.lines().take(20).collect::<Vec<_>>().join("\n")
        ));
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(Sample {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        user: tv(usage.ru_utime),
        peak_rss_kb: usage.ru_maxrss as u64,
    })
}

fn report(what: &str, lines: usize, bytes: usize, samples: &[Sample]) {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    let median = walls[walls.len() / 2];
    let min = walls[0];
    let cores = samples
        .iter()
        .map(|s| s.cpu.as_secs_f64() / s.wall.as_secs_f64())
        .sum::<f64>()
        / samples.len() as f64;
    let peak = samples.iter().map(|s| s.peak_rss_kb).max().unwrap_or(0);
    println!("{what}: {lines} lines, {:.1} MB", bytes as f64 / 1e6);
    println!(
        "  {} runs: wall min {:.3} s, median {:.3} s; {:.0} lines/s (median)",
        samples.len(),
        min.as_secs_f64(),
        median.as_secs_f64(),
        lines as f64 / median.as_secs_f64()
    );
    println!(
        "  peak memory {:.1} MB; CPU time / wall time {:.2} (cores busy)",
        peak as f64 / 1024.0,
        cores
    );
}

/// The `hivec` binary given, or the one next to this binary.
fn sibling_hivec(hivec: Option<PathBuf>) -> Result<PathBuf, String> {
    let hivec = match hivec {
        Some(h) => h,
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("hivec"),
    };
    if !hivec.exists() {
        return Err(format!(
            "{} not found: build it first (cargo build --release -p hivec)",
            hivec.display()
        ));
    }
    Ok(hivec)
}

fn check(lines: usize, files: usize, runs: usize, hivec: Option<PathBuf>) -> Result<(), String> {
    let hivec = sibling_hivec(hivec)?;
    let dir = std::env::temp_dir().join(format!("hive-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    println!("hivec: {}", hivec.display());
    println!(
        "cores available: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let text = generate::single_file(lines);
    let file = dir.join("large.hive");
    std::fs::write(&file, &text).map_err(|e| e.to_string())?;
    let samples = (0..runs)
        .map(|_| measure(Command::new(&hivec).arg("check").arg(&file)))
        .collect::<Result<Vec<_>, _>>()?;
    report(
        "hivec check, one file",
        text.lines().count(),
        text.len(),
        &samples,
    );

    let ws = dir.join("workspace");
    write_workspace(&ws, files, 2)?;
    let (mut ws_lines, mut ws_bytes) = (0, 0);
    for (_, t) in generate::workspace(files, 2) {
        ws_lines += t.lines().count();
        ws_bytes += t.len();
    }
    let samples = (0..runs)
        .map(|_| measure(Command::new(&hivec).arg("check").arg(&ws)))
        .collect::<Result<Vec<_>, _>>()?;
    report(
        &format!("hivec check, workspace of {} files", files + 1),
        ws_lines,
        ws_bytes,
        &samples,
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `hive-bench shapes`: each shape (whose name contains `only`) at its two sizes, one line per
/// shape and command.
fn shapes(hivec: &Path, only: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("hive-bench-shapes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    println!("hivec: {}", hivec.display());
    println!(
        "{:<38} {:>5} | {:>9} {:>7} {:>7} {:>7} {:>9} | {:>9} {:>7} {:>7} {:>7} {:>9} | growth: wall, user (input)",
        "shape",
        "cmd",
        "n",
        "wall s",
        "user s",
        "peak MB",
        "lines/s",
        "n",
        "wall s",
        "user s",
        "peak MB",
        "lines/s"
    );
    for (shape, command) in hive_bench::shapes::ALL
        .iter()
        .filter(|s| s.name.contains(only))
        .flat_map(|s| s.commands.iter().map(move |c| (s, *c)))
    {
        let mut samples = Vec::new();
        for n in shape.sizes {
            let file = dir.join("shape.hive");
            let text = (shape.make)(n);
            std::fs::write(&file, &text).map_err(|e| e.to_string())?;
            let mut cmd = Command::new(hivec);
            match command {
                "fmt" => cmd.args(["fmt", "--check"]),
                "plan" => cmd.arg("plan"),
                _ => cmd.arg("check"),
            };
            // Diagnostics (check) or an unformatted file (fmt) exit with 1.
            let lines = text.lines().count();
            samples.push((text.len(), lines, measure_exit(cmd.arg(&file), &[0, 1])?));
        }
        let row = |n: usize, lines: usize, s: &Sample| {
            format!(
                "{n:>9} {:>7.3} {:>7.3} {:>7.1} {:>9.0}",
                s.wall.as_secs_f64(),
                s.user.as_secs_f64(),
                s.peak_rss_kb as f64 / 1024.0,
                lines as f64 / s.wall.as_secs_f64()
            )
        };
        let [(b0, l0, s0), (b1, l1, s1)] = [&samples[0], &samples[1]];
        println!(
            "{:<38} {:>5} | {} | {} | ×{:.1}, ×{:.1} (×{:.1})",
            shape.name,
            command,
            row(shape.sizes[0], *l0, s0),
            row(shape.sizes[1], *l1, s1),
            s1.wall.as_secs_f64() / s0.wall.as_secs_f64(),
            s1.user.as_secs_f64() / s0.user.as_secs_f64(),
            *b1 as f64 / *b0 as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
