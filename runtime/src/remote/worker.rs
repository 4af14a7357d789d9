//! `hivec worker`: hosts instances of a plan's exec agents and runs the tasks that
//! coordinators of runs with the same sources send to their streams.
//!
//! Invariant: a worker answers only deliveries it holds. It renews the lease of every
//! delivery it runs on each heartbeat; one it no longer holds (reclaimed while the worker was
//! paused) is cancelled, and an answer that still gets out is refused by the coordinator.

use super::capacity::{AgentReport, Hold, InstanceReport};
use super::coordinator::{RemoteOptions, new_id};
use super::keys::{GROUP, Keys, LEVELS};
use super::link::{Link, RemoteError};
use super::wire::{Answer, Delivery};
use crate::RunError;
use crate::agent::TaskError;
use crate::agent::exec::ExecInstance;
use crate::agent::{Health, Instance};
use hive_plan::Plan;
use redis::streams::{StreamInfoGroupsReply, StreamRangeReply, StreamReadReply};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long one blocking read of a task stream waits.
const READ_BLOCK: Duration = Duration::from_millis(500);
/// How often the worker looks for new runs.
const RUNS_TICK: Duration = Duration::from_millis(250);
/// Most deliveries read at once for an agent without a concurrency limit.
const UNLIMITED_BATCH: usize = 256;
/// A delivery that has waited this long is read as if it were one level more urgent, so
/// that `low` cannot starve.
const AGING: Duration = Duration::from_secs(30);
/// How long a delivery waits for a live instance with room before it is answered as lost.
const PLACE_WAIT: Duration = Duration::from_secs(10);
/// How long a draining worker waits for its tasks before it hands them back.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// What `hivec worker` was asked to do.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Which Redis, under which namespace.
    pub remote: RemoteOptions,
    /// The worker's id (default: host, process and a random part).
    pub id: Option<String>,
    /// The agents to host (default: every exec agent of the plan).
    pub agents: Vec<String>,
}

/// One agent the worker hosts.
struct Hosted {
    name: String,
    instances: Vec<Arc<ExecInstance>>,
    /// Tasks running per instance.
    running: Vec<AtomicUsize>,
    /// Tasks per instance at once.
    concurrency: usize,
    /// Resources of one instance, as the agent declares them.
    capacity: hive_plan::Resources,
    /// What each run's tasks hold, per instance: reported with every heartbeat.
    holds: Mutex<Vec<BTreeMap<String, Hold>>>,
    /// Streams of the runs that use it, in the order they are read: most urgent first, a
    /// stream whose next delivery has waited counted one level higher per [`AGING`].
    streams: Mutex<Vec<String>>,
}

impl Hosted {
    fn running(&self) -> usize {
        self.running.iter().map(|r| r.load(Ordering::Relaxed)).sum()
    }

    /// Deliveries it can take now: free slots of live instances only, so that nothing is
    /// read for an instance that is restarting.
    fn free(&self) -> usize {
        let free: usize = (0..self.instances.len())
            .filter(|&i| self.instances[i].health() == Health::Live)
            .map(|i| {
                self.concurrency
                    .saturating_sub(self.running[i].load(Ordering::Relaxed))
            })
            .fold(0, usize::saturating_add);
        free.min(UNLIMITED_BATCH)
    }

    /// The live instance with a free slot and room for `demand` that has the fewest tasks.
    fn pick(&self, demand: &hive_plan::Resources) -> Option<usize> {
        let holds = lock(&self.holds);
        (0..self.instances.len())
            .filter(|&i| self.instances[i].health() == Health::Live)
            .filter(|&i| {
                let mut used = crate::fleet::Used::default();
                for hold in holds[i].values() {
                    used.apply(&hold.used, 1);
                }
                crate::fleet::fits(&self.capacity, &used, demand)
            })
            .map(|i| (self.running[i].load(Ordering::Relaxed), i))
            .filter(|(running, _)| *running < self.concurrency)
            .min()
            .map(|(_, i)| i)
    }

    /// Counts a task of `run` with `demand` on instance `slot` as started (`sign` 1) or ended
    /// (-1).
    fn hold(&self, slot: usize, run: &str, demand: &hive_plan::Resources, sign: i8) {
        let mut holds = lock(&self.holds);
        let runs = &mut holds[slot];
        let hold = runs.entry(run.to_string()).or_default();
        hold.apply(demand, sign);
        if hold.tasks == 0 {
            runs.remove(run);
        }
        let running = &self.running[slot];
        if sign > 0 {
            running.fetch_add(1, Ordering::Relaxed);
        } else {
            running.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// What the coordinators read of this agent: its live instances, their free slots and
    /// resources, and what each run holds on them.
    fn report(&self) -> AgentReport {
        let concurrency = u32::try_from(self.concurrency).ok();
        let holds = lock(&self.holds);
        let slots: Vec<InstanceReport> = (0..self.instances.len())
            .filter(|&i| self.instances[i].health() == Health::Live)
            .map(|i| InstanceReport::new(concurrency, &self.capacity, holds[i].clone()))
            .collect();
        AgentReport {
            instances: slots.len(),
            free: concurrency.map(|_| slots.iter().filter_map(|s| s.free).map(u64::from).sum()),
            slots,
        }
    }
}

/// The worker's shared state.
struct Worker {
    link: Arc<Link>,
    keys: Keys,
    id: String,
    hash: String,
    /// The shortest heartbeat of the agents hosted: the worker reports once per interval.
    heartbeat: Duration,
    lease: Duration,
    hosted: Vec<Hosted>,
    /// Deliveries being run: (stream, entry) → what cancels it.
    held: Mutex<HashMap<(String, String), Arc<Notify>>>,
    /// Something finished or changed health: readers look again.
    changed: Arc<Notify>,
    stopping: AtomicBool,
    /// The plan whose agents it hosts.
    plan: Arc<Plan>,
    /// The shared state of each run whose tasks it runs, by run, when the plan has cells.
    cells: Mutex<HashMap<String, Arc<crate::state::Store>>>,
    /// The topics of each run whose tasks it runs or whose messages its agents hear, by run,
    /// when the plan has topics.
    boards: Mutex<HashMap<String, Arc<crate::topics::Board>>>,
    /// The subscribing agents hearing each run's messages: (run, hosted index) → its task.
    listening: Mutex<HashMap<(String, usize), tokio::task::AbortHandle>>,
}

/// Hosts the plan's exec agents (or those of `options.agents`) until `stop` resolves, then
/// drains: takes no more tasks, finishes those it holds and exits. `ready` is told, for a
/// person, once the worker is registered and its agents have started.
pub async fn serve(
    plan: &Plan,
    options: &WorkerOptions,
    stop: impl std::future::Future<Output = ()>,
    ready: impl FnOnce(String),
) -> Result<(), RunError> {
    let link = Arc::new(
        Link::open(&options.remote)
            .await
            .map_err(|e| RunError::run(e.0))?,
    );
    let names = hosted_names(plan, &options.agents)?;
    let base = std::path::PathBuf::from(&plan.base);
    let id = options.id.clone().unwrap_or_else(worker_id);
    let changed = Arc::new(Notify::new());
    let mut hosted = Vec::new();
    let mut heartbeat = Duration::from_secs(5);
    for name in &names {
        let agent = &plan.agents[name];
        let spec = crate::exec_spec(name, agent, &base)?;
        heartbeat = heartbeat.min(spec.heartbeat);
        let n = agent.min_replicas.max(1) as usize;
        let wake = {
            let changed = changed.clone();
            Arc::new(move || changed.notify_waiters()) as Arc<dyn Fn() + Send + Sync>
        };
        let instances = (0..n)
            .map(|i| {
                let spec = crate::agent::exec::Spec {
                    instance: i,
                    ..spec.clone()
                };
                Arc::new(ExecInstance::start(spec, wake.clone()))
            })
            .collect();
        hosted.push(Hosted {
            name: name.clone(),
            instances,
            running: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            concurrency: agent.concurrency.map_or(usize::MAX, |c| c.max(1) as usize),
            capacity: agent.resources,
            holds: Mutex::new(vec![BTreeMap::new(); n]),
            streams: Mutex::new(Vec::new()),
        });
    }
    let worker = Arc::new(Worker {
        keys: Keys::new(&options.remote.namespace),
        hash: plan.source_hash.clone(),
        heartbeat,
        lease: heartbeat.saturating_mul(3),
        link,
        id,
        hosted,
        held: Mutex::new(HashMap::new()),
        changed: changed.clone(),
        stopping: AtomicBool::new(false),
        plan: Arc::new(plan.clone()),
        cells: Mutex::new(HashMap::new()),
        boards: Mutex::new(HashMap::new()),
        listening: Mutex::new(HashMap::new()),
    });
    worker.register().await.map_err(|e| RunError::run(e.0))?;
    for h in &worker.hosted {
        for i in &h.instances {
            i.started().await;
        }
    }
    let summary = worker
        .hosted
        .iter()
        .map(|h| format!("{} ×{}", h.name, h.instances.len()))
        .collect::<Vec<_>>()
        .join(", ");
    ready(format!(
        "worker {}: hosting {summary} for runs on {}",
        worker.id,
        worker.link.shown()
    ));

    let mut loops = tokio::task::JoinSet::new();
    loops.spawn(worker.clone().keep_alive());
    loops.spawn(worker.clone().follow_runs());
    for i in 0..worker.hosted.len() {
        loops.spawn(worker.clone().read(i));
    }
    let failed = tokio::select! {
        () = stop => None,
        ended = loops.join_next() => match ended {
            Some(Ok(Err(e))) => Some(e),
            _ => None,
        },
    };
    worker.stopping.store(true, Ordering::Relaxed);
    worker.changed.notify_waiters();
    // Drain: nothing new is read; what is held finishes, or is handed back at the limit.
    let drained = tokio::time::Instant::now();
    while worker.hosted.iter().any(|h| h.running() > 0) && drained.elapsed() < DRAIN_LIMIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loops.abort_all();
    for (_, task) in lock(&worker.listening).drain() {
        task.abort();
    }
    let mut stopping = tokio::task::JoinSet::new();
    for h in &worker.hosted {
        for i in &h.instances {
            stopping.spawn(i.shutdown());
        }
    }
    while stopping.join_next().await.is_some() {}
    let _ = worker.deregister().await;
    match failed {
        Some(e) => Err(RunError::run(e.0)),
        None => Ok(()),
    }
}

/// The exec agents a worker hosts: `asked`, or all of them.
fn hosted_names(plan: &Plan, asked: &[String]) -> Result<Vec<String>, RunError> {
    let exec: Vec<&String> = plan
        .agents
        .iter()
        .filter(|(_, a)| a.exec.is_some() && a.builtin.is_none())
        .map(|(n, _)| n)
        .collect();
    if asked.is_empty() {
        if exec.is_empty() {
            return Err(RunError::run(
                "the file has no exec agent, so there is nothing for a worker to host",
            ));
        }
        return Ok(exec.into_iter().cloned().collect());
    }
    let mut out = Vec::new();
    for name in asked {
        if !exec.contains(&name) {
            let known = exec
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(RunError::run(format!(
                "--agent {name}: the file has no exec agent `{name}`; its exec agents are {known}"
            )));
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// Host, process and a random part: unique per process, never reused.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host = if host.is_empty() { "host".into() } else { host };
    format!("{host}-{}", new_id())
}

impl Worker {
    /// The registration, renewed with every heartbeat: the sources' hash, the instances per
    /// agent, and the capacity report of each agent.
    fn registration(&self) -> String {
        let agents: BTreeMap<&str, usize> = self
            .hosted
            .iter()
            .map(|h| (h.name.as_str(), h.instances.len()))
            .collect();
        let capacity: BTreeMap<&str, AgentReport> = self
            .hosted
            .iter()
            .map(|h| (h.name.as_str(), h.report()))
            .collect();
        json!({
            "hash": self.hash,
            "agents": agents,
            "pid": std::process::id(),
            "heartbeat_ms": self.heartbeat.as_millis() as u64,
            "capacity": capacity,
        })
        .to_string()
    }

    /// Claims the id: refused while another live worker has it.
    async fn register(&self) -> Result<(), RemoteError> {
        let mut set = redis::cmd("SET");
        set.arg(self.keys.worker(&self.id))
            .arg(self.registration())
            .arg("NX")
            .arg("PX")
            .arg(self.lease.as_millis() as u64);
        let claimed: Option<String> = self.link.query(&set).await?;
        if claimed.is_none() {
            return Err(RemoteError(format!(
                "a live worker already has id `{}`: give this one another --id, or none",
                self.id
            )));
        }
        let mut add = redis::cmd("SADD");
        add.arg(self.keys.workers()).arg(&self.id);
        self.link.query::<u64>(&add).await.map(|_| ())
    }

    async fn deregister(&self) -> Result<(), RemoteError> {
        let mut pipe = redis::pipe();
        pipe.del(self.keys.worker(&self.id))
            .ignore()
            .srem(self.keys.workers(), &self.id)
            .ignore();
        self.link.pipe::<()>(&pipe).await
    }

    /// On every heartbeat: refreshes the registration and renews the lease of every
    /// delivery held; one no longer held was reclaimed, and is cancelled here.
    async fn keep_alive(self: Arc<Self>) -> Result<(), RemoteError> {
        let mut interval = tokio::time::interval(self.lease / 3);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let mut set = redis::cmd("SET");
            set.arg(self.keys.worker(&self.id))
                .arg(self.registration())
                .arg("PX")
                .arg(self.lease.as_millis() as u64);
            self.link.query::<()>(&set).await?;
            let held: Vec<(String, String)> = lock(&self.held).keys().cloned().collect();
            let mut by_stream: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (stream, entry) in &held {
                by_stream.entry(stream).or_default().push(entry);
            }
            for (stream, entries) in by_stream {
                let mut claim = redis::cmd("XCLAIM");
                claim
                    .arg(stream)
                    .arg(GROUP)
                    .arg(&self.id)
                    .arg(0)
                    .arg(&entries)
                    .arg("JUSTID");
                let kept: HashSet<String> = match self.link.query::<Vec<String>>(&claim).await {
                    Ok(k) => k.into_iter().collect(),
                    Err(e) if e.0.contains("NOGROUP") => HashSet::new(),
                    Err(e) => return Err(e),
                };
                for entry in entries.into_iter().filter(|e| !kept.contains(*e)) {
                    let cancel = lock(&self.held).remove(&(stream.to_string(), entry.to_string()));
                    if let Some(cancel) = cancel {
                        tracing::warn!(
                            stream,
                            entry,
                            "lost the lease of a delivery (reclaimed): cancelling it"
                        );
                        cancel.notify_one();
                    }
                }
            }
        }
    }

    /// Follows the runs in progress: their streams for the agents hosted here.
    async fn follow_runs(self: Arc<Self>) -> Result<(), RemoteError> {
        let mut warned = HashSet::new();
        let mut interval = tokio::time::interval(RUNS_TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let runs: HashMap<String, String> = self
                .link
                .query(redis::cmd("HGETALL").arg(self.keys.runs()))
                .await?;
            lock(&self.cells).retain(|run, _| runs.contains_key(run));
            lock(&self.boards).retain(|run, _| runs.contains_key(run));
            lock(&self.listening).retain(|(run, _), task| {
                let live = runs.contains_key(run);
                if !live {
                    task.abort();
                }
                live
            });
            let mut streams: HashMap<&str, Vec<String>> = HashMap::new();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let mut stale = Vec::new();
            for (run, entry) in &runs {
                let Ok(entry) = serde_json::from_str::<serde_json::Value>(entry) else {
                    continue;
                };
                // A run not seen for its `keep` lost its coordinator: its keys have expired.
                let seen = entry["seen_ms"].as_u64().unwrap_or(now);
                let keep = entry["keep_ms"].as_u64().unwrap_or(u64::MAX);
                if now.saturating_sub(seen) > keep {
                    stale.push(run.clone());
                    continue;
                }
                let hash = entry["hash"].as_str().unwrap_or_default();
                let agents: Vec<&str> = entry["agents"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                for h in &self.hosted {
                    if !agents.contains(&h.name.as_str()) {
                        continue;
                    }
                    if hash != self.hash {
                        if warned.insert(run.clone()) {
                            tracing::warn!(
                                "run {run} has other sources (hash {}…, this worker has {}…): not taking its tasks; start the worker with the same file",
                                hash.get(..12).unwrap_or(hash),
                                self.hash.get(..12).unwrap_or(&self.hash)
                            );
                        }
                        continue;
                    }
                    streams
                        .entry(h.name.as_str())
                        .or_default()
                        .extend(self.keys.levels(run, &h.name));
                    self.listen(run, &h.name);
                }
            }
            if !stale.is_empty() {
                let mut hdel = redis::cmd("HDEL");
                hdel.arg(self.keys.runs()).arg(&stale);
                self.link.query::<u64>(&hdel).await?;
            }
            let mut grew = false;
            for h in &self.hosted {
                let mut now = streams.remove(h.name.as_str()).unwrap_or_default();
                let mut ranked = Vec::with_capacity(now.len());
                for stream in now.drain(..) {
                    let level = level_of(&stream);
                    let waited = self.waited(&stream).await?;
                    let lift = (waited.as_millis() / AGING.as_millis())
                        .min(u128::from(*LEVELS.end() - level))
                        as u8;
                    // An aged delivery reads as more urgent, ahead of that level's own: it has
                    // waited longer. Lifting a level per period means none waits forever.
                    let rank = (level + lift, lift, level);
                    ranked.push((std::cmp::Reverse(rank), stream));
                }
                ranked.sort();
                let now: Vec<String> = ranked.into_iter().map(|(_, s)| s).collect();
                let mut current = lock(&h.streams);
                grew |= now.iter().any(|s| !current.contains(s));
                *current = now;
            }
            if grew {
                self.changed.notify_waiters();
            }
        }
    }

    /// How long the next delivery `stream` holds for the workers has waited.
    async fn waited(&self, stream: &str) -> Result<Duration, RemoteError> {
        let groups = match self
            .link
            .query::<StreamInfoGroupsReply>(redis::cmd("XINFO").arg("GROUPS").arg(stream))
            .await
        {
            Ok(g) => g,
            // The run ended meanwhile.
            Err(e) if e.0.contains("no such key") => return Ok(Duration::ZERO),
            Err(e) => return Err(e),
        };
        let Some(group) = groups.groups.into_iter().find(|g| g.name == GROUP) else {
            return Ok(Duration::ZERO);
        };
        if group.lag == Some(0) {
            return Ok(Duration::ZERO);
        }
        let mut next = redis::cmd("XRANGE");
        next.arg(stream)
            .arg(format!("({}", group.last_delivered_id))
            .arg("+")
            .arg("COUNT")
            .arg(1);
        let reply: StreamRangeReply = self.link.query(&next).await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let added = reply.ids.first().map_or(now, |entry| {
            entry
                .id
                .split('-')
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(now)
        });
        Ok(Duration::from_millis(now.saturating_sub(added)))
    }

    /// Reads deliveries for hosted agent `index` while it has free slots, most urgent stream
    /// first, and runs them.
    async fn read(self: Arc<Self>, index: usize) -> Result<(), RemoteError> {
        let mut reader = self.link.reader(READ_BLOCK).await?;
        loop {
            if self.stopping.load(Ordering::Relaxed) {
                return Ok(());
            }
            let hosted = &self.hosted[index];
            let free = hosted.free();
            let streams = lock(&hosted.streams).clone();
            if free == 0 || streams.is_empty() {
                let _ = tokio::time::timeout(READ_BLOCK, self.changed.notified()).await;
                continue;
            }
            // Stream by stream in their order, without waiting; when all are empty, one
            // blocking read of them all, one delivery each at most.
            let mut read = Vec::new();
            let mut left = free;
            for stream in &streams {
                if left == 0 {
                    break;
                }
                let Some(reply) = self.read_from(&mut reader, &[stream], left, false).await? else {
                    continue;
                };
                left = left.saturating_sub(reply.keys.iter().map(|k| k.ids.len()).sum());
                read.push(reply);
            }
            if left == free
                && let Some(reply) = self.read_from(&mut reader, &streams, 1, true).await?
            {
                read.push(reply);
            }
            for key in read.into_iter().flat_map(|r| r.keys) {
                for entry in key.ids {
                    let Some(delivery) = Delivery::parse(&entry) else {
                        tracing::warn!(stream = %key.key, entry = %entry.id, "ignored a malformed delivery");
                        continue;
                    };
                    let cancel = Arc::new(Notify::new());
                    lock(&self.held).insert((key.key.clone(), entry.id.clone()), cancel.clone());
                    let (w, stream) = (self.clone(), key.key.clone());
                    match self.place(index, &delivery.task.demand).await {
                        Some(slot) => {
                            let run = self.keys.run_of(&stream).unwrap_or_default();
                            hosted.hold(slot, run, &delivery.task.demand, 1);
                            tokio::spawn(w.run(index, slot, stream, entry.id, delivery, cancel));
                        }
                        None => {
                            lock(&self.held).remove(&(stream.clone(), entry.id.clone()));
                            let lost = TaskError {
                                message: format!(
                                    "no instance of `{}` on worker {} could take it",
                                    hosted.name, self.id
                                ),
                                retryable: true,
                                lost: true,
                                checkpoint: delivery.task.checkpoint.clone(),
                            };
                            tokio::spawn(async move {
                                let sent = (delivery.token, delivery.identity.as_str());
                                w.answer(&stream, &entry.id, sent, None, Err(lost)).await;
                            });
                        }
                    }
                }
            }
        }
    }

    /// One `XREADGROUP` of up to `count` new deliveries from each of `streams`, waiting
    /// [`READ_BLOCK`] when `block`; `None` when there were none, or a stream is gone.
    async fn read_from(
        &self,
        reader: &mut super::link::Reader,
        streams: &[impl redis::ToRedisArgs],
        count: usize,
        block: bool,
    ) -> Result<Option<StreamReadReply>, RemoteError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(&self.id)
            .arg("COUNT")
            .arg(count);
        if block {
            cmd.arg("BLOCK").arg(READ_BLOCK.as_millis() as u64);
        }
        cmd.arg("STREAMS").arg(streams);
        for _ in streams {
            cmd.arg(">");
        }
        match reader.query::<Option<StreamReadReply>>(&cmd).await {
            Ok(r) => Ok(r),
            // A run ended and its stream is gone: the next look at the runs drops it.
            Err(e) if e.0.contains("NOGROUP") || e.0.contains("UNBLOCKED") => {
                tokio::time::sleep(RUNS_TICK).await;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The instance a delivery just read runs on: one that is live and has room, waiting
    /// for one (a blocking read may bring one delivery more than there were free slots, or
    /// an instance may be restarting). `None` after [`PLACE_WAIT`]: the delivery is then
    /// answered as lost, and the coordinator places it elsewhere.
    async fn place(&self, index: usize, demand: &hive_plan::Resources) -> Option<usize> {
        let hosted = &self.hosted[index];
        let waited = tokio::time::Instant::now();
        loop {
            if let Some(slot) = hosted.pick(demand) {
                return Some(slot);
            }
            if waited.elapsed() >= PLACE_WAIT {
                return None;
            }
            let _ = tokio::time::timeout(READ_BLOCK, self.changed.notified()).await;
        }
    }

    /// Runs one delivery on instance `slot` and sends its answer, unless it was reclaimed
    /// meanwhile.
    async fn run(
        self: Arc<Self>,
        index: usize,
        slot: usize,
        stream: String,
        entry: String,
        delivery: Delivery,
        cancel: Arc<Notify>,
    ) {
        let hosted = &self.hosted[index];
        let demand = delivery.task.demand;
        let mut task = delivery.task;
        task.state = self.cells_of(&stream);
        task.topics = self.keys.run_of(&stream).and_then(|run| self.board_of(run));
        let attempt = hosted.instances[slot].execute(task);
        let result = tokio::select! {
            r = attempt => Some(r),
            () = cancel.notified() => None,
        };
        let run = self.keys.run_of(&stream).unwrap_or_default();
        hosted.hold(slot, run, &demand, -1);
        let still_held = lock(&self.held)
            .remove(&(stream.clone(), entry.clone()))
            .is_some();
        self.changed.notify_waiters();
        let (Some(result), true) = (result, still_held) else {
            return;
        };
        let sent = (delivery.token, delivery.identity.as_str());
        self.answer(&stream, &entry, sent, Some((index, slot)), result)
            .await;
    }

    /// The topics of run `run`, which its tasks' `publish` messages go to; `None` when the
    /// plan has no topics.
    fn board_of(&self, run: &str) -> Option<Arc<crate::topics::Board>> {
        if self.plan.topics.is_empty() {
            return None;
        }
        let mut boards = lock(&self.boards);
        let board = boards.entry(run.to_string()).or_insert_with(|| {
            let relay = crate::topics::relay::Relay::new(
                &self.plan,
                self.link.clone(),
                self.keys.clone(),
                run,
            );
            crate::topics::Board::relayed(self.plan.clone(), relay, false)
        });
        Some(board.clone())
    }

    /// Makes hosted agent `agent` hear run `run`'s messages if it subscribes to a topic and
    /// does not yet.
    fn listen(self: &Arc<Self>, run: &str, agent: &str) {
        let Some(index) = self.hosted.iter().position(|h| h.name == agent) else {
            return;
        };
        let subscribes = &self.plan.agents[agent].subscribes;
        let key = (run.to_string(), index);
        // One that stopped (Redis was lost for longer than the timeout) starts again.
        if subscribes.is_empty()
            || lock(&self.listening)
                .get(&key)
                .is_some_and(|t| !t.is_finished())
        {
            return;
        }
        let Some(board) = self.board_of(run) else {
            return;
        };
        let listener = super::listen::Listener {
            link: self.link.clone(),
            keys: self.keys.clone(),
            run: run.to_string(),
            agent: agent.to_string(),
            subscribes: subscribes.clone(),
            instances: self.hosted[index].instances.clone(),
            board,
            consumer: self.id.clone(),
            lease: self.lease,
        };
        let task = tokio::spawn(async move {
            let (run, agent) = (listener.run.clone(), listener.agent.clone());
            if let Err(e) = listener.listen().await {
                tracing::error!(
                    "agent {agent} stopped hearing run {run}'s messages: {}",
                    e.0
                );
            }
        });
        lock(&self.listening).insert(key, task.abort_handle());
    }

    /// The shared state of the run task stream `stream` belongs to, which the state
    /// requests of its tasks go to; `None` when the plan has no cells.
    fn cells_of(&self, stream: &str) -> Option<Arc<crate::state::Store>> {
        if self.plan.states.is_empty() {
            return None;
        }
        let run = self.keys.run_of(stream)?;
        let mut cells = lock(&self.cells);
        if let Some(store) = cells.get(run) {
            return Some(store.clone());
        }
        let made = crate::state::redis::Cells::new(
            self.plan.clone(),
            self.link.clone(),
            self.keys.clone(),
            run,
        );
        match made {
            Ok(c) => {
                let store = Arc::new(crate::state::Store::Redis(Box::new(c)));
                cells.insert(run.to_string(), store.clone());
                Some(store)
            }
            Err(e) => {
                tracing::error!("run {run}: {e}");
                None
            }
        }
    }

    /// Sends the answer of a delivery (its token and identity) and deletes the delivery, in
    /// one transaction. `ran` is the hosted agent and instance that ran it, if one did.
    async fn answer(
        &self,
        stream: &str,
        entry: &str,
        (token, identity): (u64, &str),
        ran: Option<(usize, usize)>,
        result: Result<serde_json::Value, TaskError>,
    ) {
        let by = match ran {
            Some((index, slot)) => format!("{}#{slot}@{}", self.hosted[index].name, self.id),
            None => self.id.clone(),
        };
        let answer = Answer {
            token,
            identity: identity.to_string(),
            by,
            result,
        };
        let results = Keys::results_for(stream);
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut add = redis::cmd("XADD");
        add.arg(&results).arg("NOMKSTREAM").arg("*");
        for (k, v) in answer.fields() {
            add.arg(k).arg(v);
        }
        pipe.add_command(add).ignore();
        pipe.cmd("XACK").arg(stream).arg(GROUP).arg(entry).ignore();
        pipe.cmd("XDEL").arg(stream).arg(entry).ignore();
        if let Err(e) = self.link.pipe::<()>(&pipe).await {
            tracing::error!("could not send the answer of {stream} {entry}: {e}");
        }
    }
}

/// The priority level of a task stream (`…:tasks:{agent}:{level}`).
fn level_of(stream: &str) -> u8 {
    stream
        .rsplit(':')
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
