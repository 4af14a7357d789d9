//! What a run tells whoever watches it, as it happens: steps started and finished, attempts
//! started and finished, and the lines its exec agents write to stderr. `hivec serve` turns these into a run's live events.
//!
//! An observer is called from inside the runtime (the dispatcher's lock held for attempts),
//! so it must only record what it is told and return: never call back into the runtime.

use crate::dispatch::Span;
use serde_json::Value;
use std::sync::Arc;

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
}

/// Told every [`Event`] of a run, in the order they happen.
pub trait Observer: Send + Sync {
    /// Records `event`; must not block.
    fn observe(&self, event: Event);
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
