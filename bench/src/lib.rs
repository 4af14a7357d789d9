//! Benchmarks of the hive toolchain and the generator of their inputs.

pub mod generate;
pub mod lsp;
pub mod shapes;
pub mod workloads;
