//! Prometheus metrics of runs (`/metrics` of `hivec serve`, and `hivec run --metrics ADDR`),
//! in the OpenMetrics text format.
//!
//! Counters and histograms are fed by the runtime's observer, from where it records each
//! attempt for the summary and the trace; gauges (queue depth, instances) are read from the
//! live runs at each scrape. No run id is ever a label, so the series stay few however
//! many runs there are.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use hive_runtime::Runtime;
use hive_runtime::agent::Health;
use hive_runtime::dispatch::{InstanceCensus, SpanOutcome};
use hive_runtime::observe::{Event, Observer};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The media type of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    agent: String,
    capability: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    agent: String,
    capability: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    agent: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    workflow: String,
    outcome: String,
}

type Durations = Family<CallLabels, Histogram, fn() -> Histogram>;

/// Every metric of the process's runs.
pub struct Metrics {
    registry: Registry,
    tasks: Family<TaskLabels, Counter>,
    durations: Durations,
    queue_wait: Histogram,
    queue_depth: Family<TargetLabels, Gauge>,
    instances: Family<InstanceLabels, Gauge>,
    redeliveries: Counter,
    dead_letters: Counter,
    runs: Family<RunLabels, Counter>,
    /// Held while the gauges are set and the text encoded, so two scrapes do not mix.
    scrape: Mutex<()>,
}

/// Task durations: 1 ms to about 15 minutes, each bucket 2.5 times the one before.
fn task_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// The metrics with nothing counted yet.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let tasks = Family::<TaskLabels, Counter>::default();
        registry.register(
            "hive_tasks",
            "Attempts of tasks that ended, by agent, capability and outcome (ok, failed, cancelled)",
            tasks.clone(),
        );
        let durations: Durations = Family::new_with_constructor(task_buckets);
        registry.register_with_unit(
            "hive_task_duration",
            "How long attempts of tasks ran on their agent instance",
            Unit::Seconds,
            durations.clone(),
        );
        // 100 µs to about 4 minutes, each bucket 3 times the one before.
        let queue_wait = Histogram::new(exponential_buckets(0.0001, 3.0, 14));
        registry.register_with_unit(
            "hive_queue_wait",
            "How long tasks waited for a free agent instance before they started",
            Unit::Seconds,
            queue_wait.clone(),
        );
        let queue_depth = Family::<TargetLabels, Gauge>::default();
        registry.register(
            "hive_queue_depth",
            "Tasks waiting now for a target (an agent, a pool, or any of several agents)",
            queue_depth.clone(),
        );
        let instances = Family::<InstanceLabels, Gauge>::default();
        registry.register(
            "hive_instances",
            "Agent instances now, by state (busy, idle, starting, dead)",
            instances.clone(),
        );
        let redeliveries = Counter::default();
        registry.register(
            "hive_redeliveries",
            "Deliveries lost under an instance that died, whose attempt moved to another",
            redeliveries.clone(),
        );
        let dead_letters = Counter::default();
        registry.register(
            "hive_dead_letters",
            "Tasks given up because every delivery of them was lost",
            dead_letters.clone(),
        );
        let runs = Family::<RunLabels, Counter>::default();
        registry.register(
            "hive_runs",
            "Runs that ended, by workflow and outcome (succeeded, failed, cancelled)",
            runs.clone(),
        );
        Metrics {
            registry,
            tasks,
            durations,
            queue_wait,
            queue_depth,
            instances,
            redeliveries,
            dead_letters,
            runs,
            scrape: Mutex::new(()),
        }
    }

    /// Counts a run of `workflow` that ended with `outcome`.
    pub fn run_ended(&self, workflow: &str, outcome: &str) {
        self.runs
            .get_or_create(&RunLabels {
                workflow: workflow.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// The text of every metric, the gauges read from `live`, the runs going on now.
    pub fn encode(&self, live: &[Arc<Runtime>]) -> String {
        let _scrape = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.queue_depth.clear();
        self.instances.clear();
        for runtime in live {
            for (target, waiting) in runtime.queue_depths() {
                self.queue_depth
                    .get_or_create(&TargetLabels { target })
                    .inc_by(waiting as i64);
            }
            for i in runtime.instances() {
                let state = state_of(&i).to_string();
                self.instances
                    .get_or_create(&InstanceLabels {
                        agent: i.agent,
                        state,
                    })
                    .inc();
            }
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// The response of `GET /metrics`.
    pub fn response(&self, live: &[Arc<Runtime>]) -> Response {
        ([(header::CONTENT_TYPE, CONTENT_TYPE)], self.encode(live)).into_response()
    }
}

impl Metrics {
    /// An attempt of `capability` on an instance of `agent` ended after `duration`.
    fn attempt(&self, agent: &str, capability: &str, outcome: &SpanOutcome, duration: Duration) {
        self.tasks
            .get_or_create(&TaskLabels {
                agent: agent.to_string(),
                capability: capability.to_string(),
                outcome: outcome.category().to_string(),
            })
            .inc();
        // A cancelled attempt did not run to its end: its time says nothing of the task.
        if *outcome != SpanOutcome::Cancelled {
            self.durations
                .get_or_create(&CallLabels {
                    agent: agent.to_string(),
                    capability: capability.to_string(),
                })
                .observe(duration.as_secs_f64());
        }
    }
}

impl Observer for Metrics {
    fn observe(&self, event: Event) {
        match event {
            Event::AttemptFinished { agent, span } => {
                // `agent#instance`: instances are not labels, so a series does not grow with them.
                let name = agent
                    .rsplit_once('#')
                    .map_or(agent.as_str(), |(name, _)| name);
                self.attempt(
                    name,
                    &span.capability,
                    &span.outcome,
                    Duration::from_micros(span.duration_us),
                );
            }
            Event::Queued { wait } => self.queue_wait.observe(wait.as_secs_f64()),
            Event::Redelivered => {
                self.redeliveries.inc();
            }
            Event::DeadLetter(_) => {
                self.dead_letters.inc();
            }
            Event::StepStarted { .. }
            | Event::StepFinished { .. }
            | Event::AttemptStarted { .. }
            | Event::Log { .. }
            | Event::MemberAbsent { .. } => {}
        }
    }
}

/// The state of an instance, as `hive_instances` and the agents of `hivec serve` name it:
/// `busy` (live, with a task in flight), `idle`, `starting` or `dead`.
pub fn state_of(i: &InstanceCensus) -> &'static str {
    match i.health {
        Health::Live if i.in_flight > 0 => "busy",
        Health::Live => "idle",
        Health::Starting => "starting",
        Health::Dead => "dead",
    }
}

/// `hivec run --metrics ADDR`: serves `GET /metrics` of `metrics`, its gauges read from
/// the run `live` holds, until the listener's task is dropped.
pub async fn serve_run(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    live: Arc<Mutex<Option<Arc<Runtime>>>>,
) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (metrics, live) = (metrics.clone(), live.clone());
            async move {
                let runtime = live.lock().ok().and_then(|l| l.clone());
                metrics.response(runtime.as_slice())
            }
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        crate::out::errln!("warning: --metrics stopped serving: {e}");
    }
}
