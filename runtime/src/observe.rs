//! What a run tells whoever watches it, as it happens: steps started and finished, attempts
//! started and finished, the lines its exec agents write to stderr, how long tasks waited,
//! deliveries lost under dead instances, dead letters and broadcast members that gave no
//! answer. `hivec serve` turns these into a run's live events and, with `hivec run
//! --metrics`, into metrics.
//!
//! An observer is called from inside the runtime (the dispatcher's lock held for attempts),
//! so it must only record what it is told and return: never call back into the runtime. It
//! sees the attempts the summary counts, from the place they are recorded, and keeps no
//! books of its own about the run.

use crate::dispatch::Span;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Something a run did. Steps are named by their journal key's step part: `step`, or
/// `call/step` inside a workflow that step `call` called.
#[derive(Clone, Debug)]
pub enum Event {
    /// A step started: its dependencies are done.
    StepStarted {
        /// The step.
        step: String,
    },
    /// A step finished: with its value, or with the error that ends the run.
    StepFinished {
        /// The step.
        step: String,
        /// Its value, or the error.
        result: Result<Value, String>,
        /// Taken from the journal of a resumed run rather than run.
        journaled: bool,
    },
    /// An attempt of a step's task started on an instance.
    AttemptStarted {
        /// The step.
        step: String,
        /// `agent#instance`.
        agent: String,
        /// The capability called.
        capability: String,
        /// 1 for the first attempt.
        attempt: u32,
        /// Microseconds since the run's agents started, as in [`Span::start_us`].
        start_us: u64,
        /// The task's arguments.
        input: Arc<Value>,
    },
    /// An exec instance wrote a line to its stderr.
    Log {
        /// `agent#instance`.
        agent: String,
        /// The line, as written.
        line: String,
    },
    /// An attempt ended: its span, and the `agent#instance` it ran on.
    AttemptFinished {
        /// `agent#instance`.
        agent: String,
        /// What the trace records of it.
        span: Span,
    },
    /// A task waited this long between being handed to the dispatcher and starting.
    Queued {
        /// The wait.
        wait: Duration,
    },
    /// A delivery of an attempt was lost (its instance died under it) and the attempt moves
    /// on to another instance.
    Redelivered,
    /// A task was dead-lettered: every delivery of it was lost.
    DeadLetter(DeadLetter),
    /// A member of a broadcast step gave no answer (its attempts failed, or it had no live
    /// instance): it is absent from the step's value.
    MemberAbsent {
        /// The step.
        step: String,
        /// The member agent.
        agent: String,
        /// Why; values read by `env()` masked.
        error: String,
    },
}

/// A task given up because each of its deliveries was lost under a dead instance, the
/// in-process counterpart of a dead letter of distributed mode.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    /// The step, with the path of the workflows that called it.
    pub step: String,
    /// `agent#instance` of the last delivery, when known.
    pub agent: Option<String>,
    /// The capability.
    pub capability: String,
    /// Which attempt of the task.
    pub attempt: u32,
    /// Deliveries that were lost.
    pub deliveries: u32,
    /// Why the last one was lost; values read by `env()` masked.
    pub error: String,
    /// The task's input.
    pub input: Value,
}

/// Told every [`Event`] of a run, in the order they happen.
pub trait Observer: Send + Sync {
    /// Records `event`; must not block.
    fn observe(&self, event: Event);
}

/// Tells every one of several observers each event, in their order.
pub struct Tee(pub Vec<Arc<dyn Observer>>);

impl Observer for Tee {
    fn observe(&self, event: Event) {
        if let Some((last, others)) = self.0.split_last() {
            for o in others {
                o.observe(event.clone());
            }
            last.observe(event);
        }
    }
}

/// Where an exec instance's stderr lines go besides the log: the run's observer, if any.
#[derive(Clone, Default)]
pub struct Logs(pub Option<Arc<dyn Observer>>);

impl Logs {
    /// Tells the observer that instance `instance` of `agent` wrote `line`.
    pub fn line(&self, agent: &str, instance: usize, line: &str) {
        if let Some(observer) = &self.0 {
            observer.observe(Event::Log {
                agent: format!("{agent}#{instance}"),
                line: line.to_string(),
            });
        }
    }
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Logs(observed)"
        } else {
            "Logs(none)"
        })
    }
}
