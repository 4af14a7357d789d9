//! Agent instances: what executes a task once the dispatcher has chosen where it goes.

pub mod exec;
pub mod std_agent;

use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// One attempt of one task, as an instance receives it.
#[derive(Clone, Debug)]
pub struct Task {
    /// The capability, e.g. `review` or `std.echo`.
    pub capability: String,
    /// The named arguments, as a JSON object.
    pub input: Value,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Milliseconds the attempt may take, if it is limited.
    pub deadline_ms: Option<u64>,
    /// State saved by an instance that died under an earlier attempt (handoff).
    pub checkpoint: Option<Value>,
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

/// A running instance of an agent. Dropping the returned future cancels the task.
pub trait Instance: Send + Sync {
    /// Starts `task` on this instance.
    fn execute(&self, task: Task) -> Attempt;

    /// Whether it can take tasks now.
    fn health(&self) -> Health {
        Health::Live
    }
}
