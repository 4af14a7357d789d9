//! The hive runtime: executes a lowered plan across agents.
//!
//! Invariant: the runtime reads the plan and nothing else. Steps become ready when their
//! dependencies finish; the dispatcher alone decides where a task runs; a failure ends the run
//! only after the step's retries, fallback targets and `fallback` value are exhausted, and
//! then every task still in flight is cancelled.

pub mod agent;
pub mod allocator;
mod attempts;
mod broadcast;
mod census;
pub mod conform;
mod consensus;
pub mod dispatch;
mod error;
pub mod eval;
pub mod fleet;
mod inputs;
pub mod journal;
mod keys;
pub mod observe;
pub mod progress;
pub mod remote;
mod scope;
pub mod secrets;
pub mod state;
mod step;
pub mod strategy;
mod topic_step;
pub mod topics;
mod trace;
pub use trace::Stream as TraceStream;
mod workflow;

pub use error::RunError;
pub use inputs::parse_input;

use agent::Instance;
use agent::std_agent::StdAgent;
use dispatch::{Dispatcher, Group, MemberReport};
use fleet::Member;
use hive_plan::{Plan, Routing, Target};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use strategy::Policy;

/// Times [`Runtime::run`] looks, a millisecond apart, whether the attempts left running at
/// the end have been recorded.
const SETTLE_POLLS: u32 = 1_000;

/// How a run behaves beyond what the plan says.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Seed of the random choices (strategies, jitter), for reproducible runs.
    pub seed: u64,
    /// Agents behave as their `simulate` blocks say instead of running. The caller provides
    /// the virtual clock (a tokio runtime with paused time).
    pub simulate: bool,
    /// Record every attempt for [`Runtime::trace`].
    pub trace: bool,
    /// Where finished steps are recorded, and read from when the run is resumed.
    pub journal: Option<Arc<journal::Journal>>,
    /// Distributed mode: exec agents' instances are hosted by workers through Redis.
    pub remote: Option<Arc<remote::Remote>>,
    /// Told of every step and, when traced, every attempt as they start and finish, every
    /// queue wait, lost delivery and dead letter.
    pub observer: Option<Arc<dyn observe::Observer>>,
}

/// The outcome of a run that finished.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The workflow's output.
    pub output: Value,
    /// What every agent did.
    pub members: Vec<MemberReport>,
    /// What waited for each pool.
    pub queues: Vec<dispatch::QueueReport>,
    /// Wall time of the run, in microseconds.
    pub elapsed_us: u64,
}

/// A plan ready to run: its agents started and its targets known to the dispatcher.
pub struct Runtime {
    plan: Arc<Plan>,
    dispatcher: Dispatcher,
    /// A routing's id ([`Routing::id`]) → its dispatcher group.
    groups: rustc_hash::FxHashMap<u32, usize>,
    /// Idempotency keys, completed and in flight.
    keys: keys::Keys,
    /// Agent names by fleet index.
    names: Vec<String>,
    /// Whether attempts are labelled with their step: for the trace, or for an observer.
    traced: bool,
    /// Told of what happens in the run, if anyone is.
    observer: Option<Arc<dyn observe::Observer>>,
    /// The backoff jitter's random numbers, seeded so that simulations repeat.
    rng: Mutex<fastrand::Rng>,
    /// The run's journal, if it keeps one.
    journal: Option<Arc<journal::Journal>>,
    /// Room in the queues of pools with a `max_queue`, by dispatcher group; the groups of
    /// one pool share it.
    rooms: Vec<Option<Arc<tokio::sync::Semaphore>>>,
    /// Steps of the run by state, for [`Runtime::progress`].
    steps: progress::StepCounts,
    /// The run's shared state cells.
    state: Arc<state::Store>,
    /// The run's topics.
    topics: Arc<topics::Board>,
}

impl Runtime {
    /// Starts the plan's agents and the dispatcher. Must be called inside a tokio runtime.
    pub fn start(
        plan: impl Into<Arc<Plan>>,
        options: RunOptions,
    ) -> Result<Arc<Runtime>, RunError> {
        let plan = plan.into();
        let store = match &options.remote {
            Some(remote) if !options.simulate => {
                state::Store::Redis(Box::new(remote.cells(plan.clone()).map_err(RunError::run)?))
            }
            _ => state::Store::new(plan.clone(), options.journal.clone()).map_err(RunError::run)?,
        };
        let store = Arc::new(store);
        let board = match &options.remote {
            Some(remote) if !options.simulate => {
                topics::Board::relayed(plan.clone(), remote.relay(&plan), true)
            }
            _ => Arc::new(topics::Board::new(plan.clone(), options.journal.clone())),
        };
        let dispatcher = Dispatcher::new();
        // Only agents some step can be routed to are started: an agent the run never uses
        // needs no process and no environment.
        let mut used: std::collections::BTreeSet<&String> = std::collections::BTreeSet::new();
        for routing in plan.routings() {
            used.extend(agents_of(&plan, &routing.target)?);
        }
        // A listener runs when a step of the run publishes to one of its topics.
        let published: Vec<&str> = plan
            .workflows
            .values()
            .flat_map(|w| w.topics(false))
            .collect();
        used.extend(
            plan.agents
                .iter()
                .filter(|(_, a)| a.subscribes.iter().any(|t| published.contains(&t.as_str())))
                .map(|(n, _)| n),
        );
        let mut fleet = Vec::new();
        let mut index = HashMap::new();
        let base = std::path::PathBuf::from(&plan.base);
        for (name, agent) in plan.agents.iter().filter(|(n, _)| used.contains(n)) {
            let remote = options.remote.as_ref().filter(|r| r.hosts(name));
            let spawn = match remote {
                _ if options.simulate => simulated_spawn(name, agent, &plan, options.seed)?,
                Some(remote) => {
                    let (remote, name) = (remote.clone(), name.clone());
                    Arc::new(move |i| Arc::new(remote.instance(&name, i)) as Arc<dyn Instance>)
                }
                None => {
                    let shared = Shared {
                        store: &store,
                        board: &board,
                    };
                    real_spawn(name, agent, &base, &dispatcher, &options.observer, shared)?
                }
            };
            index.insert(name.clone(), fleet.len());
            let mut member = Member::new(name, agent, spawn);
            if remote.is_some() && !options.simulate {
                // Workers decide how many instances there are; the coordinator follows.
                member.replicas = (member.replicas.0, member.replicas.0);
            }
            fleet.push(member);
        }
        let mut groups = Vec::new();
        let mut pools: Vec<dispatch::QueueReport> = Vec::new();
        let mut pool_rooms: Vec<Option<Arc<tokio::sync::Semaphore>>> = Vec::new();
        let mut rooms = Vec::new();
        // Routings to the same target with the same strategy share one group; there are few
        // distinct ones, so a scan finds them.
        let mut distinct: Vec<&Routing> = Vec::new();
        let mut by_id = rustc_hash::FxHashMap::default();
        for routing in plan.routings() {
            let group = distinct
                .iter()
                .position(|d| d.target == routing.target && d.strategy == routing.strategy);
            if let Some(previous) = by_id.insert(routing.id, group.unwrap_or(groups.len()))
                && Some(previous) != group
            {
                return Err(RunError::run(format!(
                    "the plan is malformed: two different routings have id {}",
                    routing.id
                )));
            }
            if group.is_some() {
                continue;
            }
            let members = agents_of(&plan, &routing.target)?
                .into_iter()
                .map(|n| {
                    index
                        .get(n)
                        .copied()
                        .ok_or_else(|| RunError::run(format!("the plan has no agent `{n}`")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            // Each target's random choices are its own, and repeat with the run's seed.
            let seed = strategy::mix(options.seed ^ groups.len() as u64);
            let policy = Policy::new(routing.strategy.clone(), members.len(), seed);
            let pool = match &routing.target {
                Target::Pool { pool } => Some(match pools.iter().position(|p| &p.pool == pool) {
                    Some(p) => p,
                    None => {
                        let max_queue = plan.pools.get(pool).and_then(|p| p.max_queue);
                        pools.push(dispatch::QueueReport {
                            pool: pool.clone(),
                            max_queue,
                            peak: 0,
                        });
                        pool_rooms.push(
                            max_queue
                                .map(|m| Arc::new(tokio::sync::Semaphore::new(m.max(1) as usize))),
                        );
                        pools.len() - 1
                    }
                }),
                _ => None,
            };
            rooms.push(pool.and_then(|p| pool_rooms[p].clone()));
            distinct.push(routing);
            groups.push(Group::new(members, policy, pool));
        }
        let names: Vec<String> = fleet.iter().map(|m| m.name.clone()).collect();
        dispatcher.start(fleet, groups, pools);
        if let Some(observer) = &options.observer {
            dispatcher.observe(observer.clone(), names.clone(), options.trace);
        }
        if let Some(remote) = options.remote.as_ref().filter(|_| !options.simulate) {
            remote.attach(dispatcher.clone());
        }
        Ok(Arc::new(Runtime {
            state: store,
            topics: board,
            rooms,
            steps: progress::StepCounts::default(),
            names,
            plan,
            dispatcher,
            groups: by_id,
            keys: keys::Keys::new(
                options
                    .journal
                    .as_ref()
                    .map(|j| j.keys().clone())
                    .unwrap_or_default(),
            ),
            journal: options.journal.clone(),
            traced: options.trace || options.observer.is_some(),
            observer: options.observer.clone(),
            rng: Mutex::new(fastrand::Rng::with_seed(strategy::mix(options.seed))),
        }))
    }

    /// `agent#instance`, for messages.
    fn member_name(&self, member: usize, instance: usize) -> Option<String> {
        self.names.get(member).map(|n| format!("{n}#{instance}"))
    }

    /// Writes the attempts that finish from now on to `stream` (the shape of
    /// [`Runtime::trace`]), instead of keeping them for it.
    pub fn stream_trace(&self, stream: TraceStream) {
        self.dispatcher.stream_trace(stream);
    }

    /// Finishes the trace given to [`Runtime::stream_trace`], once the attempts are over.
    pub fn end_trace(&self) -> Result<(), String> {
        match self.dispatcher.end_trace() {
            Some(stream) => stream.finish(&self.names),
            None => Ok(()),
        }
    }

    /// Every attempt so far as a Chrome trace (the JSON object format Perfetto opens):
    /// one process per agent, one thread per instance, one complete event per attempt.
    /// Empty unless the run was started with [`RunOptions::trace`]. Values read by `env()`
    /// are masked in it.
    pub fn trace(&self) -> Value {
        let mut trace = trace::chrome(&self.dispatcher.trace(), &self.names);
        secrets::mask_value(&mut trace);
        trace
    }

    /// Every attempt finished so far, with its `agent#instance` (the data of [`Runtime::trace`],
    /// for the service's view of a run). Empty unless the run was started with
    /// [`RunOptions::trace`]. Values read by `env()` are masked in the errors.
    pub fn attempts(&self) -> Vec<(String, dispatch::Span)> {
        let mut spans = self.dispatcher.trace();
        spans.sort_by_key(|s| s.start_us);
        spans
            .into_iter()
            .map(|mut s| {
                if let dispatch::SpanOutcome::Failed(e) = &mut s.outcome {
                    *e = secrets::mask(e).into_owned();
                }
                let who = self
                    .member_name(s.member, s.instance)
                    .unwrap_or_else(|| "?".to_string());
                (who, s)
            })
            .collect()
    }

    /// Tells the observer, if there is one, of the event `event` makes.
    fn tell(&self, event: impl FnOnce() -> observe::Event) {
        if let Some(observer) = &self.observer {
            observer.observe(event());
        }
    }

    /// A random number from `0..=max`.
    fn random(&self, max: u64) -> u64 {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        rng.u64(0..=max)
    }

    /// Every state cell's value now, by name: at the end of a run, its final state.
    pub fn state(&self) -> serde_json::Map<String, Value> {
        self.state.snapshot()
    }

    /// Publishes `payload` to `topic` from outside the run's steps and agents (a person
    /// approving, another system): checked against the topic's type and journaled; the
    /// message's id, or why it was refused. A `key` repeated within the topic's `dedupe`
    /// publishes nothing and gives the first message's id.
    pub async fn publish(
        &self,
        topic: &str,
        payload: Value,
        key: Option<&str>,
    ) -> Result<String, topics::Refusal> {
        self.topics.publish(topic, payload, key).await
    }

    /// Records every state cell's final value and version in the run's journal at the end of
    /// a distributed run. Each write there was journaled by the script that applied it; this
    /// is the state the run ended with, in one place.
    pub fn journal_state(&self) -> Result<(), String> {
        let (Some(journal), state::Store::Redis(cells)) = (&self.journal, &*self.state) else {
            return Ok(());
        };
        for (key, cell) in cells.versions() {
            journal.record_state(&key, &cell.value, cell.version)?;
        }
        Ok(())
    }

    /// The plan being run.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Runs workflow `name` (or the plan's entry) with `inputs` and reports its output and
    /// what every agent did.
    pub async fn run(
        self: &Arc<Self>,
        name: Option<&str>,
        inputs: serde_json::Map<String, Value>,
    ) -> Result<RunReport, RunError> {
        let (name, _) = self.plan.entry(name).map_err(RunError::run)?;
        // Every agent gets its chance to come up before the first task is placed, so that
        // the first tasks are not all given to whichever process started fastest.
        for instance in self.dispatcher.instances() {
            instance.started().await;
        }
        let started = tokio::time::Instant::now();
        let params = workflow::bind(self, name, inputs)?;
        let output = workflow::run(self.clone(), name.to_string(), params, String::new()).await?;
        let elapsed_us = micros(started.elapsed());
        self.settle().await;
        Ok(RunReport {
            output,
            members: self.dispatcher.report(),
            queues: self.dispatcher.queues(),
            elapsed_us,
        })
    }

    /// Waits until the attempts a finished run left running (replicas of a decided
    /// consensus) have been recorded as cancelled, so that the report counts them: each
    /// notices at its next poll that nobody waits for it. Bounded, in case one never does.
    async fn settle(&self) {
        for _ in 0..SETTLE_POLLS {
            let (agents, _) = self.dispatcher.progress();
            if agents.iter().all(|a| a.running == 0) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}

impl Runtime {
    /// Where the run is now: steps by state, and per agent its tasks (for a live display).
    pub fn progress(&self) -> progress::Progress {
        let (agents, queued) = self.dispatcher.progress();
        progress::Progress {
            steps: self.steps.read(),
            queued,
            agents,
        }
    }

    /// Stops every agent instance once the run is over: exec agents are sent `shutdown`
    /// and killed if they have not exited after [`agent::exec::SHUTDOWN_GRACE`].
    pub async fn shutdown(&self) {
        let mut stopping = tokio::task::JoinSet::new();
        for instance in self.dispatcher.instances() {
            stopping.spawn(instance.shutdown());
        }
        while stopping.join_next().await.is_some() {}
    }
}

/// The agents a target names.
fn agents_of<'p>(plan: &'p Plan, target: &'p Target) -> Result<Vec<&'p String>, RunError> {
    Ok(match target {
        Target::Agent { agent } => vec![agent],
        Target::Pool { pool } => plan
            .pools
            .get(pool)
            .map(|p| p.members.iter().collect())
            .ok_or_else(|| RunError::run(format!("the plan has no pool `{pool}`")))?,
        Target::Providers { agents } => agents.iter().collect(),
    })
}

/// A duration in whole microseconds, saturating.
pub fn micros(d: std::time::Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

/// Makes instance number `n` of one agent: at the start, and when it scales up.
pub type Spawn = Arc<dyn Fn(usize) -> Arc<dyn Instance> + Send + Sync>;

/// How instances of an agent are made under `--simulate`.
fn simulated_spawn(
    name: &str,
    agent: &hive_plan::Agent,
    plan: &Arc<Plan>,
    seed: u64,
) -> Result<Spawn, RunError> {
    use agent::simulated::SimulatedInstance;
    let Some(behaviour) = &agent.simulate else {
        if agent.builtin.as_deref() == Some("std") {
            let plan = plan.clone();
            return Ok(Arc::new(move |_| {
                Arc::new(SimulatedInstance::std(plan.clone())) as Arc<dyn Instance>
            }));
        }
        return Err(RunError::run(format!(
            "agent `{name}` has no `simulate` block, so it cannot take part in --simulate; \
             give it one, e.g. `simulate: {{ latency: 1s, jitter: 200ms }}`"
        )));
    };
    let output = match &behaviour.output {
        Some(e) => Some(
            eval::eval(e, &scope::RunScope::locals(&[]))
                .map_err(|err| RunError::run(format!("agent `{name}`: simulate.output: {err}")))?,
        ),
        None => None,
    };
    let seed = seed ^ strategy::stable_hash(name);
    let (behaviour, plan) = (behaviour.clone(), plan.clone());
    Ok(Arc::new(move |i| {
        Arc::new(SimulatedInstance::new(
            behaviour.clone(),
            output.clone(),
            plan.clone(),
            strategy::mix(seed ^ i as u64),
        )) as Arc<dyn Instance>
    }))
}

/// How to start instance 0 of exec agent `name`, from `base` (the plan's directory).
pub(crate) fn exec_spec(
    name: &str,
    agent: &hive_plan::Agent,
    base: &std::path::Path,
) -> Result<agent::exec::Spec, RunError> {
    let Some(command) = &agent.exec else {
        return Err(RunError::run(format!(
            "agent `{name}` has no `exec` command"
        )));
    };
    let dir = base.join(agent.dir.as_deref().unwrap_or(""));
    let mut env = Vec::new();
    let scope = scope::RunScope::locals(&[]);
    for (k, e) in &agent.env {
        let v = eval::eval(e, &scope)
            .map_err(|err| RunError::run(format!("agent `{name}`: env `{k}`: {err}")))?;
        let text = match v {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        env.push((k.clone(), text));
    }
    Ok(agent::exec::Spec {
        agent: name.to_string(),
        instance: 0,
        command: command.clone(),
        dir,
        env,
        heartbeat: std::time::Duration::from_millis(agent.heartbeat_ms.max(1)),
        provides: agent.provides.clone(),
        logs: observe::Logs::default(),
        state: None,
        topics: None,
    })
}

/// What a run's exec agents share: its state cells and its topics.
struct Shared<'a> {
    store: &'a Arc<state::Store>,
    board: &'a Arc<topics::Board>,
}

/// How instances of an agent are made for a real run.
fn real_spawn(
    name: &str,
    agent: &hive_plan::Agent,
    base: &std::path::Path,
    dispatcher: &Dispatcher,
    observer: &Option<Arc<dyn observe::Observer>>,
    shared: Shared<'_>,
) -> Result<Spawn, RunError> {
    match (&agent.builtin, &agent.exec) {
        (Some(b), _) if b == "std" => {
            let files = agent::std_agent::Files::new(agent.files.as_deref())
                .map_err(|e| RunError::run(format!("agent `{name}`: {e}")))?;
            let files = Arc::new(files);
            Ok(Arc::new(move |_| {
                Arc::new(StdAgent::with_files(files.clone())) as Arc<dyn Instance>
            }))
        }
        (Some(b), _) => Err(RunError::run(format!(
            "agent `{name}`: there is no built-in agent `{b}`"
        ))),
        (None, Some(_)) => {
            let spec = agent::exec::Spec {
                logs: observe::Logs(observer.clone()),
                state: Some(shared.store.clone()),
                // The instances of one agent share its cursor: each message reaches one.
                topics: Some(topics::protocol::Topics {
                    board: shared.board.clone(),
                    subscribes: agent.subscribes.clone(),
                    cursor: Arc::default(),
                }),
                ..exec_spec(name, agent, base)?
            };
            let wake = dispatcher.waker();
            Ok(Arc::new(move |i| {
                let spec = agent::exec::Spec {
                    instance: i,
                    ..spec.clone()
                };
                Arc::new(agent::exec::ExecInstance::start(spec, wake.clone())) as Arc<dyn Instance>
            }))
        }
        (None, None) => Err(RunError::run(format!(
            "agent `{name}` has neither `exec` nor `builtin`, so it cannot run outside `--simulate`"
        ))),
    }
}
