//! Where a file may be cut into independently parsable pieces: before a top-level item.
//!
//! A cut is made only at the start of a line that begins with an item keyword at column 0,
//! outside brackets, strings and block comments, moved up over the doc comments, comments
//! and blank lines right above it (they belong to that item). Unbalanced brackets only remove
//! cuts, so a malformed file is parsed as fewer, larger pieces, never differently.
//!
//! A long workflow is cut the same way one level down: before a line inside its braces that
//! begins with `step` (see `workflow_parts.rs`).

/// The keywords that begin items.
pub const ITEM_KEYWORDS: &[&str] = &super::ast::ItemKeyword::WORDS;

/// Byte ranges covering `text` in order, each starting at an item boundary and at least
/// `min_len` long (except the last); one range when there is nothing to cut. An item of
/// `min_len` or more is a piece of its own, so a long workflow can be cut further (see
/// [`steps`]).
pub(super) fn pieces(text: &str, min_len: usize) -> Vec<std::ops::Range<usize>> {
    let cuts = cuts(text, 0, starts_item);
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &cut) in cuts.iter().enumerate() {
        let next = cuts.get(i + 1).copied().unwrap_or(text.len());
        if cut - start >= min_len || (next - cut >= min_len && cut > start) {
            out.push(start..cut);
            start = cut;
        }
    }
    out.push(start..text.len());
    out
}

/// Ranges covering `item`, a whole workflow item, each but the first starting before a
/// `step` at the workflow's top level (with the doc comments and comments above it) and at
/// least `min_len` long (except the last); one range when there is nothing to cut.
pub(super) fn steps(item: &str, min_len: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts(item, 1, |line| starts_word(line.trim_start(), "step")) {
        if cut - start >= min_len {
            out.push(start..cut);
            start = cut;
        }
    }
    out.push(start..item.len());
    out
}

/// Every line start after the first byte at bracket depth `depth_of_cut`, outside strings
/// and comments, where a line `starts` a construct (it is given the text from the line's
/// start on, and reads only as far as it needs), moved up over the comment and blank lines
/// right above it (they belong to what follows).
fn cuts(text: &str, depth_of_cut: usize, starts: impl Fn(&str) -> bool) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut cuts = Vec::new();
    // Line starts that are outside brackets, strings and comments, with whether the line is
    // trivia (blank or a `//` comment): the run of trivia lines above an item joins it.
    let mut trivia_run: Option<usize> = None;
    let mut depth = 0usize;
    let mut comment = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let at_line_start = i == 0 || bytes[i - 1] == b'\n';
        if at_line_start && depth == depth_of_cut && comment == 0 {
            // The line's start decides: it is not read to its end here.
            let line = &text[i..];
            let trimmed = line.trim_start_matches(|c: char| c != '\n' && c.is_whitespace());
            if trimmed.is_empty() || trimmed.starts_with('\n') || trimmed.starts_with("//") {
                trivia_run.get_or_insert(i);
            } else {
                if i > 0 && starts(line) {
                    cuts.push(trivia_run.unwrap_or(i));
                }
                trivia_run = None;
            }
        } else if at_line_start {
            trivia_run = None;
        }
        match bytes[i] {
            b'/' if comment == 0 && bytes.get(i + 1) == Some(&b'/') => {
                i = memchr_newline(bytes, i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                comment += 1;
                i += 2;
                continue;
            }
            b'*' if comment > 0 && bytes.get(i + 1) == Some(&b'/') => {
                comment -= 1;
                i += 2;
                continue;
            }
            _ if comment > 0 => {}
            // Strings end at their closing quote or at the end of the line; what is inside
            // an interpolation is not counted, which only hides cuts in the same line.
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\n' {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
        // Only the bytes of `SPECIAL` change the state, so skip to the next one: an editor
        // cuts the whole text again after every edit. A line start follows a `\n`, one of them.
        if i < bytes.len() && bytes[i - 1] != b'\n' {
            i += bytes[i..]
                .iter()
                .position(|&b| SPECIAL[b as usize])
                .unwrap_or(bytes.len() - i);
        }
    }
    cuts.retain(|&c| c > 0);
    cuts
}

/// The bytes [`cuts`] acts on: line ends, comment marks, quotes and brackets.
static SPECIAL: [bool; 256] = crate::byte_set(b"\n/*\"()[]{}");

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| from + n)
}

/// The line starts at column 0 with an item keyword followed by a non-name character.
fn starts_item(line: &str) -> bool {
    ITEM_KEYWORDS.iter().any(|k| starts_word(line, k))
}

/// `text` starts with the word `word`: followed by a character that cannot be in a name.
pub(super) fn starts_word(text: &str, word: &str) -> bool {
    text.strip_prefix(word)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        pieces(text, 0).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn cuts_before_items_with_their_docs() {
        let text = "type A { a: int }\n\n/// Doc.\n// note\nagent b {\n  x: 1\n}\nworkflow w() -> int {\n  output 1\n}\n";
        assert_eq!(
            split(text),
            [
                "type A { a: int }\n",
                "\n/// Doc.\n// note\nagent b {\n  x: 1\n}\n",
                "workflow w() -> int {\n  output 1\n}\n"
            ]
        );
    }

    #[test]
    fn no_cut_inside_brackets_comments_or_strings() {
        let text = "const a: json = {\nworkflow: 1 }\n/*\nagent x {}\n*/\nconst s: string = \"{\"\nagent y {}\n";
        assert_eq!(
            split(text),
            [
                "const a: json = {\nworkflow: 1 }\n/*\nagent x {}\n*/\n",
                "const s: string = \"{\"\n",
                "agent y {}\n"
            ]
        );
    }

    #[test]
    fn unbalanced_brackets_only_remove_cuts() {
        let text = "workflow w() -> int {\n  output 1\nagent a {}\nagent b {}\n";
        assert_eq!(split(text), [text]);
    }

    #[test]
    fn indented_keywords_and_longer_names_are_not_items() {
        let text = "agent a {}\n  agent b {}\nagents c\n";
        assert_eq!(split(text), [text]);
    }

    #[test]
    fn a_long_item_is_a_piece_of_its_own() {
        let text = "agent a {}\nworkflow w() -> int {\n  output 1\n}\nagent c {}\n";
        assert_eq!(pieces(text, 20), [0..11, 11..46, 46..57]);
    }

    #[test]
    fn a_workflow_is_cut_before_its_top_level_steps() {
        let item = "/// W.\nworkflow w() -> int {\n  step a = f(x: 1)\n\n  /// B.\n  step b = f(\n    step: 2)\n  steps: 1\n  step c = f(x: \"\n  step\")\n  output c\n}\n";
        let parts: Vec<&str> = steps(item, 0).into_iter().map(|r| &item[r]).collect();
        assert_eq!(
            parts,
            [
                "/// W.\nworkflow w() -> int {\n",
                "  step a = f(x: 1)\n",
                "\n  /// B.\n  step b = f(\n    step: 2)\n  steps: 1\n",
                "  step c = f(x: \"\n  step\")\n  output c\n}\n"
            ]
        );
    }

    #[test]
    fn pieces_respect_the_minimum_length() {
        let text = "agent a {}\nagent b {}\nagent c {}\n";
        let ranges = pieces(text, 15);
        assert_eq!(ranges, [0..22, 22..33]);
    }
}
