//! One step of a running workflow: `when`, the `for` map, the call's arguments, the
//! idempotency key, and the `fallback` value when the call's attempts (`attempts.rs`), or
//! every member of a broadcast (`broadcast.rs`), failed.

use crate::RunError;
use crate::attempts::{Failure, attempts, runs};
use crate::conform::conform;
use crate::eval::eval;
use crate::keys::Claim;
use crate::scope::RunScope;
use crate::workflow::{self, WorkflowRun};
use futures_util::{FutureExt, StreamExt, stream::FuturesUnordered};
use hive_plan::{Callee, Step, Type};
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Elements of a `for` map started ahead of their results: bounds memory on huge lists while
/// keeping every member busy.
const MAP_WINDOW: usize = 4_096;

/// Runs step `index` of `run` to its value.
pub async fn run(run: &WorkflowRun, index: usize) -> Result<Value, RunError> {
    let step = &run.workflow().steps[index];
    let scope = RunScope {
        params: &run.params,
        steps: &run.values,
        locals: &[],
        state: Some(&run.rt.state),
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
        state: Some(&run.rt.state),
    };
    let mut input = Map::new();
    let params = match &step.call {
        Callee::Capability(c) => run.rt.plan.capabilities.get(c).map(|c| &c.params[..]),
        // A workflow's inputs are checked when its run binds them.
        Callee::Workflow(_) => None,
        // The rare paths (this one, a sub-workflow's and a broadcast's below) are boxed:
        // inline, their futures would make every step's future as large as theirs (3 KB for
        // a topic step), and each step's future is moved when it starts.
        Callee::Publish(_) | Callee::Receive(_) => {
            return Box::pin(crate::topic_step::run(run, step, &scope)).await;
        }
    };
    for (name, expr) in step.args.iter() {
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
            // Inputs that do not fit fail the step before the workflow starts, like an
            // argument of a task.
            let params = workflow::bind(&run.rt, w, input)
                .map_err(|e| failed(run, step, format!("in workflow `{w}`: {e}")))?;
            let path = format!("{}/", run.key(index, local.as_ref().map(|l| l.0)));
            let result = Box::pin(runs(run, step, w, &params, &path)).await;
            return or_fallback(run, step, &scope, result);
        }
        Callee::Capability(c) => c,
        Callee::Publish(_) | Callee::Receive(_) => unreachable!("topic steps returned above"),
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
    if let Some(broadcast) = &step.broadcast {
        let input = Arc::new(Value::Object(input));
        let result = Box::pin(crate::broadcast::run(
            run, index, broadcast, capability, input, key,
        ))
        .await?;
        return or_fallback(run, step, &scope, result);
    }
    // A task whose key has completed takes its value; one whose key is in flight waits for
    // that task, and runs itself only if that one fails.
    let ticket = match &key {
        None => None,
        Some(k) => match run.rt.keys.claim(k).await {
            // A value from the journal of a resumed run is checked like an agent's output.
            Claim::Done(value) => {
                return match returns(run, step) {
                    Some(ty) => conform(value, ty, &run.rt.plan.types).map_err(|m| {
                        failed(
                            run,
                            step,
                            format!("the value recorded for key `{k}` does not match the type `{ty}` {m}"),
                        )
                    }),
                    None => Ok(value),
                };
            }
            Claim::Run(ticket) => Some(ticket),
        },
    };
    let input = Arc::new(Value::Object(input));
    let result = attempts(run, step, capability, &input).await;
    if let (Ok(value), Some(ticket)) = (&result, ticket) {
        if let Some(j) = &run.rt.journal {
            j.record_key(ticket.key(), value).map_err(RunError::run)?;
        }
        ticket.finish(value.clone());
    }
    or_fallback(run, step, &scope, result)
}

/// The call's value, or when its attempts failed the step's `fallback` value, checked against
/// the call's type; without one, the step's error.
fn or_fallback(
    run: &WorkflowRun,
    step: &Step,
    scope: &RunScope<'_>,
    result: Result<Value, Failure>,
) -> Result<Value, RunError> {
    let failure = match result {
        Ok(value) => return Ok(value),
        Err(failure) => failure,
    };
    let Some(fallback) = &step.options.fallback else {
        return Err(failure.into_error(run, step));
    };
    let value = eval(fallback, scope).map_err(|e| failed(run, step, format!("`fallback`: {e}")))?;
    // A broadcast's fallback stands for its whole map.
    let ty = returns(run, step).map(|ty| match step.broadcast {
        Some(_) => Type::Map(Box::new(ty.clone())),
        None => ty.clone(),
    });
    match &ty {
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

/// The type of what a step's call returns (of one element, for a map): where its `fallback`
/// value goes.
fn returns<'r>(run: &'r WorkflowRun, step: &Step) -> Option<&'r Type> {
    let plan = &run.rt.plan;
    match &step.call {
        Callee::Capability(c) => plan.capabilities.get(c).map(|c| &c.returns),
        Callee::Workflow(w) => plan.workflows.get(w).map(|w| &w.returns),
        Callee::Publish(_) => Some(&Type::String),
        Callee::Receive(t) => plan.topics.get(t).map(|t| &t.ty),
    }
}

/// A step's error without an attempt.
pub(crate) fn failed(run: &WorkflowRun, step: &Step, cause: String) -> RunError {
    RunError {
        step: Some(format!("{}.{}", run.name, step.name)),
        place: Some(run.rt.plan.place(&step.loc)),
        agent: None,
        attempt: None,
        cause,
        retryable: false,
    }
}
