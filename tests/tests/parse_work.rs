//! The parser's work grows with its input's length, however the input is shaped.
//!
//! pest memoizes nothing: where one alternative of the grammar fails and another parses the
//! same text again, nested brackets cost exponential time (30 unclosed `f(` took 24 s and
//! 4 GB). pest counts the rule calls of a parse and, given a limit, refuses a parse that needs
//! more: every shape here must be recognised within a fixed number of calls per byte. The
//! limit is process-wide, so this file is its own test binary with a single test.

use hive_compiler::syntax::{limits::MAX_NESTING, recognise};
use hive_tests::{hive_files, repo};
use std::num::NonZeroUsize;

/// Rule calls allowed per byte of input, and for any input (the file rule and its first item).
const CALLS_PER_BYTE: usize = 100;
const CALLS_BASE: usize = 2_000;

/// Whether pest recognises `text` within the budget for its length. A file never fails to
/// parse (a line that starts no item is junk), so failing means the limit was reached.
fn within_budget(text: &str) -> bool {
    let limit = NonZeroUsize::new(CALLS_BASE + CALLS_PER_BYTE * text.len());
    pest::set_call_limit(limit);
    let pairs = recognise(text);
    pest::set_call_limit(None);
    pairs > 0
}

/// Nested openings, unclosed or closed, in every place an expression stands: `(open, close)`
/// repeated `depth` times around `x`.
fn shapes(depth: usize) -> Vec<(String, String)> {
    let nests = [
        ("f(", ")"),
        ("f(a: ", ")"),
        ("[", "]"),
        ("[a[", "]]"),
        ("[[a", "]]"),
        ("[a\n[", "]]"),
        ("(", ")"),
        ("{a: ", "}"),
        ("T{a: ", "}"),
        ("f{a: ", "}"),
        ("[f(", ")]"),
        ("f([", "])"),
        ("[{a: [", "]}]"),
        ("a[f(", ")]"),
        ("f(a)[", "]"),
        ("\"${", "}\""),
        ("-(", ")"),
        ("a + f(", ")"),
        ("f(x,\n", ")"),
    ];
    let places: [fn(&str) -> String; 5] = [
        |e| format!("agent a {{\n  x: {e}\n}}\n"),
        |e| format!("const c: int = {e}\n"),
        |e| format!("workflow w() -> int {{\n  output {e}\n}}\n"),
        |e| format!("workflow w() -> int {{\n  step s = f(x: {e})\n}}\n"),
        |e| format!("workflow w() -> int {{\n  step s = for i in {e} {{ f(x: i) }}\n}}\n"),
    ];
    let mut out = Vec::new();
    for (open, close) in nests {
        // Each opening nests a bracket or two; the places add one more level.
        let levels = open.matches(['(', '[', '{']).count();
        let n = depth / levels;
        for place in places {
            let unclosed = place(&format!("{}x", open.repeat(n)));
            let closed = place(&format!("{}x{}", open.repeat(n), close.repeat(n)));
            out.push((format!("{open:?} unclosed"), unclosed));
            out.push((format!("{open:?} closed"), closed));
        }
    }
    out
}

#[test]
fn parsing_work_is_bounded_by_the_input_length() {
    let mut over = Vec::new();
    for path in hive_files(&repo().join("examples")) {
        let text = std::fs::read_to_string(&path).expect("read example");
        if !within_budget(&text) {
            over.push(path.display().to_string());
        }
    }
    // Within the nesting limit, which the parser checks first.
    for (what, text) in shapes(MAX_NESTING - 2) {
        if !within_budget(&text) {
            over.push(format!("{what}: {text:?}"));
        }
    }
    assert!(
        over.is_empty(),
        "over {CALLS_PER_BYTE} rule calls per byte:\n{}",
        over.join("\n")
    );
}
