//! The pest grammar and the file-level driver: items, recovery, syntax errors.
//!
//! This module and its siblings are the only code that sees pest pairs.

use super::ast::Item;
use super::build::Builder;
use super::split::{self, ITEM_KEYWORDS};
use super::{ParsedFile, Span, limits, unclosed, workflow_parts};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use rayon::prelude::*;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/hive.pest"]
pub(super) struct HiveParser;

/// Parses a whole file. Never fails: problems come back as diagnostics (with file-relative
/// spans) and every well-formed item is kept.
pub fn parse(text: &str) -> ParsedFile {
    let mut out = ParsedFile::default();
    if text.len() > limits::MAX_FILE_BYTES {
        out.diagnostics.push(Diagnostic::new(
            Code::FileTooLarge,
            Span::new(0, 0),
            format!(
                "file is {} bytes, above the limit of {} bytes",
                text.len(),
                limits::MAX_FILE_BYTES
            ),
            "file starts here",
        ));
        return out;
    }
    if let Some(d) = limits::check_nesting(text) {
        out.diagnostics.push(d);
        return out;
    }
    let pieces = split::pieces(text, PIECE_LEN);
    if pieces.len() == 1 {
        parse_piece(text, 0..text.len(), &mut out);
        return out;
    }
    let parts: Vec<ParsedFile> = pieces
        .into_par_iter()
        .map(|range| {
            let mut part = ParsedFile::default();
            parse_piece(text, range, &mut part);
            part
        })
        .collect();
    for part in parts {
        out.items.extend(part.items);
        out.offsets.extend(part.offsets);
        out.diagnostics.extend(part.diagnostics);
        out.broken_names.extend(part.broken_names);
        out.broken_mentions.extend(part.broken_mentions);
    }
    out
}

/// Runs pest alone over `text`, cut into pieces (and a long workflow into parts) and parsed
/// side by side as [`parse`] does, without building the tree: the number of pairs it
/// produced. The benchmark uses it to tell pest's share of a parse from the tree building's.
pub fn recognise(text: &str) -> usize {
    split::pieces(text, PIECE_LEN)
        .into_par_iter()
        .map(|range| {
            let piece = &text[range];
            workflow_parts::recognise(piece).unwrap_or_else(|| {
                HiveParser::parse(Rule::file, piece).map_or(0, |pairs| pairs.flatten().count())
            })
        })
        .sum()
}

/// Parses `text` like [`parse`], one piece of at least `min_len` bytes at a time, taking each
/// piece's items from `reuse` (which parses the piece's text alone, typically from a cache).
/// A piece with a syntax error is parsed again in place, so its messages are those of a whole
/// parse; clean pieces parse alone exactly as in place (they start at item boundaries).
pub fn parse_reusing(
    text: &str,
    min_len: usize,
    mut reuse: impl FnMut(&str) -> ParsedFile,
) -> ParsedFile {
    if text.len() > limits::MAX_FILE_BYTES {
        return parse(text);
    }
    let mut out = ParsedFile::default();
    for range in split::pieces(text, min_len) {
        let part = reuse(&text[range.clone()]);
        if part.diagnostics.is_empty() {
            out.items.extend(part.items);
            out.offsets
                .extend(part.offsets.iter().map(|o| o + range.start as u32));
            out.broken_names.extend(part.broken_names);
            out.broken_mentions.extend(part.broken_mentions);
        } else if limits::check_nesting(&text[range.clone()]).is_some() {
            // Too deep to parse: reported for the whole file, as a whole parse does.
            return parse(text);
        } else {
            parse_piece(text, range, &mut out);
        }
    }
    out
}

/// Parses a piece of a file on its own (see [`parse_reusing`]); nesting is bounded per piece
/// (pieces are cut outside brackets, so a piece's depth is its own).
pub fn parse_alone(piece: &str) -> ParsedFile {
    let mut out = ParsedFile::default();
    if let Some(d) = limits::check_nesting(piece) {
        out.diagnostics.push(d);
        return out;
    }
    parse_piece(piece, 0..piece.len(), &mut out);
    out
}

/// Pieces of a large file are parsed side by side; smaller ones are not worth a thread.
const PIECE_LEN: usize = 64 * 1024;

/// Parses the items of `text[range]`, which starts at an item boundary, into `out` with
/// file-relative offsets. A malformed item is explained against the rest of the whole file,
/// so the message is the same as from a parse in one piece.
fn parse_piece(text: &str, range: std::ops::Range<usize>, out: &mut ParsedFile) {
    let at = range.start;
    let piece = &text[range];
    if let Some((item, start)) = workflow_parts::parse(piece) {
        out.items.push(std::sync::Arc::new(item));
        out.offsets.push(at as u32 + start);
        return;
    }
    parse_items(text, at..at + piece.len(), out);
}

/// [`parse_piece`] with pest over the whole piece.
pub(super) fn parse_items(text: &str, range: std::ops::Range<usize>, out: &mut ParsedFile) {
    let at = range.start;
    let piece = &text[range];
    let file = match HiveParser::parse(Rule::file, piece) {
        Ok(mut pairs) => pairs.next(),
        Err(e) => {
            // `junk` accepts any line, so the file rule fails only on pathological input.
            let e = parse_detailed(Rule::file, piece).err().unwrap_or(e);
            out.diagnostics.push(syntax_error(text, at, &e));
            return;
        }
    };
    let mut junk_start: Option<usize> = None;
    // A malformed region runs from its first line to where the next item or attempt starts.
    let malformed = |out: &mut ParsedFile, region: std::ops::Range<usize>| {
        out.diagnostics.push(explain_junk(text, region.clone()));
        out.broken_names.extend(attempted_name(text, region.start));
        out.broken_mentions.extend(deploy_mentions(&text[region]));
    };
    for pair in file.into_iter().flat_map(|f| f.into_inner()) {
        match pair.as_rule() {
            Rule::junk => {
                let start = at + pair.as_span().start();
                // Doc comments and comments alone belong to the attempt that follows them.
                let attempt = |open: &usize| {
                    starts_item_attempt(text, start) && !only_comments(&text[*open..start])
                };
                if let Some(open) = junk_start.filter(attempt) {
                    malformed(out, open..start);
                    junk_start = Some(start);
                } else {
                    junk_start.get_or_insert(start);
                }
            }
            Rule::item => {
                if let Some(start) = junk_start.take() {
                    malformed(out, start..at + pair.as_span().start());
                }
                let local = pair.as_span().start() as u32;
                let base = at as u32 + local;
                let mut builder = Builder::new(local);
                let item: Item = builder.item(pair);
                out.diagnostics.extend(
                    builder
                        .diagnostics
                        .into_iter()
                        .map(|d| d.map_loc(|s| s.shift(base))),
                );
                out.items.push(std::sync::Arc::new(item));
                out.offsets.push(base);
            }
            _ => {}
        }
    }
    if let Some(start) = junk_start {
        malformed(out, start..at + piece.len());
    }
}

/// The name a malformed item starts to declare: the word after its keyword.
fn attempted_name(text: &str, start: usize) -> Option<String> {
    let line = text[start..].lines().next()?;
    let mut words = line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'));
    let keyword = words.next()?;
    if !ITEM_KEYWORDS.contains(&keyword) || keyword == "import" || keyword == "route" {
        return None;
    }
    words.find(|w| !w.is_empty()).map(str::to_string)
}

/// The names a malformed agent or route mentions (those of any other item, none).
fn deploy_mentions(region: &str) -> Vec<String> {
    let head = region
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with("//"));
    if !head.is_some_and(|h| ["agent", "route"].iter().any(|k| split::starts_word(h, k))) {
        return Vec::new();
    }
    region
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| crate::is_name(w))
        .map(str::to_string)
        .collect()
}

/// Whether `text` holds only comments (doc comments included) and blank lines.
fn only_comments(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim_start();
        l.is_empty() || l.starts_with("//")
    })
}

/// Within a malformed region, a line at column 0 that starts with a name or a doc comment is
/// taken as the next item's attempt (bodies are indented, closing braces are not names).
fn starts_item_attempt(text: &str, start: usize) -> bool {
    let at_line_start = start == 0 || text.as_bytes()[start - 1] == b'\n';
    let rest = &text[start..];
    at_line_start
        && (rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            || rest.starts_with("///"))
}

/// A run of lines that starts no well-formed item: parse an item there once more to learn
/// where and why it fails.
/// Parses with pest's detailed attempts, which name the literal tokens that were expected
/// (`}`, `:`) but slow a parse several times over, so they are on only to explain an error.
/// The switch is process-wide and read when a parse starts: the lock keeps one explaining
/// parse from switching it off under another, and a parse of another thread that starts in
/// the window is merely slower.
fn parse_detailed(rule: Rule, text: &str) -> Result<(), pest::error::Error<Rule>> {
    static DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = DETAIL.lock().unwrap_or_else(|e| e.into_inner());
    pest::set_error_detail(true);
    let result = HiveParser::parse(rule, text).map(|_| ());
    pest::set_error_detail(false);
    result
}

/// How far past the furthest failure pest may have read: the longest literal token or
/// lookahead of the grammar, with room to spare.
const READ_AHEAD: usize = 64;

fn explain_junk(text: &str, region: std::ops::Range<usize>) -> Diagnostic<Span> {
    if let Some(open) = unclosed::unclosed(text, region.clone()) {
        return unclosed_bracket(text, region, open);
    }
    let start = region.start;
    // pest finds the line of an error by scanning back from the end of its input, so parsing
    // the whole rest of the file for every malformed item would cost the square of a file full
    // of them. The item is parsed within a window that widens until the failure lies well
    // inside it, where the text past the window cannot have changed the outcome.
    let mut window = 4096;
    let result = loop {
        let end = text.len().min(start + window);
        let end = (end..=text.len())
            .find(|&e| text.is_char_boundary(e))
            .unwrap_or(text.len());
        let result = parse_detailed(Rule::item, &text[start..end]);
        let inside = match &result {
            Err(e) => furthest(e) + READ_AHEAD < end - start,
            Ok(()) => false,
        };
        if inside || end == text.len() {
            break result;
        }
        window *= 4;
    };
    match result {
        Err(e) => syntax_error(text, start, &e),
        Ok(_) => {
            let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
            Diagnostic::new(
                Code::SyntaxError,
                Span::new(start as u32, end as u32),
                "unexpected text",
                "not part of any item",
            )
        }
    }
}

/// A malformed item with a bracket left open: the bracket, the item it is in, and where its
/// closer belongs, with the edit that adds it.
fn unclosed_bracket(
    text: &str,
    region: std::ops::Range<usize>,
    open: unclosed::Unclosed,
) -> Diagnostic<Span> {
    let bytes = text.as_bytes();
    let bracket = open.bracket as char;
    let closer = open.closer();
    let line_of = |at: usize| bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
    let header = item_header(text, region.clone());
    let message = match &header {
        Some((_, what)) => format!("unclosed `{bracket}` in {what}"),
        None => format!("unclosed `{bracket}`"),
    };
    let mut d = Diagnostic::new(
        Code::SyntaxError,
        Span::new(open.open as u32, open.open as u32 + 1),
        message,
        format!("this `{bracket}` is never closed"),
    );
    if let Some((span, what)) = header {
        d = d.with_label(span, format!("{what} starts here"));
    }
    if let Some((at, outer)) = open.shown_by {
        let what = if outer {
            format!("this `{}` closes an outer bracket first", bytes[at] as char)
        } else {
            format!("this `{closer}` is taken to close it, but is indented for an outer one")
        };
        d = d.with_label(Span::new(at as u32, at as u32 + 1), what);
    } else if let Some(next) = next_word(text, region.end) {
        d = d.with_label(next, "the next item starts here");
    } else {
        let end = text.len() as u32;
        d = d.with_label(Span::new(end, end), "the file ends here");
    }
    let insert = unclosed::closer_place(text, &open);
    let open_line = unclosed::line_start(bytes, open.open);
    // On the bracket's own line, unless a comment ends that line.
    let same_line = unclosed::line_start(bytes, insert) == open_line;
    let replacement = if same_line && !text[open.open..insert].contains("//") {
        format!(" {closer}")
    } else {
        let indent = unclosed::indent(bytes, open_line);
        format!("\n{}{closer}", &text[open_line..open_line + indent])
    };
    d.with_help(format!(
        "close it with `{closer}` at the end of line {}",
        line_of(insert)
    ))
    .with_fix(Span::new(insert as u32, insert as u32), replacement)
}

/// The keyword and name a malformed region starts to declare (`agent \`scorer\``), with
/// their span; `None` when its first line of code starts no item.
fn item_header(text: &str, region: std::ops::Range<usize>) -> Option<(Span, String)> {
    let mut at = region.start;
    // Doc comments, comments and blank lines may come before the keyword.
    loop {
        let line = text[at..region.end].lines().next()?;
        let code = line.trim_start();
        if !(code.is_empty() || code.starts_with("//")) {
            at += line.len() - code.len();
            break;
        }
        at += line.len() + 1;
        if at >= region.end {
            return None;
        }
    }
    let rest = &text[at..region.end];
    let word = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(s.len())
    };
    let keyword = &rest[..word(rest)];
    if !ITEM_KEYWORDS.contains(&keyword) {
        return None;
    }
    let after = &rest[keyword.len()..];
    let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
    let name = &after[gap..gap + word(&after[gap..])];
    if name.is_empty() {
        let span = Span::new(at as u32, (at + keyword.len()) as u32);
        return Some((span, format!("this `{keyword}`")));
    }
    let end = at + keyword.len() + gap + name.len();
    Some((
        Span::new(at as u32, end as u32),
        format!("{keyword} `{name}`"),
    ))
}

/// The first word of code at or after `from` (past comments and blank lines), if any.
fn next_word(text: &str, from: usize) -> Option<Span> {
    let mut at = from;
    for line in text[from..].split_inclusive('\n') {
        let code = line.trim_start();
        if !(code.trim_end().is_empty() || code.starts_with("//")) {
            let start = at + line.len() - code.len();
            let (_, len) = token_at(text, start);
            return Some(Span::new(start as u32, (start + len) as u32));
        }
        at += line.len();
    }
    None
}

/// Where a parse failed: the furthest position any rule or literal token was tried at.
fn furthest(e: &pest::error::Error<Rule>) -> usize {
    let rule_pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // The detailed attempts reach further than the rule positives when a literal token failed;
    // a token matched inside a lookahead (an operator's first character) moves them on with
    // nothing expected there, which says nothing.
    e.parse_attempts()
        .filter(|a| !a.expected_tokens().is_empty())
        .map_or(rule_pos, |a| a.max_position.max(rule_pos))
}

fn syntax_error(text: &str, base: usize, e: &pest::error::Error<Rule>) -> Diagnostic<Span> {
    let rule_pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let attempts = e.parse_attempts();
    let furthest = furthest(e);
    let pos = base + furthest;
    let (found, len) = token_at(text, pos);
    let mut rules: Vec<&str> = Vec::new();
    if let ErrorVariant::ParsingError { positives, .. } = &e.variant
        && rule_pos == furthest
    {
        for rule in positives {
            let name = describe(*rule);
            if !name.is_empty() && !rules.contains(&name) {
                rules.push(name);
            }
        }
    }
    let mut expected: Vec<String> = Vec::new();
    // Literal tokens (`}`, `:`, `->`) are known only from the detailed attempts.
    if let Some(attempts) = &attempts {
        for token in attempts.expected_tokens() {
            let token = token.to_string();
            // Character ranges (`a..z`) and built-ins say nothing a person needs; whitespace
            // and comment openers are always possible; tokens that start an expression or a
            // name are summed up by those words.
            let range = token.chars().count() == 4 && token.get(1..3) == Some("..");
            let trivia = token.trim().is_empty() || token.starts_with('/') || range;
            // An argument starts with an expression.
            let covered = ((rules.contains(&"an expression") || rules.contains(&"an argument"))
                && EXPR_START.contains(&token.as_str()))
                || token == "_"
                || (rules.contains(&"an item") && ITEM_KEYWORDS.contains(&token.as_str()));
            // The first character of an operator, looked at before operators are tried.
            if token == "|" {
                if !rules.contains(&"an operator") {
                    rules.push("an operator");
                }
                continue;
            }
            let quoted = format!("`{token}`");
            if !trivia && !covered && !expected.contains(&quoted) {
                expected.push(quoted);
            }
            // `_` is what an identifier may start with: say "a name" instead.
            if token == "_" && !rules.contains(&"a name") {
                rules.push("a name");
            }
        }
    }
    // A rule described by its token (`,`) may have been expected as that token too.
    for rule in rules {
        if !expected.iter().any(|e| e == rule) {
            expected.push(rule.to_string());
        }
    }
    let expected = match expected.as_slice() {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    let at_item_start = pos == base;
    let mut d = Diagnostic::new(
        Code::SyntaxError,
        Span::new(pos as u32, (pos + len) as u32),
        format!("expected {expected}, found {found}"),
        format!("expected {expected}"),
    );
    if at_item_start {
        let word = &text[pos..pos + len];
        d = d.with_did_you_mean(word, ITEM_KEYWORDS.iter().copied());
    }
    d
}

/// What stands at `pos`, for "found …", and its length in bytes.
fn token_at(text: &str, pos: usize) -> (String, usize) {
    let rest = &text[pos.min(text.len())..];
    let Some(c) = rest.chars().next() else {
        return ("end of file".to_string(), 0);
    };
    if c.is_ascii_alphanumeric() || c == '_' {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (format!("`{}`", &rest[..len]), len)
    } else if c == '\n' || c == '\r' {
        ("end of line".to_string(), 1)
    } else {
        (format!("`{c}`"), c.len_utf8())
    }
}

/// Literal tokens that can begin an expression.
const EXPR_START: &[&str] = &["!", "\"", "(", "-", "[", "_", "{", "true", "false", "none"];

/// How a rule is named in "expected …"; empty for rules never worth naming.
fn describe(rule: Rule) -> &'static str {
    use Rule::*;
    match rule {
        ident | path | key => "a name",
        docs | doc => "",
        item => "an item",
        expr | element | expr_head | operand | operand_el | operand_head | paren | size
        | duration | float | int | string | kw_true | kw_false | kw_none | list | record
        | record_body | call | call_args | neg | not => "an expression",
        range_op | or | and | eq | ne | le | ge | lt | gt | coalesce | add | sub | mul | div
        | rem => "an operator",
        field_access => "`.`",
        index | bracket => "`[`",
        type_expr | list_type | map_type => "a type",
        optional => "`?`",
        comma => "`,`",
        property => "a property",
        field => "a field",
        variant => "an enum value",
        param | params => "a parameter",
        arg => "an argument",
        field_init => "a field",
        step | kw_step => "`step`",
        output | kw_output => "`output`",
        for_call | kw_for => "`for`",
        kw_in => "`in`",
        kw_with => "`with`",
        kw_as => "`as`",
        properties => "`{`",
        import_item | kw_import => "`import`",
        const_item | kw_const => "`const`",
        type_item | kw_type => "`type`",
        enum_item | kw_enum => "`enum`",
        capability_item | kw_capability => "`capability`",
        agent_item | kw_agent => "`agent`",
        pool_item | kw_pool => "`pool`",
        route_item | kw_route => "`route`",
        workflow_item | kw_workflow => "`workflow`",
        state_item | kw_state => "`state`",
        topic_item | kw_topic => "`topic`",
        topic_call => "`publish` or `receive`",
        kw_publish => "`publish`",
        kw_receive => "`receive`",
        reads | kw_reads => "`reads`",
        writes | kw_writes => "`writes`",
        name_list => "`[`",
        str_text | escape | interp => "string contents",
        EOI => "end of file",
        _ => "something else",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> ParsedFile {
        let mut out = ParsedFile::default();
        parse_piece(text, 0..text.len(), &mut out);
        out
    }

    /// In a list or argument list, where commas are optional at line ends, a bracket after an
    /// operand is an index when it holds one element; otherwise it starts the next element.
    #[test]
    fn a_bracket_that_is_not_an_index_starts_the_next_element() {
        let same = |a: &str, b: &str| {
            let (a, b) = (parse(a), parse(b));
            assert_eq!(a.diagnostics, []);
            assert_eq!(b.diagnostics, []);
            let shape = |items: &[std::sync::Arc<crate::ast::Item>]| {
                crate::without_spans(|| format!("{items:?}"))
            };
            assert_eq!(shape(&a.items), shape(&b.items));
        };
        same(
            "const c: json = [a\n[1, 2][0] + b\n[]\n[c, d]\n!a\n[1]]",
            "const c: json = [a, [1, 2][0] + b, [], [c, d], !a[1]]",
        );
        same(
            "const c: json = f(x: a\n[1, 2], y: b\n[[1]\n[2, 3]])",
            "const c: json = f(x: a, [1, 2], y: b, [[1], [2, 3]])",
        );
        let one_line = parse("const c: json = [a [1, 2]]");
        let codes: Vec<Code> = one_line.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::MissingComma]);
    }

    /// A list's element that is one literal or name is built from that literal's own pair,
    /// with no `element` pair or comma token around it; the tree is what the long form gives,
    /// and a missing comma is still found between the elements.
    #[test]
    fn a_list_of_literals_and_names_costs_one_pair_an_element() {
        let shape = |text: &str| {
            let parsed = parse(text);
            assert_eq!(parsed.diagnostics, [], "{text}");
            crate::without_spans(|| format!("{:?}", parsed.items))
        };
        assert_eq!(
            shape("const c: json = [1, a.b, \"s\", true, none, 2s, 1kb, 1.5, \"${x}\", -1]"),
            shape(
                "const c: json = [(1), (a.b), (\"s\"), (true), (none), (2s), (1kb), (1.5), \"${x}\", -1]"
            ),
        );
        assert_eq!(
            shape("const c: json = [1 /* , */, 2 // ,\n 3]"),
            shape("const c: json = [(1), (2), (3)]"),
        );
        for one_line in ["const c: json = [1 2]", "const c: json = [1 /* , */ 2]"] {
            let codes: Vec<Code> = parse(one_line).diagnostics.iter().map(|d| d.code).collect();
            assert_eq!(codes, [Code::MissingComma], "{one_line}");
        }
        let n = 1000;
        let text = format!("const c: list<int> = [{}]", vec!["7"; n].join(", "));
        let pairs = HiveParser::parse(Rule::file, &text)
            .expect("parses")
            .flatten()
            .count();
        assert!(pairs < n + 20, "{pairs} pairs for {n} elements");
    }

    /// A file large enough to be cut: every example and every error fixture, many times,
    /// so well-formed and malformed items meet at piece boundaries.
    #[test]
    fn pieces_parse_exactly_like_the_whole_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut sources = Vec::new();
        for dir in ["examples", "tests/errors"] {
            let mut entries: Vec<_> = std::fs::read_dir(root.join(dir))
                .expect("read examples")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "hive"))
                .collect();
            entries.sort();
            // The fixture of a file that is not UTF-8 is no text to parse.
            sources.extend(
                entries
                    .iter()
                    .filter_map(|p| std::fs::read_to_string(p).ok()),
            );
        }
        // A text nested past the limits is refused whole before it is cut, so the fixture of
        // that refusal would refuse all of them; a bracket left open hides every cut after
        // it, so the fixtures of unclosed brackets would leave one piece.
        sources.retain(|s| {
            !parse(s)
                .diagnostics
                .iter()
                .any(|d| d.code == Code::NestingTooDeep || d.message.starts_with("unclosed"))
        });
        let mut text = String::new();
        while text.len() < 4 * PIECE_LEN {
            for s in &sources {
                text.push_str(s);
                text.push('\n');
            }
        }
        assert!(split::pieces(&text, PIECE_LEN).len() > 2);
        let pieces = parse(&text);
        let one = whole(&text);
        assert!(!one.diagnostics.is_empty() && one.items.len() > 100);
        assert_eq!(pieces, one);
    }
}
