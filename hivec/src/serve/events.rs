//! A run's live events, `GET /v1/runs/{id}/events`: every step state change and attempt of
//! the run, then its end, as server-sent events numbered from 1. A client that reconnects
//! with `Last-Event-ID: N` gets the events after N; the stream ends once the run's `run`
//! event is sent.
//!
//! Invariant: a run's events are kept in the order the runtime told them, each with the
//! number it was first sent with, so every client sees the same sequence; values read by
//! `env()` are masked before an event is kept.

use super::api::{ApiError, State, unknown_run};
use axum::Router;
use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as Sse, KeepAlive};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, StreamExt};
use hive_runtime::observe::{Event, Observer};
use hive_runtime::secrets;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Events sent in one go when a client is behind.
const BATCH: usize = 512;
/// Agents' log lines kept of one run; past them, one `log` event says the rest were not.
const LOG_LINES: usize = 10_000;

/// An event as sent: its number, name and JSON data.
type Numbered = (usize, &'static str, Arc<str>);

/// The events of one run so far.
pub struct Events {
    /// The run's steps and their dependencies, from the plan.
    graph: Value,
    kept: Mutex<Kept>,
    /// Bumped at every event and at the end, so that waiting streams look again.
    changed: watch::Sender<u64>,
}

#[derive(Default)]
struct Kept {
    /// Each event's name and JSON data; event `n` is at index `n - 1`.
    events: Vec<(&'static str, Arc<str>)>,
    /// Agents' log lines kept so far.
    logs: usize,
    /// The run's last event has been kept.
    finished: bool,
}

impl Events {
    /// No events yet of a run of `workflow` in `plan`. Without `plan` the run's steps are not
    /// known (its files changed): the graph has none.
    pub fn new(plan: Option<&hive_plan::Plan>, workflow: &str) -> Arc<Events> {
        Arc::new(Events {
            graph: match plan {
                Some(plan) => super::dashboard::graph(plan, workflow),
                None => json!({"workflow": workflow, "steps": []}),
            },
            kept: Mutex::default(),
            changed: watch::Sender::new(0),
        })
    }

    /// The run's step graph (see [`super::dashboard::graph`]).
    pub fn graph(&self) -> &Value {
        &self.graph
    }

    fn push(&self, name: &'static str, data: &Value) {
        let data: Arc<str> = data.to_string().into();
        if let Ok(mut kept) = self.kept.lock() {
            if kept.finished {
                return;
            }
            kept.events.push((name, data));
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// An agent's log line, while fewer than [`LOG_LINES`] have been kept.
    fn log(&self, agent: &str, line: &str, at_ms: u64) {
        let kept = match self.kept.lock() {
            Ok(mut kept) => {
                kept.logs += 1;
                kept.logs
            }
            Err(_) => return,
        };
        match kept.cmp(&LOG_LINES) {
            std::cmp::Ordering::Less => self.push(
                "log",
                &json!({"agent": agent, "line": secrets::mask(line), "at_ms": at_ms}),
            ),
            std::cmp::Ordering::Equal => self.push(
                "log",
                &json!({"agent": agent, "at_ms": at_ms,
                    "line": format!("(the agents' log lines after the first {} of this run are not kept)", LOG_LINES - 1)}),
            ),
            std::cmp::Ordering::Greater => {}
        }
    }

    /// The run ended as `summary` (the run as `GET /v1/runs` lists it): its last event.
    pub fn finish(&self, summary: &Value) {
        self.push("run", summary);
        if let Ok(mut kept) = self.kept.lock() {
            kept.finished = true;
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Up to [`BATCH`] events after number `after`, and whether the run is over.
    fn after(&self, after: usize) -> (Vec<Numbered>, bool) {
        let Ok(kept) = self.kept.lock() else {
            return (Vec::new(), true);
        };
        let batch = kept
            .events
            .iter()
            .enumerate()
            .skip(after)
            .take(BATCH)
            .map(|(i, (name, data))| (i + 1, *name, data.clone()))
            .collect();
        (batch, kept.finished)
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().min(u128::from(u64::MAX)) as u64)
}

fn masked(value: &Value) -> Value {
    let mut value = value.clone();
    secrets::mask_value(&mut value);
    value
}

impl Observer for Events {
    fn observe(&self, event: Event) {
        let at_ms = now_ms();
        match event {
            Event::StepStarted { step } => {
                self.push(
                    "step",
                    &json!({"step": step, "state": "running", "at_ms": at_ms}),
                );
            }
            Event::StepFinished {
                step,
                result,
                journaled,
            } => {
                let mut data = json!({"step": step, "at_ms": at_ms});
                match result {
                    Ok(value) => {
                        data["state"] = json!("succeeded");
                        data["output"] = masked(&value);
                    }
                    Err(error) => {
                        data["state"] = json!("failed");
                        data["error"] = json!(secrets::mask(&error));
                    }
                }
                if journaled {
                    data["journaled"] = json!(true);
                }
                self.push("step", &data);
            }
            Event::AttemptStarted {
                step,
                agent,
                capability,
                attempt,
                start_us,
                input,
            } => self.push(
                "attempt",
                &json!({
                    "step": step,
                    "agent": agent,
                    "capability": capability,
                    "attempt": attempt,
                    "state": "started",
                    "started_us": start_us,
                    "input": masked(&input),
                    "at_ms": at_ms,
                }),
            ),
            Event::Log { agent, line } => self.log(&agent, &line, at_ms),
            Event::AttemptFinished { agent, span } => {
                let error = match &span.outcome {
                    hive_runtime::dispatch::SpanOutcome::Failed(e) => Some(secrets::mask(e)),
                    _ => None,
                };
                self.push(
                    "attempt",
                    &json!({
                        "step": span.step,
                        "agent": agent,
                        "capability": span.capability,
                        "attempt": span.attempt,
                        "state": span.outcome.category(),
                        "started_us": span.start_us,
                        "duration_us": span.duration_us,
                        "error": error,
                        "at_ms": at_ms,
                    }),
                );
            }
            Event::MemberAbsent { step, agent, error } => self.push(
                "absent",
                &json!({
                    "step": step,
                    "agent": agent,
                    "error": secrets::mask(&error),
                    "at_ms": at_ms,
                }),
            ),
            // For metrics and the dead letters; the attempts' own events tell the story.
            Event::Queued { .. } | Event::Redelivered | Event::DeadLetter(_) => {}
        }
    }
}

/// The routes of this file, to go under the API's authentication.
pub fn routes() -> Router<Arc<State>> {
    Router::new().route("/v1/runs/{id}/events", get(events))
}

/// `GET /v1/runs/{id}/events`: the run's events after `Last-Event-ID` (all without it), then
/// the new ones as they happen, until the run's end.
async fn events(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let events = state.runs.events(&id).ok_or_else(|| unknown_run(&id))?;
    let after = match headers.get("last-event-id") {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    "`Last-Event-ID` is the number of the last event received",
                )
            })?,
    };
    let waiting = events.changed.subscribe();
    let batches = stream::unfold(
        (events, waiting, after),
        |(events, mut waiting, after)| async move {
            loop {
                waiting.borrow_and_update();
                let (batch, finished) = events.after(after);
                if let Some(&(last, _, _)) = batch.last() {
                    return Some((batch, (events, waiting, last)));
                }
                if finished || waiting.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    let sse = batches.flat_map(|batch| {
        stream::iter(batch.into_iter().map(|(n, name, data)| {
            Ok::<_, std::convert::Infallible>(
                Sse::default().id(n.to_string()).event(name).data(&*data),
            )
        }))
    });
    Ok(axum::response::Sse::new(sse)
        .keep_alive(KeepAlive::default())
        .into_response())
}
