//! Where a run is, for a live display: steps by state and what each agent is doing.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Steps of a run (of every workflow it called) by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Steps {
    /// Not started: waiting for their dependencies.
    pub waiting: usize,
    /// Started and not finished.
    pub running: usize,
    /// Finished (skipped and journaled ones included).
    pub done: usize,
}

/// One agent's part of the run so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentProgress {
    /// The agent's name.
    pub name: String,
    /// Tasks running on it now.
    pub running: u32,
    /// Tasks it can run at once now (`None` when unlimited).
    pub slots: Option<u64>,
    /// Its instances now.
    pub instances: usize,
    /// Attempts it has finished.
    pub done: u64,
    /// Of those, failed ones.
    pub failed: u64,
}

/// A snapshot of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Steps by state.
    pub steps: Steps,
    /// Tasks waiting in the targets' queues for a free member.
    pub queued: usize,
    /// Every agent of the run.
    pub agents: Vec<AgentProgress>,
}

/// Counters the workflows update as their steps move on; relaxed, as they are only shown.
#[derive(Debug, Default)]
pub(crate) struct StepCounts {
    waiting: AtomicUsize,
    running: AtomicUsize,
    done: AtomicUsize,
}

impl StepCounts {
    /// A workflow with `n` steps has started.
    pub fn planned(&self, n: usize) {
        self.waiting.fetch_add(n, Relaxed);
    }

    /// A step has started.
    pub fn started(&self) {
        self.waiting.fetch_sub(1, Relaxed);
        self.running.fetch_add(1, Relaxed);
    }

    /// A started step has finished.
    pub fn finished(&self) {
        self.running.fetch_sub(1, Relaxed);
        self.done.fetch_add(1, Relaxed);
    }

    /// A step was finished without starting (found in the journal).
    pub fn skipped(&self) {
        self.waiting.fetch_sub(1, Relaxed);
        self.done.fetch_add(1, Relaxed);
    }

    pub fn read(&self) -> Steps {
        Steps {
            waiting: self.waiting.load(Relaxed),
            running: self.running.load(Relaxed),
            done: self.done.load(Relaxed),
        }
    }
}
