//! `hivec serve`: compiles the files at start (and again at `POST /v1/reload`), takes in the
//! runs of `--data` (resuming those a kill interrupted), then serves the JSON API of runs
//! (`/v1`) and `/metrics` on one listening address, running each submitted run in this
//! process.
//!
//! SIGINT or SIGTERM stops it: the runs in flight are cancelled as `cancel` would.
//!
//! Invariant: a token never reaches a log line, an error or a response; without tokens only a
//! loopback address is served, so an unauthenticated API is never reachable from elsewhere.

mod agents;
mod api;
mod auth;
mod cluster;
mod dashboard;
mod events;
mod history;
mod letters;
mod runs;
mod topics;
mod workflows;

use crate::Color;
use crate::out::errln;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `hivec serve`'s arguments.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// `.hive` files or directories (searched recursively) whose workflows can be run.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The address to serve on; without --tokens it must be a loopback address.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    listen: SocketAddr,
    /// Bearer tokens, one `name token` per line (`#` starts a comment); every endpoint but
    /// `/healthz` then requires one.
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Imports may not leave this directory (default: the directory of each file).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Where the runs' records and journals are kept, so that they outlive the server
    /// (default: `hive/serve` under the user's data directory, `$XDG_DATA_HOME` or
    /// `~/.local/share`).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Distributed mode: each run's exec agents are hosted by `hivec worker`s and its
    /// journal is kept in this Redis.
    #[command(flatten)]
    redis: crate::remote::RedisArgs,
    /// Colour the diagnostics and the log (default: when stderr is a terminal).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
}

/// Serves until killed. Every problem found before listening (tokens, address, files that do
/// not check) is a usage error: exit 2.
pub fn serve(args: &ServeArgs) -> ExitCode {
    let usage = |message: String| {
        errln!("error: {message}");
        ExitCode::from(2)
    };
    let tokens = match &args.tokens {
        Some(path) => match auth::Tokens::load(path) {
            Ok(t) => Some(t),
            Err(e) => return usage(e),
        },
        None => None,
    };
    if tokens.is_none() && !args.listen.ip().is_loopback() {
        return usage(format!(
            "without --tokens hivec serve listens only on a loopback address, and {} is not one: give --tokens FILE, or --listen 127.0.0.1:{}",
            args.listen,
            args.listen.port()
        ));
    }
    let workflows =
        match workflows::Workflows::compile(&args.paths, args.root.as_deref(), args.color) {
            Ok(w) => w,
            Err(code) => return code,
        };
    let Some(data) = args.data.clone().or_else(history::default_dir) else {
        return usage(
            "there is no data directory of the user to keep the runs in: give --data DIR"
                .to_string(),
        );
    };
    let history = match history::History::open(&data) {
        Ok(h) => h,
        Err(e) => return usage(e),
    };
    // The API and the runs share the scheduler: the runs coordinate and the agents compute,
    // so two threads keep a slow request from waiting on a busy run.
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let tokio = match built {
        Ok(rt) => rt,
        Err(e) => return usage(format!("cannot start the runtime: {e}")),
    };
    let cluster = match args.redis.options() {
        Some(options) => match tokio.block_on(cluster::Cluster::connect(options)) {
            Ok(c) => Some(Arc::new(c)),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let coordinated = cluster
        .as_ref()
        .map(|c| format!(", runs coordinated through Redis at {}", c.shown()))
        .unwrap_or_default();
    let state = Arc::new(api::State {
        workflows: std::sync::RwLock::new(Arc::new(workflows)),
        sources: api::Sources {
            paths: args.paths.clone(),
            root: args.root.clone(),
        },
        runs: Arc::new(runs::Runs::new(Arc::default(), history, cluster)),
        tokens,
    });
    tokio.block_on(async {
        // The runs of earlier servers; those a kill interrupted go on.
        let mut problems = Vec::new();
        let (kept, resumed) = state.runs.restore(&state.workflows(), &mut problems).await;
        for p in &problems {
            errln!("warning: {p}");
        }
        if kept > 0 {
            errln!(
                "{kept} run{} in {}; {resumed} resumed",
                if kept == 1 { "" } else { "s" },
                data.display()
            );
        }
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => return usage(format!("cannot listen on {}: {e}", args.listen)),
        };
        let shown = listener.local_addr().unwrap_or(args.listen);
        errln!(
            "serving {} workflow{} on http://{shown}{}{coordinated}",
            state.workflows().len(),
            if state.workflows().len() == 1 {
                ""
            } else {
                "s"
            },
            if state.tokens.is_some() {
                " (bearer tokens required)"
            } else {
                ""
            }
        );
        let served = axum::serve(listener, api::router(state.clone()))
            .with_graceful_shutdown(stop_signal())
            .await;
        if let Err(e) = served {
            errln!("error: the server stopped: {e}");
            return ExitCode::from(1);
        }
        // Stopped by a signal: the runs in flight are cancelled, so that their tasks get
        // `cancel` and their agents `shutdown` rather than being left running.
        let running = state.runs.cancel_all();
        if running > 0 {
            errln!(
                "stopping: {running} run{} cancelled",
                if running == 1 { "" } else { "s" }
            );
        }
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        while state.runs.running() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        ExitCode::SUCCESS
    })
}

/// How long the runs cancelled at a stop signal have to end before the server exits anyway.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves at SIGINT or SIGTERM; a signal that cannot be waited for never resolves.
async fn stop_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
