//! The dispatcher: the state that owns the fleet and the ready queues, behind one lock, and
//! gives each ready task to a member chosen by its target's strategy. Whoever has news (a
//! step with a ready task, a finished attempt, an instance whose health changed, an auction's
//! bids) takes the lock, records it and places what can be placed.
//!
//! Invariant: a task is started only on a live instance with a free slot and room for its
//! resources; until then it waits in its target's queue, ordered by priority, then deadline,
//! then arrival.
//!
//! The parts: the targets and their queues (`queue`), placing a waiting task on a member
//! (`place`), starting and recording attempts (`attempt`), auctions (`auction`),
//! auto-scaling (`scale`) and what the summary, trace and live display read (`report`).

use crate::agent::{Task, TaskError};
use crate::fleet::Member;
use hive_plan::Resources;
use hive_plan::Strategy;
use serde_json::Value;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

mod attempt;
mod auction;
mod census;
mod place;
mod queue;
mod report;
mod scale;

use attempt::Finished;
use auction::{Auction, open_auction};
use place::{Verdict, judge, never};
use queue::Queued;
use scale::autoscale;

pub use census::{InstanceCensus, TargetDepth};
pub use queue::Group;
pub use report::{MemberReport, QueueReport, Span, SpanOutcome};
pub use scale::{SCALE_COOLDOWN, SCALE_IDLE, SCALE_TICK, SCALE_UP_AFTER};

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
    /// When the attempt's time runs out, if an earlier delivery of it started the clock (it
    /// moved because its instance died): it then ends by then, not `timeout` after this start.
    pub expires: Option<Instant>,
    /// The `hash` strategy's key, hashed.
    pub key: Option<u64>,
    /// Members this task may not go to; the chosen member is added (consensus replicas
    /// share one list so that they land on distinct agents).
    pub excluded: Option<Arc<Mutex<Vec<usize>>>>,
    /// Members that failed this task before: one of them takes it only when no other member
    /// can take it now.
    pub avoided: Vec<usize>,
    /// Whether this attempt is a retry (for the summary).
    pub retry: bool,
    /// The step it belongs to, when the run is traced.
    pub label: Option<String>,
    /// Turns an output into the task's value, or fails the attempt (an output that does
    /// not match the capability's type), before the attempt is recorded.
    pub check: Option<Check>,
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

/// See [`Request::check`].
pub type Check = Arc<dyn Fn(Value) -> Result<Value, TaskError> + Send + Sync>;

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

/// What became of one attempt.
pub struct Outcome {
    /// The member that ran it.
    pub member: usize,
    /// The instance of that member.
    pub instance: usize,
    /// When it started on that instance; `None` if it never started.
    pub started: Option<Instant>,
    /// The output or the failure.
    pub result: Result<Value, TaskError>,
}

enum Msg {
    Done {
        finished: Finished,
        ok: bool,
        outcome: Option<SpanOutcome>,
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
            stream: None,
            observer: None,
            keep_spans: true,
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

    /// Runs `f` on the state, or gives the default before the start.
    fn write<T: Default>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.shared.lock() {
            Ok(mut s) => s.as_mut().map(f).unwrap_or_default(),
            Err(_) => T::default(),
        }
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

    /// Whether target `group` has a live instance now, one that may yet become live
    /// (starting, restarting, or in distributed mode not yet reported by a worker), or none.
    pub fn liveness(&self, group: usize) -> Liveness {
        self.read(|s| {
            let Some(g) = s.groups.get(group) else {
                return Liveness::default();
            };
            let members = || g.members.iter().filter_map(|&m| s.fleet.get(m));
            if members().any(|m| m.live() > 0) {
                return Liveness::Live;
            }
            if members().any(Member::alive) {
                return Liveness::Coming;
            }
            let reasons: Vec<String> = members()
                .flat_map(Member::current)
                .filter_map(|slot| slot.instance.failure())
                .collect();
            Liveness::Gone(reasons)
        })
    }
}

/// See [`Dispatcher::liveness`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// Some instance takes tasks.
    Live,
    /// None does yet, and some may.
    Coming,
    /// None ever will: why its instances were given up, where known.
    Gone(Vec<String>),
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness::Gone(Vec::new())
    }
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher::new()
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
    /// Finished attempts of a traced run, unless they go to `stream`.
    spans: Vec<Span>,
    /// Where a traced run's attempts are written as they finish.
    stream: Option<crate::trace::Stream>,
    /// Told of every traced attempt as it starts and ends, with the agents' names.
    observer: Option<(Arc<dyn crate::observe::Observer>, Vec<String>)>,
    /// Whether `spans` keeps the attempts: not when only an observer wants them.
    keep_spans: bool,
    /// Time zero of the spans.
    epoch: Instant,
    /// Targets with waiting tasks, best head first (a buffer kept between placements).
    order: Vec<usize>,
    /// Where finished attempts report; weak so that the state ends with the run.
    shared: Weak<Shared>,
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
                Verdict::Never => return Ok(Submitted::Done(never(&group.members, &self.fleet))),
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
                outcome,
            } => self.record(finished, ok, outcome, true),
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
}
