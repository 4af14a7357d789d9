//! One step of a running workflow: `when`, the `for` map, the call, and for a capability its
//! attempts (routing, retries with backoff, fallback targets), consensus and idempotency key.

use crate::agent::{Task, TaskError};
use crate::conform::conform;
use crate::dispatch::{Request, Submitted};
use crate::eval::eval;
use crate::scope::RunScope;
use crate::strategy::stable_hash;
use crate::workflow::{self, WorkflowRun};
use crate::{RunError, address};
use futures_util::{FutureExt, StreamExt, stream::FuturesUnordered};
use hive_plan::{Callee, Consensus, Routing, Step, Strategy, Type};
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Elements of a `for` map started ahead of their results: bounds memory on huge lists while
/// keeping every member busy.
const MAP_WINDOW: usize = 4_096;

/// Times one attempt may move because its instance died before it counts as failed.
const MAX_HANDOFFS: u32 = 8;

/// Runs step `index` of `run` to its value.
pub async fn run(run: &WorkflowRun, index: usize) -> Result<Value, RunError> {
    let step = &run.workflow().steps[index];
    let scope = RunScope {
        params: &run.params,
        steps: &run.values,
        locals: &[],
    };
    if let Some(when) = &step.options.when {
        let holds = eval(when, &scope).map_err(|e| failed(run, step, format!("`when`: {e}")))?;
        // A `json` value may reach here: only a bool decides.
        let holds = conform(holds, &Type::Bool, &run.rt.plan.types)
            .map_err(|m| failed(run, step, format!("`when` is not a bool {m}")))?;
        if holds != Value::Bool(true) {
            return Ok(Value::Null);
        }
    }
    let Some(map) = &step.map else {
        return call(run, index, None).await;
    };
    let list = eval(&map.over, &scope).map_err(|e| failed(run, step, format!("`for`: {e}")))?;
    let Value::Array(items) = list else {
        return Err(failed(run, step, "`for` needs a list".to_string()));
    };
    let limit = map
        .concurrency
        .map_or(MAP_WINDOW, |c| (c as usize).clamp(1, MAP_WINDOW));
    let total = items.len();
    let mut out: Vec<Value> = Vec::with_capacity(total);
    out.resize(total, Value::Null);
    // The elements in flight are futures of this step's task, not tasks of their own: an
    // element that finishes at once (`std.echo`) costs no spawn, and dropping the step
    // drops them, which cancels their attempts.
    let mut running = FuturesUnordered::new();
    // An element's value goes to its place in the list and, when journaled, to the journal.
    let take = |out: &mut [Value], (k, r): (usize, Result<Value, RunError>)| {
        out[k] = r?;
        run.record(index, Some(k), &out[k])
    };
    for (k, item) in items.into_iter().enumerate() {
        if let Some(value) = run.journaled(index, Some(k)) {
            out[k] = value;
            continue;
        }
        // Wait for room before starting the next element.
        while running.len() >= limit {
            match running.next().await {
                Some(done) => take(&mut out, done)?,
                None => break,
            }
        }
        running.push(element(run, index, (k, &map.var, item)));
        // Give the new element its first poll now, and take whatever has finished.
        while let Some(Some(done)) = running.next().now_or_never() {
            take(&mut out, done)?;
        }
    }
    while let Some(done) = running.next().await {
        take(&mut out, done)?;
    }
    Ok(Value::Array(out))
}

/// Element `k` of a map, with the map's variable bound to `item`. A panic in it becomes the
/// step's error instead of ending the run's task.
async fn element(
    run: &WorkflowRun,
    index: usize,
    (k, var, item): (usize, &str, Value),
) -> (usize, Result<Value, RunError>) {
    let step = &run.workflow().steps[index];
    let r = AssertUnwindSafe(call(run, index, Some((k, var, item))))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(failed(run, step, "an element stopped: it panicked".into())));
    (k, r)
}

/// The call of a step (one element of a map when `local` is set): its arguments, then a
/// sub-workflow or the capability's attempts, then `fallback` if they all failed.
async fn call(
    run: &WorkflowRun,
    index: usize,
    local: Option<(usize, &str, Value)>,
) -> Result<Value, RunError> {
    let step = &run.workflow().steps[index];
    let locals: Vec<(&str, &Value)> = local.iter().map(|(_, n, v)| (*n, v)).collect();
    let scope = RunScope {
        params: &run.params,
        steps: &run.values,
        locals: &locals,
    };
    let mut input = Map::new();
    let params = match &step.call {
        Callee::Capability(c) => run.rt.plan.capabilities.get(c).map(|c| &c.params[..]),
        // A workflow's inputs are checked when its run binds them.
        Callee::Workflow(_) => None,
    };
    for (name, expr) in &step.args {
        let value =
            eval(expr, &scope).map_err(|e| failed(run, step, format!("argument `{name}`: {e}")))?;
        // A `json` value flowing into a typed parameter is checked here, before any task
        // is sent; the checked value is the one sent (an int where a float is expected
        // becomes a float, a record gets its defaults).
        let value = match params.and_then(|ps| ps.iter().find(|p| p.name == *name)) {
            Some(p) => conform(value, &p.ty, &run.rt.plan.types).map_err(|m| {
                failed(
                    run,
                    step,
                    format!(
                        "argument `{name}` of `{}` does not match its type `{}` {m}",
                        step.call.name(),
                        p.ty
                    ),
                )
            })?,
            None => value,
        };
        input.insert(name.clone(), value);
    }
    let capability = match &step.call {
        Callee::Workflow(w) => {
            let path = format!("{}/", run.key(index, local.as_ref().map(|l| l.0)));
            return workflow::run(run.rt.clone(), w.clone(), input, path)
                .await
                .map_err(|e| failed(run, step, format!("in workflow `{w}`: {e}")));
        }
        Callee::Capability(c) => c,
    };
    let key = match &step.options.key {
        None => None,
        Some(k) => {
            let v = eval(k, &scope).map_err(|e| failed(run, step, format!("`key`: {e}")))?;
            Some(match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
        }
    };
    if let Some(k) = &key
        && let Some(done) = run.rt.keys.lock().ok().and_then(|m| m.get(k).cloned())
    {
        return Ok(done);
    }
    let input = Arc::new(Value::Object(input));
    let result = if step.options.replicas > 1 {
        consensus(run, index, capability, &input).await
    } else {
        attempts(run, step, capability, &input, None).await
    };
    match result {
        Ok(value) => {
            if let Some(k) = key {
                if let Some(j) = &run.rt.journal {
                    j.record_key(&k, &value).map_err(RunError::run)?;
                }
                if let Ok(mut keys) = run.rt.keys.lock() {
                    keys.insert(k, value.clone());
                }
            }
            Ok(value)
        }
        Err(failure) => match &step.options.fallback {
            Some(fallback) => {
                let value = eval(fallback, &scope)
                    .map_err(|e| failed(run, step, format!("`fallback`: {e}")))?;
                match returns(run, step) {
                    Some(ty) => conform(value, ty, &run.rt.plan.types).map_err(|m| {
                        failed(
                            run,
                            step,
                            format!("`fallback` does not match the type `{ty}` {m}"),
                        )
                    }),
                    None => Ok(value),
                }
            }
            None => Err(failure.into_error(run, step)),
        },
    }
}

/// The type of what a step's call returns (of one element, for a map): where its `fallback`
/// value goes.
fn returns<'r>(run: &'r WorkflowRun, step: &Step) -> Option<&'r Type> {
    let plan = &run.rt.plan;
    match &step.call {
        Callee::Capability(c) => plan.capabilities.get(c).map(|c| &c.returns),
        Callee::Workflow(w) => plan.workflows.get(w).map(|w| &w.returns),
    }
}

/// The last failed attempt of a task.
struct Failure {
    agent: Option<String>,
    attempt: Option<(u32, u32)>,
    cause: String,
}

impl Failure {
    fn into_error(self, run: &WorkflowRun, step: &Step) -> RunError {
        RunError {
            agent: self.agent,
            attempt: self.attempt,
            ..failed(run, step, self.cause)
        }
    }
}

/// A step's error without an attempt.
fn failed(run: &WorkflowRun, step: &Step, cause: String) -> RunError {
    RunError {
        step: Some(format!("{}.{}", run.name, step.name)),
        place: Some(run.rt.plan.place(&step.loc)),
        agent: None,
        attempt: None,
        cause,
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
async fn attempts(
    run: &WorkflowRun,
    step: &Step,
    capability: &str,
    input: &Arc<Value>,
    shared: Option<Arc<Mutex<Vec<usize>>>>,
) -> Result<Value, Failure> {
    let rt = &run.rt;
    let opts = &step.options;
    let fail = |cause: String| Failure {
        agent: None,
        attempt: None,
        cause,
    };
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
            };
            if !error.retryable || attempt >= max {
                break;
            }
            let delay = opts.backoff.delay_ms(attempt);
            if delay > 0 {
                // Equal jitter: half the delay, plus up to the other half at random.
                let jittered = delay / 2 + rt.random(delay - delay / 2);
                tokio::time::sleep(Duration::from_millis(jittered)).await;
            }
            attempt += 1;
        }
        target = routing.fallback.as_deref();
    }
    Err(last)
}

/// The same task on `replicas` distinct agents, decided by the step's consensus rule.
async fn consensus(
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
