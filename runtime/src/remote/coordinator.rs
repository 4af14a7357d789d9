//! The coordinator's side: exec agents whose instances are hosted by workers. Each is a
//! member of the fleet as in one process; its instances are [`RemoteInstance`]s, live while
//! workers report them. An attempt placed on one becomes a delivery in the agent's stream,
//! and its outcome is the first answer with the delivery's token.
//!
//! Invariant: an attempt's outcome is taken once. A late, duplicate or stale answer (its
//! delivery was reclaimed from a worker that stopped renewing its lease) is refused and
//! counted; a reclaimed delivery is placed again as a lost task, without using a retry.

use super::keys::{GROUP, Keys};
use super::link::{Link, RemoteError};
use super::wire::{Answer, Delivery};
use crate::RunError;
use crate::agent::{Attempt, Health, Instance, Task, TaskError};
use crate::dispatch::Dispatcher;
use redis::streams::{StreamAutoClaimReply, StreamReadReply};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often the coordinator reads the workers' registrations.
const REGISTRY_TICK: Duration = Duration::from_millis(250);
/// How long one blocking read of the results waits.
const RESULTS_BLOCK: Duration = Duration::from_millis(1000);
/// The longest time between two signs of life of a run (see [`Remote::touch`]).
const KEEP_TICK: Duration = Duration::from_secs(60);
/// How long tasks may wait for an agent no worker hosts before the coordinator says so.
const NO_WORKER_NOTICE: Duration = Duration::from_secs(5);

/// Where to find Redis and how long it may be unreachable.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// `redis://[user:password@]host:port/db`.
    pub url: String,
    /// Keys live under `hive:{namespace}:`.
    pub namespace: String,
    /// How long Redis may be unreachable before the run fails.
    pub timeout: Duration,
    /// How long a run's keys outlive its last sign of life (a coordinator killed before it
    /// could delete them).
    pub keep: Duration,
}

/// A run whose exec agents are hosted by workers.
pub struct Remote {
    link: Arc<Link>,
    keys: Keys,
    run: String,
    hash: String,
    keep: Duration,
    /// The exec agents of the plan.
    agents: BTreeMap<String, RemoteAgent>,
    waiting: Mutex<HashMap<u64, Waiting>>,
    /// Tokens whose attempt was cancelled: their answers are expected and dropped.
    withdrawn: Mutex<HashSet<u64>>,
    next_token: AtomicU64,
    refused: AtomicU64,
    reclaimed: AtomicU64,
    /// Instances per agent on live workers with the same sources.
    live: Mutex<HashMap<String, usize>>,
    /// Set when Redis stayed unreachable: every attempt fails with it.
    broken: Mutex<Option<String>>,
    loops: Mutex<Vec<JoinHandle<()>>>,
}

/// What the coordinator needs of an agent its workers host.
struct RemoteAgent {
    /// Three heartbeat intervals: a delivery not renewed for that long is reclaimed.
    lease: Duration,
    /// Unanswered deliveries of one task before it is dead-lettered.
    max_deliveries: u32,
}

/// An attempt waiting for its answer.
struct Waiting {
    /// The delivery's stream entry, once written.
    entry: Option<String>,
    agent: String,
    reply: oneshot::Sender<Result<Value, TaskError>>,
}

/// What the coordinator refused and reclaimed over the run, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemoteReport {
    /// Answers refused: late, duplicate, or for a delivery that was reclaimed.
    pub refused: u64,
    /// Deliveries reclaimed from workers that stopped renewing their lease.
    pub reclaimed: u64,
}

impl Remote {
    /// Connects to Redis and announces a new run of `plan`, so that workers with the same
    /// sources read its streams.
    pub async fn connect(
        options: &RemoteOptions,
        plan: &hive_plan::Plan,
        run: String,
    ) -> Result<Arc<Remote>, RunError> {
        let link = Arc::new(
            Link::open(&options.url, options.timeout)
                .await
                .map_err(|e| RunError::run(e.0))?,
        );
        let agents: BTreeMap<String, RemoteAgent> = plan
            .agents
            .iter()
            .filter(|(_, a)| a.exec.is_some() && a.builtin.is_none())
            .map(|(n, a)| {
                let agent = RemoteAgent {
                    lease: Duration::from_millis(a.heartbeat_ms.max(1)).saturating_mul(3),
                    max_deliveries: a.max_deliveries.max(1),
                };
                (n.clone(), agent)
            })
            .collect();
        let remote = Remote {
            keys: Keys::new(&options.namespace),
            hash: plan.source_hash.clone(),
            keep: options.keep.max(Duration::from_secs(1)),
            link,
            run,
            agents,
            waiting: Mutex::new(HashMap::new()),
            withdrawn: Mutex::new(HashSet::new()),
            next_token: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            reclaimed: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
            broken: Mutex::new(None),
            loops: Mutex::new(Vec::new()),
        };
        remote.announce().await.map_err(|e| RunError::run(e.0))?;
        Ok(Arc::new(remote))
    }

    /// The run's id, as `hivec run` prints it.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// Whether `agent`'s instances are hosted by workers.
    pub fn hosts(&self, agent: &str) -> bool {
        self.agents.contains_key(agent)
    }

    /// The instance of `agent` numbered `slot`.
    pub fn instance(self: &Arc<Self>, agent: &str, slot: usize) -> RemoteInstance {
        RemoteInstance {
            remote: self.clone(),
            agent: agent.to_string(),
            slot,
        }
    }

    /// What was refused and reclaimed so far.
    pub fn report(&self) -> RemoteReport {
        RemoteReport {
            refused: self.refused.load(Ordering::Relaxed),
            reclaimed: self.reclaimed.load(Ordering::Relaxed),
        }
    }

    /// Registers the run and creates its streams with their consumer group.
    async fn announce(&self) -> Result<(), RemoteError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        // The results stream exists from the start: workers add to it only while it does
        // (`NOMKSTREAM`), so a late answer cannot bring back a finished run's stream.
        pipe.cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.results(&self.run))
            .arg("coordinator")
            .arg("$")
            .arg("MKSTREAM")
            .ignore();
        for agent in self.agents.keys() {
            pipe.cmd("XGROUP")
                .arg("CREATE")
                .arg(self.keys.tasks(&self.run, agent))
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .ignore();
        }
        self.link.pipe::<()>(&pipe).await?;
        self.touch().await
    }

    /// Shows the run alive: its registration says when it was last seen, and its streams
    /// expire `keep` from now. A killed coordinator's run is thus deleted by Redis and
    /// dropped by the workers once `keep` has passed.
    async fn touch(&self) -> Result<(), RemoteError> {
        let agents: Vec<&String> = self.agents.keys().collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let keep_ms = self.keep.as_millis() as u64;
        let entry = json!({
            "hash": self.hash,
            "agents": agents,
            "seen_ms": now,
            "keep_ms": keep_ms,
        });
        let mut pipe = redis::pipe();
        pipe.hset(self.keys.runs(), &self.run, entry.to_string())
            .ignore();
        pipe.pexpire(self.keys.results(&self.run), keep_ms as i64)
            .ignore();
        for agent in self.agents.keys() {
            pipe.pexpire(self.keys.tasks(&self.run, agent), keep_ms as i64)
                .ignore();
        }
        self.link.pipe::<()>(&pipe).await
    }

    /// Starts reading answers, reclaiming expired leases and following the workers'
    /// registrations, which make instances live in `dispatcher`.
    pub fn attach(self: &Arc<Self>, dispatcher: Dispatcher) {
        if self.agents.is_empty() {
            return;
        }
        let weak = Arc::downgrade(self);
        let loops = vec![
            tokio::spawn(collect(weak.clone())),
            tokio::spawn(reclaim(weak.clone())),
            tokio::spawn(follow(weak, dispatcher)),
        ];
        if let Ok(mut l) = self.loops.lock() {
            l.extend(loops);
        }
    }

    /// Ends the run in Redis: its streams and registration are deleted, so nothing of it
    /// is left behind but what outlives it by design.
    pub async fn finish(&self) -> Result<(), RemoteError> {
        self.stop_loops();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hdel(self.keys.runs(), &self.run)
            .ignore()
            .del(self.keys.results(&self.run))
            .ignore();
        for agent in self.agents.keys() {
            pipe.del(self.keys.tasks(&self.run, agent)).ignore();
        }
        self.link.pipe::<()>(&pipe).await
    }

    fn stop_loops(&self) {
        if let Ok(mut loops) = self.loops.lock() {
            for l in loops.drain(..) {
                l.abort();
            }
        }
    }

    /// Sends one attempt to `agent`'s stream and waits for its answer.
    async fn send(self: Arc<Self>, agent: String, task: Task) -> Result<Value, TaskError> {
        if let Some(cause) = self.broken.lock().ok().and_then(|b| b.clone()) {
            return Err(TaskError::fatal(cause));
        }
        let max = self.agents.get(&agent).map_or(3, |a| a.max_deliveries);
        if task.lost.0 >= max {
            return Err(self.dead_letter(&agent, &task).await);
        }
        let token = self.next_token.fetch_add(1, Ordering::Relaxed) + 1;
        let (reply, answer) = oneshot::channel();
        lock(&self.waiting).insert(
            token,
            Waiting {
                entry: None,
                agent: agent.clone(),
                reply,
            },
        );
        let mut withdraw = Withdraw {
            remote: self.clone(),
            token,
            armed: true,
        };
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.keys.tasks(&self.run, &agent)).arg("*");
        for (k, v) in Delivery::fields(token, &task) {
            cmd.arg(k).arg(v);
        }
        match self.link.query::<String>(&cmd).await {
            Ok(id) => {
                if let Some(w) = lock(&self.waiting).get_mut(&token) {
                    w.entry = Some(id);
                }
            }
            Err(e) => {
                withdraw.armed = false;
                self.fail(&e);
                return Err(TaskError::fatal(e.0));
            }
        }
        let result = answer
            .await
            .unwrap_or_else(|_| Err(TaskError::fatal("the coordinator stopped waiting")));
        withdraw.armed = false;
        result
    }

    /// Moves a task delivered too often without an answer to the namespace's dead letters;
    /// its step fails with the returned error, which names the entry.
    async fn dead_letter(&self, agent: &str, task: &Task) -> TaskError {
        let (deliveries, cause) = &task.lost;
        let cause = cause.as_deref().unwrap_or("no answer");
        let letter = super::dlq::Letter {
            run: self.run.clone(),
            agent: agent.to_string(),
            deliveries: *deliveries,
            error: cause.to_string(),
        };
        match super::dlq::add(&self.link, &self.keys, &letter, task).await {
            Ok(id) => TaskError::fatal(format!(
                "dead-lettered as {id} after {deliveries} deliveries without an answer (the last: {cause}); `hivec dlq show {id}` shows it"
            )),
            Err(e) => {
                self.fail(&e);
                TaskError::fatal(e.0)
            }
        }
    }

    /// Redis stayed unreachable: every attempt waiting and every later one fails with it.
    fn fail(&self, e: &RemoteError) {
        if let Ok(mut b) = self.broken.lock() {
            b.get_or_insert_with(|| e.0.clone());
        }
        let waiting: Vec<Waiting> = lock(&self.waiting).drain().map(|(_, w)| w).collect();
        for w in waiting {
            let _ = w.reply.send(Err(TaskError::fatal(e.0.clone())));
        }
    }

    /// Takes an answer if its delivery is still waiting, and refuses it otherwise.
    fn take(&self, answer: Answer) {
        let waiting = lock(&self.waiting).remove(&answer.token);
        match waiting {
            Some(w) => {
                let _ = w.reply.send(answer.result);
            }
            None if lock(&self.withdrawn).remove(&answer.token) => {}
            None => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                tracing::info!(token = answer.token, by = %answer.by, "refused an answer: its delivery was already answered or reclaimed");
            }
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.stop_loops();
    }
}

/// Cancels a waiting attempt when its future is dropped: the delivery is deleted if no
/// worker has read it, and a later answer is dropped without counting.
struct Withdraw {
    remote: Arc<Remote>,
    token: u64,
    armed: bool,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Some(w) = lock(&self.remote.waiting).remove(&self.token) else {
            return;
        };
        lock(&self.remote.withdrawn).insert(self.token);
        let (Some(entry), Ok(handle)) = (w.entry, tokio::runtime::Handle::try_current()) else {
            return;
        };
        let remote = self.remote.clone();
        handle.spawn(async move {
            let stream = remote.keys.tasks(&remote.run, &w.agent);
            let mut cmd = redis::cmd("XDEL");
            cmd.arg(stream).arg(entry);
            let _ = remote.link.query::<u64>(&cmd).await;
        });
    }
}

/// Reads the workers' answers as they come and hands each to its attempt.
async fn collect(weak: Weak<Remote>) {
    let Some(remote) = weak.upgrade() else {
        return;
    };
    let key = remote.keys.results(&remote.run);
    let mut reader = match remote.link.reader(RESULTS_BLOCK).await {
        Ok(r) => r,
        Err(e) => return remote.fail(&e),
    };
    drop(remote);
    let mut last = "0-0".to_string();
    loop {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1024)
            .arg("BLOCK")
            .arg(RESULTS_BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&key)
            .arg(&last);
        let read = reader.query::<Option<StreamReadReply>>(&cmd).await;
        let Some(remote) = weak.upgrade() else {
            return;
        };
        let reply = match read {
            Ok(r) => r,
            Err(e) => return remote.fail(&e),
        };
        let ids: Vec<String> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|entry| {
                match Answer::parse(&entry) {
                    Some(answer) => remote.take(answer),
                    None => tracing::warn!(entry = %entry.id, "ignored a malformed answer"),
                }
                entry.id
            })
            .collect();
        if let Some(id) = ids.last() {
            last.clone_from(id);
            let mut del = redis::cmd("XDEL");
            del.arg(&key).arg(&ids);
            if let Err(e) = remote.link.query::<u64>(&del).await {
                return remote.fail(&e);
            }
        }
    }
}

/// Claims the deliveries of workers that stopped renewing their lease and places them
/// again.
async fn reclaim(weak: Weak<Remote>) {
    let tick = match weak.upgrade() {
        Some(r) => {
            r.agents
                .values()
                .map(|a| a.lease)
                .min()
                .unwrap_or(Duration::from_secs(15))
                / 3
        }
        None => return,
    };
    let mut interval = tokio::time::interval(tick.max(Duration::from_millis(100)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(remote) = weak.upgrade() else {
            return;
        };
        for (name, agent) in &remote.agents {
            if let Err(e) = reclaim_agent(&remote, name, agent.lease).await {
                return remote.fail(&e);
            }
        }
    }
}

/// One pass of [`reclaim`] over one agent's stream.
async fn reclaim_agent(remote: &Remote, agent: &str, lease: Duration) -> Result<(), RemoteError> {
    let stream = remote.keys.tasks(&remote.run, agent);
    let mut cursor = "0-0".to_string();
    loop {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&stream)
            .arg(GROUP)
            .arg("coordinator")
            .arg(lease.as_millis() as u64)
            .arg(&cursor)
            .arg("COUNT")
            .arg(100);
        let reply: StreamAutoClaimReply = remote.link.query(&cmd).await?;
        let mut ids = Vec::new();
        for entry in &reply.claimed {
            ids.push(entry.id.clone());
            let Some(delivery) = Delivery::parse(entry) else {
                continue;
            };
            let Some(w) = lock(&remote.waiting).remove(&delivery.token) else {
                continue;
            };
            remote.reclaimed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                agent,
                token = delivery.token,
                "reclaimed a delivery: its worker stopped renewing the lease"
            );
            let _ = w.reply.send(Err(TaskError {
                message: format!(
                    "the worker running it on agent `{agent}` stopped renewing its lease (killed or paused)"
                ),
                retryable: true,
                lost: true,
                checkpoint: delivery.task.checkpoint,
            }));
        }
        if !ids.is_empty() {
            let mut pipe = redis::pipe();
            pipe.cmd("XACK").arg(&stream).arg(GROUP).arg(&ids).ignore();
            pipe.cmd("XDEL").arg(&stream).arg(&ids).ignore();
            remote.link.pipe::<()>(&pipe).await?;
        }
        if reply.next_stream_id == "0-0" {
            return Ok(());
        }
        cursor = reply.next_stream_id;
    }
}

/// A worker's registration, as it writes it.
#[derive(serde::Deserialize)]
struct Registration {
    hash: String,
    /// Instances hosted, by agent.
    agents: BTreeMap<String, usize>,
}

/// Follows the workers' registrations: an agent has as many live instances as the live
/// workers with this run's sources host.
async fn follow(weak: Weak<Remote>, dispatcher: Dispatcher) {
    let wake = dispatcher.waker();
    let mut interval = tokio::time::interval(REGISTRY_TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut warned: HashSet<String> = HashSet::new();
    let start = tokio::time::Instant::now();
    let mut noticed = false;
    let mut touched = tokio::time::Instant::now();
    loop {
        interval.tick().await;
        let Some(remote) = weak.upgrade() else {
            return;
        };
        if touched.elapsed() >= (remote.keep / 2).min(KEEP_TICK) {
            touched = tokio::time::Instant::now();
            if let Err(e) = remote.touch().await {
                return remote.fail(&e);
            }
        }
        let live = match registrations(&remote, &mut warned).await {
            Ok(l) => l,
            Err(e) => return remote.fail(&e),
        };
        let changed = {
            let mut current = lock(&remote.live);
            let changed = *current != live;
            *current = live.clone();
            changed
        };
        for agent in remote.agents.keys() {
            dispatcher.grow(agent, live.get(agent).copied().unwrap_or(0));
        }
        if changed {
            wake();
        }
        let missing: Vec<&String> = remote
            .agents
            .keys()
            .filter(|a| !live.contains_key(*a))
            .collect();
        if !noticed && !missing.is_empty() && start.elapsed() >= NO_WORKER_NOTICE {
            noticed = true;
            let names = missing
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            tracing::warn!(
                "no live worker hosts {names} yet: their tasks wait; start one with `hivec worker --redis URL FILE`"
            );
        }
    }
}

/// The instances per agent on live workers with this run's sources; workers whose key
/// expired are removed from the set.
async fn registrations(
    remote: &Remote,
    warned: &mut HashSet<String>,
) -> Result<HashMap<String, usize>, RemoteError> {
    let ids: Vec<String> = remote
        .link
        .query(redis::cmd("SMEMBERS").arg(remote.keys.workers()))
        .await?;
    let mut live = HashMap::new();
    if ids.is_empty() {
        return Ok(live);
    }
    let keys: Vec<String> = ids.iter().map(|id| remote.keys.worker(id)).collect();
    let values: Vec<Option<String>> = remote.link.query(redis::cmd("MGET").arg(&keys)).await?;
    let mut dead = Vec::new();
    for (id, value) in ids.iter().zip(values) {
        let Some(text) = value else {
            dead.push(id.clone());
            continue;
        };
        let Ok(reg) = serde_json::from_str::<Registration>(&text) else {
            continue;
        };
        if reg.hash != remote.hash {
            let ours = reg.agents.keys().any(|a| remote.hosts(a));
            if ours && warned.insert(id.clone()) {
                tracing::warn!(
                    "worker {id} runs other sources (hash {}…, this run has {}…): it takes no task of this run; start it with the same file",
                    short(&reg.hash),
                    short(&remote.hash)
                );
            }
            continue;
        }
        for (agent, n) in reg.agents {
            if remote.hosts(&agent) {
                *live.entry(agent).or_insert(0) += n;
            }
        }
    }
    if !dead.is_empty() {
        let mut cmd = redis::cmd("SREM");
        cmd.arg(remote.keys.workers()).arg(&dead);
        remote.link.query::<u64>(&cmd).await?;
    }
    Ok(live)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// An instance of an agent hosted by some worker: live while the workers report at least
/// `slot + 1` instances of the agent.
pub struct RemoteInstance {
    remote: Arc<Remote>,
    agent: String,
    slot: usize,
}

impl Instance for RemoteInstance {
    fn execute(&self, task: Task) -> Attempt {
        Box::pin(self.remote.clone().send(self.agent.clone(), task))
    }

    fn health(&self) -> Health {
        let live = lock(&self.remote.live)
            .get(&self.agent)
            .copied()
            .unwrap_or(0);
        // Tasks wait for a worker to come: one may be starting on another machine.
        if self.slot < live {
            Health::Live
        } else {
            Health::Starting
        }
    }
}

/// A run or worker id: the time, the process and a random part, never reused.
pub fn new_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{now:x}-{:x}-{:08x}", std::process::id(), fastrand::u32(..))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
