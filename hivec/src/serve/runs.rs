//! The runs of `hivec serve`: each submitted run executes on its own [`Runtime`] (its own
//! agents) in a task of this process, and is kept, with its outcome, while the server lives.

use super::events::Events;
use hive_plan::Plan;
use hive_runtime::{RunOptions, Runtime};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Started and not finished.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped by `cancel`; its tasks in flight were sent `cancel`.
    Cancelled,
}

impl Status {
    /// Every status, as the API names them.
    pub const ALL: [Status; 4] = [
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
    ];

    /// The name in the API.
    pub fn name(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One run.
struct Run {
    id: String,
    workflow: String,
    inputs: Map<String, Value>,
    status: Status,
    submitted_ms: u64,
    finished_ms: Option<u64>,
    output: Option<Value>,
    error: Option<Value>,
    /// While it runs: its runtime, read for its attempts and steps.
    runtime: Option<Arc<Runtime>>,
    /// Once finished: its attempts, as the runtime last showed them.
    attempts: Vec<(String, hive_runtime::dispatch::Span)>,
    /// Taken by `cancel`.
    cancel: Option<oneshot::Sender<()>>,
    /// Its live events.
    events: Arc<Events>,
}

/// What `cancel` found.
pub enum Cancelled {
    /// The run was running and is being stopped.
    Stopping,
    /// The run had already finished with this status.
    Finished(Status),
    /// There is no such run.
    Unknown,
}

/// Every run since the server started, in the order submitted.
#[derive(Default)]
pub struct Runs {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    order: Vec<String>,
    by_id: HashMap<String, Run>,
    /// Runs submitted so far; part of each id, so ids sort as submitted.
    count: u64,
}

impl Runs {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts workflow `workflow` of `plan` with `inputs`, already checked against its types;
    /// returns the run's view. Must be called inside the tokio runtime.
    pub fn submit(
        self: &Arc<Self>,
        plan: &Plan,
        workflow: &str,
        inputs: Map<String, Value>,
    ) -> Value {
        let (cancel, cancelled) = oneshot::channel();
        let events = Events::new(plan, workflow);
        let id = {
            let mut inner = self.lock();
            inner.count += 1;
            let id = format!("r{:06}-{:08x}", inner.count, salt());
            inner.order.push(id.clone());
            inner.by_id.insert(
                id.clone(),
                Run {
                    id: id.clone(),
                    workflow: workflow.to_string(),
                    inputs: inputs.clone(),
                    status: Status::Running,
                    submitted_ms: now_ms(),
                    finished_ms: None,
                    output: None,
                    error: None,
                    runtime: None,
                    attempts: Vec::new(),
                    cancel: Some(cancel),
                    events: events.clone(),
                },
            );
            id
        };
        let mut plan = plan.clone();
        let (runs, run_id, workflow) = (self.clone(), id.clone(), workflow.to_string());
        tokio::spawn(async move {
            let outcome = execute(
                &runs, &run_id, &mut plan, &workflow, inputs, cancelled, events,
            )
            .await;
            runs.finish(&run_id, outcome);
        });
        self.view(&id).unwrap_or(Value::Null)
    }

    /// Stops run `id`: dropping its run sends `cancel` for every task still in flight.
    pub fn cancel(&self, id: &str) -> Cancelled {
        let mut inner = self.lock();
        let Some(run) = inner.by_id.get_mut(id) else {
            return Cancelled::Unknown;
        };
        match run.cancel.take() {
            Some(cancel) if run.status == Status::Running => {
                let _ = cancel.send(());
                Cancelled::Stopping
            }
            _ if run.status == Status::Running => Cancelled::Stopping,
            _ => Cancelled::Finished(run.status),
        }
    }

    /// Cancels every run still running; returns how many there were.
    pub fn cancel_all(&self) -> usize {
        let mut inner = self.lock();
        let mut running = 0;
        for run in inner.by_id.values_mut() {
            if run.status == Status::Running {
                running += 1;
                if let Some(cancel) = run.cancel.take() {
                    let _ = cancel.send(());
                }
            }
        }
        running
    }

    /// How many runs are still running.
    pub fn running(&self) -> usize {
        let inner = self.lock();
        inner
            .by_id
            .values()
            .filter(|r| r.status == Status::Running)
            .count()
    }

    /// Run `id` in full: status, inputs, output or error, its steps' attempts.
    pub fn view(&self, id: &str) -> Option<Value> {
        let inner = self.lock();
        let run = inner.by_id.get(id)?;
        let attempts = match &run.runtime {
            Some(runtime) => runtime.attempts(),
            None => run.attempts.clone(),
        };
        let mut view = summary(run);
        view["inputs"] = Value::Object(run.inputs.clone());
        if let Some(runtime) = &run.runtime {
            let steps = runtime.progress().steps;
            view["progress"] = json!({
                "waiting": steps.waiting,
                "running": steps.running,
                "done": steps.done,
            });
        }
        view["steps"] = steps(&attempts);
        Some(view)
    }

    /// The runs whose status and workflow are those given, in the order submitted.
    pub fn list(&self, status: Option<Status>, workflow: Option<&str>) -> Vec<Value> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter_map(|id| inner.by_id.get(id))
            .filter(|r| status.is_none_or(|s| r.status == s))
            .filter(|r| workflow.is_none_or(|w| r.workflow == w))
            .map(summary)
            .collect()
    }

    fn started(&self, id: &str, runtime: Arc<Runtime>) {
        if let Some(run) = self.lock().by_id.get_mut(id) {
            run.runtime = Some(runtime);
        }
    }

    fn finish(&self, id: &str, outcome: Outcome) {
        let mut inner = self.lock();
        let Some(run) = inner.by_id.get_mut(id) else {
            return;
        };
        run.finished_ms = Some(now_ms());
        run.runtime = None;
        run.cancel = None;
        run.attempts = outcome.attempts;
        match outcome.result {
            Ended::Output(output) => {
                run.status = Status::Succeeded;
                run.output = Some(output);
            }
            Ended::Error(error) => {
                run.status = Status::Failed;
                run.error = Some(error);
            }
            Ended::Cancelled => run.status = Status::Cancelled,
        }
        run.events.finish(&summary(run));
    }

    /// The live events of run `id`.
    pub fn events(&self, id: &str) -> Option<Arc<Events>> {
        self.lock().by_id.get(id).map(|r| r.events.clone())
    }
}

/// How a run ended.
enum Ended {
    Output(Value),
    Error(Value),
    Cancelled,
}

struct Outcome {
    result: Ended,
    attempts: Vec<(String, hive_runtime::dispatch::Span)>,
}

/// Runs the workflow until it ends or is cancelled, then stops its agents.
async fn execute(
    runs: &Runs,
    id: &str,
    plan: &mut Plan,
    workflow: &str,
    inputs: Map<String, Value>,
    cancelled: oneshot::Receiver<()>,
    events: Arc<Events>,
) -> Outcome {
    let failed = |message: String| Outcome {
        result: Ended::Error(json!({ "message": hive_runtime::secrets::mask(&message) })),
        attempts: Vec::new(),
    };
    // Only the workflow and those it calls: their agents are the ones to start.
    if let Err(e) = plan.retain_workflow(workflow) {
        return failed(e);
    }
    let options = RunOptions {
        trace: true,
        observer: Some(events),
        ..RunOptions::default()
    };
    let runtime = match Runtime::start(plan.clone(), options) {
        Ok(rt) => rt,
        Err(e) => return failed(e.to_string()),
    };
    runs.started(id, runtime.clone());
    tracing::info!("run {id} of {workflow} started");
    let result = tokio::select! {
        result = runtime.run(Some(workflow), inputs) => Some(result),
        // A dropped sender is no cancel: the run goes on.
        Ok(()) = cancelled => None,
    };
    let attempts = runtime.attempts();
    runtime.shutdown().await;
    let result = match result {
        Some(Ok(report)) => Ended::Output(report.output),
        Some(Err(e)) => Ended::Error(json!({
            "message": hive_runtime::secrets::mask(&e.to_string()),
            "step": e.step,
            "agent": e.agent,
            "attempt": e.attempt.map(|(n, _)| n),
            "retryable": e.retryable,
        })),
        None => Ended::Cancelled,
    };
    tracing::info!("run {id} of {workflow} ended");
    Outcome { result, attempts }
}

/// A run as the list shows it: no inputs or steps.
fn summary(run: &Run) -> Value {
    let mut view = json!({
        "id": run.id,
        "workflow": run.workflow,
        "status": run.status.name(),
        "submitted_at_ms": run.submitted_ms,
    });
    if let Some(finished) = run.finished_ms {
        view["finished_at_ms"] = json!(finished);
        view["elapsed_ms"] = json!(finished.saturating_sub(run.submitted_ms));
    }
    if let Some(output) = &run.output {
        view["output"] = output.clone();
    }
    if let Some(error) = &run.error {
        view["error"] = error.clone();
    }
    view
}

/// The attempts finished so far, grouped by step in the order the steps first ran; a step's
/// state is that of its last attempt.
fn steps(attempts: &[(String, hive_runtime::dispatch::Span)]) -> Value {
    let mut steps: Vec<(&str, Vec<Value>, bool)> = Vec::new();
    for (agent, span) in attempts {
        let error = match &span.outcome {
            hive_runtime::dispatch::SpanOutcome::Failed(e) => Some(e),
            _ => None,
        };
        let done = matches!(span.outcome, hive_runtime::dispatch::SpanOutcome::Ok);
        let attempt = json!({
            "attempt": span.attempt,
            "agent": agent,
            "capability": span.capability,
            "started_us": span.start_us,
            "duration_us": span.duration_us,
            "outcome": span.outcome.category(),
            "error": error,
        });
        match steps.iter_mut().find(|(s, _, _)| *s == span.step) {
            Some((_, list, ok)) => {
                list.push(attempt);
                *ok = done;
            }
            None => steps.push((&span.step, vec![attempt], done)),
        }
    }
    Value::Array(
        steps
            .into_iter()
            .map(|(step, attempts, ok)| {
                json!({
                    "step": step,
                    "state": if ok { "succeeded" } else { "failed" },
                    "attempts": attempts,
                })
            })
            .collect(),
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().min(u128::from(u64::MAX)) as u64)
}

/// A random part of run ids, so that an id of an earlier server is not taken for a run of
/// this one.
fn salt() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}
