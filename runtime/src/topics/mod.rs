//! Topics of a run in one process: typed messages kept for their `retain`, deduplicated by
//! key within their `dedupe` (`board.rs`), and the agent protocol's `publish` and `event`
//! messages (`protocol.rs`). In distributed mode the messages live in Redis (`relay.rs`) and
//! each process's board holds a copy of them.
//!
//! Invariant: a message is checked against its topic's type and journaled before anyone can
//! see it; a refused publish changes nothing and the run goes on. Messages are numbered in
//! one sequence across topics, so every reader (a `receive`, a subscribing agent) reads them
//! in the order they were published, from a cursor, and misses none still retained.

pub(crate) mod board;
pub mod protocol;
pub mod relay;

pub use board::{Board, Message, Refusal};
