//! Agent instances: what executes a task once the dispatcher has chosen where it goes.

pub mod exec;
pub mod simulated;
pub mod std_agent;
mod stderr;

use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One attempt of one task, as an instance receives it.
#[derive(Clone, Debug)]
pub struct Task {
    /// The capability, e.g. `review` or `std.echo`.
    pub capability: String,
    /// The named arguments, as a JSON object; shared by the task's attempts.
    pub input: std::sync::Arc<Value>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Its step's urgency, 0 (`low`) to 4 (`critical`): in distributed mode, the stream it
    /// is sent to.
    pub urgency: u8,
    /// Milliseconds the attempt may take, if it is limited.
    pub deadline_ms: Option<u64>,
    /// State saved by an instance that died under an earlier attempt (handoff).
    pub checkpoint: Option<Value>,
    /// Deliveries of this attempt that went unanswered before this one (their instance or
    /// worker died), with the last one's cause.
    pub lost: (u32, Option<String>),
    /// The resources it takes while it runs (its step's `resources`): in distributed mode,
    /// what the worker counts as held on the instance that runs it.
    pub demand: hive_plan::Resources,
    /// The shared state its agent's state requests go to, when it is not the instance's own
    /// (in distributed mode, its run's cells in Redis).
    pub state: Option<std::sync::Arc<crate::state::Store>>,
    /// The topics its agent's `publish` messages go to, when they are not the instance's
    /// own (in distributed mode, its run's topics in Redis).
    pub topics: Option<std::sync::Arc<crate::topics::Board>>,
}

/// Why an attempt produced no output.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskError {
    /// What went wrong, for a person.
    pub message: String,
    /// Whether another attempt may succeed (`std.fail(retryable: false)` says no).
    pub retryable: bool,
    /// The instance died under the task: it moves to another member without using a retry.
    pub lost: bool,
    /// The last checkpoint the dead instance saved, handed to the next one.
    pub checkpoint: Option<Value>,
}

impl TaskError {
    /// A failure another attempt may fix.
    pub fn retryable(message: impl Into<String>) -> TaskError {
        TaskError {
            message: message.into(),
            retryable: true,
            lost: false,
            checkpoint: None,
        }
    }

    /// A failure no attempt will fix.
    pub fn fatal(message: impl Into<String>) -> TaskError {
        TaskError {
            message: message.into(),
            retryable: false,
            lost: false,
            checkpoint: None,
        }
    }
}

/// The future of one attempt.
pub type Attempt = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>;

/// Whether an instance can take tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Starting or restarting: tasks wait for it.
    Starting,
    /// Taking tasks.
    Live,
    /// Given up: tasks go elsewhere or fail.
    Dead,
}

/// An instance's price for a task in an `auction`: lower wins.
pub enum Bid {
    /// The instance does not bid; the dispatcher uses the member's expected completion time.
    None,
    /// Known at once (a simulated agent bids its latency).
    Now(f64),
    /// Asked of the agent; `None` if it declined or did not answer in time.
    Later(Pin<Box<dyn Future<Output = Option<f64>> + Send>>),
}

/// A running instance of an agent. Dropping the returned future cancels the task.
pub trait Instance: Send + Sync {
    /// Starts `task` on this instance.
    fn execute(&self, task: Task) -> Attempt;

    /// The result of `task` if the instance can produce it at once, without waiting
    /// (`std.echo`): the dispatcher then answers without starting a task.
    fn immediate(&self, _task: &Task) -> Option<Result<Value, TaskError>> {
        None
    }

    /// What the instance asks for running `task` (the `auction` strategy).
    fn bid(&self, _task: &Task) -> Bid {
        Bid::None
    }

    /// Resolves once the instance's first start has succeeded or failed, so that a run
    /// starts with every agent that can come up (and the strategies see all of them).
    fn started(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async {})
    }

    /// Whether it can take tasks now.
    fn health(&self) -> Health {
        Health::Live
    }

    /// Why the instance was given up (a process that could not be started), once its health
    /// is [`Health::Dead`] for that reason: for the error of a task no other member can take.
    fn failure(&self) -> Option<String> {
        None
    }

    /// How long ago its agent process was last heard from (any line, a heartbeat or an
    /// answer); `None` for an instance without a process of its own.
    fn silent_for(&self) -> Option<Duration> {
        None
    }

    /// Stops the instance for good: an exec agent is sent `shutdown` and given a grace
    /// period to exit before it is killed. Resolves once it is gone.
    fn shutdown(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async {})
    }
}
