//! What an editor asks of the compiler: names at a place, their definitions and uses, hover
//! text, completions and the outline (quick fixes are the fixes diagnostics carry). Every
//! answer is read from the same salsa queries `hivec check` runs; nothing here checks anything
//! again.
//!
//! Invariant: spans going out are file-relative byte ranges; converting them to an editor's
//! lines and columns is the language server's business.

pub mod complete;
pub mod host;
pub mod hover;
pub mod navigate;
pub mod outline;
pub mod symbols;

use crate::db::SourceFile;
use crate::syntax::Span;

/// A range of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// The file.
    pub file: SourceFile,
    /// File-relative bytes.
    pub span: Span,
}
