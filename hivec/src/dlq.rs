//! `hivec dlq`: the dead letters of a namespace: list them, show one, requeue one into its
//! run, purge them.

use crate::out::{errln, outln};
use crate::remote::RedisArgs;
use hive_runtime::remote::Link;
use hive_runtime::remote::dlq;
use hive_runtime::remote::keys::Keys;
use std::process::ExitCode;

/// `hivec dlq`'s arguments.
#[derive(clap::Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    redis: RedisArgs,
}

#[derive(clap::Subcommand)]
enum Action {
    /// One line per dead letter: id, run, agent, capability, deliveries and the last error.
    List,
    /// One dead letter as JSON, its input included.
    Show {
        /// Its id, as `list` prints it.
        id: String,
    },
    /// Takes one dead letter out, so that resuming its run sends its task again.
    Requeue {
        /// Its id, as `list` prints it.
        id: String,
    },
    /// Deletes every dead letter of the namespace.
    Purge,
}

/// Exit 0 done, 1 Redis failed or no such entry, 2 usage errors.
pub fn dlq(args: &DlqArgs) -> ExitCode {
    let Some(options) = args.redis.options() else {
        errln!("error: hivec dlq needs --redis URL");
        return ExitCode::from(2);
    };
    let tokio = match crate::remote::tokio(tokio::runtime::Builder::new_current_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let keys = Keys::new(&options.namespace);
    let done = tokio.block_on(async {
        let link = Link::open(&options).await?;
        match &args.action {
            Action::List => {
                let letters = dlq::list(&link, &keys).await?;
                if letters.is_empty() {
                    errln!("no dead letters in namespace `{}`", options.namespace);
                }
                for (id, f) in letters {
                    let text = |k: &str| {
                        f.get(k)
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .unwrap_or_default()
                    };
                    outln!(
                        "{id}  run {}  {}  {}  {} deliveries  {}",
                        text("run"),
                        text("agent"),
                        text("capability"),
                        text("deliveries"),
                        text("error")
                    );
                }
                Ok(true)
            }
            Action::Show { id } => match dlq::show(&link, &keys, id).await? {
                Some(fields) => {
                    let json = serde_json::to_string_pretty(&fields).unwrap_or_default();
                    outln!("{json}");
                    Ok(true)
                }
                None => {
                    errln!(
                        "error: no dead letter `{id}` in namespace `{}`",
                        options.namespace
                    );
                    Ok(false)
                }
            },
            Action::Requeue { id } => {
                let Some(letter) = dlq::show(&link, &keys, id).await? else {
                    errln!(
                        "error: no dead letter `{id}` in namespace `{}`",
                        options.namespace
                    );
                    return Ok(false);
                };
                let run = letter
                    .get("run")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default();
                // Only a run that can still be resumed can take it back.
                hive_runtime::remote::recorded(&link, &options.namespace, run).await?;
                if !dlq::requeue(&link, &keys, id).await? {
                    errln!("error: dead letter `{id}` was taken out meanwhile");
                    return Ok(false);
                }
                errln!(
                    "requeued {id}: it is sent again when run {run} is resumed (`hivec run FILE --resume {run} --redis {}`)",
                    link.shown()
                );
                Ok(true)
            }
            Action::Purge => {
                let n = dlq::purge(&link, &keys).await?;
                errln!(
                    "purged {n} dead letters from namespace `{}`",
                    options.namespace
                );
                Ok(true)
            }
        }
    });
    match done {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(hive_runtime::remote::RemoteError(e)) => {
            errln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
