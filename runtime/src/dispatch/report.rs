//! What the summary, the trace and the live display read of the dispatcher.

use super::{Dispatcher, State};
use std::sync::Arc;
use tokio::time::Instant;

/// What a member did over the run, for the summary.
#[derive(Clone, Debug)]
pub struct MemberReport {
    /// The agent's name.
    pub name: String,
    /// Instances at the end.
    pub instances: usize,
    /// Fewest and most instances the plan allows.
    pub replicas: (usize, usize),
    /// How it scaled; `instance_us` counts up to the report.
    pub scaling: crate::fleet::Scaling,
    /// Tasks in flight per instance (`u32::MAX` for unlimited).
    pub concurrency: u32,
    /// Counts and latencies.
    pub stats: crate::fleet::Stats,
}

/// One attempt on one instance, for `--trace-out`.
#[derive(Clone, Debug)]
pub struct Span {
    /// The member (index into the fleet, as in [`MemberReport`]s).
    pub member: usize,
    /// The instance.
    pub instance: usize,
    /// The step, with the path of the workflows that called it.
    pub step: String,
    /// The capability.
    pub capability: String,
    /// Which attempt of the task.
    pub attempt: u32,
    /// Start, in microseconds since the dispatcher started.
    pub start_us: u64,
    /// Duration in microseconds.
    pub duration_us: u64,
    /// How it ended.
    pub outcome: SpanOutcome,
}

/// How one traced attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub enum SpanOutcome {
    /// It gave an output of the capability's type.
    Ok,
    /// It failed, for this reason.
    Failed(String),
    /// It was dropped before it finished (a timeout of its step, a decided consensus).
    Cancelled,
}

impl SpanOutcome {
    /// The trace's category: `ok`, `failed` or `cancelled`.
    pub fn category(&self) -> &'static str {
        match self {
            SpanOutcome::Ok => "ok",
            SpanOutcome::Failed(_) => "failed",
            SpanOutcome::Cancelled => "cancelled",
        }
    }
}

/// What waited for one pool over the run, for the summary.
#[derive(Clone, Debug, Default)]
pub struct QueueReport {
    /// The pool's name.
    pub pool: String,
    /// Its `max_queue`, if it has one.
    pub max_queue: Option<u32>,
    /// The most tasks that waited for it at once.
    pub peak: usize,
}

impl MemberReport {
    /// Whether its instances could change (`replicas: a..b`).
    pub fn scales(&self) -> bool {
        self.replicas.0 < self.replicas.1
    }
}

impl Dispatcher {
    /// Every attempt of a traced run so far, in the order they finished.
    pub fn trace(&self) -> Vec<Span> {
        self.read(|s| s.spans.clone())
    }

    /// Writes the attempts that finish from now on to `stream` instead of keeping them.
    pub fn stream_trace(&self, stream: crate::trace::Stream) {
        self.write(|s| s.stream = Some(stream));
    }

    /// Tells `observer` of every traced attempt from now on; `names` are the agents by
    /// fleet index; `keep_spans` says whether the trace still keeps the attempts too.
    pub fn observe(
        &self,
        observer: Arc<dyn crate::observe::Observer>,
        names: Vec<String>,
        keep_spans: bool,
    ) {
        self.write(|s| {
            s.observer = Some((observer, names));
            s.keep_spans = keep_spans;
        });
    }

    /// The stream given to [`Dispatcher::stream_trace`], to finish it.
    pub fn end_trace(&self) -> Option<crate::trace::Stream> {
        self.write(|s| s.stream.take())
    }

    /// What every member did so far.
    pub fn report(&self) -> Vec<MemberReport> {
        let now = Instant::now();
        self.write(|s| {
            s.fleet
                .iter_mut()
                .map(|m| {
                    m.count_instance_time(now);
                    MemberReport {
                        name: m.name.clone(),
                        instances: m.current().count(),
                        replicas: m.replicas,
                        scaling: m.scaling.clone(),
                        concurrency: m.concurrency,
                        stats: m.stats.clone(),
                    }
                })
                .collect()
        })
    }

    /// Every member's tasks now, and the tasks waiting in all queues.
    pub fn progress(&self) -> (Vec<crate::progress::AgentProgress>, usize) {
        self.read(|s| {
            let agents = s
                .fleet
                .iter()
                .map(|m| crate::progress::AgentProgress {
                    name: m.name.clone(),
                    running: m.in_flight(),
                    slots: (m.concurrency != u32::MAX).then(|| m.capacity_slots()),
                    instances: m.current().count(),
                    done: m.stats.tasks,
                    failed: m.stats.failures,
                })
                .collect();
            (agents, s.groups.iter().map(|g| g.queue.len()).sum())
        })
    }

    /// What waited for each pool.
    pub fn queues(&self) -> Vec<QueueReport> {
        self.read(|s| s.pools.clone())
    }
}

impl State {
    /// Records how many tasks wait for pool `p` now, if it is the most so far.
    pub(super) fn note_waiting(&mut self, p: usize) {
        let waiting = self
            .groups
            .iter()
            .filter(|g| g.pool == Some(p))
            .map(|g| g.queue.len())
            .sum();
        if let Some(q) = self.pools.get_mut(p) {
            q.peak = q.peak.max(waiting);
        }
    }
}
