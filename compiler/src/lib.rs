//! The hive compiler: `.hive` source to checked diagnostics and a lowered plan.
//!
//! Phases, each a module: [`syntax`] (grammar → owned tree), [`check`] (names, types,
//! routing, graphs, bounds) over the incremental [`db`], then [`lower`] to a plan.

// The parser derived by pest without its `std` feature names `alloc` directly.
extern crate alloc;
pub mod check;
pub mod codes;
pub mod db;
pub mod diagnostic;
pub mod format;
pub mod ide;
pub mod lower;
pub mod queries;
pub mod render;
pub mod syntax;
pub mod workspace;
