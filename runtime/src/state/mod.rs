//! Shared state of a run: typed cells with versions, locks as leases with fencing tokens,
//! and the agent protocol's state messages (`protocol.rs`). The cells live in one process
//! (`store.rs`, `locks.rs`) or, in distributed mode, in Redis (`redis.rs`); both follow the
//! one set of rules of `rules.rs`.
//!
//! Invariant: a write is applied whole or not at all; a refused one is answered with the
//! reason and the cell as it is, and the run goes on. In one process every accepted write
//! is journaled before it is visible; in distributed mode the cells outlive a killed
//! coordinator in Redis. Either way a resumed run starts from the state its predecessor left.

pub mod locks;
pub mod protocol;
pub mod redis;
pub mod rules;
mod store;

pub use store::{Memory, Put, Refused, Versioned};

use hive_plan::Plan;
use locks::Mode;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// The shared state of one run, wherever it is kept.
pub enum Store {
    /// In this process.
    Memory(Memory),
    /// In Redis, shared by the coordinator and the workers of a distributed run.
    Redis(Box<redis::Cells>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Store::Memory(_) => "memory",
            Store::Redis(_) => "redis",
        };
        f.debug_tuple("Store").field(&kind).finish()
    }
}

impl Store {
    /// The cells of `plan` in this process at their defaults, or as `journal` recorded them
    /// when the run is resumed; accepted writes are recorded to it.
    pub fn new(
        plan: Arc<Plan>,
        journal: Option<Arc<crate::journal::Journal>>,
    ) -> Result<Store, String> {
        Memory::new(plan, journal).map(Store::Memory)
    }

    /// A cell's value now, for `state.name` in expressions.
    pub fn value(&self, key: &str) -> Option<Value> {
        match self {
            Store::Memory(m) => m.value(key),
            Store::Redis(r) => r.value(key),
        }
    }

    /// Every cell's value, by name (`--state-out`).
    pub fn snapshot(&self) -> Map<String, Value> {
        match self {
            Store::Memory(m) => m.snapshot(),
            Store::Redis(r) => r.snapshot(),
        }
    }

    /// An agent of `capability` reads `key` (`None`: the runtime itself).
    pub async fn get(&self, capability: Option<&str>, key: &str) -> Result<Versioned, String> {
        match self {
            Store::Memory(m) => m.get(capability, key),
            Store::Redis(r) => r.get(capability, key).await,
        }
    }

    /// An agent of `capability` writes (`None`: the runtime itself). A refused write changes
    /// nothing.
    pub async fn put(&self, capability: Option<&str>, put: Put) -> Result<u64, Refused> {
        match self {
            Store::Memory(m) => m.put(capability, put),
            Store::Redis(r) => r.put(capability, put).await,
        }
    }

    /// Writes to one cell by agents of their capabilities (`None`: the runtime itself), in
    /// order, each accepted or refused as it would be alone.
    pub async fn put_batch(&self, writes: Vec<(Option<String>, Put)>) -> Vec<Result<u64, Refused>> {
        match self {
            Store::Memory(m) => writes
                .into_iter()
                .map(|(capability, put)| m.put(capability.as_deref(), put))
                .collect(),
            Store::Redis(r) => r.put_batch(writes).await,
        }
    }

    /// A refusal of a write to `key` for `reason`, with the cell as it is.
    pub async fn refusal(&self, key: &str, reason: String) -> Refused {
        match self {
            Store::Memory(m) => m.refusal(key, reason),
            Store::Redis(r) => r.refusal(key, reason).await,
        }
    }

    /// Waits until lock `name` can be held in `mode`, and holds it for `ttl`: its token.
    pub async fn lock(&self, name: &str, mode: Mode, ttl: Duration) -> Result<u64, String> {
        match self {
            Store::Memory(m) => Ok(m.locks().acquire(name, mode, ttl).await),
            Store::Redis(r) => r.acquire(name, mode, ttl).await,
        }
    }

    /// Ends the lease of `token` on `name`; whether it was live.
    pub async fn unlock(&self, name: &str, token: u64) -> bool {
        match self {
            Store::Memory(m) => m.locks().release(name, token),
            Store::Redis(r) => r.release(name, token).await,
        }
    }

    /// Whether every request but `lock` is answered without waiting.
    fn immediate(&self) -> bool {
        matches!(self, Store::Memory(_))
    }
}
