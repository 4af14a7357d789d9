//! Limits checked before parsing, so that hostile input gets a clear error instead of
//! exhausting the stack of a recursive-descent parser.
//!
//! The parser runs without a stack probe per rule (pest without `std`), so these limits are
//! what bounds its recursion: every construct the grammar nests by recursion (brackets,
//! interpolations, nested block comments, `list<…>`/`map<…>` types) is counted here.

use super::Span;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

/// Deepest nesting accepted, of brackets (`(`, `[`, `{`, `${`, `list<`, `map<`) and, counted
/// separately, of block comments.
pub const MAX_NESTING: usize = 64;
/// Longest run of prefix operators accepted (`!!!!x`).
pub const MAX_PREFIX_RUN: usize = 32;
/// Deepest expression tree accepted (operators, postfixes and brackets together).
pub const MAX_EXPR_DEPTH: u32 = 128;
/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Scans brackets outside strings and comments; reports the first place nesting exceeds
/// [`MAX_NESTING`] or prefix operators pile up beyond [`MAX_PREFIX_RUN`].
pub fn check_nesting(text: &str) -> Option<Diagnostic<Span>> {
    // Strings nest inside interpolations, which nest inside strings: one stack for both.
    enum Frame {
        Str,
        Interp(usize),
    }
    let bytes = text.as_bytes();
    let mut frames: Vec<Frame> = Vec::new();
    let mut depth = 0usize;
    let mut prefix_run = 0usize;
    // Open `list<`/`map<` angles: only these close with `>`, which is otherwise an operator.
    let mut angles = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(frames.last(), Some(Frame::Str)) {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => {
                    frames.pop();
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Some(too_deep(i, "brackets and interpolations"));
                    }
                    frames.push(Frame::Interp(depth));
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        // Most bytes of a file are names and blanks, which only end a run of prefixes.
        if !MARKS[b as usize] {
            let run = bytes[i..]
                .iter()
                .position(|&c| MARKS[c as usize])
                .unwrap_or(bytes.len() - i);
            if !bytes[i..i + run].iter().all(u8::is_ascii_whitespace) {
                prefix_run = 0;
            }
            i += run;
            continue;
        }
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                match skip_block_comment(bytes, i) {
                    Ok(end) => i = end,
                    Err(at) => return Some(too_deep(at, "block comments")),
                }
                continue;
            }
            b'<' if ends_with_word(&bytes[..i], b"list") || ends_with_word(&bytes[..i], b"map") => {
                depth += 1;
                angles += 1;
                if depth > MAX_NESTING {
                    return Some(too_deep(i, "types"));
                }
            }
            b'>' if angles > 0 => {
                angles -= 1;
                depth = depth.saturating_sub(1);
            }
            b'"' => frames.push(Frame::Str),
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(too_deep(i, "brackets"));
                }
            }
            b')' | b']' | b'}' => {
                if b == b'}' && matches!(frames.last(), Some(Frame::Interp(d)) if *d == depth) {
                    frames.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        if matches!(b, b'!' | b'-') && bytes.get(i + 1) != Some(&b'=') {
            prefix_run += 1;
            if prefix_run > MAX_PREFIX_RUN {
                return Some(too_deep(i, "prefix operators"));
            }
        } else if !b.is_ascii_whitespace() {
            prefix_run = 0;
        }
        i += 1;
    }
    None
}

/// The bytes [`check_nesting`] acts on outside strings: brackets, quotes, comment marks,
/// angles and the prefix operators. It reads every other byte only as blank or not.
static MARKS: [bool; 256] = crate::byte_set(b"\"/<>()[]{}!-");

/// Whether `before` ends with `word` (after optional blanks) that is a whole word.
fn ends_with_word(before: &[u8], word: &[u8]) -> bool {
    let trimmed = before.trim_ascii_end();
    trimmed.ends_with(word) && {
        let start = trimmed.len() - word.len();
        start == 0 || !(trimmed[start - 1].is_ascii_alphanumeric() || trimmed[start - 1] == b'_')
    }
}

/// The end of the block comment at `i`, or where its nesting exceeds [`MAX_NESTING`].
fn skip_block_comment(bytes: &[u8], mut i: usize) -> Result<usize, usize> {
    let mut level = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            level += 1;
            if level > MAX_NESTING {
                return Err(i);
            }
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            level -= 1;
            i += 2;
            if level == 0 {
                return Ok(i);
            }
        } else {
            i += 1;
        }
    }
    Ok(i)
}

fn too_deep(at: usize, what: &str) -> Diagnostic<Span> {
    let at = at as u32;
    Diagnostic::new(
        Code::NestingTooDeep,
        Span::new(at, at + 1),
        format!("{what} nested too deeply"),
        "nesting exceeds the limit here",
    )
    .with_help(format!(
        "split it up: at most {MAX_NESTING} levels of brackets, types or comments and {MAX_PREFIX_RUN} prefix operators are allowed"
    ))
}
