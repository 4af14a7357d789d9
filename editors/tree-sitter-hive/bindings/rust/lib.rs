//! The tree-sitter grammar of `.hive` for Rust: the language and its queries.
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser.set_language(&tree_sitter_hive::LANGUAGE.into()).unwrap();
//! let tree = parser.parse("capability echo(text: string) -> string", None).unwrap();
//! assert!(!tree.root_node().has_error());
//! ```

use tree_sitter_language::LanguageFn;

unsafe extern "C" {
    fn tree_sitter_hive() -> *const ();
}

/// The tree-sitter language of `.hive` files.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_hive) };

/// The node types of the grammar, as the generator wrote them.
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// Highlighting: captures named by the usual tree-sitter highlight names.
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// Scopes, definitions and references, for editors' local-variable highlighting.
pub const LOCALS_QUERY: &str = include_str!("../../queries/locals.scm");
