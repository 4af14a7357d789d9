//! Limits that both the checker and a loaded plan's validation enforce, so that a plan
//! written by hand or edited cannot ask the runtime for more than a `.hive` file could.

/// Most instances of one agent (`replicas: n` or the top of `a..b`): each instance is a
/// process or a connection, and the runtime keeps state for every one from the start.
pub const MAX_REPLICAS: u32 = 1_000;

/// Largest `cpu` of a `resources` record, capacity or demand.
pub const MAX_CPU: f64 = 1e6;
