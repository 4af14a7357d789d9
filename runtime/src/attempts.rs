//! The attempts of a step's call. A capability's task: its route, `retry + 1` attempts on the
//! route's target with backoff between them, then the same on each fallback target; for a
//! step with `replicas`, the same task on distinct agents decided by its consensus rule. A
//! sub-workflow: `retry + 1` runs of it, each within the step's `timeout`.

use crate::RunError;
use crate::address;
use crate::agent::{Task, TaskError};
use crate::conform::conform;
use crate::dispatch::{Request, Submitted};
use crate::eval::eval;
use crate::scope::RunScope;
use crate::step::failed;
use crate::strategy::stable_hash;
use crate::workflow::{self, WorkflowRun};
use futures_util::{FutureExt, StreamExt, stream::FuturesUnordered};
use hive_plan::{Consensus, Routing, Step, Strategy};
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Times one attempt may move because its instance died before it counts as failed.
const MAX_HANDOFFS: u32 = 8;

/// The last failed attempt of a call.
pub(crate) struct Failure {
    agent: Option<String>,
    attempt: Option<(u32, u32)>,
    cause: String,
    /// Whether another attempt may succeed.
    retryable: bool,
}

impl Failure {
    /// A failure before any attempt: the plan or an expression is wrong.
    fn fatal(cause: String) -> Failure {
        Failure {
            agent: None,
            attempt: None,
            cause,
            retryable: false,
        }
    }

    pub(crate) fn into_error(self, run: &WorkflowRun, step: &Step) -> RunError {
        RunError {
            agent: self.agent,
            attempt: self.attempt,
            retryable: self.retryable,
            ..failed(run, step, self.cause)
        }
    }
}

/// Waits before attempt `attempt + 1`: the step's backoff delay with equal jitter (half the
/// delay, plus up to the other half at random).
async fn backoff(run: &WorkflowRun, step: &Step, attempt: u32) {
    let delay = step.options.backoff.delay_ms(attempt);
    if delay > 0 {
        let jittered = delay / 2 + run.rt.random(delay - delay / 2);
        tokio::time::sleep(Duration::from_millis(jittered)).await;
    }
}

/// A call of workflow `name` with `params`: `retry + 1` runs of it with backoff between them,
/// each bounded by the step's `timeout` (a run that passes it is dropped, which cancels its
/// tasks). Each run starts afresh; what a resumed run finds in the journal is not run again.
pub(crate) async fn runs(
    run: &WorkflowRun,
    step: &Step,
    name: &str,
    params: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<Value, Failure> {
    let opts = &step.options;
    let max = opts.retry.saturating_add(1);
    let mut attempt = 1;
    loop {
        let called = workflow::run(
            run.rt.clone(),
            name.to_string(),
            params.clone(),
            path.to_string(),
        );
        let result = match opts.timeout_ms {
            None => called.await,
            Some(ms) => tokio::time::timeout(Duration::from_millis(ms), called)
                .await
                .unwrap_or_else(|_| {
                    Err(RunError::retryable(format!(
                        "timed out after {}; its tasks still running were cancelled",
                        hive_plan::duration(ms)
                    )))
                }),
        };
        let error = match result {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if !error.retryable || attempt >= max {
            return Err(Failure {
                agent: None,
                // Counted when there is more than one.
                attempt: (max > 1).then_some((attempt, max)),
                cause: format!("in workflow `{name}`: {error}"),
                retryable: error.retryable,
            });
        }
        backoff(run, step, attempt).await;
        attempt += 1;
    }
}

/// The first route whose `when` holds for this input, then its fallback chain.
fn route<'s>(step: &'s Step, input: &Value) -> Result<&'s Routing, String> {
    let urgency = Value::from(step.options.priority.urgency());
    let locals = [("input", input), ("priority", &urgency)];
    let scope = RunScope::locals(&locals);
    for r in &step.routing {
        match &r.when {
            None => return Ok(r),
            Some(when) => {
                let holds = eval(when, &scope).map_err(|e| format!("route `when`: {e}"))?;
                if holds == Value::Bool(true) {
                    return Ok(r);
                }
            }
        }
    }
    Err("no route matches this task and there is no default route".to_string())
}

/// The task's attempts: on its route's target, then on each fallback target, `retry + 1`
/// attempts each with backoff between them. `shared` is the consensus replicas' list of
/// members already taken.
pub(crate) async fn attempts(
    run: &WorkflowRun,
    step: &Step,
    capability: &str,
    input: &Arc<Value>,
    shared: Option<Arc<Mutex<Vec<usize>>>>,
) -> Result<Value, Failure> {
    let rt = &run.rt;
    let opts = &step.options;
    let fail = Failure::fatal;
    let returns = &rt
        .plan
        .capabilities
        .get(capability)
        .ok_or_else(|| fail(format!("the plan has no capability `{capability}`")))?
        .returns;
    let mut target = Some(route(step, input).map_err(fail)?);
    let max = opts.retry.saturating_add(1);
    let mut last = fail("no target to run on".to_string());
    while let Some(routing) = target {
        let group = rt.groups.get(&address(routing)).copied().ok_or_else(|| {
            fail(format!(
                "target {} is unknown to the runtime",
                routing.target.describe()
            ))
        })?;
        let key = match &routing.strategy {
            Strategy::Hash { key } => {
                let locals = [("input", &**input)];
                let v = eval(key, &RunScope::locals(&locals))
                    .map_err(|e| fail(format!("hash key: {e}")))?;
                Some(stable_hash(&v.to_string()))
            }
            _ => None,
        };
        let mut attempt = 1;
        let mut handoffs = 0;
        let mut checkpoint: Option<Value> = None;
        loop {
            // A pool with a full queue holds the task back here, in arrival order, until a
            // waiting task leaves it (backpressure).
            let room = match rt.rooms.get(group).and_then(Option::as_ref) {
                Some(room) => Some(room.clone().acquire_owned().await.map_err(|_| {
                    fail(format!(
                        "the queue of {} was closed",
                        routing.target.describe()
                    ))
                })?),
                None => None,
            };
            let request = Request {
                room,
                group,
                urgency: opts.priority.urgency(),
                deadline: run.deadline,
                task: Task {
                    capability: capability.to_string(),
                    input: input.clone(),
                    attempt,
                    deadline_ms: opts.timeout_ms,
                    checkpoint: checkpoint.take(),
                },
                demand: opts.resources,
                timeout: opts.timeout_ms.map(Duration::from_millis),
                key,
                excluded: shared.clone(),
                retry: attempt > 1,
                label: rt.traced.then(|| format!("{}{}", run.path, step.name)),
            };
            let outcome = match rt.dispatcher.submit(request).map_err(|e| fail(e.message))? {
                Submitted::Done(outcome) => outcome,
                Submitted::Pending(rx) => rx
                    .await
                    .map_err(|_| fail("the dispatcher dropped the task".to_string()))?,
            };
            let error = match outcome.result {
                Ok(v) => match conform(v, returns, &rt.plan.types) {
                    Ok(v) => return Ok(v),
                    Err(m) => TaskError::retryable(format!(
                        "output of `{capability}` does not match its type `{returns}` {m}"
                    )),
                },
                Err(e) => e,
            };
            let who = rt.member_name(outcome.member, outcome.instance);
            // A replica that failed frees its member for another attempt there.
            if let Some(Ok(mut taken)) = shared.as_ref().map(|s| s.lock()) {
                taken.retain(|m| *m != outcome.member);
            }
            if error.lost && handoffs < MAX_HANDOFFS {
                handoffs += 1;
                checkpoint = error.checkpoint;
                continue;
            }
            last = Failure {
                agent: who,
                attempt: Some((attempt, max)),
                cause: error.message,
                retryable: error.retryable,
            };
            if !error.retryable || attempt >= max {
                break;
            }
            backoff(run, step, attempt).await;
            attempt += 1;
        }
        target = routing.fallback.as_deref();
    }
    Err(last)
}

/// The same task on `replicas` distinct agents, decided by the step's consensus rule.
pub(crate) async fn consensus(
    run: &WorkflowRun,
    index: usize,
    capability: &str,
    input: &Arc<Value>,
) -> Result<Value, Failure> {
    let step = &run.workflow().steps[index];
    let n = step.options.replicas;
    let rule = step.options.consensus.unwrap_or(Consensus::Majority);
    let needed = match rule {
        Consensus::First => 1,
        Consensus::Majority => n / 2 + 1,
        Consensus::Unanimous => n,
        Consensus::Quorum(q) => q.min(n),
    };
    let shared = Arc::new(Mutex::new(Vec::new()));
    // The replicas run as futures of this task; returning early drops the rest, which
    // cancels their attempts.
    let mut set: FuturesUnordered<_> = (0..n)
        .map(|_| {
            AssertUnwindSafe(attempts(run, step, capability, input, Some(shared.clone())))
                .catch_unwind()
        })
        .collect();
    // Distinct outputs with how many replicas gave each.
    let mut tally: Vec<(Value, u32)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut finished = 0;
    while let Some(joined) = set.next().await {
        finished += 1;
        match joined {
            Ok(Ok(v)) => match tally.iter_mut().find(|(seen, _)| *seen == v) {
                Some((_, count)) => *count += 1,
                None => tally.push((v, 1)),
            },
            Ok(Err(f)) => failures.push(match f.agent {
                Some(a) => format!("{a}: {}", f.cause),
                None => f.cause,
            }),
            Err(_) => failures.push("a replica stopped: it panicked".to_string()),
        }
        if let Some((v, _)) = tally.iter().find(|(_, c)| *c >= needed) {
            // Deciding early cancels the replicas still running.
            return Ok(v.clone());
        }
        let best = tally.iter().map(|(_, c)| *c).max().unwrap_or(0);
        if best + (n - finished) < needed {
            break;
        }
    }
    let counts: Vec<String> = tally.iter().map(|(_, c)| c.to_string()).collect();
    let mut cause = format!(
        "no {} among {n} replicas: {} distinct outputs (agreeing {}), {} failed",
        rule_name(rule),
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
        attempt: None,
        cause,
        retryable: true,
    })
}

fn rule_name(rule: Consensus) -> String {
    match rule {
        Consensus::Majority => "majority".into(),
        Consensus::Unanimous => "unanimous agreement".into(),
        Consensus::First => "success".into(),
        Consensus::Quorum(q) => format!("quorum of {q}"),
    }
}
