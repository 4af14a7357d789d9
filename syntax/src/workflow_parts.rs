//! A long workflow parsed in parts, side by side. pest keeps every token of its input until
//! the tree is built, so a workflow of 100,000 steps parsed whole holds millions of tokens at
//! once, on one core; parts cut before its steps (see [`split::steps`]) hold a part's each.

use super::ast::{Item, ItemKind, Workflow};
use super::build::{Builder, Members, docs, significant};
use super::parser::{HiveParser, Rule};
use super::{Span, plain_step, split};
use pest::Parser;
use pest::iterators::Pair;
use rayon::prelude::*;

/// Parts are at least this long; a workflow shorter than two parts is parsed whole.
const PART_LEN: usize = 8 * 1024;

/// Parses `piece`, one workflow item and the comments before it, in parts: the item and its
/// offset in `piece`. `None` when it is no long workflow or some part does not parse cleanly
/// on its own; the caller then parses it whole, for the messages a whole parse gives. The
/// parts in order are exactly a `workflow_item`, so a clean parse of each is the whole's.
pub(super) fn parse(piece: &str) -> Option<(Item, u32)> {
    let parts = cut(piece)?;
    // Every part is parsed side by side, the first too: where the item starts is read from
    // the text, and the first part's parse must agree.
    let start = item_start(piece) as u32;
    let built: Vec<Part> = parts
        .par_iter()
        .map(|(rule, r)| {
            let text = &piece[r.clone()];
            match rule {
                Rule::workflow_head => head(text, start),
                _ => members(text, *rule, r.start as i64 - i64::from(start)),
            }
        })
        .collect::<Option<_>>()?;
    let mut built = built.into_iter();
    let first = built.next()?;
    let (mut wf, doc) = first.head?;
    let mut parts = vec![first.members];
    let mut end = None;
    for part in built {
        parts.push(part.members);
        end = part.end.or(end);
    }
    Members::add_all_to(parts, &mut wf);
    let item = Item::numbered(doc, ItemKind::Workflow(wf), Span::new(0, end?));
    Some((item, start))
}

/// pest alone over the parts [`parse`] would cut `piece` into, side by side: the number of
/// pairs, or `None` when [`parse`] would not cut it (or a part fails).
pub(super) fn recognise(piece: &str) -> Option<usize> {
    cut(piece)?
        .par_iter()
        .map(|(rule, r)| {
            let pairs = HiveParser::parse(*rule, &piece[r.clone()]).ok()?;
            Some(pairs.flatten().count())
        })
        .sum()
}

/// The parts of a long workflow with the rule each is parsed by: the head, the runs of
/// members, the tail. `None` when `piece` is too short to be worth cutting.
fn cut(piece: &str) -> Option<Vec<(Rule, std::ops::Range<usize>)>> {
    if piece.len() < 2 * PART_LEN {
        return None;
    }
    let parts = split::steps(piece, PART_LEN);
    if parts.len() < 2 {
        return None;
    }
    let last = parts.len() - 1;
    let rule = |i: usize| match i {
        0 => Rule::workflow_head,
        _ if i == last => Rule::workflow_tail,
        _ => Rule::workflow_part,
    };
    Some(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, r)| (rule(i), r))
            .collect(),
    )
}

/// What one part gave: its members, and the workflow's head (first part) or end (last).
#[derive(Default)]
struct Part {
    members: Members,
    head: Option<(Workflow, Option<String>)>,
    end: Option<u32>,
}

/// Where the item starts in `piece`: past the blank lines and comments before it (a doc
/// comment is the item's), as the grammar's `WHITESPACE` skips them.
fn item_start(piece: &str) -> usize {
    let b = piece.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && matches!(b[i], b' ' | b'\t'..=b'\r') {
            i += 1;
        }
        let rest = &piece[i..];
        if rest.starts_with("///") && !rest.starts_with("////") {
            return i;
        } else if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            let mut depth = 0usize;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else {
            return i;
        }
    }
}

/// The first part: the workflow's head and first members, and its doc comment. `start` is
/// where [`item_start`] found the item; `None` if the parse puts it elsewhere.
fn head(text: &str, start: u32) -> Option<Part> {
    let pair = HiveParser::parse(Rule::workflow_head, text).ok()?.next()?;
    let mut inner = pair.clone().into_inner();
    let docs_pair = inner.next()?;
    if docs_pair.as_span().start() as u32 != start {
        return None;
    }
    let mut b = Builder::new(start);
    b.check_commas(inner.clone());
    let mut it = significant(inner);
    let wf = b.workflow_head(&mut it);
    let mut part = Part::default();
    add_members(&mut b, it, &mut part)?;
    part.head = Some((wf, docs(docs_pair)));
    Some(part)
}

/// The members of a later part, whose text starts `offset` bytes into the item, and for the
/// last part the item's end (after its closing brace). Plain steps are read line by line
/// (see [`plain_step`]); the runs of other lines between them are parsed by the grammar, the
/// last run by `rule` (a tail's closing brace is in it). A line inside a bracket, a string
/// or a comment that began earlier leaves the run before it unclosed, so that run fails to
/// parse and the caller parses the workflow whole: a cut is never read differently.
fn members(text: &str, rule: Rule, offset: i64) -> Option<Part> {
    let mut part = Part::default();
    // Room for a step a line, as in a generated workflow, but not for a part of blank lines.
    let lines = text.bytes().filter(|&b| b == b'\n').count();
    part.members.reserve_steps(lines.min(text.len() / 16));
    let mut run = 0;
    // A plain step after a doc comment has that doc: the grammar reads both.
    let mut documented = false;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let at = line_start;
        line_start += line.len();
        let plain = (!documented)
            .then(|| plain_step::step(line, (offset + at as i64) as u32))
            .flatten();
        let trimmed = line.trim_start();
        documented = trimmed.starts_with("///")
            || (documented && (trimmed.is_empty() || trimmed.starts_with("//")));
        if let Some(step) = plain {
            if !is_blank(&text[run..at]) {
                grammar_run(
                    &text[run..at],
                    Rule::workflow_part,
                    offset + run as i64,
                    &mut part,
                )?;
            }
            part.members.push_step(step);
            run = line_start;
        }
    }
    if rule != Rule::workflow_part || !is_blank(&text[run..]) {
        grammar_run(&text[run..], rule, offset + run as i64, &mut part)?;
    }
    Some(part)
}

/// Only blanks and line ends, which the grammar reads as nothing.
fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Adds the members of `text`, parsed by `rule`, to `part`; `None` if it does not parse
/// cleanly.
fn grammar_run(text: &str, rule: Rule, offset: i64, part: &mut Part) -> Option<()> {
    let pair = HiveParser::parse(rule, text).ok()?.next()?;
    let mut b = Builder::part(offset);
    b.check_commas(pair.clone().into_inner());
    add_members(&mut b, significant(pair.into_inner()), part)
}

/// Adds the members among `pairs` to `part`, and the end of a closing brace among them;
/// `None` if building them found a problem.
fn add_members<'i>(
    b: &mut Builder,
    pairs: impl Iterator<Item = Pair<'i, Rule>>,
    part: &mut Part,
) -> Option<()> {
    for member in pairs {
        match member.as_rule() {
            Rule::workflow_close => part.end = Some(b.at(member.as_span().end())),
            _ => b.member(&mut part.members, member),
        }
    }
    b.diagnostics.is_empty().then_some(())
}

#[cfg(test)]
mod tests {
    use crate::ParsedFile;

    /// A workflow of `n` steps of every kind, with comments, doc comments, properties and
    /// outputs between them.
    fn long(n: usize, middle: &str) -> String {
        let mut out = String::from(
            "// head\n/// The workflow.\nworkflow w(xs: list<int>) -> int {\n  timeout: 5s\n",
        );
        for i in 0..n {
            let prev = if i == 0 {
                "1".to_string()
            } else {
                format!("s{}", i - 1)
            };
            match i % 5 {
                0 => out.push_str(&format!("\n  /// Step {i}.\n  step s{i} = c(x: {prev})\n")),
                1 => out.push_str(&format!(
                    "  // plain\n  step s{i} = c(x: {prev}) with {{ timeout: 1s, after: [s0] }},\n"
                )),
                2 => out.push_str(&format!("  step s{i} = for x in xs {{ c(x: x) }}\n")),
                3 => out.push_str(&format!("  step s{i} = c(\n    x: {prev}\n  )\n")),
                _ => out.push_str(&format!("  step s{i} = publish t(value: {prev})\n")),
            }
            if i == n / 2 {
                out.push_str(middle);
            }
        }
        out.push_str("  output s0\n} // end\n");
        out
    }

    fn whole(text: &str) -> ParsedFile {
        let mut out = ParsedFile::default();
        super::super::parser::parse_items(text, 0..text.len(), &mut out);
        out
    }

    #[test]
    fn a_long_workflow_in_parts_is_the_workflow_parsed_whole() {
        for before in ["", "\n/* a /* nested */ comment */\n//// not a doc\n\n"] {
            let text = format!(
                "agent a {{ x: 1 }}\n{before}{}const k: int = 1\n",
                long(4_000, "")
            );
            let start = text.find("agent a").unwrap() + "agent a { x: 1 }\n".len();
            let end = text.find("const k").unwrap();
            assert!(super::parse(&text[start..end]).is_some(), "parsed in parts");
            let parsed = crate::parse(&text);
            assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
            assert_eq!(parsed, whole(&text));
            assert_eq!(parsed.items.len(), 3);
        }
    }

    #[test]
    fn a_line_that_looks_like_a_plain_step_is_read_as_the_whole_parse_reads_it() {
        for middle in [
            "  /*\n  step y = c(x: 1)\n  */\n",
            "  step y = c(x: 1)\n    with { timeout: 1s }\n",
            "  /// Documented,\n\n  // after a blank line and a comment.\n  step y = c(x: 1)\n",
            "  output s0\n  step y = c(x: 1)\n  timeout: 2s\n",
        ] {
            let text = long(4_000, middle);
            let parsed = crate::parse(&text);
            assert!(
                parsed.diagnostics.is_empty(),
                "{middle}: {:?}",
                parsed.diagnostics
            );
            assert_eq!(parsed, whole(&text), "{middle}");
        }
    }

    #[test]
    fn a_mistake_in_one_part_is_reported_as_a_whole_parse_reports_it() {
        for mistake in [
            "  step bad = c(x: 1) step worse = c(x: 2)\n",
            "  step bad = c(x: 1))\n",
            "  step bad = c(x: \n",
            "  output 1 2\n",
            "  step y = c(x: \"${\n  step z = c(x: 1)\n  }\")\n",
            "  step y = c(x: [\n  step z = c(x: 1)\n  ])\n",
        ] {
            let text = long(4_000, mistake);
            assert!(super::parse(&text).is_none(), "{mistake}");
            let parsed = crate::parse(&text);
            assert!(!parsed.diagnostics.is_empty(), "{mistake}");
            assert_eq!(parsed, whole(&text), "{mistake}");
        }
    }
}
