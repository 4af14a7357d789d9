//! Shared state of a run in one process: typed cells with versions (`store.rs`), locks as
//! leases with fencing tokens (`locks.rs`), and the agent protocol's state messages
//! (`protocol.rs`).
//!
//! Invariant: a write is applied whole or not at all; a refused one is answered with the
//! reason and the cell as it is, and the run goes on. Every accepted write is journaled
//! before it is visible, so a resumed run starts from the state its predecessor left.

pub mod locks;
pub mod protocol;
mod store;

pub use store::{Put, Refused, Store, Versioned};
