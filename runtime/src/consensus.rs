//! A consensus round: the same task on `replicas` distinct agents at once, decided by the
//! step's rule as soon as enough of them agree. A round without agreement is a failed
//! attempt of the step, retried like any other.

use crate::attempts::{Call, Failure, Target};
use futures_util::{FutureExt, StreamExt, stream::FuturesUnordered};
use hive_plan::{Consensus, Options};
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

/// Attempt `attempt` (of the step's `max`) as a round of `options.replicas` replicas on
/// `target`. Deciding early drops the replicas still running, which cancels their tasks.
pub(crate) async fn round(
    task: &Call<'_>,
    options: &Options,
    target: &Target<'_>,
    attempt: (u32, u32),
) -> Result<Value, Failure> {
    let n = options.replicas;
    let needed = needed(options);
    // Members the replicas hold, so that no two run on one agent at once.
    let taken = Arc::new(Mutex::new(Vec::new()));
    let mut set: FuturesUnordered<_> = (0..n)
        .map(|_| AssertUnwindSafe(task.once(target, attempt, Some(taken.clone()))).catch_unwind())
        .collect();
    // Distinct outputs with how many replicas gave each.
    let mut tally: Vec<(Value, u32)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut fatal = 0;
    let mut finished = 0;
    while let Some(joined) = set.next().await {
        finished += 1;
        match joined {
            Ok(Ok(v)) => match tally.iter_mut().find(|(seen, _)| *seen == v) {
                Some((_, count)) => *count += 1,
                None => tally.push((v, 1)),
            },
            Ok(Err(f)) => {
                fatal += u32::from(!f.retryable);
                failures.push(match f.agent {
                    Some(a) => format!("{a}: {}", f.cause),
                    None => f.cause,
                });
            }
            Err(_) => failures.push("a replica stopped: it panicked".to_string()),
        }
        if let Some((v, _)) = tally.iter().find(|(_, c)| *c >= needed) {
            return Ok(v.clone());
        }
        let best = tally.iter().map(|(_, c)| *c).max().unwrap_or(0);
        if best + (n - finished) < needed {
            break;
        }
    }
    let counts: Vec<String> = tally.iter().map(|(_, c)| c.to_string()).collect();
    let mut cause = format!(
        "{} distinct outputs (agreeing {}), {} failed",
        tally.len(),
        if counts.is_empty() {
            "0".to_string()
        } else {
            counts.join(", ")
        },
        failures.len()
    );
    if let Some(first) = failures.first() {
        cause.push_str(&format!("; first failure: {first}"));
    }
    Err(Failure {
        agent: None,
        attempt: Some(attempt),
        cause,
        // Another round can agree unless the replicas that failed for good already rule
        // agreement out.
        retryable: n.saturating_sub(fatal) >= needed,
    })
}

/// The cause of a step whose `rounds` rounds all failed, the last as `last` says.
pub(crate) fn summary(options: &Options, rounds: u32, last: &str) -> String {
    format!(
        "no {} among {} replicas in {rounds} round{}; the last had {last}",
        rule_name(options.consensus.unwrap_or(Consensus::Majority)),
        options.replicas,
        if rounds == 1 { "" } else { "s" }
    )
}

/// How many replicas must give the same output.
fn needed(options: &Options) -> u32 {
    let n = options.replicas;
    match options.consensus.unwrap_or(Consensus::Majority) {
        Consensus::First => 1,
        Consensus::Majority => n / 2 + 1,
        Consensus::Unanimous => n,
        Consensus::Quorum(q) => q.min(n),
    }
}

fn rule_name(rule: Consensus) -> String {
    match rule {
        Consensus::Majority => "majority".into(),
        Consensus::Unanimous => "unanimous agreement".into(),
        Consensus::First => "success".into(),
        Consensus::Quorum(q) => format!("quorum of {q}"),
    }
}
