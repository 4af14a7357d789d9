//! `hivec run`: executes a workflow of a `.hive` file or of a saved JSON plan.

use crate::Color;
use crate::inputs::parse_inputs;
use crate::out::{self, errln, outln};
use crate::plan::compile;
use crate::steps;
use hive_plan::{FORMAT, Plan};
use hive_runtime::journal::{Header, Journal, Record};
use hive_runtime::remote::{Lease, Link};
use hive_runtime::{RunOptions, RunReport, Runtime};
use serde_json::{Map, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// `hivec run`'s arguments.
#[derive(clap::Args)]
pub struct RunArgs {
    /// A `.hive` file, or a plan saved with `hivec plan --format json`.
    file: PathBuf,
    /// The workflow to run (default: `main`, else the only one).
    #[arg(long)]
    workflow: Option<String>,
    /// An input: `name=value` (JSON, or the text itself for a string input) or
    /// `name=@file` (the file's contents).
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    /// Run on a virtual clock with the agents' `simulate` behaviour; report the makespan.
    #[arg(long)]
    simulate: bool,
    /// Seed of the random choices (strategies, jitter, simulated failures).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Imports may not leave this directory (default: the file's directory).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Colour the diagnostics and the log (default: when stderr is a terminal).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
    /// Record every finished step in this journal (JSON lines), to resume the run if it
    /// is interrupted.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Continue the run recorded in this journal (with --redis: the run's id), without
    /// running a finished step again.
    #[arg(long, value_name = "FILE|RUN_ID")]
    resume: Option<PathBuf>,
    /// Write every attempt on every agent instance to this file as a Chrome trace (open it
    /// in Perfetto).
    #[arg(long, value_name = "FILE")]
    trace_out: Option<PathBuf>,
    /// Write the run's state cells at its end to this file, as one JSON object by cell.
    #[arg(long, value_name = "FILE")]
    state_out: Option<PathBuf>,
    /// Serve Prometheus metrics of the run at `http://ADDR/metrics` while it lasts.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    /// Log more: `-v` info (agents' stderr, restarts), `-vv` debug. `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    redis: crate::remote::RedisArgs,
    /// Distributed mode: how long a run's keys outlive a coordinator killed before it could
    /// delete them (`7d`, `12h`, `30m`).
    #[arg(long, default_value = "7d", value_name = "DURATION", value_parser = crate::remote::duration)]
    keep: std::time::Duration,
}

/// Runs the workflow with its inputs (`name=value` or `name=@path`). The output goes to
/// stdout as JSON and nothing else does; the summary and errors go to stderr.
pub fn run(args: &RunArgs) -> ExitCode {
    // Distributed: the run's id comes first on stderr, so a script can resume it.
    let remote = args.redis.options().filter(|_| !args.simulate).map(|r| {
        hive_runtime::remote::RemoteOptions {
            keep: args.keep,
            ..r
        }
    });
    if remote.is_some() && args.journal.is_some() {
        errln!(
            "error: a distributed run keeps its journal in Redis: leave out --journal, and continue a killed run with --resume RUN_ID --redis URL"
        );
        return ExitCode::from(2);
    }
    let run_id = remote.as_ref().map(|_| match &args.resume {
        Some(id) => id.display().to_string(),
        None => hive_runtime::remote::new_id(),
    });
    if let Some(id) = &run_id {
        errln!("run id: {id}");
    }
    // One scheduler thread: the runtime coordinates and the agents compute, and handing
    // each ready step to another thread costs more than it gains (BENCHMARKS.md). Under
    // --simulate the clock is paused: it jumps to the next timer whenever every task
    // waits, so the same scheduler runs on virtual time, deterministically.
    let built = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(args.simulate)
        .build();
    let tokio = match built {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // A distributed run resumes from its journal in Redis, once no other coordinator holds
    // it.
    let mut lease = None;
    // One connection for all the run's own requests, opened once.
    let mut link = None;
    let mut record = match (&remote, &run_id, &args.resume) {
        (Some(options), Some(id), Some(_)) => {
            let resumable = tokio.block_on(async {
                let opened = Arc::new(Link::open(options).await?);
                let taken = Lease::take(&opened, &options.namespace, id).await?;
                hive_runtime::remote::recorded(&opened, &options.namespace, id)
                    .await
                    .map(|r| (opened, taken, r))
            });
            match resumable {
                Ok((opened, taken, record)) => {
                    link = Some(opened);
                    lease = Some(taken);
                    Some(record)
                }
                Err(e) => {
                    errln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        _ => None,
    };
    let prepared = match prepare(args, record.as_ref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Prepared {
        plan,
        entry,
        inputs,
        journal,
    } = prepared;
    // Compiled: from here the process may last as long as the run does.
    hive_runtime::allocator::give_back_freed_memory();
    let header = Header {
        plan: plan.source_hash.clone(),
        workflow: entry.clone(),
        inputs: inputs.clone(),
    };
    let mut options = RunOptions {
        seed: args.seed,
        simulate: args.simulate,
        journal: journal.clone(),
        // Under --simulate the summary has a line per step, measured from the attempts.
        trace: args.trace_out.is_some() || args.simulate,
        remote: None,
        observer: None,
    };
    let options_trace = options.trace;
    let real = std::time::Instant::now();
    let (ended, trace, steps, distributed) = tokio.block_on(async {
        let failed = |e| (Ended::Ran(Err(e)), None, String::new(), None);
        // Caught from before the first agent starts, so that none is left behind.
        let mut signals = match Signals::catch() {
            Ok(s) => s,
            Err(e) => {
                return failed(hive_runtime::RunError::run(format!(
                    "cannot catch signals: {e}"
                )));
            }
        };
        if let (Some(remote), Some(id)) = (&remote, &run_id) {
            let resumed = record.is_some();
            let opened = match link.take() {
                Some(l) => Ok(l),
                None => Link::open(remote).await.map(Arc::new),
            };
            let taken = match (opened, lease.take()) {
                (Ok(link), Some(l)) => Ok((link, l)),
                (Ok(link), None) => Lease::take(&link, &remote.namespace, id)
                    .await
                    .map(|l| (link, l)),
                (Err(e), _) => Err(e),
            };
            let connected = match taken {
                Ok((link, lease)) => {
                    hive_runtime::remote::Remote::connect(link, remote, &plan, lease, resumed)
                        .await
                }
                Err(e) => Err(hive_runtime::RunError::run(e.0)),
            };
            let journal = connected.and_then(|r| {
                let journal = match record.take() {
                    Some(record) => r.continue_journal(record),
                    None => r.start_journal(&header),
                };
                options.remote = Some(r);
                journal
            });
            match journal {
                Ok(j) => options.journal = Some(Arc::new(j)),
                Err(e) => return failed(e),
            }
        }
        // Bound before anything starts, so that a taken port is an error of its own.
        let metrics = match args.metrics {
            Some(addr) => match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    let metrics = Arc::new(crate::metrics::Metrics::new());
                    options.observer = Some(metrics.clone());
                    Some((listener, metrics))
                }
                Err(e) => {
                    return failed(hive_runtime::RunError::run(format!(
                        "--metrics: cannot listen on {addr}: {e}"
                    )));
                }
            },
            None => None,
        };
        let distributed = options.remote.clone();
        let journal = options.journal.clone();
        // A real run's trace goes to its file as the attempts finish; a simulated one is
        // read whole for the step table.
        let stream = match args.trace_out.as_deref().filter(|_| !args.simulate) {
            Some(path) => match hive_runtime::TraceStream::create(path) {
                Ok(s) => Some(s),
                Err(e) => return failed(hive_runtime::RunError::run(e)),
            },
            None => None,
        };
        let streamed = stream.is_some();
        // The process ends with the run, so the plan is never freed: freeing a long
        // workflow's steps one by one would be work on the main thread after the run.
        let plan = Arc::new(plan);
        std::mem::forget(Arc::clone(&plan));
        let runtime = match Runtime::start(plan, options) {
            Ok(rt) => rt,
            Err(e) => return failed(e),
        };
        if let Some(stream) = stream {
            runtime.stream_trace(stream);
        }
        let metrics = metrics.map(|(listener, metrics)| {
            let live = Arc::new(std::sync::Mutex::new(Some(runtime.clone())));
            let served = tokio::spawn(crate::metrics::serve_run(listener, metrics.clone(), live));
            (metrics, served)
        });
        // On a terminal, a live display of the run (not under --simulate, which takes
        // milliseconds, nor with -v, whose log lines would tear it).
        let live = !args.simulate && args.verbose == 0 && std::io::stderr().is_terminal();
        let display = live.then(|| show_progress(runtime.clone()));
        // Output that can no longer be shown stops the run, as SIGPIPE would have; a signal
        // stops it too. Either drops the run, which cancels its tasks.
        let ended = tokio::select! {
            result = runtime.run(Some(&entry), inputs) => Ended::Ran(result),
            () = out::failure() => Ended::Closed,
            signal = signals.next() => Ended::Signal(signal),
        };
        if let Some((stop, shown)) = display {
            let _ = stop.send(());
            let _ = shown.await;
        }
        // A failed run's trace is the one most worth looking at.
        let trace = (options_trace && !streamed).then(|| runtime.trace());
        let steps = match (&ended, &trace) {
            (Ended::Ran(Ok(report)), Some(trace)) if args.simulate => {
                steps::table(runtime.plan(), &entry, trace, &report.members)
            }
            _ => String::new(),
        };
        // Agents are sent `cancel` and `shutdown`, and killed after the grace period; a
        // second signal kills them at once (ending the runtime kills every process group).
        if let Ended::Signal(signal) = &ended {
            errln!(
                "{}: cancelling the running tasks and stopping the agents (a second signal kills them at once)",
                signal.name
            );
        }
        tokio::select! {
            () = runtime.shutdown() => {}
            _ = signals.next(), if matches!(ended, Ended::Signal(_)) => {}
        }
        if let Some((metrics, served)) = metrics {
            let outcome = match &ended {
                Ended::Ran(Ok(_)) => "succeeded",
                Ended::Ran(Err(_)) => "failed",
                _ => "cancelled",
            };
            metrics.run_ended(&entry, outcome);
            served.abort();
        }
        if let Err(e) = runtime.end_trace() {
            errln!("error: {e}");
        }
        if let Some(path) = &args.state_out {
            write_state(path, runtime.state());
        }
        // The journal's last events, written before a distributed run's journal is flushed.
        if let Some(j) = &journal {
            if let Err(e) = runtime.journal_state() {
                errln!("warning: {e}");
            }
            let written = match &ended {
                Ended::Ran(result) => j.record_end(result.as_ref().map(|r| &r.output)),
                Ended::Signal(signal) => j.record_interrupted(signal.name),
                Ended::Closed => Ok(()),
            };
            if let Err(e) = written {
                errln!("warning: {e}");
            }
        }
        let distributed = match distributed {
            Some(remote) => {
                if let Err(e) = remote.finish().await {
                    errln!("warning: {e}");
                }
                Some(remote.report())
            }
            None => None,
        };
        (ended, trace, steps, distributed)
    });
    if let (Some(path), Some(trace)) = (&args.trace_out, trace) {
        let text = serde_json::to_string(&trace).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            errln!("error: cannot write the trace {}: {e}", path.display());
        }
    }
    let result = match ended {
        Ended::Ran(result) => result,
        // Stopped because output failed: like a killed run, its journal can be resumed.
        Ended::Closed => return ExitCode::from(out::CLOSED),
        Ended::Signal(signal) => {
            errln!(
                "error: interrupted by {}; the tasks still running were cancelled",
                signal.name
            );
            resume_note(args, run_id.as_deref(), remote.as_ref());
            return ExitCode::from(signal.status);
        }
    };
    match result {
        Ok(report) => {
            let json = serde_json::to_string_pretty(&report.output).unwrap_or_default();
            if !outln!("{json}") {
                return ExitCode::from(2);
            }
            let simulated_in = args.simulate.then(|| hive_runtime::micros(real.elapsed()));
            out::stderr(&steps);
            out::stderr(&summary(&report, simulated_in));
            if let Some(d) = distributed.filter(|d| d.adopted > 0) {
                errln!(
                    "redis: {} attempts of the killed coordinator taken over (their answers, or their deliveries in flight) instead of sent again",
                    d.adopted
                );
            }
            if let Some(d) = distributed.filter(|d| d.refused + d.reclaimed > 0) {
                errln!(
                    "redis: {} deliveries reclaimed from workers that stopped renewing their lease; {} late or duplicate answers refused",
                    d.reclaimed,
                    d.refused
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("error: {e}");
            resume_note(args, run_id.as_deref(), remote.as_ref());
            ExitCode::from(1)
        }
    }
}

/// How a run ended.
enum Ended {
    /// It finished or failed.
    Ran(Result<RunReport, hive_runtime::RunError>),
    /// Its output could no longer be written.
    Closed,
    /// A signal stopped it.
    Signal(Signal),
}

/// A signal that stops a run: its name and the exit status it gives (128 + its number, as
/// a shell reports a command the signal killed).
#[derive(Clone, Copy)]
struct Signal {
    name: &'static str,
    status: u8,
}

/// SIGINT, SIGTERM and SIGHUP, caught while they are held.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn catch() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next of them to arrive.
    async fn next(&mut self) -> Signal {
        // Their numbers are the same on every Unix.
        let (name, number) = tokio::select! {
            _ = self.int.recv() => ("SIGINT", 2),
            _ = self.term.recv() => ("SIGTERM", 15),
            _ = self.hup.recv() => ("SIGHUP", 1),
        };
        Signal {
            name,
            status: 128 + number,
        }
    }
}

/// Writes the run's final state cells to `path` (`--state-out`), values read by `env()`
/// masked, readable by its owner alone like the journal.
fn write_state(path: &std::path::Path, state: serde_json::Map<String, serde_json::Value>) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut state = serde_json::Value::Object(state);
    hive_runtime::secrets::mask_value(&mut state);
    let mut text = serde_json::to_string_pretty(&state).unwrap_or_default();
    text.push('\n');
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        errln!("error: cannot write the state {}: {e}", path.display());
    }
}

/// How to continue a run that did not finish, when it has a journal.
fn resume_note(
    args: &RunArgs,
    run_id: Option<&str>,
    remote: Option<&hive_runtime::remote::RemoteOptions>,
) {
    let resume = match (run_id, remote) {
        (Some(id), Some(r)) => Some(format!(
            "{id} --redis {}",
            hive_runtime::remote::masked(&r.url)
        )),
        _ => args
            .journal
            .as_ref()
            .or(args.resume.as_ref())
            .map(|p| p.display().to_string()),
    };
    if let Some(resume) = resume {
        errln!(
            "note: continue with `hivec run {} --resume {resume}`",
            args.file.display()
        );
    }
}

/// Redraws the progress of `runtime` until told to stop, then clears it.
fn show_progress(
    runtime: Arc<Runtime>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let shown = tokio::spawn(async move {
        let mut display = crate::progress::Display::new();
        let mut tick = tokio::time::interval(crate::progress::REFRESH);
        loop {
            tokio::select! {
                _ = tick.tick() => display.update(&runtime.progress()),
                _ = &mut stopped => break,
            }
        }
        display.clear();
    });
    (stop, shown)
}

/// What a run needs before it starts.
struct Prepared {
    plan: Plan,
    entry: String,
    inputs: Map<String, Value>,
    journal: Option<Arc<Journal>>,
}

/// Loads the plan and binds the inputs, from the command line or from the journal being
/// resumed; every problem is a usage error (exit 2) before anything starts.
fn prepare(args: &RunArgs, recorded: Option<&Record>) -> Result<Prepared, ExitCode> {
    let usage = |message: String| {
        errln!("error: {message}");
        ExitCode::from(2)
    };
    let mut plan = load(&args.file, args.root.as_deref(), args.color)?;
    if args.resume.is_some()
        && (args.journal.is_some() || args.workflow.is_some() || !args.inputs.is_empty())
    {
        return Err(usage(
            "--resume continues the journal's run with its workflow and inputs, and appends to that journal; leave out --journal, --workflow and --input".to_string(),
        ));
    }
    // The journal's file, opened but not appended to until it has passed the checks.
    let mut reopened = None;
    let resumed = match (&args.resume, recorded) {
        (Some(id), Some(record)) => Some((record, format!("run {}", id.display()))),
        (Some(path), None) => {
            let (sink, record) = Journal::reopen(path).map_err(usage)?;
            let record = &reopened.insert((sink, record)).1;
            Some((record, path.display().to_string()))
        }
        (None, _) => None,
    };
    if let Some((Record { header, .. }, origin)) = &resumed
        && header.plan != plan.source_hash
    {
        return Err(usage(format!(
            "{origin} was written by a run of other sources: {} changed since, so its steps cannot be trusted; start again",
            args.file.display()
        )));
    }
    let workflow = match &resumed {
        Some((record, _)) => Some(record.header.workflow.as_str()),
        None => args.workflow.as_deref(),
    };
    let (entry, params) = match plan.entry(workflow) {
        Ok((name, wf)) => (name.to_string(), wf.params.clone()),
        Err(e) => return Err(usage(e)),
    };
    // Only the entry and the workflows it calls: their agents are the ones to start.
    plan.retain_workflow(&entry).map_err(usage)?;
    if let Some((record, origin)) = &resumed {
        record
            .check(&plan, &entry)
            .map_err(|e| usage(format!("{origin}: {e}")))?;
    }
    let inputs = match &resumed {
        Some((record, _)) => record.header.inputs.clone(),
        None => parse_inputs(&args.inputs, &params, &plan.types).map_err(|problems| {
            for problem in problems {
                errln!("error: {problem}");
            }
            ExitCode::from(2)
        })?,
    };
    let journal = match (reopened, &args.journal) {
        (Some((sink, record)), _) => {
            Some(Arc::new(Journal::continued(sink, record).map_err(usage)?))
        }
        (None, Some(path)) => {
            let header = Header {
                plan: plan.source_hash.clone(),
                workflow: entry.clone(),
                inputs: inputs.clone(),
            };
            Some(Arc::new(Journal::create(path, &header).map_err(usage)?))
        }
        (None, None) => None,
    };
    Ok(Prepared {
        plan,
        entry,
        inputs,
        journal,
    })
}

/// A `.hive` file is checked and lowered; a `.json` file is read as a saved plan of this
/// plan format and validated ([`hive_plan::validate`]).
pub(crate) fn load(file: &Path, root: Option<&Path>, color: Color) -> Result<Plan, ExitCode> {
    if file.extension().is_none_or(|e| e != "json") {
        return compile(file, root, color);
    }
    let text = std::fs::read_to_string(file).map_err(|e| {
        errln!("error: cannot read {}: {e}", file.display());
        ExitCode::from(2)
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        errln!("error: {} is not a JSON plan: {e}", file.display());
        ExitCode::from(2)
    })?;
    let format = value.get("format").and_then(Value::as_u64);
    if format != Some(u64::from(FORMAT)) {
        errln!(
            "error: {} is a plan of format {}, and this hivec runs format {FORMAT}; make it again with `hivec plan --format json`",
            file.display(),
            format.map_or("(none)".to_string(), |f| f.to_string())
        );
        return Err(ExitCode::from(2));
    }
    let mut plan: Plan = serde_json::from_value(value).map_err(|e| {
        errln!("error: {} is not a valid plan: {e}", file.display());
        ExitCode::from(2)
    })?;
    // A saved plan may have been edited: it is held to what the compiler could write before
    // anything of it starts.
    let problems = hive_plan::validate(&plan);
    if !problems.is_empty() {
        const SHOWN: usize = 20;
        for p in problems.iter().take(SHOWN) {
            errln!("error: {}: {p}", file.display());
        }
        if problems.len() > SHOWN {
            errln!(
                "error: {}: and {} more problems",
                file.display(),
                problems.len() - SHOWN
            );
        }
        errln!(
            "note: {} is not a plan hivec wrote; make it again with `hivec plan --format json`",
            file.display()
        );
        return Err(ExitCode::from(2));
    }
    // A relative base belongs to the plan, not to wherever it is run from.
    if let Some(dir) = file.parent()
        && Path::new(&plan.base).is_relative()
    {
        plan.base = dir.join(&plan.base).display().to_string();
    }
    Ok(plan)
}

/// Per agent that did anything: tasks, failures, cancelled attempts (when there were any),
/// retries, mean and p99 latency, utilisation.
/// Under `--simulate`, `elapsed_us` is virtual time (the makespan) and `simulated_in` the
/// real time the simulation took.
fn summary(report: &RunReport, simulated_in: Option<u64>) -> String {
    let elapsed_us = report.elapsed_us;
    // Cancelled attempts are neither done nor failed; their column shows only when some were.
    let cancelled = report.members.iter().any(|m| m.stats.cancelled > 0);
    let mut out = String::from("agent              tasks  failed");
    if cancelled {
        out.push_str("  cancelled");
    }
    out.push_str("  retries     mean      p99   busy\n");
    for m in report
        .members
        .iter()
        .filter(|m| m.stats.tasks + m.stats.cancelled > 0)
    {
        let mut lat = m.stats.latencies_us.clone();
        lat.sort_unstable();
        let mean = lat.iter().sum::<u64>() / lat.len().max(1) as u64;
        let p99 = lat
            .get((lat.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or(0);
        // Utilisation: busy time over the time the slots were available; for an agent
        // that scaled, over the time each of its instances existed.
        let slot_us = if m.concurrency == u32::MAX {
            0
        } else if m.scales() {
            u64::from(m.concurrency).saturating_mul(m.scaling.instance_us)
        } else {
            u64::from(m.concurrency) * m.instances as u64 * elapsed_us
        };
        let busy = match slot_us {
            0 => "     -".to_string(),
            s => format!("{:5.1}%", 100.0 * m.stats.busy_us as f64 / s as f64),
        };
        // An agent whose attempts were all cancelled has no latency to show.
        let latency = |us| {
            if lat.is_empty() {
                "-".to_string()
            } else {
                show_us(us)
            }
        };
        let cancelled_column = if cancelled {
            format!("  {:>9}", m.stats.cancelled)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{:<18} {:>5}  {:>6}{cancelled_column}  {:>7}  {:>7}  {:>7}  {busy}\n",
            m.name,
            m.stats.tasks,
            m.stats.failures,
            m.stats.retries,
            latency(mean),
            latency(p99),
        ));
    }
    for m in report.members.iter().filter(|m| m.scales()) {
        out.push_str(&format!(
            "agent {}: {} to {} instances, at most {} ({} added, {} removed)\n",
            m.name, m.replicas.0, m.replicas.1, m.scaling.peak, m.scaling.added, m.scaling.removed
        ));
    }
    // How deep the pools' queues got, to size `max_queue` and the pools themselves.
    for q in report.queues.iter().filter(|q| q.peak > 0) {
        let bound = q
            .max_queue
            .map_or(String::new(), |m| format!(" (max_queue {m})"));
        out.push_str(&format!(
            "pool {}: at most {} waiting{bound}\n",
            q.pool, q.peak
        ));
    }
    out.push_str(&match simulated_in {
        None => format!("run took {}\n", show_us(elapsed_us)),
        Some(real) => format!(
            "makespan {} (simulated in {})\n",
            show_us(elapsed_us),
            show_us(real)
        ),
    });
    out
}

/// Microseconds for a person: `850µs`, `12.5ms`, `3.20s`.
pub fn show_us(us: u64) -> String {
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.1}ms", us as f64 / 1_000.0)
    } else {
        format!("{:.2}s", us as f64 / 1_000_000.0)
    }
}
