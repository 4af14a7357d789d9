//! A broadcast step (`with { broadcast: true }`): its task goes to every member agent of the
//! step at once, each member's attempts placed on that agent alone by the dispatcher with the
//! step's retries and timeout (`attempts::on_member`), and the answers gather into one object
//! keyed by agent name. A member that fails after its retries, or that has no live instance,
//! is absent from it and reported: a warning and an observer event. The step fails only when
//! no member answered.
//!
//! Journal: each member's answer is recorded under `step@agent` as it comes, so a resumed run
//! asks again only the members that had not answered; the whole value is recorded like any
//! step's. With a `key`, each member's task is keyed `key@agent`.

use crate::RunError;
use crate::attempts::{Failure, on_member};
use crate::conform::conform;
use crate::dispatch::Liveness;
use crate::keys::Claim;
use crate::observe::Event;
use crate::workflow::WorkflowRun;
use futures_util::{FutureExt, StreamExt, stream::FuturesUnordered};
use hive_plan::{Broadcast, Routing, Step, Target};
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often a member without a live instance is looked at again while one may come up.
const LIVENESS_POLL: Duration = Duration::from_millis(20);

/// Heartbeat intervals a member may take to show a live instance before it counts as absent:
/// as long as an instance may stay silent before it counts as dead.
const LIVENESS_INTERVALS: u64 = 3;

/// What one member's task came to: its value, or why it gave none (a journal that cannot
/// be written fails the run instead).
type Answer = Result<Result<Value, Failure>, RunError>;

/// Runs broadcast step `index` of `run` with `input`: the value maps each member that answered
/// to its output, or, when none did, the failure that names each member's cause.
pub(crate) async fn run(
    run: &WorkflowRun,
    index: usize,
    broadcast: &Broadcast,
    capability: &str,
    input: Arc<Value>,
    key: Option<String>,
) -> Result<Result<Value, Failure>, RunError> {
    let step = &run.workflow().steps[index];
    let mut answers = Map::new();
    let mut causes: Vec<String> = Vec::new();
    // The members are futures of the step's task: dropping the step cancels their attempts.
    let mut running = FuturesUnordered::new();
    for member in &broadcast.members {
        let Target::Agent { agent } = &member.target else {
            continue;
        };
        let journaled = run
            .rt
            .journal
            .as_ref()
            .and_then(|j| j.done(&run.member_key(index, agent)));
        if let Some(value) = journaled {
            answers.insert(agent.clone(), value.clone());
            continue;
        }
        let call = member_call(run, step, member, agent, capability, &input, key.as_deref());
        running.push(
            AssertUnwindSafe(call)
                .catch_unwind()
                .map(move |r| (agent, r)),
        );
    }
    while let Some((agent, answer)) = running.next().await {
        let answer: Answer = answer
            .unwrap_or_else(|_| Ok(Err(Failure::fatal("its task stopped: it panicked".into()))));
        match answer? {
            Ok(value) => {
                if let Some(j) = &run.rt.journal {
                    j.record_done(&run.member_key(index, agent), &value)
                        .map_err(RunError::run)?;
                }
                answers.insert(agent.clone(), value);
            }
            Err(failure) => {
                let cause = describe(&failure);
                absent(run, step, index, agent, &cause);
                causes.push(format!("`{agent}`: {cause}"));
            }
        }
    }
    if answers.is_empty() {
        return Ok(Err(Failure {
            agent: None,
            attempt: None,
            cause: format!("no member of the broadcast answered: {}", causes.join("; ")),
            retryable: false,
        }));
    }
    Ok(Ok(Value::Object(answers)))
}

/// The task of one member `agent` (routed by `member`): once the member has a live instance,
/// its attempts; with a key, at most once per `key@agent` in the run.
async fn member_call(
    run: &WorkflowRun,
    step: &Step,
    member: &Routing,
    agent: &str,
    capability: &str,
    input: &Arc<Value>,
    key: Option<&str>,
) -> Answer {
    if let Err(cause) = live(run, member, agent).await {
        return Ok(Err(Failure::fatal(cause)));
    }
    let ticket = match key {
        None => None,
        Some(k) => {
            let k = format!("{k}@{agent}");
            match run.rt.keys.claim(&k).await {
                // A value from the journal of a resumed run is checked like an agent's output.
                Claim::Done(value) => {
                    let returns = run.rt.plan.capabilities.get(capability).map(|c| &c.returns);
                    return Ok(match returns {
                        Some(ty) => conform(value, ty, &run.rt.plan.types).map_err(|m| {
                            Failure::fatal(format!(
                                "the value recorded for key `{k}` does not match the type `{ty}` {m}"
                            ))
                        }),
                        None => Ok(value),
                    });
                }
                Claim::Run(ticket) => Some(ticket),
            }
        }
    };
    let result = on_member(run, step, capability, input, member).await;
    if let (Ok(value), Some(ticket)) = (&result, ticket) {
        if let Some(j) = &run.rt.journal {
            j.record_key(ticket.key(), value).map_err(RunError::run)?;
        }
        ticket.finish(value.clone());
    }
    Ok(result)
}

/// Waits until member `agent` has a live instance: at once when one is live, and for as long
/// as three of its heartbeat intervals while one is starting (a process restarting, a worker
/// not yet heard from). The error says why it has none.
async fn live(run: &WorkflowRun, member: &Routing, agent: &str) -> Result<(), String> {
    let rt = &run.rt;
    let group = *rt
        .groups
        .get(&member.id)
        .ok_or_else(|| format!("member `{agent}` is unknown to the runtime"))?;
    let heartbeat = rt.plan.agents.get(agent).map_or(5_000, |a| a.heartbeat_ms);
    let grace = heartbeat.saturating_mul(LIVENESS_INTERVALS);
    let until = Instant::now() + Duration::from_millis(grace);
    loop {
        match rt.dispatcher.liveness(group) {
            Liveness::Live => return Ok(()),
            Liveness::Gone(reasons) if reasons.is_empty() => {
                return Err("it has no live instance".to_string());
            }
            Liveness::Gone(reasons) => {
                return Err(format!("it has no live instance: {}", reasons.join("; ")));
            }
            Liveness::Coming if Instant::now() >= until => {
                return Err(format!(
                    "no instance of it was live within {}",
                    hive_plan::duration(grace)
                ));
            }
            Liveness::Coming => tokio::time::sleep(LIVENESS_POLL).await,
        }
    }
}

/// A member's failure as one line: the instance and attempt, then the cause.
fn describe(failure: &Failure) -> String {
    let mut out = String::new();
    if let Some(agent) = &failure.agent {
        out.push_str(&format!("on `{agent}`"));
    }
    if let Some((n, of)) = failure.attempt {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("(attempt {n} of {of})"));
    }
    if !out.is_empty() {
        out.push_str(": ");
    }
    out.push_str(&failure.cause);
    crate::secrets::mask(&out).into_owned()
}

/// Reports that member `agent` of broadcast step `step` is absent from its value: a warning
/// on the log and an event for the run's observer.
fn absent(run: &WorkflowRun, step: &Step, index: usize, agent: &str, cause: &str) {
    tracing::warn!(
        "step `{}.{}`: broadcast member `{agent}` is absent from the step's value: {cause}",
        run.name,
        step.name
    );
    run.rt.tell(|| Event::MemberAbsent {
        step: run.key(index, None),
        agent: agent.to_string(),
        error: cause.to_string(),
    });
}
