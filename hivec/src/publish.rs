//! `hivec publish`: a message from outside (a person approving, another system) to a topic
//! of distributed runs in progress, through Redis.

use crate::Color;
use crate::out::{errln, outln};
use crate::remote::RedisArgs;
use hive_runtime::remote::keys::Keys;
use hive_runtime::remote::{Link, registry};
use hive_runtime::topics::Board;
use hive_runtime::topics::relay::Relay;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `hivec publish`'s arguments.
#[derive(clap::Args)]
pub struct PublishArgs {
    /// The `.hive` file the runs were started from.
    file: PathBuf,
    /// The topic.
    topic: String,
    /// The message, as JSON of the topic's type.
    payload: String,
    /// Only this run (default: every run in progress of the file that has the topic).
    #[arg(long, value_name = "ID")]
    run: Option<String>,
    /// A key: the same key within the topic's `dedupe` window is delivered once.
    #[arg(long)]
    key: Option<String>,
    #[command(flatten)]
    redis: RedisArgs,
    /// Imports may not leave this directory (default: the file's directory).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Colour the diagnostics (default: when stderr is a terminal).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
}

/// Exit 0 published to every run it was meant for, 1 refused or no such run, 2 usage errors.
pub fn publish(args: &PublishArgs) -> ExitCode {
    let Some(options) = args.redis.options() else {
        errln!(
            "error: hivec publish needs --redis URL: a run in one process hears messages from outside through `hivec serve` (POST /v1/topics/{})",
            args.topic
        );
        return ExitCode::from(2);
    };
    let payload: Value = match serde_json::from_str(&args.payload) {
        Ok(v) => v,
        Err(e) => {
            errln!("error: the message is not JSON: {e}");
            return ExitCode::from(2);
        }
    };
    let plan = match crate::run::load(&args.file, args.root.as_deref(), args.color) {
        Ok(p) => Arc::new(p),
        Err(code) => return code,
    };
    if !plan.topics.contains_key(&args.topic) {
        let known: Vec<&str> = plan.topics.keys().map(String::as_str).collect();
        errln!(
            "error: {} has no topic `{}` (its topics: {})",
            args.file.display(),
            args.topic,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        return ExitCode::from(2);
    }
    let tokio = match crate::remote::tokio(tokio::runtime::Builder::new_current_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let keys = Keys::new(&options.namespace);
    let ok = tokio.block_on(async {
        let link = Arc::new(Link::open(&options).await?);
        let runs = registry::runs(&link, &keys).await?;
        let targets: Vec<&String> = match &args.run {
            Some(run) => match runs.get(run) {
                None => {
                    errln!(
                        "error: run `{run}` is not in progress in namespace `{}` of {}",
                        options.namespace,
                        link.shown()
                    );
                    return Ok(false);
                }
                Some(hash) if *hash != plan.source_hash => {
                    errln!(
                        "error: run `{run}` was started from other sources than {}: give the file it runs",
                        args.file.display()
                    );
                    return Ok(false);
                }
                Some(_) => vec![run],
            },
            None => runs
                .iter()
                .filter(|(_, hash)| **hash == plan.source_hash)
                .map(|(r, _)| r)
                .collect(),
        };
        if targets.is_empty() {
            errln!(
                "error: no run of {} is in progress in namespace `{}`",
                args.file.display(),
                options.namespace
            );
            return Ok(false);
        }
        let mut all = true;
        for run in targets {
            let relay = Relay::new(&plan, link.clone(), keys.clone(), run);
            let board = Board::relayed(plan.clone(), relay, false);
            match board.publish(&args.topic, payload.clone(), args.key.as_deref()).await {
                Ok(id) => {
                    outln!("{run} {id}");
                }
                Err(refusal) => {
                    errln!("error: run {run} refused the message: {refusal}");
                    all = false;
                }
            }
        }
        Ok::<bool, hive_runtime::remote::RemoteError>(all)
    });
    match ok {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            errln!("error: {}", e.0);
            ExitCode::from(1)
        }
    }
}
