//! Distributed mode (`--redis`): a coordinator runs the workflow and owns the dispatcher as
//! in one process; workers on any machine host the exec agents' instances. Tasks travel
//! through one Redis stream per run, agent and priority level, read by workers through one
//! consumer group; answers come back through the run's results stream; the coordinator's
//! journal is a stream too, so that a killed coordinator can be resumed from Redis. A run's
//! shared state cells and locks live in Redis as well (`crate::state::redis`), under the keys
//! of `keys`.
//!
//! Invariant: delivery through Redis is at least once, a run takes each attempt's outcome
//! exactly once (fencing tokens, see `coordinator`), and nothing of a finished run is left
//! in its streams.

pub mod capacity;
pub mod coordinator;
pub mod dlq;
mod journal;
pub mod keys;
pub mod lease;
pub mod link;
mod listen;
pub mod registry;
pub mod script;
mod wire;
pub mod worker;

pub use coordinator::{Remote, RemoteInstance, RemoteOptions, RemoteReport, new_id};
pub use journal::recorded;
pub use lease::Lease;
pub use link::{Link, RemoteError, masked};
pub use worker::{WorkerOptions, serve};
