//! The hive compiler: `.hive` source to checked diagnostics and a lowered plan.
//!
//! Phases: [`syntax`] (grammar → owned tree, the `hive-syntax` crate, which knows nothing of
//! salsa), [`check`] (names, types, routing, graphs, bounds) over the incremental [`db`], then
//! [`lower`] to a plan.

pub mod check;
pub mod db;
pub mod format;
pub mod ide;
pub mod lower;
pub mod pipeline;
pub mod queries;
pub mod render;
pub mod workspace;

pub use hive_syntax as syntax;
pub use hive_syntax::{codes, diagnostic};
