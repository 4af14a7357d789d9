//! The outline of a file: its items, and inside them fields, values, parameters and steps.

use super::symbols::{Symbol, item_symbols};
use crate::db::{Db, SourceFile};
use crate::queries::parse;
use crate::syntax::Span;
use crate::syntax::ast::{ItemKeyword, ItemKind};

/// One entry of the outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name shown.
    pub name: String,
    /// What it is.
    pub kind: Part,
    /// The whole construct.
    pub span: Span,
    /// The name inside it.
    pub name_span: Span,
    /// Its parts.
    pub children: Vec<Entry>,
}

/// What an entry of the outline is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// An item, by its keyword.
    Item(ItemKeyword),
    /// A record's field.
    Field,
    /// An enum's value.
    Value,
    /// A parameter of a capability or workflow.
    Parameter,
    /// A workflow's step.
    Step,
}

impl Part {
    /// The word shown beside the entry: the item keyword, or `field`, `value`, `parameter`,
    /// `step`.
    pub fn word(self) -> &'static str {
        match self {
            Part::Item(k) => k.as_str(),
            Part::Field => "field",
            Part::Value => "value",
            Part::Parameter => "parameter",
            Part::Step => "step",
        }
    }
}

/// The outline of `file`, in source order.
pub fn outline(db: &dyn Db, file: SourceFile) -> Vec<Entry> {
    let parsed = parse(db, file);
    let mut out = Vec::new();
    for (index, (it, base)) in parsed.items.iter().zip(&parsed.offsets).enumerate() {
        let span = it.span.shift(*base);
        let (name, name_span) = match (&it.kind, it.name()) {
            (ItemKind::Capability(c), _) => (c.name.text(), c.name.span.shift(*base)),
            (ItemKind::Route(r), _) => (
                format!("{} -> {}", r.capability.text(), r.target.text()),
                r.capability.span.shift(*base),
            ),
            (ItemKind::Import(i), None) => (format!("\"{}\"", i.path), i.path_span.shift(*base)),
            (_, Some(n)) => (n.text.clone(), n.span.shift(*base)),
            (_, None) => continue,
        };
        let children = item_symbols(db, file, index as u32)
            .iter()
            .filter(|o| o.decl)
            .filter_map(|o| {
                let (name, kind) = match (&o.symbol, &it.kind) {
                    (Symbol::Member(_, n), ItemKind::Type(_)) => (n.clone(), Part::Field),
                    (Symbol::Member(_, n), ItemKind::Enum(_)) => (n.clone(), Part::Value),
                    (Symbol::Member(_, n), _) => (n.clone(), Part::Parameter),
                    (Symbol::Step(_, n), _) => (n.clone(), Part::Step),
                    _ => return None,
                };
                let span = step_span(&it.kind, &name, kind).unwrap_or(o.span);
                Some(Entry {
                    name,
                    kind,
                    span: span.shift(*base),
                    name_span: o.span.shift(*base),
                    children: Vec::new(),
                })
            })
            .collect();
        out.push(Entry {
            name,
            kind: Part::Item(it.kind.keyword()),
            span,
            name_span,
            children,
        });
    }
    out
}

/// A step covers its whole declaration, not only its name.
fn step_span(kind: &ItemKind, name: &str, what: Part) -> Option<Span> {
    match (kind, what) {
        (ItemKind::Workflow(wf), Part::Step) => wf
            .steps
            .iter()
            .find(|s| s.name.text == name)
            .map(|s| s.span),
        _ => None,
    }
}
