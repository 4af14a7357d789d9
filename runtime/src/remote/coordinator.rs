//! The coordinator's side: exec agents whose instances are hosted by workers. Each is a
//! member of the fleet as in one process; its instances are [`RemoteInstance`]s, live while
//! workers report them. An attempt placed on one becomes a delivery in the agent's stream,
//! and its outcome is the first answer with the delivery's token.
//!
//! Invariant: an attempt's outcome is taken once. A late, duplicate or stale answer (its
//! delivery was reclaimed from a worker that stopped renewing its lease) is refused and
//! counted; a reclaimed delivery is placed again as a lost task, without using a retry.

use super::journal::Writer;
use super::keys::{GROUP, Keys, LEVELS};
use super::lease::{self, Lease};
use super::link::{Link, RemoteError};
use super::registry;
use super::wire::{Answer, Delivery, identity};
use crate::RunError;
use crate::agent::{Attempt, Health, Instance, Task, TaskError};
use crate::dispatch::Dispatcher;
use crate::fleet::Held;
use crate::journal::{Header, Journal, Record};
use redis::streams::{StreamAutoClaimReply, StreamReadReply};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
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
    /// `redis://[user:password@]host:port/db`, or `rediss://…` for TLS.
    pub url: String,
    /// A PEM file of the authority that signs a `rediss://` server's certificate, in place
    /// of the system's roots.
    pub ca: Option<std::path::PathBuf>,
    /// A PEM file of the certificate this process shows a `rediss://` server that asks
    /// for one (`tls-auth-clients`), with its private key in `key`.
    pub cert: Option<std::path::PathBuf>,
    /// A PEM file of the private key of `cert`.
    pub key: Option<std::path::PathBuf>,
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
    /// Set when Redis stayed unreachable: every attempt fails with it, and the instances
    /// are dead, so that tasks waiting for a worker fail too.
    broken: Mutex<Option<String>>,
    /// Wakes the dispatcher, once attached, to look again at the instances' health.
    wake: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    loops: Mutex<Vec<JoinHandle<()>>>,
    /// What a resumed coordinator takes over from the killed one.
    adoptable: Mutex<Adoptable>,
    adopted: AtomicU64,
    /// The last answer read before the run (re)started: reading goes on after it.
    results_from: String,
    /// The writer of the run's journal, once it keeps one.
    journal: Mutex<Option<Writer>>,
    /// This coordinator's lease on the run.
    lease: Lease,
}

/// The attempts of a killed coordinator, by [`identity`]: a resumed one takes their answers,
/// or waits for them, instead of sending them again.
#[derive(Default)]
struct Adoptable {
    /// Answers in the results stream, oldest first.
    answered: HashMap<String, VecDeque<Result<Value, TaskError>>>,
    /// Deliveries still in a task stream (unread, or held by a worker): token, entry, stream.
    sent: HashMap<String, VecDeque<(u64, String, String)>>,
    /// The run's dead letters, by identity: they are not sent again until requeued.
    dead: HashMap<String, String>,
}

/// What a resumed coordinator found of an attempt it was about to send.
enum Found {
    Answer(Result<Value, TaskError>),
    Sent(u64, String, String),
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
    /// The stream it went to.
    stream: String,
    reply: oneshot::Sender<Result<Value, TaskError>>,
}

/// What the coordinator refused and reclaimed over the run, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemoteReport {
    /// Answers refused: late, duplicate, or for a delivery that was reclaimed.
    pub refused: u64,
    /// Deliveries reclaimed from workers that stopped renewing their lease.
    pub reclaimed: u64,
    /// Attempts of the killed coordinator a resumed one took over (their answer, or their
    /// delivery in flight) instead of sending them again.
    pub adopted: u64,
}

impl Remote {
    /// Connects to Redis and announces a run of `plan`, so that workers with the same
    /// sources read its streams. A `resumed` run takes over the deliveries and answers its
    /// killed coordinator left.
    pub async fn connect(
        link: Arc<Link>,
        options: &RemoteOptions,
        plan: &hive_plan::Plan,
        lease: Lease,
        resumed: bool,
    ) -> Result<Arc<Remote>, RunError> {
        let run = lease.run().to_string();
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
        let mut remote = Remote {
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
            wake: Mutex::new(None),
            loops: Mutex::new(Vec::new()),
            adoptable: Mutex::new(Adoptable::default()),
            adopted: AtomicU64::new(0),
            results_from: "0-0".to_string(),
            journal: Mutex::new(None),
            lease,
        };
        let ready = async {
            if resumed {
                remote.adopt().await?;
            }
            remote.announce(resumed).await
        };
        ready.await.map_err(|e| RunError::run(e.0))?;
        Ok(Arc::new(remote))
    }

    /// Reads what the killed coordinator of this run left: the answers not yet deleted and
    /// the deliveries still in the task streams. Tokens go on from the highest seen.
    async fn adopt(&mut self) -> Result<(), RemoteError> {
        let mut adoptable = Adoptable::default();
        let mut highest = 0;
        // Task streams first: a delivery answered meanwhile has its answer among the results
        // read next, and one answered later is waited for; none falls between the two.
        let mut sent = Vec::new();
        let streams: Vec<String> = self.streams().collect();
        for stream in streams {
            for entry in self.link.range(&stream).await? {
                if let Some(delivery) = Delivery::parse(&entry) {
                    highest = highest.max(delivery.token);
                    sent.push((delivery, entry.id, stream.clone()));
                }
            }
        }
        let mut answered = HashSet::new();
        for entry in self.link.range(&self.keys.results(&self.run)).await? {
            if let Some(answer) = Answer::parse(&entry) {
                highest = highest.max(answer.token);
                answered.insert(answer.token);
                adoptable
                    .answered
                    .entry(answer.identity)
                    .or_default()
                    .push_back(answer.result);
            }
            self.results_from = entry.id;
        }
        for (delivery, entry, stream) in sent {
            if !answered.contains(&delivery.token) {
                adoptable
                    .sent
                    .entry(delivery.identity)
                    .or_default()
                    .push_back((delivery.token, entry, stream));
            }
        }
        adoptable.dead = super::dlq::of_run(&self.link, &self.keys, &self.run).await?;
        *self.next_token.get_mut() = highest;
        *lock(&self.adoptable) = adoptable;
        Ok(())
    }

    /// The answer or the delivery of the killed coordinator that stands for `task`; a dead
    /// letter's task stays failed.
    fn found(&self, task: &Task) -> Option<Found> {
        let mut adoptable = lock(&self.adoptable);
        if adoptable.answered.is_empty() && adoptable.sent.is_empty() && adoptable.dead.is_empty() {
            return None;
        }
        let id = identity(task);
        if let Some(letter) = adoptable.dead.get(&id) {
            return Some(Found::Answer(Err(TaskError::fatal(format!(
                "still dead-lettered as {letter}: `hivec dlq requeue {letter}` puts it back, to be sent when the run is resumed again"
            )))));
        }
        let found = match adoptable
            .answered
            .get_mut(&id)
            .and_then(VecDeque::pop_front)
        {
            Some(answer) => Some(Found::Answer(answer)),
            None => adoptable
                .sent
                .get_mut(&id)
                .and_then(VecDeque::pop_front)
                .map(|(token, entry, stream)| Found::Sent(token, entry, stream)),
        };
        if found.is_some() {
            self.adopted.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Starts the run's journal in Redis.
    pub fn start_journal(&self, header: &Header) -> Result<Journal, RunError> {
        Journal::start(self.journal_sink(), header).map_err(RunError::run)
    }

    /// Continues the journal of a resumed run in Redis.
    pub fn continue_journal(&self, record: Record) -> Result<Journal, RunError> {
        Journal::continued(self.journal_sink(), record).map_err(RunError::run)
    }

    fn journal_sink(&self) -> Box<dyn crate::journal::Sink> {
        let key = self.keys.journal(&self.run);
        let (writer, sink) = Writer::start(self.link.clone(), key, self.keep);
        *lock(&self.journal) = Some(writer);
        sink
    }

    /// The run's shared state cells, in Redis.
    pub fn cells(&self, plan: Arc<hive_plan::Plan>) -> Result<crate::state::redis::Cells, String> {
        crate::state::redis::Cells::new(plan, self.link.clone(), self.keys.clone(), &self.run)
    }

    /// The run's topics, in Redis.
    pub fn relay(&self, plan: &hive_plan::Plan) -> crate::topics::relay::Relay {
        crate::topics::relay::Relay::new(plan, self.link.clone(), self.keys.clone(), &self.run)
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
            adopted: self.adopted.load(Ordering::Relaxed),
        }
    }

    /// Registers the run and creates its streams with their consumer group; a resumed run
    /// keeps those that are there.
    async fn announce(&self, resumed: bool) -> Result<(), RemoteError> {
        // The results stream exists from the start: workers add to it only while it does
        // (`NOMKSTREAM`), so a late answer cannot bring back a finished run's stream.
        let results = (self.keys.results(&self.run), "coordinator", "$");
        let tasks = self.streams().map(|s| (s, GROUP, "0"));
        let creates: Vec<redis::Cmd> = std::iter::once(results)
            .chain(tasks)
            .map(|(stream, group, from)| {
                let mut cmd = redis::cmd("XGROUP");
                cmd.arg("CREATE")
                    .arg(stream)
                    .arg(group)
                    .arg(from)
                    .arg("MKSTREAM");
                cmd
            })
            .collect();
        if resumed {
            for cmd in &creates {
                match self.link.query::<()>(cmd).await {
                    Err(e) if !e.0.contains("BUSYGROUP") => return Err(e),
                    _ => {}
                }
            }
        } else {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for cmd in creates {
                pipe.add_command(cmd).ignore();
            }
            self.link.pipe::<()>(&pipe).await?;
        }
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
        pipe.pexpire(self.keys.journal(&self.run), keep_ms as i64)
            .ignore();
        for key in self.topic_keys() {
            pipe.pexpire(key, keep_ms as i64).ignore();
        }
        for stream in self.streams() {
            pipe.pexpire(stream, keep_ms as i64).ignore();
        }
        self.link.pipe::<()>(&pipe).await
    }

    /// Starts reading answers, reclaiming expired leases and following the workers'
    /// registrations, which make instances live in `dispatcher`.
    pub fn attach(self: &Arc<Self>, dispatcher: Dispatcher) {
        *lock(&self.wake) = Some(dispatcher.waker());
        let weak = Arc::downgrade(self);
        let renewing = tokio::spawn(renew(weak.clone()));
        if let Ok(mut l) = self.loops.lock() {
            l.push(renewing);
        }
        if self.agents.is_empty() {
            return;
        }
        let loops = vec![
            tokio::spawn(collect(weak.clone())),
            tokio::spawn(reclaim(weak.clone())),
            tokio::spawn(follow(weak, dispatcher)),
        ];
        if let Ok(mut l) = self.loops.lock() {
            l.extend(loops);
        }
    }

    /// Ends the run in Redis: its journal is written out and expires `--keep` from now, its
    /// other streams and its registration are deleted, so nothing of it is left behind but
    /// what outlives it by design.
    pub async fn finish(&self) -> Result<(), RemoteError> {
        self.stop_loops();
        let writer = lock(&self.journal).take();
        if let Some(writer) = writer {
            writer.flush().await?;
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hdel(self.keys.runs(), &self.run)
            .ignore()
            .del(self.keys.results(&self.run))
            .ignore()
            .pexpire(self.keys.journal(&self.run), self.keep.as_millis() as i64)
            .ignore();
        // Messages outlive the run like its journal: they are what it heard and said.
        for key in self.topic_keys() {
            pipe.pexpire(key, self.keep.as_millis() as i64).ignore();
        }
        for stream in self.streams() {
            pipe.del(stream).ignore();
        }
        self.link.pipe::<()>(&pipe).await?;
        crate::state::redis::expire(&self.link, &self.keys, &self.run, self.keep).await?;
        self.lease.release(&self.link).await
    }

    /// The keys of the run's topic messages (their dedupe markers expire by themselves).
    fn topic_keys(&self) -> [String; 2] {
        [self.keys.topics(&self.run), self.keys.topics_seq(&self.run)]
    }

    /// Every task stream of the run.
    fn streams(&self) -> impl Iterator<Item = String> + '_ {
        self.agents
            .keys()
            .flat_map(|agent| self.keys.levels(&self.run, agent))
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
        let (token, entry, stream) = match self.found(&task) {
            Some(Found::Answer(result)) => return result,
            Some(Found::Sent(token, entry, stream)) => (token, Some(entry), stream),
            None => {
                let token = self.next_token.fetch_add(1, Ordering::Relaxed) + 1;
                let level = task.urgency.min(*LEVELS.end());
                (token, None, self.keys.tasks(&self.run, &agent, level))
            }
        };
        let (reply, answer) = oneshot::channel();
        let sent = entry.is_some();
        lock(&self.waiting).insert(
            token,
            Waiting {
                entry,
                stream: stream.clone(),
                reply,
            },
        );
        let mut withdraw = Withdraw {
            remote: self.clone(),
            token,
            armed: true,
        };
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&stream).arg("*");
        for (k, v) in Delivery::fields(token, &task) {
            cmd.arg(k).arg(v);
        }
        // A delivery taken over is in its stream already.
        let written = match sent {
            true => Ok(None),
            false => self.link.query::<String>(&cmd).await.map(Some),
        };
        match written {
            Ok(None) => {}
            Ok(Some(id)) => {
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
        // Tasks queued for a worker would wait for ever: their instances are now dead.
        let wake = lock(&self.wake).clone();
        if let Some(wake) = wake {
            wake();
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
            let mut cmd = redis::cmd("XDEL");
            cmd.arg(&w.stream).arg(entry);
            let _ = remote.link.query::<u64>(&cmd).await;
        });
    }
}

/// Renews the coordinator's lease on the run every [`lease::RENEW`]; a lease taken by another
/// coordinator fails the run.
async fn renew(weak: Weak<Remote>) {
    let mut interval = tokio::time::interval(lease::RENEW);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(remote) = weak.upgrade() else {
            return;
        };
        if let Err(e) = remote.lease.renew(&remote.link).await {
            tracing::error!("{e}");
            return remote.fail(&e);
        }
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
    let mut last = remote.results_from.clone();
    drop(remote);
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
        // Answers stay in the stream until the run ends: they are what a resumed
        // coordinator takes instead of sending their attempts again.
        if let Some(id) = ids.last() {
            last.clone_from(id);
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
            for stream in remote.keys.levels(&remote.run, name) {
                if let Err(e) = reclaim_stream(&remote, name, &stream, agent.lease).await {
                    return remote.fail(&e);
                }
            }
        }
    }
}

/// One pass of [`reclaim`] over one of `agent`'s streams.
async fn reclaim_stream(
    remote: &Remote,
    agent: &str,
    stream: &str,
    lease: Duration,
) -> Result<(), RemoteError> {
    let mut cursor = "0-0".to_string();
    loop {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(stream)
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
            pipe.cmd("XACK").arg(stream).arg(GROUP).arg(&ids).ignore();
            pipe.cmd("XDEL").arg(stream).arg(&ids).ignore();
            remote.link.pipe::<()>(&pipe).await?;
        }
        if reply.next_stream_id == "0-0" {
            return Ok(());
        }
        cursor = reply.next_stream_id;
    }
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
        let hosted = match registrations(&remote, &mut warned).await {
            Ok(l) => l,
            Err(e) => return remote.fail(&e),
        };
        let live: HashMap<String, usize> =
            hosted.iter().map(|(a, h)| (a.clone(), h.len())).collect();
        let changed = {
            let mut current = lock(&remote.live);
            let changed = *current != live;
            *current = live.clone();
            changed
        };
        for agent in remote.agents.keys() {
            dispatcher.hosted(agent, hosted.get(agent).cloned().unwrap_or_default());
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

/// The live instances per agent on fresh workers with this run's sources, in the order of
/// the workers' ids, each with what other runs hold on it; workers whose key expired are
/// removed from the set.
async fn registrations(
    remote: &Remote,
    warned: &mut HashSet<String>,
) -> Result<HashMap<String, Vec<Held>>, RemoteError> {
    let mut live = HashMap::new();
    for worker in registry::read(&remote.link, &remote.keys).await? {
        if worker.stale() {
            tracing::debug!(worker = %worker.id, age_ms = worker.age_ms, "a stale worker: its instances are not chosen");
            continue;
        }
        let (id, reg) = (worker.id, worker.registration);
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
            if !remote.hosts(&agent) {
                continue;
            }
            let held: Vec<Held> = match reg.capacity.get(&agent) {
                Some(report) => report
                    .slots
                    .iter()
                    .map(|s| s.elsewhere(&remote.run))
                    .collect(),
                // A registration without a report: its instances, with nothing held.
                None => vec![Held::default(); n],
            };
            live.entry(agent).or_insert_with(Vec::new).extend(held);
        }
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
        if lock(&self.remote.broken).is_some() {
            return Health::Dead;
        }
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

    fn failure(&self) -> Option<String> {
        lock(&self.remote.broken).clone()
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
