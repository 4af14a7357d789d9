//! Checking: names, types, properties, routing, graphs and bounds.
//!
//! Invariant: pure. Reads syntax trees through queries, reports through the accumulator,
//! never touches files or the terminal.

pub mod backoff;
pub mod bounds;
pub mod broadcast;
pub mod const_calls;
pub mod consts;
pub mod decls;
pub mod expr;
pub mod functions;
pub mod graph;
pub mod props;
pub mod races;
pub mod routing;
pub mod scope;
pub mod shell;
pub mod state;
pub mod topics;
pub mod types;
pub mod unused;
pub mod workflow;
