//! A malformed item whose brackets are left open: which bracket was never closed.
//!
//! pest reports where the item stopped parsing, which for a missing `}` is the next item or
//! the end of the file, far from the mistake. The brackets of the malformed region tell more:
//! when every closer matches an opener and some openers are left, one of those is unclosed.

use std::ops::Range;

/// An opening bracket nothing closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Unclosed {
    /// Its byte offset in the text.
    pub open: usize,
    /// `(`, `[` or `{`.
    pub bracket: u8,
    /// Where its closer belongs at the latest: the start of the line of the closer that
    /// shows it unclosed, else the end of the region.
    pub before: usize,
    /// The closer that shows it unclosed, if one does: its offset, and whether it is of an
    /// outer bracket's kind (rather than one matching it, but indented as an outer one's).
    pub shown_by: Option<(usize, bool)>,
}

impl Unclosed {
    /// The bracket that closes it.
    pub fn closer(&self) -> char {
        match self.bracket {
            b'(' => ')',
            b'[' => ']',
            _ => '}',
        }
    }
}

/// The bracket of `text[range]` left unclosed, if there is one: an opener passed by the
/// closer of an outer one (`f(x: 1` then `}`), or, when the region's brackets are balanced
/// but for openers at its end, the one a misindented closer matched (a `}` at the
/// indentation of an outer opener's line that closes an inner one means the inner one lacks
/// its own), else the innermost left. A closer without any opener is some other mistake.
/// Strings end at their quote or their line, as in the grammar; comments are skipped.
pub(super) fn unclosed(text: &str, range: Range<usize>) -> Option<Unclosed> {
    let bytes = text.as_bytes();
    let end = range.end.min(bytes.len());
    let mut open: Vec<usize> = Vec::new();
    let mut misplaced: Option<(usize, usize, usize)> = None;
    let mut i = range.start;
    while i < end {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = line_end(bytes, i, end);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(bytes, i, end);
                continue;
            }
            b'"' => {
                i += 1;
                while i < end && bytes[i] != b'\n' && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => open.push(i),
            c @ (b')' | b']' | b'}') => {
                let line = line_start(bytes, i);
                let first_on_line = bytes[line..i].iter().all(|b| *b == b' ' || *b == b'\t');
                let at = *open.last()?;
                if pair(bytes[at]) != c {
                    // It closes an outer bracket, if one is open: the inner one lacks its
                    // closer, which belongs before this one (or its line).
                    open.iter().rev().find(|o| pair(bytes[**o]) == c)?;
                    return Some(Unclosed {
                        open: at,
                        bracket: bytes[at],
                        before: if first_on_line { line } else { i },
                        shown_by: Some((i, true)),
                    });
                }
                open.pop();
                if misplaced.is_none()
                    && first_on_line
                    && indent(bytes, line_start(bytes, at)) != i - line
                {
                    misplaced = Some((at, line, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    let innermost = *open.last()?;
    Some(match misplaced {
        Some((at, before, closer)) => Unclosed {
            open: at,
            bracket: bytes[at],
            before,
            shown_by: Some((closer, false)),
        },
        None => Unclosed {
            open: innermost,
            bracket: bytes[innermost],
            before: end,
            shown_by: None,
        },
    })
}

/// Where the missing closer of `open` goes: at the end of the last line of its block. The
/// block is the lines after the bracket's line indented deeper than it; when the next line
/// is not, the block was to end on the bracket's own line if text follows the bracket there,
/// and otherwise runs to the last line with text before `open.before`.
pub(super) fn closer_place(text: &str, open: &Unclosed) -> usize {
    let bytes = text.as_bytes();
    let limit = open.before.max(open.open + 1);
    let last_text = |upto: usize| text[..upto].trim_end().len().max(open.open + 1);
    let own_line_end = line_end(bytes, open.open, limit);
    let own_indent = indent(bytes, line_start(bytes, open.open));
    let mut end_of_block = None;
    let mut at = own_line_end + 1;
    while at < limit {
        let next = line_end(bytes, at, limit);
        if !text[at..next].trim().is_empty() {
            if indent(bytes, at) <= own_indent {
                break;
            }
            end_of_block = Some(next);
        }
        at = next + 1;
    }
    match end_of_block {
        Some(end) => last_text(end),
        None if !text[open.open + 1..own_line_end].trim().is_empty() => last_text(own_line_end),
        None => last_text(limit),
    }
}

fn pair(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

/// The start of the line holding byte `at`.
pub(super) fn line_start(bytes: &[u8], at: usize) -> usize {
    bytes[..at]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |n| n + 1)
}

/// The width of the spaces and tabs that start the line at `start`.
pub(super) fn indent(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count()
}

fn line_end(bytes: &[u8], from: usize, end: usize) -> usize {
    bytes[from..end]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(end, |n| from + n)
}

/// Past the end of the (nested) block comment starting at `from`.
fn block_comment_end(bytes: &[u8], from: usize, end: usize) -> usize {
    let mut depth = 0usize;
    let mut i = from;
    while i + 1 < end {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blamed(text: &str) -> Option<(usize, usize)> {
        unclosed(text, 0..text.len()).map(|u| (u.open, u.before))
    }

    #[test]
    fn the_innermost_opener_left_at_the_end() {
        let text = "agent a {\n  simulate: { latency: 1s }\n";
        assert_eq!(blamed(text), Some((8, text.len())));
    }

    #[test]
    fn a_misindented_closer_blames_the_opener_it_closed() {
        let text = "agent a {\n  simulate: { latency: 1s\n}\n";
        assert_eq!(blamed(text), Some((22, 36)));
    }

    #[test]
    fn the_closer_goes_at_the_end_of_the_block() {
        let place = |text: &str| closer_place(text, &unclosed(text, 0..text.len()).unwrap());
        // An indented block ends where the indentation does.
        let text = "agent a {\n  x: 1\n\n  y: 2\n\nworkflow";
        assert_eq!(place(&text[..text.len() - 8]), 24);
        // A block begun on the bracket's line ends there when no deeper line follows.
        let inline = "workflow w() {\n  step s = f() with { timeout: 1s\n  output s\n}\n";
        assert_eq!(place(inline), 48);
        // Without indentation, at the last line with text.
        let flat = "agent a {\nx: 1\n\n";
        assert_eq!(place(flat), 14);
    }

    #[test]
    fn an_outer_closer_blames_the_opener_it_passes() {
        let text = "workflow w() {\n  step s = f(x: [1\n}\n";
        assert_eq!(blamed(text), Some((31, 34)));
        assert_eq!(blamed("agent a { x: f(1 }"), Some((14, 17)));
    }

    #[test]
    fn balanced_or_stray_brackets_blame_none() {
        assert_eq!(blamed("agent a { x: [1) }"), None);
        assert_eq!(blamed("agent a { x: 1 }\n"), None);
        assert_eq!(blamed("agent a { x: 1 }}\n"), None);
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let text = "agent a { // {\n  x: \"{\" /* ( */\n";
        assert_eq!(blamed(text), Some((8, text.len())));
        let open_string = "agent a { x: \"{\n}\n";
        assert_eq!(blamed(open_string), None);
    }
}
