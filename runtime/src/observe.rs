//! What a run tells an observer as it goes, for metrics: every attempt as it is recorded
//! for the summary and the trace, how long each task waited for an instance, deliveries
//! lost under dead instances, and dead letters.
//!
//! Invariant: an observer sees the same attempts the summary counts and the trace shows,
//! from the same place they are recorded; it keeps no books of its own about the run.

use crate::dispatch::SpanOutcome;
use serde_json::Value;
use std::time::Duration;

/// Receives a run's events. Called with the dispatcher's lock held: quick, and never
/// calling back into the run.
pub trait Observer: Send + Sync {
    /// An attempt of `capability` on an instance of `agent` ended after `duration`.
    fn attempt(&self, agent: &str, capability: &str, outcome: &SpanOutcome, duration: Duration);

    /// A task waited `wait` between being handed to the dispatcher and starting.
    fn queued(&self, wait: Duration);

    /// A delivery of an attempt was lost (its instance died under it) and the attempt
    /// moves on to another instance.
    fn redelivered(&self);

    /// A task was dead-lettered: every delivery of it was lost.
    fn dead_letter(&self, letter: DeadLetter);
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
