//! The runs of `hivec serve`: each submitted run executes on its own [`Runtime`] (its own
//! agents) in a task of this process, with its journal and record in the history, so that
//! the runs outlive the server and a run it was killed in goes on when it starts again.

use super::cluster::Cluster;
use super::events::Events;
use super::history::History;
use super::letters::{Letters, RunObserver};
use super::workflows::Workflows;
use crate::metrics::Metrics;
use hive_plan::Plan;
use hive_runtime::dispatch::{Span, SpanOutcome};
use hive_runtime::journal::{Header, Journal};
use hive_runtime::observe::Tee;
use hive_runtime::remote::Remote;
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
    /// Its steps as they stood when it last stopped (finished, or before it was resumed or
    /// retried): the attempts of the current runtime add to them.
    steps: Value,
    /// Taken by `cancel`.
    cancel: Option<oneshot::Sender<()>>,
    /// Its live events, since it was last started by this server; for a run that ended
    /// under an earlier server, only its end.
    events: Option<Arc<Events>>,
    /// The hash of the sources it was started from.
    plan: Option<String>,
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

/// What `retry` did.
pub enum Retried {
    /// The run goes on from its journal: its view.
    Started(Value),
    /// The run has not failed: it is running, or succeeded.
    NotFailed(Status),
    /// Its journal cannot be continued, for this reason.
    Refused(String),
    /// There is no such run.
    Unknown,
}

/// Every run, those of earlier servers with the same `--data` included, in the order
/// submitted.
pub struct Runs {
    inner: Mutex<Inner>,
    /// Told of every run's attempts, and of how each run ended.
    metrics: Arc<Metrics>,
    /// Where each run's record and journal are kept.
    history: History,
    /// The dead letters of the runs.
    letters: Arc<Letters>,
    /// With `--redis`: where the runs are coordinated and journaled.
    cluster: Option<Arc<Cluster>>,
}

#[derive(Default)]
struct Inner {
    order: Vec<String>,
    by_id: HashMap<String, Run>,
    /// Runs submitted so far; part of each id, so ids sort as submitted.
    count: u64,
}

impl Runs {
    /// No runs yet; their metrics go to `metrics`, their records to `history`; with a
    /// `cluster`, their journals are in Redis and their exec agents on its workers.
    pub fn new(metrics: Arc<Metrics>, history: History, cluster: Option<Arc<Cluster>>) -> Runs {
        Runs {
            inner: Mutex::default(),
            metrics,
            history,
            letters: Arc::default(),
            cluster,
        }
    }

    /// The dead letters of the runs.
    pub fn letters(&self) -> &Letters {
        &self.letters
    }

    /// With `--redis`: where the runs are coordinated.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// The metrics of the runs.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The runs going on now, in the order submitted, with their runtimes.
    pub fn live(&self) -> Vec<(String, Arc<Runtime>)> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter_map(|id| inner.by_id.get(id))
            .filter_map(|r| r.runtime.clone().map(|rt| (r.id.clone(), rt)))
            .collect()
    }

    /// The runs accepted and not started yet (their agents, or their lease, still to come):
    /// in flight all the same.
    pub fn starting(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .by_id
            .values()
            .filter(|r| r.status == Status::Running && r.runtime.is_none())
            .map(|r| r.id.clone())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes in the runs of the history; those that were running when an earlier server
    /// was killed go on from their journals. Returns how many runs were read and how many
    /// of them were resumed; a run that cannot be resumed is failed with the reason.
    /// Called before any submit.
    pub async fn restore(
        self: &Arc<Self>,
        workflows: &Arc<Workflows>,
        problems: &mut Vec<String>,
    ) -> (usize, usize) {
        let saved = self.history.load(problems);
        let mut interrupted = Vec::new();
        {
            let mut inner = self.lock();
            for record in &saved {
                let Some(run) = Run::from_record(record) else {
                    problems.push(format!(
                        "run {}: its record is not one of a run",
                        record["id"]
                    ));
                    continue;
                };
                let number = run.id[1..].split('-').next().and_then(|n| n.parse().ok());
                inner.count = inner.count.max(number.unwrap_or(0));
                if run.status == Status::Running {
                    interrupted.push(run.id.clone());
                }
                let mut run = run;
                run.events = Some(ended_events(&run, workflows));
                inner.order.push(run.id.clone());
                inner.by_id.insert(run.id.clone(), run);
            }
        }
        // Side by side: in distributed mode each waits out the lease of the killed server.
        let going: Vec<_> = interrupted
            .into_iter()
            .map(|id| {
                let (runs, workflows) = (self.clone(), workflows.clone());
                tokio::spawn(async move {
                    let went = runs.go_on(&id, &workflows).await;
                    (id, went)
                })
            })
            .collect();
        let mut resumed = 0;
        for going in going {
            let Ok((id, went)) = going.await else {
                continue;
            };
            match went {
                Ok(()) => resumed += 1,
                Err(e) => {
                    problems.push(format!("run {id} could not be resumed: {e}"));
                    self.finish(
                        &id,
                        Outcome {
                            result: Ended::Error(json!({
                                "message": format!("the server stopped during the run, and it could not be resumed: {e}")
                            })),
                            attempts: Vec::new(),
                        },
                    );
                }
            }
        }
        (saved.len(), resumed)
    }

    /// Starts workflow `workflow` of `plan` with `inputs`, already checked against its types;
    /// returns the run's view, or why it could not be recorded (or, with `--redis`,
    /// coordinated).
    pub async fn submit(
        self: &Arc<Self>,
        plan: &Plan,
        workflow: &str,
        inputs: Map<String, Value>,
    ) -> Result<Value, String> {
        let header = Header {
            plan: plan.source_hash.clone(),
            workflow: workflow.to_string(),
            inputs: inputs.clone(),
        };
        // Placed in the order as its number is taken, so that the order stays sorted by id
        // (a page of the list starts by a search); it shows once it is recorded.
        let id = {
            let mut inner = self.lock();
            inner.count += 1;
            let id = format!("r{:06}-{:08x}", inner.count, salt());
            inner.order.push(id.clone());
            id
        };
        let journaled = match &self.cluster {
            None => Journaled {
                journal: self.history.create_journal(&id, &header)?,
                remote: None,
            },
            Some(cluster) => {
                let c = cluster.start(&id, plan, &header).await?;
                Journaled {
                    journal: c.journal,
                    remote: Some(c.remote),
                }
            }
        };
        let run = Run {
            id: id.clone(),
            workflow: workflow.to_string(),
            inputs: inputs.clone(),
            status: Status::Running,
            submitted_ms: now_ms(),
            finished_ms: None,
            output: None,
            error: None,
            runtime: None,
            steps: Value::Array(Vec::new()),
            cancel: None,
            events: None,
            plan: Some(plan.source_hash.clone()),
        };
        if let Err(e) = self.history.save(&run.record(None)) {
            if let Some(remote) = journaled.remote {
                let _ = remote.finish().await;
            }
            return Err(e);
        }
        self.lock().by_id.insert(id.clone(), run);
        self.launch(&id, plan, workflow, inputs, journaled);
        Ok(self.view(&id).unwrap_or(Value::Null))
    }

    /// Runs a failed or cancelled run again from its journal: the steps it finished are not
    /// run again.
    pub async fn retry(self: &Arc<Self>, id: &str, workflows: &Workflows) -> Retried {
        {
            let inner = self.lock();
            match inner.by_id.get(id) {
                None => return Retried::Unknown,
                Some(run) if matches!(run.status, Status::Running | Status::Succeeded) => {
                    return Retried::NotFailed(run.status);
                }
                Some(_) => {}
            }
        }
        match self.go_on(id, workflows).await {
            Ok(()) => Retried::Started(self.view(id).unwrap_or(Value::Null)),
            Err(e) => Retried::Refused(e),
        }
    }

    /// Continues run `id` from its journal, with the plan that serves its workflow now; it
    /// must be the plan of the same sources.
    async fn go_on(self: &Arc<Self>, id: &str, workflows: &Workflows) -> Result<(), String> {
        let (sink, record) = match &self.cluster {
            None => {
                let (sink, record) = self.history.reopen_journal(id)?;
                (Some(sink), record)
            }
            Some(cluster) => (None, cluster.recorded(id).await?),
        };
        let header = record.header.clone();
        let plan = workflows
            .get(&header.workflow)
            .ok_or_else(|| format!("the server no longer serves workflow `{}`", header.workflow))?;
        if header.plan != plan.source_hash {
            return Err(format!(
                "the files of workflow `{}` changed since the run started, so its finished steps cannot be trusted; submit it again",
                header.workflow
            ));
        }
        record.check(plan, &header.workflow)?;
        let journaled = match (sink, &self.cluster) {
            (Some(sink), _) => Journaled {
                journal: Journal::continued(sink, record)?,
                remote: None,
            },
            (None, Some(cluster)) => {
                let c = cluster.resume(id, plan, record).await?;
                Journaled {
                    journal: c.journal,
                    remote: Some(c.remote),
                }
            }
            (None, None) => return Err("the run has no journal to continue".into()),
        };
        let saved = {
            let mut inner = self.lock();
            let run = inner
                .by_id
                .get_mut(id)
                .ok_or_else(|| format!("no run `{id}`"))?;
            run.plan = Some(header.plan.clone());
            run.status = Status::Running;
            run.finished_ms = None;
            run.output = None;
            run.error = None;
            run.record(None)
        };
        if let Err(e) = self.history.save(&saved) {
            if let Some(remote) = journaled.remote {
                let _ = remote.finish().await;
            }
            return Err(e);
        }
        self.launch(id, plan, &header.workflow, header.inputs, journaled);
        Ok(())
    }

    /// Runs run `id` on a runtime of its own in a task of the process.
    fn launch(
        self: &Arc<Self>,
        id: &str,
        plan: &Plan,
        workflow: &str,
        inputs: Map<String, Value>,
        journaled: Journaled,
    ) {
        let (cancel, cancelled) = oneshot::channel();
        let events = Events::new(Some(plan), workflow);
        if let Some(run) = self.lock().by_id.get_mut(id) {
            run.cancel = Some(cancel);
            run.events = Some(events.clone());
        }
        let mut plan = plan.clone();
        let (runs, run_id, workflow) = (self.clone(), id.to_string(), workflow.to_string());
        tokio::spawn(async move {
            let outcome = execute(
                &runs,
                &run_id,
                &mut plan,
                &workflow,
                inputs,
                Launch {
                    journal: Arc::new(journaled.journal),
                    remote: journaled.remote,
                    cancelled,
                    events,
                },
            )
            .await;
            runs.finish(&run_id, outcome);
        });
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
        let attempts = run.runtime.as_ref().map(|r| r.attempts());
        let mut view = run.record(attempts.as_deref());
        if let Some(runtime) = &run.runtime {
            let steps = runtime.progress().steps;
            view["progress"] = json!({
                "waiting": steps.waiting,
                "running": steps.running,
                "done": steps.done,
            });
        }
        Some(view)
    }

    /// The runs whose status and workflow are those given, in the order submitted: at most
    /// `limit` of them, from the one after the run `after`.
    pub fn list(
        &self,
        status: Option<Status>,
        workflow: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Vec<Value> {
        let inner = self.lock();
        // Ids sort as submitted, so the page starts after `after` even if that run is gone.
        let from = after.map_or(0, |a| inner.order.partition_point(|id| id.as_str() <= a));
        inner.order[from..]
            .iter()
            .filter_map(|id| inner.by_id.get(id))
            .filter(|r| status.is_none_or(|s| r.status == s))
            .filter(|r| workflow.is_none_or(|w| r.workflow == w))
            .take(limit)
            .map(summary)
            .collect()
    }

    fn started(&self, id: &str, runtime: Arc<Runtime>) {
        if let Some(run) = self.lock().by_id.get_mut(id) {
            run.runtime = Some(runtime);
        }
    }

    fn finish(&self, id: &str, outcome: Outcome) {
        let record = {
            let mut inner = self.lock();
            let Some(run) = inner.by_id.get_mut(id) else {
                return;
            };
            run.finished_ms = Some(now_ms());
            run.runtime = None;
            run.cancel = None;
            run.steps = merged(&run.steps, &outcome.attempts);
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
            self.metrics.run_ended(&run.workflow, run.status.name());
            if let Some(events) = &run.events {
                events.finish(&summary(run));
            }
            run.record(None)
        };
        if let Err(e) = self.history.save(&record) {
            crate::out::errln!("warning: {e}");
        }
    }

    /// Records run `id` as it stands, its attempts so far included, so that a kill of the
    /// server loses at most the attempts of the last [`RECORD_EVERY`].
    fn checkpoint(&self, id: &str) {
        let record = {
            let inner = self.lock();
            let Some(run) = inner.by_id.get(id) else {
                return;
            };
            let Some(runtime) = &run.runtime else {
                return;
            };
            run.record(Some(&runtime.attempts()))
        };
        if let Err(e) = self.history.save(&record) {
            crate::out::errln!("warning: {e}");
        }
    }

    /// The live events of run `id`.
    pub fn events(&self, id: &str) -> Option<Arc<Events>> {
        self.lock().by_id.get(id).and_then(|r| r.events.clone())
    }
}

impl Run {
    /// The run in full, as shown and recorded; `attempts` are those of its runtime, while
    /// it runs.
    fn record(&self, attempts: Option<&[(String, Span)]>) -> Value {
        let mut view = summary(self);
        view["inputs"] = Value::Object(self.inputs.clone());
        if let Some(plan) = &self.plan {
            view["plan"] = json!(plan);
        }
        view["steps"] = match attempts {
            Some(attempts) => merged(&self.steps, attempts),
            None => self.steps.clone(),
        };
        view
    }

    /// A run recorded by [`Run::record`].
    fn from_record(record: &Value) -> Option<Run> {
        let text = |field: &str| {
            record
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let id = text("id")?;
        if !id.starts_with('r') {
            return None;
        }
        Some(Run {
            id,
            workflow: text("workflow")?,
            inputs: record.get("inputs")?.as_object()?.clone(),
            status: Status::parse(&text("status")?)?,
            submitted_ms: record.get("submitted_at_ms")?.as_u64()?,
            finished_ms: record.get("finished_at_ms").and_then(Value::as_u64),
            output: record.get("output").cloned(),
            error: record.get("error").cloned(),
            runtime: None,
            steps: record
                .get("steps")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
            cancel: None,
            events: None,
            plan: text("plan"),
        })
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
    attempts: Vec<(String, Span)>,
}

/// A run's journal, and with `--redis` the coordination that goes with it.
struct Journaled {
    journal: Journal,
    remote: Option<Arc<Remote>>,
}

/// What one start of a run goes with: its journal (and with `--redis` its coordination),
/// its cancel, and its live events.
struct Launch {
    journal: Arc<Journal>,
    remote: Option<Arc<Remote>>,
    cancelled: oneshot::Receiver<()>,
    events: Arc<Events>,
}

/// Runs the workflow until it ends or is cancelled, then stops its agents; how it ended is
/// the journal's last event.
async fn execute(
    runs: &Runs,
    id: &str,
    plan: &mut Plan,
    workflow: &str,
    inputs: Map<String, Value>,
    launch: Launch,
) -> Outcome {
    let remote = launch.remote.clone();
    let outcome = execute_launched(runs, id, plan, workflow, inputs, launch).await;
    // Its journal written out and its streams deleted, the lease given up.
    if let Some(remote) = remote
        && let Err(e) = remote.finish().await
    {
        crate::out::errln!("warning: run {id}: {e}");
    }
    outcome
}

async fn execute_launched(
    runs: &Runs,
    id: &str,
    plan: &mut Plan,
    workflow: &str,
    inputs: Map<String, Value>,
    launch: Launch,
) -> Outcome {
    let Launch {
        journal,
        remote,
        cancelled,
        events,
    } = launch;
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
        journal: Some(journal.clone()),
        observer: Some(Arc::new(Tee(vec![
            events,
            Arc::new(RunObserver {
                run: id.to_string(),
                metrics: runs.metrics.clone(),
                letters: runs.letters.clone(),
            }),
        ]))),
        remote,
        ..RunOptions::default()
    };
    let runtime = match Runtime::start(plan.clone(), options) {
        Ok(rt) => rt,
        Err(e) => return failed(e.to_string()),
    };
    runs.started(id, runtime.clone());
    tracing::info!("run {id} of {workflow} started");
    // A dropped sender is no cancel: the run goes on.
    let cancelled = async {
        if cancelled.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let run = runtime.run(Some(workflow), inputs);
    tokio::pin!(cancelled, run);
    let mut every = tokio::time::interval(RECORD_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    let result = loop {
        tokio::select! {
            result = &mut run => break Some(result),
            () = &mut cancelled => break None,
            _ = every.tick() => runs.checkpoint(id),
        }
    };
    let attempts = runtime.attempts();
    runtime.shutdown().await;
    let written = match &result {
        Some(result) => journal.record_end(result.as_ref().map(|r| &r.output)),
        None => journal.record_interrupted("cancel"),
    };
    if let Err(e) = written {
        crate::out::errln!("warning: run {id}: {e}");
    }
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

/// How often a running run's record is written with its attempts so far.
const RECORD_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The events of `run`, read from an earlier server's record: its end, and its step graph
/// when the workflow is still served from the same sources (else no graph: the steps the
/// files define now may not be the run's).
fn ended_events(run: &Run, workflows: &Workflows) -> Arc<Events> {
    let same = workflows
        .get(&run.workflow)
        .filter(|plan| run.plan.as_deref() == Some(plan.source_hash.as_str()));
    let events = Events::new(same.map(|p| &**p), &run.workflow);
    if run.status != Status::Running {
        events.finish(&summary(run));
    }
    events
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

/// `earlier` (steps as a view shows them) with `attempts` added: each attempt joins its
/// step, in the order the steps first ran; a step's state is that of its last attempt.
fn merged(earlier: &Value, attempts: &[(String, Span)]) -> Value {
    let mut steps: Vec<Value> = earlier.as_array().cloned().unwrap_or_default();
    for (agent, span) in attempts {
        let error = match &span.outcome {
            SpanOutcome::Failed(e) => Some(e),
            _ => None,
        };
        let state = match span.outcome {
            SpanOutcome::Ok => "succeeded",
            _ => "failed",
        };
        let attempt = json!({
            "attempt": span.attempt,
            "agent": agent,
            "capability": span.capability,
            "started_us": span.start_us,
            "duration_us": span.duration_us,
            "outcome": span.outcome.category(),
            "error": error,
        });
        match steps.iter_mut().find(|s| s["step"] == span.step.as_str()) {
            Some(step) => {
                if let Some(list) = step["attempts"].as_array_mut() {
                    list.push(attempt);
                }
                step["state"] = json!(state);
            }
            None => steps.push(json!({
                "step": span.step,
                "state": state,
                "attempts": [attempt],
            })),
        }
    }
    Value::Array(steps)
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
