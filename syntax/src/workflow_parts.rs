//! A long workflow parsed in parts, side by side. pest keeps every token of its input until
//! the tree is built, so a workflow of 100,000 steps parsed whole holds millions of tokens at
//! once, on one core; parts cut before its steps (see [`split::steps`]) hold a part's each.

use super::ast::{Item, ItemKind, Workflow};
use super::build::{Builder, Members, docs, significant};
use super::parser::{HiveParser, Rule};
use super::{Span, split};
use pest::Parser;
use rayon::prelude::*;

/// Parts are at least this long; a workflow shorter than two parts is parsed whole.
const PART_LEN: usize = 32 * 1024;

/// Parses `piece`, one workflow item and the comments before it, in parts: the item and its
/// offset in `piece`. `None` when it is no long workflow or some part does not parse cleanly
/// on its own; the caller then parses it whole, for the messages a whole parse gives. The
/// parts in order are exactly a `workflow_item`, so a clean parse of each is the whole's.
pub(super) fn parse(piece: &str) -> Option<(Item, u32)> {
    if piece.len() < 2 * PART_LEN {
        return None;
    }
    let parts = split::steps(piece, PART_LEN);
    let (first, rest) = parts.split_first()?;
    let (tail, middle) = rest.split_last()?;
    let (head, doc, start) = head(&piece[first.clone()])?;
    let item_at = |r: &std::ops::Range<usize>| r.start as i64 - i64::from(start);
    let mut built: Vec<Members> = middle
        .par_iter()
        .map(|r| members(&piece[r.clone()], Rule::workflow_part, item_at(r)).map(|(m, _)| m))
        .collect::<Option<_>>()?;
    let (last, end) = members(&piece[tail.clone()], Rule::workflow_tail, item_at(tail))?;
    built.push(last);
    let mut wf = head;
    Members::add_all_to(built, &mut wf);
    let mut item = Item {
        doc,
        kind: ItemKind::Workflow(wf),
        span: Span::new(0, end?),
    };
    item.number_exprs();
    Some((item, start))
}

/// The first part: the workflow's head and first members, its doc comment and where the
/// item starts.
fn head(text: &str) -> Option<(Workflow, Option<String>, u32)> {
    let pair = HiveParser::parse(Rule::workflow_head, text).ok()?.next()?;
    let mut inner = pair.clone().into_inner();
    let docs_pair = inner.next()?;
    let start = docs_pair.as_span().start() as u32;
    let mut b = Builder::new(start);
    b.check_commas(inner.clone());
    let mut it = significant(inner);
    let mut wf = b.workflow_head(&mut it);
    let mut first = Members::default();
    for member in it {
        b.member(&mut first, member);
    }
    first.add_to(&mut wf);
    b.diagnostics
        .is_empty()
        .then(|| (wf, docs(docs_pair), start))
}

/// The members of a later part, whose text starts `offset` bytes into the item, and for the
/// last part the item's end (after its closing brace).
fn members(text: &str, rule: Rule, offset: i64) -> Option<(Members, Option<u32>)> {
    let pair = HiveParser::parse(rule, text).ok()?.next()?;
    let mut b = Builder::part(offset);
    b.check_commas(pair.clone().into_inner());
    let mut found = Members::default();
    let mut end = None;
    for member in significant(pair.into_inner()) {
        match member.as_rule() {
            Rule::workflow_close => end = Some(b.at(member.as_span().end())),
            _ => b.member(&mut found, member),
        }
    }
    b.diagnostics.is_empty().then_some((found, end))
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
        let text = format!("agent a {{ x: 1 }}\n{}const k: int = 1\n", long(4_000, ""));
        let start = text.find("// head").unwrap();
        let end = text.find("const k").unwrap();
        assert!(super::parse(&text[start..end]).is_some(), "parsed in parts");
        let parsed = crate::parse(&text);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed, whole(&text));
        assert_eq!(parsed.items.len(), 3);
    }

    #[test]
    fn a_mistake_in_one_part_is_reported_as_a_whole_parse_reports_it() {
        for mistake in [
            "  step bad = c(x: 1) step worse = c(x: 2)\n",
            "  step bad = c(x: 1))\n",
            "  step bad = c(x: \n",
            "  output 1 2\n",
        ] {
            let text = long(4_000, mistake);
            assert!(super::parse(&text).is_none(), "{mistake}");
            let parsed = crate::parse(&text);
            assert!(!parsed.diagnostics.is_empty(), "{mistake}");
            assert_eq!(parsed, whole(&text), "{mistake}");
        }
    }
}
