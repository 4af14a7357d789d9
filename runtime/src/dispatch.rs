//! The dispatcher: the state that owns the fleet and the ready queues, behind one lock, and
//! gives each ready task to a member chosen by its target's strategy. Whoever has news (a
//! step with a ready task, a finished attempt, an instance whose health changed, an auction's
//! bids) takes the lock, records it and places what can be placed.
//!
//! Invariant: a task is started only on a live instance with a free slot and room for its
//! resources; until then it waits in its target's queue, ordered by priority, then deadline,
//! then arrival.

use crate::agent::{Bid, Task, TaskError};
use crate::fleet::Member;
use crate::micros;
use crate::strategy::{Ask, Policy};
use hive_plan::Resources;
use hive_plan::Strategy;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// A task that is ready to run, as a step hands it to the dispatcher.
pub struct Request {
    /// The target it goes to: an index into the dispatcher's groups.
    pub group: usize,
    /// 0 (`low`) to 4 (`critical`).
    pub urgency: u8,
    /// The run's deadline, if it has one.
    pub deadline: Option<Instant>,
    /// What to execute.
    pub task: Task,
    /// Resources the task takes while it runs.
    pub demand: Resources,
    /// Per-attempt limit.
    pub timeout: Option<Duration>,
    /// The `hash` strategy's key, hashed.
    pub key: Option<u64>,
    /// Members this task may not go to; the chosen member is added (consensus replicas
    /// share one list so that they land on distinct agents).
    pub excluded: Option<Arc<Mutex<Vec<usize>>>>,
    /// Whether this attempt is a retry (for the summary).
    pub retry: bool,
    /// The step it belongs to, when the run is traced.
    pub label: Option<String>,
    /// A place in its pool's bounded queue (`max_queue`), given back when the task leaves
    /// the queue.
    pub room: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Request {
    /// The members it may not go to now.
    fn excluded(&self) -> Vec<usize> {
        match &self.excluded {
            Some(list) => list.lock().map(|e| e.clone()).unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

/// What [`Dispatcher::submit`] did with a task.
pub enum Submitted {
    /// It was answered at once (an in-process capability such as `std.echo`).
    Done(Outcome),
    /// It started or waits; its outcome arrives here, and dropping the receiver cancels
    /// the attempt.
    Pending(oneshot::Receiver<Outcome>),
}

/// Where an attempt's outcome goes.
enum Reply {
    /// Back to the caller of [`Dispatcher::submit`], which has not left it yet.
    Caller,
    /// Down the channel of a task that waited.
    Channel(oneshot::Sender<Outcome>),
}

impl Reply {
    /// Delivers an outcome known at once: to the caller it is returned.
    fn send(self, outcome: Outcome) -> Option<Submitted> {
        match self {
            Reply::Caller => Some(Submitted::Done(outcome)),
            Reply::Channel(tx) => {
                let _ = tx.send(outcome);
                None
            }
        }
    }

    /// The sender for an outcome that comes later, and for the caller its receiver.
    fn channel(self) -> (oneshot::Sender<Outcome>, Option<Submitted>) {
        match self {
            Reply::Caller => {
                let (tx, rx) = oneshot::channel();
                (tx, Some(Submitted::Pending(rx)))
            }
            Reply::Channel(tx) => (tx, None),
        }
    }
}

/// What can be done with a task at the head of its target's queue now.
enum Verdict {
    /// Start it on this (member, instance).
    Start(usize, usize),
    /// Leave it waiting: a member will free up or come back.
    Wait,
    /// Fail it: no live member could ever take it.
    Never,
}

/// What became of one attempt.
pub struct Outcome {
    /// The member that ran it.
    pub member: usize,
    /// The instance of that member.
    pub instance: usize,
    /// The output or the failure.
    pub result: Result<Value, TaskError>,
}

/// How often auto-scaling looks at the members with `replicas: a..b`.
pub const SCALE_TICK: Duration = Duration::from_millis(250);
/// How long tasks must wait with every instance of a member busy before one is added.
pub const SCALE_UP_AFTER: Duration = Duration::from_secs(1);
/// How long an instance must have been idle before it is removed.
pub const SCALE_IDLE: Duration = Duration::from_secs(10);
/// The least time between two changes to one member's instances.
pub const SCALE_COOLDOWN: Duration = Duration::from_secs(2);

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

enum Msg {
    Done {
        finished: Finished,
        ok: bool,
        error: Option<String>,
    },
    /// An instance's health changed: waiting tasks may be placed, or fail.
    Wake,
    /// The bids of an auction for the task with this arrival number.
    Bids {
        group: usize,
        seq: u64,
        bids: Vec<(usize, f64)>,
    },
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
    /// The failure, if it failed.
    pub error: Option<String>,
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

/// A target: its members and strategy, and the tasks waiting for it.
pub struct Group {
    /// Indices into the fleet, in declaration order.
    pub members: Vec<usize>,
    /// The strategy and its state.
    pub policy: Policy,
    /// The pool it is part of (an index into the dispatcher's pools): the tasks waiting
    /// for all of a pool's groups are counted together.
    pub pool: Option<usize>,
    queue: BinaryHeap<Queued>,
    /// `auction`: the bids asked for each waiting task, by arrival number.
    auctions: HashMap<u64, Auction>,
}

/// The bidding for one task.
enum Auction {
    /// Some agent has not answered yet.
    Asked,
    /// Every bid is in: (member, cost).
    Closed(Vec<(usize, f64)>),
}

impl Group {
    /// A target with nothing waiting.
    pub fn new(members: Vec<usize>, policy: Policy, pool: Option<usize>) -> Group {
        Group {
            members,
            policy,
            pool,
            queue: BinaryHeap::new(),
            auctions: HashMap::new(),
        }
    }
}

struct Queued {
    urgency: u8,
    deadline: Option<Instant>,
    seq: u64,
    request: Request,
    reply: oneshot::Sender<Outcome>,
}

impl Queued {
    /// Greater is served first: more urgent, then the earlier deadline, then the earlier
    /// arrival.
    fn rank(&self, other: &Self) -> Ordering {
        let deadline = match (self.deadline, other.deadline) {
            (Some(a), Some(b)) => b.cmp(&a),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        self.urgency
            .cmp(&other.urgency)
            .then(deadline)
            .then(other.seq.cmp(&self.seq))
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank(other)
    }
}

/// The dispatcher's state behind its lock; `None` until [`Dispatcher::start`].
type Shared = Mutex<Option<State>>;

/// The handle steps use to reach the dispatcher. The dispatcher is not a task of its own:
/// whoever has news (a ready task, a finished attempt, an instance's health) takes the lock,
/// records it and places what can be placed, so a task that can start does so at once,
/// without a hop through another task.
#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

impl Dispatcher {
    /// A dispatcher that does nothing until it is started; instances may be given
    /// [`Dispatcher::waker`] before that.
    pub fn new() -> Dispatcher {
        Dispatcher {
            shared: Arc::new(Mutex::new(None)),
        }
    }

    /// Starts dispatching over `fleet` and `groups`, whose [`Group::pool`]s index `pools`.
    /// Must be called inside a tokio runtime.
    pub fn start(&self, fleet: Vec<Member>, groups: Vec<Group>, pools: Vec<QueueReport>) {
        let state = State {
            fleet,
            groups,
            pools,
            seq: 0,
            spans: Vec::new(),
            epoch: Instant::now(),
            order: Vec::new(),
            shared: Arc::downgrade(&self.shared),
        };
        let scales = state.fleet.iter().any(Member::scales);
        if let Ok(mut s) = self.shared.lock() {
            *s = Some(state);
        }
        if scales {
            tokio::spawn(autoscale(Arc::downgrade(&self.shared)));
        }
    }

    /// A callback that makes the dispatcher look at its queues again.
    pub fn waker(&self) -> std::sync::Arc<dyn Fn() + Send + Sync> {
        let shared = Arc::downgrade(&self.shared);
        std::sync::Arc::new(move || deliver(&shared, Msg::Wake))
    }

    /// Starts a ready task if a member is free for it, and queues it otherwise.
    pub fn submit(&self, request: Request) -> Result<Submitted, TaskError> {
        let mut shared = self
            .shared
            .lock()
            .map_err(|_| TaskError::fatal("the dispatcher's lock was poisoned"))?;
        let state = shared
            .as_mut()
            .ok_or_else(|| TaskError::fatal("the dispatcher has not started"))?;
        state.submit(request)
    }

    /// Every attempt of a traced run so far, in the order they finished.
    pub fn trace(&self) -> Vec<Span> {
        self.read(|s| s.spans.clone())
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

    fn write<T: Default>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.shared.lock() {
            Ok(mut s) => s.as_mut().map(f).unwrap_or_default(),
            Err(_) => T::default(),
        }
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

    /// Every instance of every member, for shutting them down.
    pub fn instances(&self) -> Vec<Arc<dyn crate::agent::Instance>> {
        self.read(|s| {
            s.fleet
                .iter()
                .flat_map(|m| m.instances.iter().map(|i| i.instance.clone()))
                .collect()
        })
    }

    fn read<T: Default>(&self, f: impl FnOnce(&State) -> T) -> T {
        self.write(|s| f(s))
    }
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher::new()
    }
}

/// Looks at the scaling members every [`SCALE_TICK`] for as long as the dispatcher exists.
async fn autoscale(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(SCALE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let retired = match strong.lock() {
            Ok(mut guard) => match guard.as_mut() {
                Some(state) => {
                    let retired = state.scale(Instant::now());
                    state.dispatch();
                    retired
                }
                None => Vec::new(),
            },
            Err(_) => return,
        };
        drop(strong);
        for instance in retired {
            tokio::spawn(instance.shutdown());
        }
    }
}

/// Hands `msg` to the dispatcher, if it still exists, and places what can be placed.
fn deliver(shared: &Weak<Shared>, msg: Msg) {
    let Some(shared) = shared.upgrade() else {
        return;
    };
    let Ok(mut guard) = shared.lock() else {
        return;
    };
    if let Some(state) = guard.as_mut() {
        state.handle(msg);
        state.dispatch();
    }
}

struct State {
    fleet: Vec<Member>,
    groups: Vec<Group>,
    pools: Vec<QueueReport>,
    seq: u64,
    /// Finished attempts of a traced run.
    spans: Vec<Span>,
    /// Time zero of the spans.
    epoch: Instant,
    /// Targets with waiting tasks, best head first (a buffer kept between placements).
    order: Vec<usize>,
    /// Where finished attempts report; weak so that the state ends with the run.
    shared: Weak<Shared>,
}

impl MemberReport {
    /// Whether its instances could change (`replicas: a..b`).
    pub fn scales(&self) -> bool {
        self.replicas.0 < self.replicas.1
    }
}

impl State {
    /// A ready task: started at once when its target's queue is empty and a member is
    /// free, queued otherwise. Starting it directly is what placing would do: after every
    /// event the queues are left with no head that could be placed, and taking a slot
    /// cannot make one placeable. Behind a waiting head it goes through placing as before.
    fn submit(&mut self, request: Request) -> Result<Submitted, TaskError> {
        let g = request.group;
        let group = self
            .groups
            .get_mut(g)
            .ok_or_else(|| TaskError::fatal(format!("no target number {g}")))?;
        let auction = matches!(group.policy.strategy(), Strategy::Auction);
        let was_empty = group.queue.is_empty();
        if was_empty && !auction {
            match judge(
                (&mut group.policy, &group.members),
                &self.fleet,
                &request,
                &[],
            ) {
                Verdict::Start(member, slot) => {
                    let started = self.start(member, slot, request, Reply::Caller);
                    return started.ok_or_else(|| TaskError::fatal("the task was not started"));
                }
                Verdict::Never => return Ok(Submitted::Done(never())),
                Verdict::Wait => {}
            }
        }
        let (tx, rx) = oneshot::channel();
        self.seq += 1;
        let pool = group.pool;
        group.queue.push(Queued {
            urgency: request.urgency,
            deadline: request.deadline,
            seq: self.seq,
            request,
            reply: tx,
        });
        // Placing runs when the task may be placeable and was not judged above: an auction
        // asks for its bids there, and a task more urgent than a waiting head is now the
        // head, which may fit where that one did not.
        if auction || !was_empty {
            self.dispatch();
        }
        // Counted after placing: a task that started at once never waited.
        if let Some(p) = pool {
            self.note_waiting(p);
        }
        Ok(Submitted::Pending(rx))
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Done {
                finished,
                ok,
                error,
            } => self.record(finished, ok, error, true),
            Msg::Wake => {}
            Msg::Bids { group, seq, bids } => {
                if let Some(g) = self.groups.get_mut(group)
                    && let Some(a) = g.auctions.get_mut(&seq)
                {
                    *a = Auction::Closed(bids);
                }
            }
        }
    }

    /// Auto-scaling: adds an instance to a member whose tasks have waited with every
    /// instance busy for [`SCALE_UP_AFTER`], and removes one that has idled for
    /// [`SCALE_IDLE`], at most one change per member per [`SCALE_COOLDOWN`] and within its
    /// `replicas` range. Returns the removed instances, to be shut down.
    fn scale(&mut self, now: Instant) -> Vec<Arc<dyn crate::agent::Instance>> {
        use crate::agent::Health;
        let mut wanted = vec![false; self.fleet.len()];
        for g in self.groups.iter().filter(|g| !g.queue.is_empty()) {
            for &m in &g.members {
                wanted[m] = true;
            }
        }
        let mut retired = Vec::new();
        for (i, m) in self.fleet.iter_mut().enumerate() {
            if !m.scales() {
                continue;
            }
            let (min, max) = m.replicas;
            let current = m.current().count();
            let cooled = m
                .scaling
                .last_change
                .is_none_or(|t| now.saturating_duration_since(t) >= SCALE_COOLDOWN);
            let pressed = wanted[i] && m.free_slot(&Resources::default()).is_none();
            if pressed {
                let since = *m.scaling.pressed_since.get_or_insert(now);
                // One that is still starting is capacity on its way.
                let starting = m.current().any(|s| s.instance.health() == Health::Starting);
                if now.saturating_duration_since(since) >= SCALE_UP_AFTER
                    && cooled
                    && current < max
                    && !starting
                {
                    m.add_instance();
                    m.scaling.added += 1;
                    m.scaling.last_change = Some(now);
                    tracing::info!(agent = %m.name, instances = current + 1, "scaled up: tasks are waiting");
                }
                continue;
            }
            m.scaling.pressed_since = None;
            if current <= min || !cooled {
                continue;
            }
            // The newest idle instance goes first.
            let idle = m.instances.iter().rposition(|s| {
                !s.retired
                    && s.in_flight == 0
                    && s.idle_since
                        .is_some_and(|t| now.saturating_duration_since(t) >= SCALE_IDLE)
            });
            if let Some(slot) = idle {
                m.count_instance_time(now);
                m.instances[slot].retired = true;
                retired.push(m.instances[slot].instance.clone());
                m.scaling.removed += 1;
                m.scaling.last_change = Some(now);
                tracing::info!(agent = %m.name, instances = current - 1, "scaled down: an instance was idle");
            }
        }
        retired
    }

    /// Records how many tasks wait for pool `p` now, if it is the most so far.
    fn note_waiting(&mut self, p: usize) {
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

    /// Places waiting tasks until none can be placed: each round serves the best-ranked
    /// head among the targets that have a member free for it.
    fn dispatch(&mut self) {
        loop {
            // Reuses one buffer: this runs for every task placed.
            let mut order = std::mem::take(&mut self.order);
            order.clear();
            order.extend((0..self.groups.len()).filter(|&g| !self.groups[g].queue.is_empty()));
            if order.is_empty() {
                self.order = order;
                return;
            }
            order.sort_by(|&a, &b| {
                let (ha, hb) = (self.groups[a].queue.peek(), self.groups[b].queue.peek());
                match (ha, hb) {
                    (Some(x), Some(y)) => y.cmp(x),
                    _ => Ordering::Equal,
                }
            });
            let placed = order.iter().copied().find_map(|g| {
                let group = &mut self.groups[g];
                let head = group.queue.peek()?;
                let seq = head.seq;
                // A cancelled task is dropped instead of being placed.
                if head.reply.is_closed() {
                    group.queue.pop();
                    group.auctions.remove(&seq);
                    return Some(None);
                }
                let mut bids = Vec::new();
                if matches!(group.policy.strategy(), Strategy::Auction) {
                    match group.auctions.get(&seq) {
                        Some(Auction::Asked) => return None,
                        Some(Auction::Closed(b)) => bids = b.clone(),
                        None => match open_auction(
                            (g, seq),
                            group,
                            &self.fleet,
                            &head.request,
                            &self.shared,
                        ) {
                            Some(b) => bids = b,
                            None => {
                                group.auctions.insert(seq, Auction::Asked);
                                return None;
                            }
                        },
                    }
                }
                match judge(
                    (&mut group.policy, &group.members),
                    &self.fleet,
                    &head.request,
                    &bids,
                ) {
                    Verdict::Wait => None,
                    Verdict::Never => {
                        let queued = group.queue.pop()?;
                        group.auctions.remove(&seq);
                        let _ = queued.reply.send(never());
                        Some(None)
                    }
                    Verdict::Start(member, slot) => {
                        let queued = group.queue.pop()?;
                        group.auctions.remove(&seq);
                        Some(Some((member, slot, queued)))
                    }
                }
            });
            self.order = order;
            match placed {
                None => return,
                Some(None) => continue,
                Some(Some((member, slot, queued))) => {
                    self.start(member, slot, queued.request, Reply::Channel(queued.reply));
                }
            }
        }
    }

    /// Starts `request` on instance `slot` of `member`. Returns what the caller of
    /// [`Dispatcher::submit`] gets when `reply` is [`Reply::Caller`].
    fn start(
        &mut self,
        member: usize,
        slot: usize,
        request: Request,
        reply: Reply,
    ) -> Option<Submitted> {
        if let Some(Ok(mut excluded)) = request.excluded.as_ref().map(|e| e.lock()) {
            excluded.push(member);
        }
        let instance = self.fleet[member].instances[slot].instance.clone();
        let Request {
            task,
            demand,
            timeout,
            retry,
            label,
            ..
        } = request;
        let started = Instant::now();
        let mut finished = Finished {
            member,
            slot,
            demand,
            started,
            elapsed_us: 0,
            retry,
            cancelled: false,
            traced: label.map(|step| (step, task.capability.clone(), task.attempt)),
        };
        // An in-process capability that finishes at once (`std.echo`) is answered here:
        // no task to spawn, no slot taken.
        if let Some(result) = instance.immediate(&task) {
            finished.elapsed_us = micros(started.elapsed());
            let (ok, error) = verdict(Some(&result), finished.traced.is_some());
            self.record(finished, ok, error, false);
            return reply.send(Outcome {
                member,
                instance: slot,
                result,
            });
        }
        let s = &mut self.fleet[member].instances[slot];
        s.in_flight += 1;
        s.idle_since = None;
        s.used.apply(&finished.demand, 1);
        let shared = self.shared.clone();
        let (mut reply, caller) = reply.channel();
        tokio::spawn(async move {
            let attempt = instance.execute(task);
            let result = tokio::select! {
                r = with_timeout(attempt, timeout) => Some(r),
                () = reply.closed() => None,
            };
            finished.elapsed_us = micros(started.elapsed());
            let (ok, error) = verdict(result.as_ref(), finished.traced.is_some());
            finished.cancelled = result.is_none();
            deliver(
                &shared,
                Msg::Done {
                    finished,
                    ok,
                    error,
                },
            );
            if let Some(result) = result {
                let _ = reply.send(Outcome {
                    member,
                    instance: slot,
                    result,
                });
            }
        });
        caller
    }

    /// Records a finished attempt: its slot is free again (`held`), the member's measures
    /// and, when traced, its span.
    fn record(&mut self, f: Finished, ok: bool, error: Option<String>, held: bool) {
        if let Some((step, capability, attempt)) = f.traced {
            self.spans.push(Span {
                member: f.member,
                instance: f.slot,
                step,
                capability,
                attempt,
                start_us: micros(f.started.saturating_duration_since(self.epoch)),
                duration_us: f.elapsed_us,
                error,
            });
        }
        let m = &mut self.fleet[f.member];
        if held && let Some(s) = m.instances.get_mut(f.slot) {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.used.apply(&f.demand, -1);
            if s.in_flight == 0 {
                s.idle_since = Some(Instant::now());
            }
        }
        if f.cancelled {
            m.cancelled(f.elapsed_us);
        } else {
            m.observe(f.elapsed_us, ok, f.retry);
        }
    }
}

/// Whether an attempt succeeded, and, when `traced`, its error for the trace; `None` is a
/// cancelled attempt.
fn verdict(result: Option<&Result<Value, TaskError>>, traced: bool) -> (bool, Option<String>) {
    let error = |text: &str| traced.then(|| text.to_string());
    match result {
        Some(Ok(_)) => (true, None),
        Some(Err(e)) => (false, error(&e.message)),
        None => (false, error("cancelled")),
    }
}

/// An attempt that ended, as the dispatcher records it.
struct Finished {
    member: usize,
    slot: usize,
    demand: Resources,
    started: Instant,
    elapsed_us: u64,
    retry: bool,
    /// Dropped before it finished.
    cancelled: bool,
    /// Step, capability and attempt number, when the run is traced.
    traced: Option<(String, String, u32)>,
}

/// Whether the task `request` can start now on one of a target's `members` chosen by its
/// `policy`, must wait, or can never run there.
fn judge(
    (policy, members): (&mut Policy, &[usize]),
    fleet: &[Member],
    request: &Request,
    bids: &[(usize, f64)],
) -> Verdict {
    let excluded = request.excluded();
    let ask = Ask {
        demand: &request.demand,
        excluded: &excluded,
        key: request.key,
        bids,
    };
    match policy.choose(members, fleet, &ask) {
        Some((member, slot)) => Verdict::Start(member, slot),
        // Waiting helps only if some member could ever take the task.
        None if viable(members, fleet, &ask) => Verdict::Wait,
        None => Verdict::Never,
    }
}

/// The outcome of a task no live member of its target can take.
fn never() -> Outcome {
    Outcome {
        member: usize::MAX,
        instance: 0,
        result: Err(TaskError::fatal(
            "no live member of the target can take this task",
        )),
    }
}

/// Asks the members of `group` that could take `request` now for their bids. Bids known at
/// once are returned; when some agent must be asked, its answers arrive later as
/// [`Msg::Bids`] and `None` is returned.
fn open_auction(
    (index, seq): (usize, u64),
    group: &Group,
    fleet: &[Member],
    request: &Request,
    shared: &Weak<Shared>,
) -> Option<Vec<(usize, f64)>> {
    let excluded = request.excluded();
    let (demand, task) = (&request.demand, &request.task);
    let mut known = Vec::new();
    let mut asked = Vec::new();
    for &m in &group.members {
        let member = &fleet[m];
        let Some(slot) = member.free_slot(demand).filter(|_| !excluded.contains(&m)) else {
            continue;
        };
        match member.instances[slot].instance.bid(task) {
            Bid::None => {}
            // A known price is per task: the queue already on the member comes first.
            Bid::Now(cost) => known.push((m, cost * (1.0 + member.load().min(1e6)))),
            Bid::Later(answer) => asked.push((m, answer)),
        }
    }
    if asked.is_empty() {
        return Some(known);
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut answers = tokio::task::JoinSet::new();
        for (m, answer) in asked {
            answers.spawn(async move { answer.await.map(|cost| (m, cost)) });
        }
        let mut bids = known;
        while let Some(answer) = answers.join_next().await {
            if let Ok(Some(bid)) = answer {
                bids.push(bid);
            }
        }
        deliver(
            &shared,
            Msg::Bids {
                group: index,
                seq,
                bids,
            },
        );
    });
    None
}

/// Whether some member of `members` is live, not excluded, and large enough for the demand.
fn viable(members: &[usize], fleet: &[Member], ask: &Ask) -> bool {
    members.iter().any(|&m| {
        let member = &fleet[m];
        !ask.excluded.contains(&m) && member.alive() && member.could_fit(ask.demand)
    })
}

async fn with_timeout(
    attempt: crate::agent::Attempt,
    timeout: Option<Duration>,
) -> Result<Value, TaskError> {
    match timeout {
        None => attempt.await,
        Some(limit) => match tokio::time::timeout(limit, attempt).await {
            Ok(r) => r,
            Err(_) => Err(TaskError::retryable(format!(
                "timed out after {}",
                hive_plan::duration(limit.as_millis().min(u128::from(u64::MAX)) as u64)
            ))),
        },
    }
}
