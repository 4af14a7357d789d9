//! Dead letters of `hivec serve`'s runs in this process: tasks given up because every
//! delivery of them was lost under an instance that died. They are kept in memory, the
//! newest [`KEPT`], while the server lives; each run's observer adds its own, with its id.

use crate::metrics::Metrics;
use hive_runtime::observe::{Event, Observer};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

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
    fn observe(&self, event: Event) {
        if let Event::DeadLetter(letter) = &event {
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
        }
        self.metrics.observe(event);
    }
}
