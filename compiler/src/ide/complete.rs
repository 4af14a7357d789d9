//! Completion. The context is read from the text before the cursor, which is usually not a
//! well-formed file while someone types; names come from the checked scope, members from the
//! symbol index of a copy of the file with the member being typed cut out.

use super::symbols::{Symbol, at};
use crate::check::decls::{callee_signature, enum_variants, record_fields};
use crate::check::expr::FUNCTIONS;
use crate::check::props::{self, PRIORITIES, PropSpec, STRATEGIES};
use crate::check::scope::{DefKind, Resolved, own_names, resolve_path, scope};
use crate::check::types::Ty;
use crate::db::{Db, SourceFile};
use crate::format::lex::{Kind, Token, tokens};
use crate::syntax::ast::{Name, Path};
use crate::syntax::{ITEM_KEYWORDS, Span, is_name};

/// What a completion inserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// A keyword or a fixed word (strategy, priority…).
    Keyword,
    /// A property or step option.
    Property,
    /// A declared item.
    Item(DefKind),
    /// A parameter, step or loop variable.
    Local,
    /// A record field or named argument.
    Field,
    /// An enum value.
    Value,
    /// A built-in function.
    Function,
}

/// One proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// What is inserted.
    pub label: String,
    /// What it is.
    pub kind: ItemKind,
    /// A short description (a type, a signature).
    pub detail: Option<String>,
}

impl Completion {
    fn new(label: impl Into<String>, kind: ItemKind, detail: Option<String>) -> Self {
        Completion {
            label: label.into(),
            kind,
            detail,
        }
    }
}

/// Where the cursor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Context {
    /// After `prefix.`: `dot` is the offset of that dot.
    Member {
        /// The dotted name before the dot.
        prefix: String,
        /// Offset of the dot.
        dot: u32,
    },
    /// Where a key of a block goes.
    Key(&'static [PropSpec]),
    /// The value of property or option `key`.
    Value(String),
    /// Where an argument name of a call to `callee` may go.
    Args(String),
    /// Between items.
    TopLevel,
    /// Anywhere else a name may go.
    Name,
}

/// Keys of the record values that have fixed keys.
const SIMULATE: &[PropSpec] = &[
    PropSpec {
        name: "latency",
        doc: "mean duration of one task",
    },
    PropSpec {
        name: "jitter",
        doc: "uniform spread around the latency",
    },
    PropSpec {
        name: "failure_rate",
        doc: "probability that an attempt fails, 0 to 1",
    },
    PropSpec {
        name: "output",
        doc: "the value returned (default: generated from the type)",
    },
];
const RESOURCES: &[PropSpec] = &[
    PropSpec {
        name: "cpu",
        doc: "cores",
    },
    PropSpec {
        name: "memory",
        doc: "a size such as 4gb",
    },
    PropSpec {
        name: "tokens",
        doc: "model tokens",
    },
];
const BUDGET: &[PropSpec] = &[PropSpec {
    name: "tokens",
    doc: "tokens one run may use",
}];

/// The context at `offset` of `text`, and where the word being typed starts.
pub fn context(text: &str, offset: usize) -> (Context, usize) {
    let offset = offset.min(text.len());
    let bytes = text.as_bytes();
    let mut start = offset;
    while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
        start -= 1;
    }
    if start > 0 && bytes[start - 1] == b'.' {
        let dot = start - 1;
        let mut p = dot;
        while p > 0 && (bytes[p - 1].is_ascii_alphanumeric() || matches!(bytes[p - 1], b'_' | b'.'))
        {
            p -= 1;
        }
        let prefix = text[p..dot].to_string();
        if !prefix.is_empty() && !prefix.starts_with(|c: char| c.is_ascii_digit()) {
            return (
                Context::Member {
                    prefix,
                    dot: dot as u32,
                },
                start,
            );
        }
    }
    let Ok(toks) = tokens(&text[..start]) else {
        // Inside a string or comment.
        return (Context::Name, start);
    };
    if toks
        .last()
        .is_some_and(|t| matches!(t.kind, Kind::LineComment | Kind::BlockComment))
        && !text[..start].ends_with('\n')
    {
        return (Context::Name, start);
    }
    let toks: Vec<&Token> = toks
        .iter()
        .filter(|t| !matches!(t.kind, Kind::LineComment | Kind::BlockComment))
        .collect();
    // `step s = publish |` and `receive |` name a topic.
    if let [.., eq, word] = toks.as_slice()
        && eq.text == "="
        && matches!(word.text, "publish" | "receive")
    {
        return (Context::Value("topic".into()), start);
    }
    let at_line_start = text[..start].trim_end_matches([' ', '\t']).ends_with('\n');
    (block_context(&toks, at_line_start), start)
}

fn block_context(toks: &[&Token], at_line_start: bool) -> Context {
    // The innermost open bracket.
    let mut depth = 0i32;
    let mut open = None;
    for (i, t) in toks.iter().enumerate().rev() {
        if t.kind != Kind::Punct {
            continue;
        }
        match t.text {
            ")" | "]" | "}" => depth += 1,
            "(" | "[" | "{" if depth == 0 => {
                open = Some(i);
                break;
            }
            "(" | "[" | "{" => depth -= 1,
            _ => {}
        }
    }
    let Some(open) = open else {
        return Context::TopLevel;
    };
    let inside = &toks[open + 1..];
    // The element being written: what follows the last separator at this depth.
    let mut element_start = 0;
    let mut d = 0;
    for (i, t) in inside.iter().enumerate() {
        if t.kind == Kind::Punct {
            match t.text {
                "(" | "[" | "{" => d += 1,
                ")" | "]" | "}" => d -= 1,
                "," if d == 0 => element_start = i + 1,
                _ => {}
            }
        }
        if d == 0 && t.breaks > 0 && i > 0 {
            element_start = element_start.max(i);
        }
    }
    let element = &inside[element_start.min(inside.len())..];
    let fresh = element.is_empty() || (at_line_start && inside.len() == element_start);
    let colon = element
        .iter()
        .position(|t| t.kind == Kind::Punct && t.text == ":");
    let key_of = |c: usize| element.get(c.wrapping_sub(1)).map(|t| t.text.to_string());
    match toks[open].text {
        "(" => {
            let callee = callee_before(&toks[..open]);
            match (colon, callee) {
                (None, Some(c)) if fresh || element.len() <= 1 => Context::Args(c),
                _ => Context::Name,
            }
        }
        "[" => match (open >= 2).then(|| (toks[open - 1], toks[open - 2])) {
            Some((c, k)) if c.text == ":" && k.kind == Kind::Word => {
                Context::Value(k.text.to_string())
            }
            _ => Context::Name,
        },
        _ => {
            let keys = block_keys(&toks[..open]);
            match colon {
                Some(c) => key_of(c).map_or(Context::Name, Context::Value),
                None if element.len() <= 1 => match keys {
                    Some(keys) => Context::Key(keys),
                    None => Context::Name,
                },
                None => Context::Name,
            }
        }
    }
}

/// The dotted name right before an opening parenthesis.
fn callee_before(toks: &[&Token]) -> Option<String> {
    let mut parts = Vec::new();
    let mut i = toks.len();
    while i > 0 {
        let t = toks[i - 1];
        if t.kind == Kind::Word || (t.kind == Kind::Punct && t.text == ".") {
            parts.push(t.text);
            i -= 1;
        } else {
            break;
        }
    }
    parts.reverse();
    let name = parts.concat();
    (!name.is_empty() && !name.starts_with('.')).then_some(name)
}

/// The keys allowed in the block opened right after `toks`, if it has fixed keys.
fn block_keys(toks: &[&Token]) -> Option<&'static [PropSpec]> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().rev() {
        if t.kind == Kind::Punct {
            match t.text {
                ")" | "]" | "}" | ">" => depth += 1,
                "(" | "[" | "{" | "<" => depth -= 1,
                ":" if depth == 0 && i == toks.len() - 1 => {
                    return match toks.get(i.wrapping_sub(1)).map(|t| t.text) {
                        Some("simulate") => Some(SIMULATE),
                        Some("resources") => Some(RESOURCES),
                        Some("budget") => Some(BUDGET),
                        _ => None,
                    };
                }
                _ => {}
            }
            if depth < 0 {
                return None;
            }
            continue;
        }
        if depth == 0 && t.kind == Kind::Word {
            match t.text {
                "with" => return Some(props::STEP),
                "agent" => return Some(props::AGENT),
                "pool" => return Some(props::POOL),
                "route" => return Some(props::ROUTE),
                "workflow" => return Some(props::WORKFLOW),
                "type" | "enum" | "for" => return None,
                _ => {}
            }
        }
    }
    None
}

/// Proposals for `context` in `file`, whose text is `text`.
pub fn complete(
    db: &dyn Db,
    file: SourceFile,
    text: &str,
    offset: usize,
    context: &Context,
) -> Vec<Completion> {
    let mut out = Vec::new();
    let items = |kinds: &[DefKind], out: &mut Vec<Completion>| {
        for (name, def) in &scope(db, file).names {
            if kinds.contains(&def.kind) {
                out.push(Completion::new(
                    name.clone(),
                    ItemKind::Item(def.kind),
                    Some(def.kind.word().into()),
                ));
            }
        }
    };
    let words = |ws: &[&str], out: &mut Vec<Completion>| {
        out.extend(
            ws.iter()
                .map(|w| Completion::new(*w, ItemKind::Keyword, None)),
        );
    };
    match context {
        Context::Member { .. } => {}
        Context::TopLevel => words(ITEM_KEYWORDS, &mut out),
        Context::Key(keys) => {
            for k in *keys {
                out.push(Completion::new(
                    k.name,
                    ItemKind::Property,
                    Some(k.doc.to_string()),
                ));
            }
            if std::ptr::eq(*keys, props::WORKFLOW) {
                words(&["step", "output"], &mut out);
            }
        }
        Context::Value(key) => match key.as_str() {
            "strategy" => words(STRATEGIES, &mut out),
            "priority" => words(PRIORITIES, &mut out),
            "backoff" => words(&["fixed", "linear", "exponential"], &mut out),
            "consensus" => words(&["majority", "unanimous", "quorum", "first"], &mut out),
            "provides" => items(&[DefKind::Capability], &mut out),
            "members" => items(&[DefKind::Agent], &mut out),
            "subscribes" | "topic" => items(&[DefKind::Topic], &mut out),
            "on" => items(&[DefKind::Agent, DefKind::Pool], &mut out),
            "builtin" => out.push(Completion::new("\"std\"", ItemKind::Keyword, None)),
            "broadcast" => words(&["true", "false"], &mut out),
            "after" => locals(text, offset, &mut out, true),
            _ => names(db, file, text, offset, &mut out),
        },
        Context::Args(callee) => {
            let path = path_of(callee);
            if let Resolved::Item(def, used) = resolve_path(db, file, &path)
                && used == path.segments.len()
                && let Some(sig) = callee_signature(db, def.item, def.kind)
            {
                for p in &sig.params {
                    out.push(Completion::new(
                        format!("{}: ", p.name),
                        ItemKind::Field,
                        Some(p.ty.to_string()),
                    ));
                }
            }
            names(db, file, text, offset, &mut out);
        }
        Context::Name => names(db, file, text, offset, &mut out),
    }
    out
}

fn names(db: &dyn Db, file: SourceFile, text: &str, offset: usize, out: &mut Vec<Completion>) {
    locals(text, offset, out, false);
    for (name, def) in &scope(db, file).names {
        out.push(Completion::new(
            name.clone(),
            ItemKind::Item(def.kind),
            Some(def.kind.word().into()),
        ));
    }
    for f in FUNCTIONS {
        out.push(Completion::new(
            *f,
            ItemKind::Function,
            Some("function".into()),
        ));
    }
    for w in ["true", "false", "none"] {
        out.push(Completion::new(w, ItemKind::Keyword, None));
    }
}

/// Parameters and steps of the workflow around `offset`, read from the text (it is often not
/// well-formed while being edited). Only steps when `steps_only`.
fn locals(text: &str, offset: usize, out: &mut Vec<Completion>, steps_only: bool) {
    let before = &text[..offset.min(text.len())];
    let Some(header) = before
        .rmatch_indices("workflow ")
        .map(|(i, _)| i)
        .find(|i| *i == 0 || before.as_bytes()[i - 1] == b'\n')
    else {
        return;
    };
    // The workflow runs to the next line that starts at column 0 with a word.
    let body = &text[header..];
    let end = body
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|i| body[*i..].starts_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(body.len());
    let body = &body[..end];
    if !steps_only && let Some(open) = body.find('(') {
        let params = &body[open + 1..body.find(')').unwrap_or(open + 1).max(open + 1)];
        for part in params.split([',', '\n']) {
            if let Some((name, ty)) = part.split_once(':') {
                let name = name.trim();
                if is_name(name) {
                    out.push(Completion::new(
                        name,
                        ItemKind::Local,
                        Some(ty.trim().to_string()),
                    ));
                }
            }
        }
    }
    for line in body.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("step ")
            && let Some((name, _)) = rest.split_once('=')
        {
            let name = name.trim();
            if is_name(name) {
                out.push(Completion::new(name, ItemKind::Local, Some("step".into())));
            }
        }
    }
}

fn path_of(dotted: &str) -> Path {
    let segments: Vec<Name> = dotted
        .split('.')
        .map(|s| Name {
            text: s.to_string(),
            span: Span::default(),
        })
        .collect();
    Path {
        segments,
        span: Span::default(),
    }
}

/// The text to index for member completion: `text` with the member being typed (from the dot
/// at `dot` to `offset`) cut out, so that the name before the dot can be resolved.
pub fn member_patch(text: &str, dot: u32, offset: usize) -> String {
    let dot = dot as usize;
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..dot]);
    out.push_str(&text[offset.min(text.len())..]);
    out
}

/// Members of what the name ending at `dot` denotes in `patched` (see [`member_patch`]).
pub fn members(db: &dyn Db, patched: SourceFile, dot: u32, prefix: &str) -> Vec<Completion> {
    let mut out = Vec::new();
    match at(db, patched, dot) {
        Some(occ) if occ.ty.is_some() => {
            if let Some(Ty::Record(n)) = occ.ty.as_ref().map(Ty::unwrap_optional) {
                for f in record_fields(db, n.item) {
                    out.push(Completion::new(
                        f.name.clone(),
                        ItemKind::Field,
                        Some(f.ty.to_string()),
                    ));
                }
            } else if let Some(Ty::Anon(fields)) = occ.ty.as_ref().map(Ty::unwrap_optional) {
                for (name, ty) in fields {
                    out.push(Completion::new(
                        name.clone(),
                        ItemKind::Field,
                        Some(ty.to_string()),
                    ));
                }
            }
        }
        Some(occ) => {
            if let Symbol::Item(r) = occ.symbol {
                let kind = scope(db, patched)
                    .names
                    .values()
                    .find(|d| d.item == r)
                    .map(|d| (d.kind, d.module));
                match kind {
                    Some((DefKind::Enum, _)) => {
                        for v in enum_variants(db, r) {
                            out.push(Completion::new(v.clone(), ItemKind::Value, None));
                        }
                    }
                    Some((DefKind::Module, Some(m))) => {
                        for (name, def) in own_names(db, m) {
                            out.push(Completion::new(
                                name.clone(),
                                ItemKind::Item(def.kind),
                                Some(def.kind.word().into()),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        None => {}
    }
    if out.is_empty() && prefix == "state" {
        // `state.` offers the state cells, with their types.
        for (name, def) in &scope(db, patched).names {
            if def.kind == DefKind::State {
                let ty = crate::check::state::cell(db, def.item).map(|c| c.ty.to_string());
                out.push(Completion::new(name.clone(), ItemKind::Item(def.kind), ty));
            }
        }
    }
    if out.is_empty() {
        // Dotted capability names: `std.` offers `shell`, `echo`…
        let lead = format!("{prefix}.");
        for (name, def) in &scope(db, patched).names {
            if let Some(rest) = name.strip_prefix(&lead) {
                out.push(Completion::new(
                    rest,
                    ItemKind::Item(def.kind),
                    Some(def.kind.word().into()),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(src: &str) -> Context {
        let at = src.find('|').expect("cursor");
        let text = src.replace('|', "");
        context(&text, at).0
    }

    #[test]
    fn contexts() {
        assert_eq!(ctx("agent a {\n  con|"), Context::Key(props::AGENT));
        assert_eq!(
            ctx("agent a { provides: [x], |"),
            Context::Key(props::AGENT)
        );
        assert_eq!(
            ctx("pool p { strategy: |"),
            Context::Value("strategy".into())
        );
        assert_eq!(
            ctx("agent a { provides: [re|"),
            Context::Value("provides".into())
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = f(x: 1) with { ret|"),
            Context::Key(props::STEP)
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = review(|"),
            Context::Args("review".into())
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = std.shell(command: \"x\", |"),
            Context::Args("std.shell".into())
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  |"),
            Context::Key(props::WORKFLOW)
        );
        assert_eq!(ctx("agent a { simulate: { lat|"), Context::Key(SIMULATE));
        assert_eq!(
            ctx("agent a { subscribes: [al|"),
            Context::Value("subscribes".into())
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = receive ap|"),
            Context::Value("topic".into())
        );
        assert_eq!(ctx("type T { a: int }\n|"), Context::TopLevel);
        assert_eq!(
            ctx("workflow w() -> int {\n  output review.sc|"),
            Context::Member {
                prefix: "review".into(),
                dot: 37
            }
        );
    }
}
