//! `hivec run`: executes a workflow of a `.hive` file or of a saved JSON plan.

use crate::Color;
use crate::plan::compile;
use hive_plan::{FORMAT, Plan};
use hive_runtime::dispatch::MemberReport;
use hive_runtime::{RunOptions, Runtime, parse_input};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Colour the diagnostics (default: when stderr is a terminal).
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Log more: `-v` info (agents' stderr, restarts), `-vv` debug. `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Runs the workflow with its inputs (`name=value` or `name=@path`). The output goes to
/// stdout as JSON and nothing else does; the summary and errors go to stderr.
pub fn run(args: &RunArgs) -> ExitCode {
    let (file, workflow, inputs) = (&args.file, args.workflow.as_deref(), &args.inputs);
    let plan = match load(file, args.root.as_deref(), args.color) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let mut plan = plan;
    let (entry, params) = match plan.entry(workflow) {
        Ok((name, wf)) => (name.to_string(), wf.params.clone()),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Only the entry and the workflows it calls: their agents are the ones to start.
    if let Err(e) = plan.retain_workflow(&entry) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let mut given = Map::new();
    for input in inputs {
        let Some((name, text)) = input.split_once('=') else {
            eprintln!("error: --input `{input}` is not `name=value` or `name=@file`");
            return ExitCode::from(2);
        };
        let text = match text.strip_prefix('@') {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: --input {name}=@{path}: cannot read {path}: {e}");
                    return ExitCode::from(2);
                }
            },
            None => text.to_string(),
        };
        let Some(param) = params.iter().find(|p| p.name == name) else {
            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            eprintln!(
                "error: the workflow has no input `{name}`; its inputs are: {}",
                names.join(", ")
            );
            return ExitCode::from(2);
        };
        match parse_input(name, &text, &param.ty) {
            Ok(v) => {
                given.insert(name.to_string(), v);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    // A simulation runs on one thread with tokio's paused clock, which jumps to the next
    // timer whenever every task waits: the same scheduler, on virtual time, deterministic.
    let built = if args.simulate {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let options = RunOptions {
        seed: args.seed,
        simulate: args.simulate,
    };
    let real = std::time::Instant::now();
    let tokio = match built {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = tokio.block_on(async {
        let runtime = Runtime::start(plan, options)?;
        runtime.run(Some(&entry), given).await
    });
    match result {
        Ok(report) => {
            let json = serde_json::to_string_pretty(&report.output).unwrap_or_default();
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{json}").is_err() {
                return ExitCode::from(2);
            }
            eprint!("{}", summary(&report.members, report.elapsed_us));
            if args.simulate {
                eprintln!(
                    "makespan {} (simulated in {})",
                    micros(report.elapsed_us),
                    micros(real.elapsed().as_micros().min(u128::from(u64::MAX)) as u64)
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// A `.hive` file is checked and lowered; a `.json` file is read as a saved plan of this
/// plan format.
fn load(file: &Path, root: Option<&Path>, color: Color) -> Result<Plan, ExitCode> {
    if file.extension().is_none_or(|e| e != "json") {
        return compile(file, root, color);
    }
    let text = std::fs::read_to_string(file).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", file.display());
        ExitCode::from(2)
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        eprintln!("error: {} is not a JSON plan: {e}", file.display());
        ExitCode::from(2)
    })?;
    let format = value.get("format").and_then(Value::as_u64);
    if format != Some(u64::from(FORMAT)) {
        eprintln!(
            "error: {} is a plan of format {}, and this hivec runs format {FORMAT}; make it again with `hivec plan --format json`",
            file.display(),
            format.map_or("(none)".to_string(), |f| f.to_string())
        );
        return Err(ExitCode::from(2));
    }
    serde_json::from_value(value).map_err(|e| {
        eprintln!("error: {} is not a valid plan: {e}", file.display());
        ExitCode::from(2)
    })
}

/// Per agent that did anything: tasks, failures, retries, mean and p99 latency, utilisation.
fn summary(members: &[MemberReport], elapsed_us: u64) -> String {
    let mut out =
        String::from("agent              tasks  failed  retries     mean      p99   busy\n");
    for m in members.iter().filter(|m| m.stats.tasks > 0) {
        let mut lat = m.stats.latencies_us.clone();
        lat.sort_unstable();
        let mean = lat.iter().sum::<u64>() / lat.len().max(1) as u64;
        let p99 = lat
            .get((lat.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or(0);
        // Utilisation: busy time over the time the slots were available.
        let slots = if m.concurrency == u32::MAX {
            None
        } else {
            Some(u64::from(m.concurrency) * m.instances as u64)
        };
        let busy = match slots {
            Some(s) if elapsed_us > 0 && s > 0 => {
                format!(
                    "{:5.1}%",
                    100.0 * m.stats.busy_us as f64 / (elapsed_us * s) as f64
                )
            }
            _ => "     -".to_string(),
        };
        out.push_str(&format!(
            "{:<18} {:>5}  {:>6}  {:>7}  {:>7}  {:>7}  {busy}\n",
            m.name,
            m.stats.tasks,
            m.stats.failures,
            m.stats.retries,
            micros(mean),
            micros(p99),
        ));
    }
    out.push_str(&format!("run took {}\n", micros(elapsed_us)));
    out
}

fn micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.1}ms", us as f64 / 1_000.0)
    } else {
        format!("{:.2}s", us as f64 / 1_000_000.0)
    }
}
