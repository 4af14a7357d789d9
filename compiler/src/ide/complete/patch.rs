//! The tree around the cursor: the item being edited, parsed again with the word at the cursor
//! replaced by a placeholder name, the hole.
//!
//! The file's own recovered tree is not enough: recovery works by whole items, and the item
//! being typed into (`rep` alone on a line is no property, `agent a {` has no `}` yet) is
//! exactly the one it drops. So the item's text is parsed again with the hole in the shapes the
//! grammar accepts there — a name (an expression), `name: 0` (a property, a record field, a
//! named argument) or `name()` (a step's call) — first in the whole item, then, when the text
//! after the cursor is what breaks it, in the item cut at the cursor with its open brackets
//! closed. The first tree that holds the hole is the one read.

use crate::syntax::ast::Item;
use crate::syntax::{self, ITEM_KEYWORDS};
use std::ops::Range;
use std::sync::Arc;

/// The placeholder name put where the cursor is; no one writes it.
pub(super) const HOLE: &str = "__hole__";

/// The shapes the hole is tried in, in order: a name first, so that a value being typed stays
/// a value.
const SHAPES: [&str; 3] = ["__hole__", "__hole__: 0", "__hole__()"];

/// What the cursor is in.
pub(super) enum Around {
    /// An item, parsed with the hole in it.
    Item(Patched),
    /// Between items: no item around the cursor holds the hole in any shape.
    Items {
        /// Whether only blanks stand before the cursor on its line.
        line_start: bool,
    },
    /// A comment or the text of a string.
    Text,
}

/// The item around the cursor with the hole in it.
pub(super) struct Patched {
    /// Its tree; spans are relative to the item's first byte.
    pub item: Arc<Item>,
    /// The item's text with the hole, which the tree's spans index.
    pub text: String,
    /// File offset of the item's first byte (the text before the hole is the file's).
    pub base: u32,
    /// Where the hole starts, relative to the item.
    pub hole: u32,
}

/// The name characters around `offset`: the word a completion replaces.
pub(super) fn word_at(text: &str, offset: usize) -> Range<usize> {
    let bytes = text.as_bytes();
    let name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut start = offset;
    while start > 0 && name(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && name(bytes[end]) {
        end += 1;
    }
    start..end
}

/// The item around `word` of `text` with the hole in place of the word.
pub(super) fn around(text: &str, word: Range<usize>) -> Around {
    let region = region(text, word.clone());
    let before = &text[region.start..word.start];
    let Some(open) = open_brackets(before) else {
        return Around::Text;
    };
    let after = &text[word.end..region.end];
    let closers: String = open.iter().rev().map(|b| closer(*b)).collect();
    let whole = SHAPES.iter().map(|s| format!("{before}{s}{after}"));
    let cut = SHAPES.iter().map(|s| format!("{before}{s}{closers}"));
    let hole = before.len();
    for text in whole.chain(cut) {
        if let Some(p) = holding(text, hole, region.start) {
            return Around::Item(p);
        }
    }
    let line = &text[..word.start];
    let line = &line[line.rfind('\n').map_or(0, |n| n + 1)..];
    Around::Items {
        line_start: line.trim().is_empty(),
    }
}

/// The item of `text` (a region of a file starting at `base`) that holds the hole at `hole`.
fn holding(text: String, hole: usize, base: usize) -> Option<Patched> {
    let parsed = syntax::parse(&text);
    let (item, offset) = parsed
        .items
        .iter()
        .zip(&parsed.offsets)
        .find(|(item, offset)| {
            let start = **offset as usize;
            start <= hole && hole < start + item.span.end as usize
        })?;
    let start = *offset as usize;
    let end = start + item.span.end as usize;
    Some(Patched {
        item: Arc::clone(item),
        text: text[start..end].to_string(),
        base: (base + start) as u32,
        hole: (hole - start) as u32,
    })
}

/// The lines of the item around `word`: from the last line at or before it that starts an
/// item at column 0 to the next one after it (the rule by which files are cut into items).
fn region(text: &str, word: Range<usize>) -> Range<usize> {
    let starts_item = |at: usize| {
        let rest = &text[at..];
        ITEM_KEYWORDS.iter().any(|k| {
            rest.strip_prefix(k)
                .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
        })
    };
    // A word at column 0 is being replaced: its line starts no item.
    let start = text[..word.start]
        .rmatch_indices('\n')
        .map(|(i, _)| i + 1)
        .chain([0])
        .filter(|&i| i != word.start || word.is_empty())
        .find(|&i| starts_item(i))
        .unwrap_or(0);
    let end = text[word.end..]
        .match_indices('\n')
        .map(|(i, _)| word.end + i + 1)
        .find(|&i| starts_item(i))
        .unwrap_or(text.len());
    start..end
}

/// The brackets left open at the end of `text`, outermost first (an interpolation `${` counts
/// as one, closed by `}"`); `None` when it ends inside a comment or a string's text.
fn open_brackets(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut open = Vec::new();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    open.push(b'$');
                    in_string = false;
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                match bytes[i..].iter().position(|&c| c == b'\n') {
                    Some(n) => i += n,
                    None => return None,
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(n) => i += n + 3,
                None => return None,
            },
            b'"' => in_string = true,
            b'(' | b'[' | b'{' => open.push(b),
            b'}' if open.last() == Some(&b'$') => {
                open.pop();
                in_string = true;
            }
            b')' | b']' | b'}' => {
                open.pop();
            }
            _ => {}
        }
        i += 1;
    }
    (!in_string).then_some(open)
}

fn closer(open: u8) -> &'static str {
    match open {
        b'(' => ")",
        b'[' => "]",
        b'$' => "}\"",
        _ => "}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item_text(src: &str) -> Option<String> {
        let at = src.find('|').expect("cursor");
        let text = src.replace('|', "");
        match around(&text, word_at(&text, at)) {
            Around::Item(p) => Some(p.text),
            _ => None,
        }
    }

    #[test]
    fn the_hole_takes_the_shape_the_place_accepts() {
        assert_eq!(
            item_text("pool p { strategy: lea|st }").as_deref(),
            Some("pool p { strategy: __hole__ }")
        );
        assert_eq!(
            item_text("agent a {\n  provides: [x]\n  rep|\n}\nagent b {}\n").as_deref(),
            Some("agent a {\n  provides: [x]\n  __hole__: 0\n}")
        );
        assert_eq!(
            item_text("workflow w() -> int {\n  step s = |\n  output 1\n}").as_deref(),
            Some("workflow w() -> int {\n  step s = __hole__()\n  output 1\n}")
        );
    }

    #[test]
    fn an_unclosed_item_is_cut_at_the_cursor_and_closed() {
        assert_eq!(
            item_text("agent a { simulate: { lat|\nworkflow w() -> int {\n  output 1\n}\n")
                .as_deref(),
            Some("agent a { simulate: { __hole__: 0}}")
        );
        assert_eq!(
            item_text("const c: string = \"a ${x.|").as_deref(),
            Some("const c: string = \"a ${x.__hole__}\"")
        );
    }

    #[test]
    fn comments_strings_and_the_space_between_items() {
        let at = |src: &str| {
            let at = src.find('|').expect("cursor");
            let text = src.replace('|', "");
            around(&text, word_at(&text, at))
        };
        assert!(matches!(at("agent a { // pro|\n}"), Around::Text));
        assert!(matches!(at("const c: string = \"ab|\""), Around::Text));
        assert!(matches!(
            at("agent a {}\nwor|"),
            Around::Items { line_start: true }
        ));
    }
}
