//! The attempts of a step's call. A capability's task: its route, `retry + 1` attempts on the
//! route's target with backoff between them, then the same on each fallback target; for a
//! step with `replicas`, the same task on distinct agents decided by its consensus rule. A
//! sub-workflow: `retry + 1` runs of it, each within the step's `timeout`.

use crate::RunError;
use crate::agent::{Task, TaskError};
use crate::conform::conform;
use crate::consensus;
use crate::dispatch::{Check, Outcome, Request, Submitted};
use crate::eval::eval;
use crate::scope::RunScope;
use crate::step::failed;
use crate::strategy::stable_hash;
use crate::workflow::{self, WorkflowRun};
use hive_plan::{Routing, Step, Strategy, Type};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Times one attempt may move because its instance died before it counts as failed.
const MAX_HANDOFFS: u32 = 8;

/// The last failed attempt of a call.
pub(crate) struct Failure {
    pub(crate) agent: Option<String>,
    pub(crate) attempt: Option<(u32, u32)>,
    pub(crate) cause: String,
    /// Whether another attempt may succeed.
    pub(crate) retryable: bool,
}

impl Failure {
    /// A failure before any attempt: the plan or an expression is wrong.
    pub(crate) fn fatal(cause: String) -> Failure {
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

/// Where one task goes: its routing entry, the dispatcher group of that target, and the
/// `hash` strategy's key for this input.
pub(crate) struct Target<'s> {
    routing: &'s Routing,
    group: usize,
    key: Option<u64>,
}

/// The task's attempts: on its route's target, then on each fallback target, `retry + 1`
/// attempts each with backoff between them. With `replicas` above 1, an attempt is a round
/// of the task on that many distinct agents, decided by the step's consensus rule.
pub(crate) async fn attempts(
    run: &WorkflowRun,
    step: &Step,
    capability: &str,
    input: &Arc<Value>,
) -> Result<Value, Failure> {
    let task = Call::new(run, step, capability, input)?;
    let mut routing = Some(route(step, input).map_err(Failure::fatal)?);
    let mut last = Failure::fatal("no target to run on".to_string());
    let mut rounds = 0;
    while let Some(r) = routing {
        let target = target(run, r, input)?;
        last = match task.on(&target, &mut rounds).await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        routing = r.fallback.as_deref();
    }
    if rounds > 0 {
        last.cause = consensus::summary(&step.options, rounds, &last.cause);
    }
    Err(last)
}

/// The task's attempts on one member of a broadcast, `member` (a routing to that agent
/// alone): `retry + 1` attempts with backoff between them.
pub(crate) async fn on_member(
    run: &WorkflowRun,
    step: &Step,
    capability: &str,
    input: &Arc<Value>,
    member: &Routing,
) -> Result<Value, Failure> {
    let task = Call::new(run, step, capability, input)?;
    let target = target(run, member, input)?;
    task.on(&target, &mut 0).await
}

/// The dispatcher group and hash key of routing entry `r` for this input.
fn target<'s>(run: &WorkflowRun, r: &'s Routing, input: &Value) -> Result<Target<'s>, Failure> {
    let group = run.rt.groups.get(&r.id).copied().ok_or_else(|| {
        Failure::fatal(format!(
            "target {} is unknown to the runtime",
            r.target.describe()
        ))
    })?;
    let key = match &r.strategy {
        Strategy::Hash { key } => {
            let locals = [("input", input)];
            let v = eval(key, &RunScope::locals(&locals))
                .map_err(|e| Failure::fatal(format!("hash key: {e}")))?;
            Some(stable_hash(&v.to_string()))
        }
        _ => None,
    };
    Ok(Target {
        routing: r,
        group,
        key,
    })
}

/// One task of a step: what every attempt of it sends.
pub(crate) struct Call<'a> {
    run: &'a WorkflowRun,
    step: &'a Step,
    capability: &'a str,
    input: &'a Arc<Value>,
    check: Check,
    /// Members on which an attempt of this task failed or was lost: the next one goes
    /// elsewhere when another member can take it.
    failed_on: Mutex<Vec<usize>>,
}

/// Conforms an output of `capability` to its type `returns`; one that does not match fails
/// its attempt (retryable), so that the trace and the summary count it as failed.
fn output_check(run: &WorkflowRun, capability: &str, returns: &Type) -> Check {
    // Weak: a request left in a queue must not keep the runtime alive.
    let rt = Arc::downgrade(&run.rt);
    let returns = returns.clone();
    let capability = capability.to_string();
    Arc::new(move |v| {
        let rt = rt
            .upgrade()
            .ok_or_else(|| TaskError::fatal("the run has ended"))?;
        conform(v, &returns, &rt.plan.types).map_err(|m| {
            TaskError::retryable(format!(
                "output of `{capability}` does not match its type `{returns}` {m}"
            ))
        })
    })
}

/// What an attempt carries from one delivery to the next when its instance dies under it.
#[derive(Default)]
struct Handoff {
    /// Deliveries lost so far.
    count: u32,
    /// The last checkpoint a dead instance saved.
    checkpoint: Option<Value>,
    /// Why the last delivery was lost.
    cause: Option<String>,
    /// Where the attempt's time runs out, once a delivery of it has started.
    expires: Option<Instant>,
}

impl<'a> Call<'a> {
    fn new(
        run: &'a WorkflowRun,
        step: &'a Step,
        capability: &'a str,
        input: &'a Arc<Value>,
    ) -> Result<Call<'a>, Failure> {
        let returns = &run
            .rt
            .plan
            .capabilities
            .get(capability)
            .ok_or_else(|| Failure::fatal(format!("the plan has no capability `{capability}`")))?
            .returns;
        Ok(Call {
            run,
            step,
            capability,
            input,
            check: output_check(run, capability, returns),
            failed_on: Mutex::new(Vec::new()),
        })
    }

    /// `retry + 1` attempts on `target` with backoff between them, until one succeeds or
    /// fails for good; with `replicas` above 1 each is a consensus round, counted in
    /// `rounds`.
    async fn on(&self, target: &Target<'_>, rounds: &mut u32) -> Result<Value, Failure> {
        let (run, step) = (self.run, self.step);
        let max = step.options.retry.saturating_add(1);
        let mut attempt = 1;
        loop {
            let outcome = if step.options.replicas > 1 {
                *rounds += 1;
                consensus::round(self, &step.options, target, (attempt, max)).await
            } else {
                self.once(target, (attempt, max), None).await
            };
            let last = match outcome {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !last.retryable || attempt >= max {
                return Err(last);
            }
            backoff(run, step, attempt).await;
            attempt += 1;
        }
    }

    /// Attempt `attempt` of `max` on `target`, moved on (with its checkpoint) when its
    /// instance dies under it, within the step's `timeout` counted from its first start:
    /// a handoff does not start the clock again. `taken` is the list of members a consensus
    /// round's replicas hold, so that they land on distinct agents.
    pub(crate) async fn once(
        &self,
        target: &Target<'_>,
        (attempt, max): (u32, u32),
        taken: Option<Arc<Mutex<Vec<usize>>>>,
    ) -> Result<Value, Failure> {
        let (run, step) = (self.run, self.step);
        let rt = &run.rt;
        let timeout = step.options.timeout_ms.map(Duration::from_millis);
        let mut moved = Handoff::default();
        let mut last_agent = None;
        loop {
            let expires = moved.expires;
            let delivery = self.deliver(target, attempt, &mut moved, taken.clone());
            let outcome = match expires {
                None => delivery.await?,
                Some(end) => match tokio::time::timeout_at(end, delivery).await {
                    Ok(outcome) => outcome?,
                    // Its time ran out while it waited for another instance.
                    Err(_) => {
                        let limit = timeout.map_or(0, |t| t.as_millis() as u64);
                        return Err(Failure {
                            agent: last_agent,
                            attempt: Some((attempt, max)),
                            cause: format!(
                                "timed out after {}, waiting to move on after: {}",
                                hive_plan::duration(limit),
                                moved.cause.unwrap_or_default()
                            ),
                            retryable: true,
                        });
                    }
                },
            };
            let error = match outcome.result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            // A replica that failed frees its member, so that its handoff may go there.
            if let Some(Ok(mut taken)) = taken.as_ref().map(|s| s.lock()) {
                taken.retain(|m| *m != outcome.member);
            }
            last_agent = rt.member_name(outcome.member, outcome.instance);
            if last_agent.is_some()
                && let Ok(mut failed_on) = self.failed_on.lock()
                && !failed_on.contains(&outcome.member)
            {
                failed_on.push(outcome.member);
            }
            if error.lost && moved.count < MAX_HANDOFFS {
                if let Some(observer) = &rt.observer {
                    observer.observe(crate::observe::Event::Redelivered);
                }
                moved.count += 1;
                moved.checkpoint = error.checkpoint;
                moved.cause = Some(error.message);
                if moved.expires.is_none() {
                    moved.expires = outcome.started.zip(timeout).map(|(at, t)| at + t);
                }
                continue;
            }
            if error.lost {
                self.dead_letter(&last_agent, attempt, moved.count + 1, &error.message);
            }
            return Err(Failure {
                agent: last_agent,
                attempt: Some((attempt, max)),
                cause: error.message,
                retryable: error.retryable,
            });
        }
    }

    /// Tells the observer that this task's attempt was given up after `deliveries` lost
    /// deliveries: a dead letter.
    fn dead_letter(&self, agent: &Option<String>, attempt: u32, deliveries: u32, error: &str) {
        let Some(observer) = &self.run.rt.observer else {
            return;
        };
        let mut input = (**self.input).clone();
        crate::secrets::mask_value(&mut input);
        observer.observe(crate::observe::Event::DeadLetter(
            crate::observe::DeadLetter {
                step: format!("{}{}", self.run.path, self.step.name),
                agent: agent.clone(),
                capability: self.capability.to_string(),
                attempt,
                deliveries,
                error: crate::secrets::mask(error).into_owned(),
                input,
            },
        ));
    }

    /// One delivery of attempt `attempt`, after the handoffs in `moved`: the task handed to
    /// the dispatcher, and its outcome.
    async fn deliver(
        &self,
        target: &Target<'_>,
        attempt: u32,
        moved: &mut Handoff,
        taken: Option<Arc<Mutex<Vec<usize>>>>,
    ) -> Result<Outcome, Failure> {
        let (run, step) = (self.run, self.step);
        let rt = &run.rt;
        let opts = &step.options;
        let fail = Failure::fatal;
        // A pool with a full queue holds the task back here, in arrival order, until a
        // waiting task leaves it (backpressure).
        let room = match rt.rooms.get(target.group).and_then(Option::as_ref) {
            Some(room) => Some(room.clone().acquire_owned().await.map_err(|_| {
                fail(format!(
                    "the queue of {} was closed",
                    target.routing.target.describe()
                ))
            })?),
            None => None,
        };
        let left = moved
            .expires
            .map(|end| end.saturating_duration_since(Instant::now()));
        let request = Request {
            room,
            group: target.group,
            urgency: opts.priority.urgency(),
            deadline: run.deadline,
            task: Task {
                capability: self.capability.to_string(),
                input: self.input.clone(),
                attempt,
                urgency: opts.priority.urgency(),
                deadline_ms: left.map(|l| l.as_millis() as u64).or(opts.timeout_ms),
                checkpoint: moved.checkpoint.take(),
                lost: (moved.count, moved.cause.clone()),
                demand: opts.resources,
                state: None,
                topics: None,
            },
            demand: opts.resources,
            timeout: opts.timeout_ms.map(Duration::from_millis),
            expires: moved.expires,
            key: target.key,
            excluded: taken,
            avoided: self.failed_on.lock().map(|f| f.clone()).unwrap_or_default(),
            retry: attempt > 1,
            label: rt.traced.then(|| format!("{}{}", run.path, step.name)),
            check: Some(self.check.clone()),
        };
        // Read only for an observer: each read of the clock is a measurable part of an
        // attempt that is answered at once.
        let handed = rt.observer.is_some().then(Instant::now);
        let outcome = match rt.dispatcher.submit(request).map_err(|e| fail(e.message))? {
            Submitted::Done(outcome) => outcome,
            Submitted::Pending(rx) => rx
                .await
                .map_err(|_| fail("the dispatcher dropped the task".to_string()))?,
        };
        if let (Some(observer), Some(started), Some(handed)) =
            (&rt.observer, outcome.started, handed)
        {
            observer.observe(crate::observe::Event::Queued {
                wait: started.saturating_duration_since(handed),
            });
        }
        Ok(outcome)
    }
}
