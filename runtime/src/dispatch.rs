//! The dispatcher: one task that owns the fleet and the ready queues, and gives each ready
//! task to a member chosen by its target's strategy.
//!
//! Invariant: a task is started only on a live instance with a free slot and room for its
//! resources; until then it waits in its target's queue, ordered by priority, then deadline,
//! then arrival.

use crate::agent::{Bid, Task, TaskError};
use crate::fleet::Member;
use crate::strategy::{Ask, Policy};
use hive_plan::Resources;
use hive_plan::Strategy;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// A task that is ready to run, as a step hands it to the dispatcher.
pub struct Request {
    /// The target it goes to (see [`Dispatcher::group`]).
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
    pub excluded: Arc<Mutex<Vec<usize>>>,
    /// Whether this attempt is a retry (for the summary).
    pub retry: bool,
    /// The step it belongs to, when the run is traced.
    pub label: Option<String>,
    /// Where the outcome goes; dropping the receiver cancels the attempt.
    pub reply: oneshot::Sender<Outcome>,
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

/// What a member did over the run, for the summary.
#[derive(Clone, Debug)]
pub struct MemberReport {
    /// The agent's name.
    pub name: String,
    /// Instances at the end.
    pub instances: usize,
    /// Tasks in flight per instance (`u32::MAX` for unlimited).
    pub concurrency: u32,
    /// Counts and latencies.
    pub stats: crate::fleet::Stats,
}

enum Msg {
    Submit(Request),
    Done {
        member: usize,
        slot: usize,
        demand: Resources,
        elapsed_us: u64,
        ok: bool,
        retry: bool,
        span: Option<Span>,
    },
    Report(oneshot::Sender<Vec<MemberReport>>),
    Trace(oneshot::Sender<Vec<Span>>),
    /// The bids of an auction for the task with this arrival number.
    Bids {
        group: usize,
        seq: u64,
        bids: Vec<(usize, f64)>,
    },
    /// An instance's health changed: waiting tasks may be placed, or fail.
    Wake,
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

/// A target: its members and strategy, and the tasks waiting for it.
pub struct Group {
    /// Indices into the fleet, in declaration order.
    pub members: Vec<usize>,
    /// The strategy and its state.
    pub policy: Policy,
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
    pub fn new(members: Vec<usize>, policy: Policy) -> Group {
        Group {
            members,
            policy,
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

/// The handle steps use to reach the dispatcher.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::UnboundedSender<Msg>,
}

/// A dispatcher's inbox before it starts.
pub struct Inbox(mpsc::UnboundedReceiver<Msg>);

impl Dispatcher {
    /// A handle and the inbox it sends to; instances may be given [`Dispatcher::waker`]
    /// before the dispatcher starts.
    pub fn channel() -> (Dispatcher, Inbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Dispatcher { tx }, Inbox(rx))
    }

    /// Starts the dispatcher over `fleet` and `groups` on the current tokio runtime.
    pub fn start(&self, inbox: Inbox, fleet: Vec<Member>, groups: Vec<Group>) {
        let state = State {
            fleet,
            groups,
            seq: 0,
            spans: Vec::new(),
            epoch: Instant::now(),
            tx: self.tx.downgrade(),
        };
        tokio::spawn(state.run(inbox.0));
    }

    /// A callback that makes the dispatcher look at its queues again.
    pub fn waker(&self) -> std::sync::Arc<dyn Fn() + Send + Sync> {
        let tx = self.tx.downgrade();
        std::sync::Arc::new(move || {
            if let Some(tx) = tx.upgrade() {
                let _ = tx.send(Msg::Wake);
            }
        })
    }

    /// Queues a ready task; its outcome arrives on `request.reply`.
    pub fn submit(&self, request: Request) -> Result<(), TaskError> {
        self.tx
            .send(Msg::Submit(request))
            .map_err(|_| TaskError::fatal("the dispatcher has stopped"))
    }

    /// Every attempt of a traced run so far, in the order they finished.
    pub async fn trace(&self) -> Vec<Span> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Trace(tx)).is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// What every member did so far.
    pub async fn report(&self) -> Vec<MemberReport> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Report(tx)).is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}

struct State {
    fleet: Vec<Member>,
    groups: Vec<Group>,
    seq: u64,
    /// Finished attempts of a traced run.
    spans: Vec<Span>,
    /// Time zero of the spans.
    epoch: Instant,
    /// For the attempts' completion messages; weak so that the loop ends with the run.
    tx: mpsc::WeakUnboundedSender<Msg>,
}

impl State {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        while let Some(msg) = rx.recv().await {
            self.handle(msg);
            // Take everything that arrived meanwhile before placing tasks, so that a burst
            // is ordered by priority rather than by arrival.
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg);
            }
            self.dispatch();
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Submit(request) => {
                self.seq += 1;
                let group = request.group;
                let queued = Queued {
                    urgency: request.urgency,
                    deadline: request.deadline,
                    seq: self.seq,
                    request,
                };
                match self.groups.get_mut(group) {
                    Some(g) => g.queue.push(queued),
                    None => {
                        let _ = queued.request.reply.send(Outcome {
                            member: usize::MAX,
                            instance: 0,
                            result: Err(TaskError::fatal(format!("no target number {group}"))),
                        });
                    }
                }
            }
            Msg::Done {
                member,
                slot,
                demand,
                elapsed_us,
                ok,
                retry,
                span,
            } => {
                self.spans.extend(span);
                let m = &mut self.fleet[member];
                if let Some(s) = m.instances.get_mut(slot) {
                    s.in_flight = s.in_flight.saturating_sub(1);
                    s.used.apply(&demand, -1);
                }
                m.observe(elapsed_us, ok, retry);
            }
            Msg::Wake => {}
            Msg::Trace(reply) => {
                let _ = reply.send(self.spans.clone());
            }
            Msg::Bids { group, seq, bids } => {
                if let Some(g) = self.groups.get_mut(group)
                    && let Some(a) = g.auctions.get_mut(&seq)
                {
                    *a = Auction::Closed(bids);
                }
            }
            Msg::Report(reply) => {
                let report = self
                    .fleet
                    .iter()
                    .map(|m| MemberReport {
                        name: m.name.clone(),
                        instances: m.instances.len(),
                        concurrency: m.concurrency,
                        stats: m.stats.clone(),
                    })
                    .collect();
                let _ = reply.send(report);
            }
        }
    }

    /// Places waiting tasks until none can be placed: each round serves the best-ranked
    /// head among the targets that have a member free for it.
    fn dispatch(&mut self) {
        loop {
            let mut order: Vec<usize> = (0..self.groups.len())
                .filter(|&g| !self.groups[g].queue.is_empty())
                .collect();
            if order.is_empty() {
                return;
            }
            order.sort_by(|&a, &b| {
                let (ha, hb) = (self.groups[a].queue.peek(), self.groups[b].queue.peek());
                match (ha, hb) {
                    (Some(x), Some(y)) => y.cmp(x),
                    _ => Ordering::Equal,
                }
            });
            let placed = order.into_iter().find_map(|g| {
                let group = &mut self.groups[g];
                let head = group.queue.peek()?;
                let seq = head.seq;
                // A cancelled task is dropped instead of being placed.
                if head.request.reply.is_closed() {
                    group.queue.pop();
                    group.auctions.remove(&seq);
                    return Some(None);
                }
                let excluded = head
                    .request
                    .excluded
                    .lock()
                    .map(|e| e.clone())
                    .unwrap_or_default();
                let mut ask = Ask {
                    demand: &head.request.demand,
                    excluded: &excluded,
                    key: head.request.key,
                    bids: &[],
                };
                let bids;
                if matches!(group.policy.strategy(), Strategy::Auction) {
                    match group.auctions.get(&seq) {
                        Some(Auction::Asked) => return None,
                        Some(Auction::Closed(b)) => bids = b.clone(),
                        None => match open_auction(
                            (g, seq),
                            group,
                            &self.fleet,
                            &ask,
                            &head.request.task,
                            &self.tx,
                        ) {
                            Some(b) => bids = b,
                            None => {
                                group.auctions.insert(seq, Auction::Asked);
                                return None;
                            }
                        },
                    }
                    ask.bids = &bids;
                }
                let Some(choice) = group.policy.choose(&group.members, &self.fleet, &ask) else {
                    // Waiting helps only if some member could ever take the task.
                    if viable(&group.members, &self.fleet, &ask) {
                        return None;
                    }
                    let queued = group.queue.pop()?;
                    group.auctions.remove(&seq);
                    let _ = queued.request.reply.send(Outcome {
                        member: usize::MAX,
                        instance: 0,
                        result: Err(TaskError::fatal(
                            "no live member of the target can take this task",
                        )),
                    });
                    return Some(None);
                };
                let queued = group.queue.pop()?;
                group.auctions.remove(&seq);
                Some(Some((choice, queued.request)))
            });
            match placed {
                None => return,
                Some(None) => continue,
                Some(Some(((member, slot), request))) => self.start(member, slot, request),
            }
        }
    }

    fn start(&mut self, member: usize, slot: usize, request: Request) {
        if let Ok(mut excluded) = request.excluded.lock() {
            excluded.push(member);
        }
        let m = &mut self.fleet[member];
        let s = &mut m.instances[slot];
        s.in_flight += 1;
        s.used.apply(&request.demand, 1);
        let instance = s.instance.clone();
        let Some(done) = self.tx.upgrade() else {
            return;
        };
        let Request {
            task,
            demand,
            timeout,
            retry,
            reply,
            label,
            ..
        } = request;
        let epoch = self.epoch;
        tokio::spawn(async move {
            let mut reply = reply;
            let started = Instant::now();
            let traced = label.map(|step| (step, task.capability.clone(), task.attempt));
            let attempt = instance.execute(task);
            let result = tokio::select! {
                r = with_timeout(attempt, timeout) => Some(r),
                () = reply.closed() => None,
            };
            let elapsed_us = micros(started.elapsed());
            let ok = matches!(result, Some(Ok(_)));
            let span = traced.map(|(step, capability, attempt)| Span {
                member,
                instance: slot,
                step,
                capability,
                attempt,
                start_us: micros(started.saturating_duration_since(epoch)),
                duration_us: elapsed_us,
                error: match &result {
                    Some(Err(e)) => Some(e.message.clone()),
                    None => Some("cancelled".to_string()),
                    Some(Ok(_)) => None,
                },
            });
            let _ = done.send(Msg::Done {
                member,
                slot,
                demand,
                elapsed_us,
                ok,
                retry,
                span,
            });
            if let Some(result) = result {
                let _ = reply.send(Outcome {
                    member,
                    instance: slot,
                    result,
                });
            }
        });
    }
}

/// Asks the members of `group` that could take `task` now for their bids. Bids known at
/// once are returned; when some agent must be asked, its answers arrive later as
/// [`Msg::Bids`] and `None` is returned.
fn open_auction(
    (index, seq): (usize, u64),
    group: &Group,
    fleet: &[Member],
    ask: &Ask,
    task: &Task,
    tx: &mpsc::WeakUnboundedSender<Msg>,
) -> Option<Vec<(usize, f64)>> {
    let mut known = Vec::new();
    let mut asked = Vec::new();
    for &m in &group.members {
        let member = &fleet[m];
        let Some(slot) = member
            .free_slot(ask.demand)
            .filter(|_| !ask.excluded.contains(&m))
        else {
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
    let tx = tx.clone();
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
        if let Some(tx) = tx.upgrade() {
            let _ = tx.send(Msg::Bids {
                group: index,
                seq,
                bids,
            });
        }
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

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
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
