//! `publish` and `receive` steps: a message sent to a topic of the run, or the first
//! matching one waited for, with the step's `timeout` and `fallback`.

use crate::RunError;
use crate::conform::conform;
use crate::eval::eval;
use crate::scope::RunScope;
use crate::step::failed;
use crate::workflow::WorkflowRun;
use hive_plan::{Callee, Step};
use serde_json::Value;
use std::time::Duration;

/// Runs topic step `step`, whose expressions see `scope`: its value is the message's id for
/// `publish`, the message for `receive`.
pub async fn run(run: &WorkflowRun, step: &Step, scope: &RunScope<'_>) -> Result<Value, RunError> {
    let board = &run.rt.topics;
    match &step.call {
        Callee::Publish(topic) => {
            let Some(value) = step.args.get("value") else {
                return Err(failed(run, step, "`publish` has no message".into()));
            };
            let payload =
                eval(value, scope).map_err(|e| failed(run, step, format!("the message: {e}")))?;
            let key = match &step.options.key {
                None => None,
                Some(k) => Some(
                    match eval(k, scope).map_err(|e| failed(run, step, format!("`key`: {e}")))? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                ),
            };
            board
                .publish(topic, payload, key.as_deref())
                .await
                .map(Value::String)
                .map_err(|r| failed(run, step, format!("publish to `{topic}`: {r}")))
        }
        Callee::Receive(topic) => {
            let timeout = step.options.timeout_ms.map(Duration::from_millis);
            let predicate = step.args.get("where");
            let received = board
                .receive(topic, timeout, |m| {
                    let Some(p) = predicate else { return Ok(true) };
                    let locals = [("it", &m.payload)];
                    let scope = RunScope {
                        locals: &locals,
                        ..*scope
                    };
                    match eval(p, &scope) {
                        Ok(Value::Bool(b)) => Ok(b),
                        Ok(other) => Err(format!("`where` gave {other}, not a bool")),
                        Err(e) => Err(format!("`where`: {e}")),
                    }
                })
                .await
                .map_err(|e| failed(run, step, format!("receive from `{topic}`: {e}")))?;
            if let Some(m) = received {
                return Ok(m.payload);
            }
            let waited = step.options.timeout_ms.map_or_else(String::new, |ms| {
                format!(" within {}", hive_plan::duration(ms))
            });
            let Some(fallback) = &step.options.fallback else {
                return Err(RunError {
                    retryable: true,
                    ..failed(
                        run,
                        step,
                        format!("no message on topic `{topic}` matched{waited}"),
                    )
                });
            };
            let value =
                eval(fallback, scope).map_err(|e| failed(run, step, format!("`fallback`: {e}")))?;
            match run.rt.plan.topics.get(topic) {
                Some(t) => conform(value, &t.ty, &run.rt.plan.types).map_err(|m| {
                    failed(
                        run,
                        step,
                        format!("`fallback` does not match the type `{}` {m}", t.ty),
                    )
                }),
                None => Ok(value),
            }
        }
        _ => Err(failed(run, step, "not a topic step".into())),
    }
}
