//! The syntax layer of hive: grammar, owned tree, lexer, line index, and the diagnostics every
//! phase reports in.
//!
//! Invariant: knows nothing of salsa, name resolution or types (Cargo enforces the first: this
//! crate does not depend on it); pest pairs never leave it; parsing never fails — it returns
//! every well-formed item and a diagnostic per malformed one.

// The parser derived by pest without its `std` feature names `alloc` directly.
extern crate alloc;

pub mod ast;
mod build;
pub mod codes;
pub mod diagnostic;
mod expr;
pub mod lex;
pub mod limits;
pub mod lines;
mod parser;
mod plain_step;
mod span;
mod split;
mod unclosed;
mod visit;
mod workflow_parts;

pub use parser::{parse, parse_alone, parse_reusing, recognise};
pub use split::ITEM_KEYWORDS;

/// A table of the bytes in `members`, for scanners that skip every other byte.
pub(crate) const fn byte_set(members: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < members.len() {
        table[members[i] as usize] = true;
        i += 1;
    }
    table
}

/// The reserved words: none of them can be a name.
pub const KEYWORDS: [&str; 18] = [
    "import",
    "as",
    "const",
    "type",
    "enum",
    "capability",
    "agent",
    "pool",
    "route",
    "workflow",
    "step",
    "output",
    "for",
    "in",
    "with",
    "true",
    "false",
    "none",
];

/// Whether `s` is one of [`KEYWORDS`].
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// Whether `s` can be written as a name: an identifier that is not a reserved word.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(s)
}
pub use span::Span;
pub use span::without_spans;

use crate::diagnostic::Diagnostic;

/// The result of parsing one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedFile {
    /// Well-formed items in source order, each with item-relative spans.
    pub items: Vec<std::sync::Arc<ast::Item>>,
    /// File offset of each item's first byte.
    pub offsets: Vec<u32>,
    /// Syntax errors, with file-relative spans.
    pub diagnostics: Vec<Diagnostic<Span>>,
    /// Names that malformed items tried to declare (`agent x {` … broken): uses of them are
    /// not reported again as unknown.
    pub broken_names: Vec<String>,
    /// The names malformed agents and routes mention: capabilities they may have been
    /// meant to provide or route, which are not reported again as unprovided.
    pub broken_mentions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_keyword_is_exactly_the_reserved_words() {
        for k in KEYWORDS {
            assert!(is_keyword(k), "{k}");
            assert!(!is_name(k), "{k}");
            assert!(!is_keyword(&format!("{k}_")), "{k}_");
        }
        for s in ["agents", "Step", "i", "nones", "_", "x1"] {
            assert!(!is_keyword(s), "{s}");
        }
    }
}
