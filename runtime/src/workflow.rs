//! One run of a workflow: its DAG of steps, started as their dependencies finish.

use crate::conform::conform;
use crate::eval::eval;
use crate::observe::Event;
use crate::scope::RunScope;
use crate::{RunError, Runtime, inputs, step};
use futures_util::{FutureExt, StreamExt, stream::FuturesUnordered};
use hive_plan::Workflow;
use serde_json::{Map, Value};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// A workflow being run: its inputs and the values of its finished steps.
pub struct WorkflowRun {
    /// The runtime it runs in.
    pub rt: Arc<Runtime>,
    /// The workflow's key in the plan.
    pub name: String,
    /// The bound inputs.
    pub params: Map<String, Value>,
    /// Each step's value, set once when it finishes.
    pub values: Vec<OnceLock<Value>>,
    /// When the run must be over, from the workflow's `timeout`.
    pub deadline: Option<Instant>,
    /// Where this run sits in the call tree, as journal keys start: empty for the entry
    /// workflow, `step/` or `step[3]/` for a workflow called by a step (or element).
    pub path: String,
}

impl WorkflowRun {
    /// The workflow in the plan.
    pub fn workflow(&self) -> &Workflow {
        &self.rt.plan.workflows[&self.name]
    }

    /// The journal key of step `index`, or of one element of its map.
    pub fn key(&self, index: usize, element: Option<usize>) -> String {
        let name = &self.workflow().steps[index].name;
        match element {
            None => format!("{}{name}", self.path),
            Some(k) => format!("{}{name}[{k}]", self.path),
        }
    }

    /// The journaled value of step `index` (or one element), when resuming.
    pub fn journaled(&self, index: usize, element: Option<usize>) -> Option<Value> {
        let journal = self.rt.journal.as_ref()?;
        journal.done(&self.key(index, element)).cloned()
    }

    /// The journal key of member `agent`'s answer to broadcast step `index`: `step@agent`.
    pub fn member_key(&self, index: usize, agent: &str) -> String {
        format!("{}@{agent}", self.key(index, None))
    }

    /// Records a final value in the journal, if the run keeps one.
    pub fn record(
        &self,
        index: usize,
        element: Option<usize>,
        value: &Value,
    ) -> Result<(), RunError> {
        match &self.rt.journal {
            None => Ok(()),
            Some(j) => j
                .record_done(&self.key(index, element), value)
                .map_err(RunError::run),
        }
    }
}

/// Checks `inputs` against the parameters of workflow `name`, defaults filled in: the
/// parameters of a run of it.
pub fn bind(
    rt: &Runtime,
    name: &str,
    inputs: Map<String, Value>,
) -> Result<Map<String, Value>, RunError> {
    let Some(wf) = rt.plan.workflows.get(name) else {
        return Err(RunError::run(format!("the plan has no workflow `{name}`")));
    };
    inputs::bind(&rt.plan, name, &wf.params, inputs)
}

/// Runs workflow `name` with `params` from [`bind`]; boxed because steps may call workflows.
pub fn run(
    rt: Arc<Runtime>,
    name: String,
    params: Map<String, Value>,
    path: String,
) -> Pin<Box<dyn Future<Output = Result<Value, RunError>> + Send>> {
    Box::pin(async move {
        let Some(wf) = rt.plan.workflows.get(&name) else {
            return Err(RunError::run(format!("the plan has no workflow `{name}`")));
        };
        let timeout = wf.timeout_ms;
        let run = Arc::new(WorkflowRun {
            values: (0..wf.steps.len()).map(|_| OnceLock::new()).collect(),
            deadline: timeout.map(|ms| Instant::now() + Duration::from_millis(ms)),
            rt: rt.clone(),
            name: name.clone(),
            params,
            path,
        });
        match timeout {
            None => drive(&run).await,
            Some(ms) => tokio::time::timeout(Duration::from_millis(ms), drive(&run))
                .await
                .unwrap_or_else(|_| {
                    Err(RunError::retryable(format!(
                        "workflow `{name}` timed out after {}; the tasks still running were cancelled",
                        hive_plan::duration(ms)
                    )))
                }),
        }
    })
}

/// Step `i` is done: its dependents that waited only for it become ready.
fn release(i: usize, dependents: &[Vec<usize>], waiting: &mut [usize], ready: &mut Vec<usize>) {
    for &d in &dependents[i] {
        waiting[d] -= 1;
        if waiting[d] == 0 {
            ready.push(d);
        }
    }
}

/// Starts every step whose dependencies are done, until all are done or one fails. The steps
/// in flight are futures of this task, not tasks of their own (a step that finishes at once
/// costs no spawn); returning on failure drops those still running, which cancels their
/// tasks.
async fn drive(run: &WorkflowRun) -> Result<Value, RunError> {
    let wf = run.workflow();
    let n = wf.steps.len();
    let mut waiting: Vec<usize> = wf.steps.iter().map(|s| s.deps.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in wf.steps.iter().enumerate() {
        for &d in &s.deps {
            if let Some(list) = dependents.get_mut(d) {
                list.push(i);
            }
        }
    }
    let counts = &run.rt.steps;
    counts.planned(n);
    let mut running = FuturesUnordered::new();
    let start_step = |i: usize| {
        counts.started();
        run.rt.tell(|| Event::StepStarted {
            step: run.key(i, None),
        });
        let step = &wf.steps[i];
        AssertUnwindSafe(step::run(run, i))
            .catch_unwind()
            .map(move |r| {
                let r = r.unwrap_or_else(|_| {
                    Err(RunError::run(format!(
                        "step `{}.{}` stopped: it panicked",
                        run.name, step.name
                    )))
                });
                (i, r)
            })
    };
    let mut done = 0;
    // Steps whose dependencies are done, and of those the ones to start now.
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut start = Vec::new();
    loop {
        // Those the journal has finish at once; their dependents may follow.
        while let Some(i) = ready.pop() {
            match run.journaled(i, None) {
                Some(value) => {
                    run.rt.tell(|| Event::StepFinished {
                        step: run.key(i, None),
                        result: Ok(value.clone()),
                        journaled: true,
                    });
                    let _ = run.values[i].set(value);
                    counts.skipped();
                    done += 1;
                    release(i, &dependents, &mut waiting, &mut ready);
                }
                None => start.push(i),
            }
        }
        let (i, result) = match (start.as_slice(), running.is_empty()) {
            // The only step to run (a chain) is awaited directly: nothing else could make
            // progress meanwhile.
            (&[i], true) => {
                start.clear();
                start_step(i).await
            }
            _ => {
                running.extend(start.drain(..).map(&start_step));
                let Some(next) = running.next().await else {
                    break;
                };
                next
            }
        };
        counts.finished();
        run.rt.tell(|| Event::StepFinished {
            step: run.key(i, None),
            result: match &result {
                Ok(value) => Ok(value.clone()),
                Err(e) => Err(e.to_string()),
            },
            journaled: false,
        });
        let value = result?;
        run.record(i, None, &value)?;
        let _ = run.values[i].set(value);
        done += 1;
        release(i, &dependents, &mut waiting, &mut ready);
    }
    if done < n {
        return Err(RunError::run(format!(
            "workflow `{}`: {} steps never became ready (the plan's dependencies are inconsistent)",
            run.name,
            n - done
        )));
    }
    let scope = RunScope {
        params: &run.params,
        steps: &run.values,
        locals: &[],
        state: Some(&run.rt.state),
    };
    let output = eval(&wf.output, &scope)
        .map_err(|e| RunError::run(format!("workflow `{}` output: {e}", run.name)))?;
    conform(output, &wf.returns, &run.rt.plan.types).map_err(|m| {
        RunError::run(format!(
            "workflow `{}` output does not match its return type {m}",
            run.name
        ))
    })
}
