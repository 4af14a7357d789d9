//! `hivec worker`: hosts a file's exec agents for distributed runs until SIGTERM or Ctrl-C,
//! then drains and exits 0.

use crate::Color;
use crate::out::errln;
use crate::remote::RedisArgs;
use hive_runtime::remote::{WorkerOptions, serve};
use std::path::PathBuf;
use std::process::ExitCode;

/// `hivec worker`'s arguments.
#[derive(clap::Args)]
pub struct WorkerArgs {
    /// The `.hive` file (or saved JSON plan) whose agents to host: the same sources as the
    /// coordinator's.
    file: PathBuf,
    #[command(flatten)]
    redis: RedisArgs,
    /// Host only this agent (repeatable; default: every exec agent of the file).
    #[arg(long = "agent", value_name = "NAME")]
    agents: Vec<String>,
    /// The worker's id (default: host, process id and a random part). A live worker's id
    /// cannot be taken.
    #[arg(long)]
    id: Option<String>,
    /// Imports may not leave this directory (default: the file's directory).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Colour the diagnostics (default: when stderr is a terminal).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
}

/// Serves until told to stop; exit 0 after a drain, 1 when Redis failed, 2 on usage errors.
pub fn worker(args: &WorkerArgs) -> ExitCode {
    let Some(remote) = args.redis.options() else {
        errln!("error: hivec worker needs --redis URL (the Redis the coordinator uses)");
        return ExitCode::from(2);
    };
    let plan = match crate::run::load(&args.file, args.root.as_deref(), args.color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = WorkerOptions {
        remote,
        id: args.id.clone(),
        agents: args.agents.clone(),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2);
    let tokio = match crate::remote::tokio(builder) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // The signals are caught from the start: one that arrives while the agents start still
    // drains the worker instead of killing it.
    let result = tokio.block_on(async {
        let stop = match stop_signal() {
            Ok(stop) => stop,
            Err(e) => {
                return Err(hive_runtime::RunError::run(format!(
                    "cannot catch SIGTERM: {e}"
                )));
            }
        };
        serve(&plan, &options, stop, |line| {
            errln!("{line}");
        })
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// A future that resolves on SIGTERM or SIGINT; both are caught from this call on.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
