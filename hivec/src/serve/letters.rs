//! Dead letters of `hivec serve`'s runs in this process: tasks given up because every
//! delivery of them was lost under an instance that died. They are kept in memory, the
//! newest [`KEPT`], while the server lives; each run's observer adds its own, with its id.

use crate::metrics::Metrics;
use hive_runtime::dispatch::SpanOutcome;
use hive_runtime::observe::{DeadLetter, Observer};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most dead letters kept: older ones are dropped.
const KEPT: usize = 10_000;

/// The dead letters so far, oldest first.
#[derive(Default)]
pub struct Letters {
    kept: Mutex<VecDeque<Value>>,
}

impl Letters {
    /// Every dead letter kept, oldest first.
    pub fn list(&self) -> Vec<Value> {
        self.kept
            .lock()
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn add(&self, letter: Value) {
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back(letter);
        }
    }
}

/// The observer of one run: the metrics, and its dead letters named by its id.
pub struct RunObserver {
    /// The run's id.
    pub run: String,
    /// The process's metrics.
    pub metrics: Arc<Metrics>,
    /// Where its dead letters go.
    pub letters: Arc<Letters>,
}

impl Observer for RunObserver {
    fn attempt(&self, agent: &str, capability: &str, outcome: &SpanOutcome, duration: Duration) {
        self.metrics.attempt(agent, capability, outcome, duration);
    }

    fn queued(&self, wait: Duration) {
        self.metrics.queued(wait);
    }

    fn redelivered(&self) {
        self.metrics.redelivered();
    }

    fn dead_letter(&self, letter: DeadLetter) {
        self.letters.add(json!({
            "run": self.run,
            "step": letter.step,
            "agent": letter.agent,
            "capability": letter.capability,
            "attempt": letter.attempt,
            "deliveries": letter.deliveries,
            "error": letter.error,
            "input": letter.input,
        }));
        self.metrics.dead_letter(letter);
    }
}
