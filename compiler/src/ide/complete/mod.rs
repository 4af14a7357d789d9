//! Completion. The place of the cursor is read from the tree of the item around it, parsed
//! again with a placeholder where the cursor is (see [`patch`]); names come from the checked
//! scope, members from the symbol index of a copy of the file with the member being typed cut
//! out.

mod context;
mod patch;

pub use context::{Block, Context, Site, site};

use super::symbols::{Symbol, at};
use crate::check::decls::{callee_signature, enum_variants, record_fields};
use crate::check::props::PRIORITIES;
use crate::check::scope::{Def, DefKind, own_names, scope};
use crate::check::types::Ty;
use crate::db::{Db, SourceFile};
use crate::syntax::ITEM_KEYWORDS;
use hive_plan::{Function, StrategyKind};

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

/// Proposals for `site` in `file`.
pub fn complete(db: &dyn Db, file: SourceFile, site: &Site) -> Vec<Completion> {
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
    match &site.context {
        Context::Member { .. } => {}
        Context::TopLevel => words(ITEM_KEYWORDS, &mut out),
        Context::Key { block, written } => {
            let fresh = |name: &str| !written.iter().any(|w| w == name);
            for k in block.properties().iter().filter(|k| fresh(k.name)) {
                out.push(Completion::new(
                    k.name,
                    ItemKind::Property,
                    Some(k.doc.to_string()),
                ));
            }
            if *block == Block::Workflow {
                words(&["step"], &mut out);
                if fresh("output") {
                    words(&["output"], &mut out);
                }
            }
        }
        Context::Fields { record, written } => {
            if let Some(def) = item_named(db, file, record)
                && def.kind == DefKind::Type
            {
                for f in record_fields(db, def.item) {
                    if !written.contains(&f.name) {
                        out.push(Completion::new(
                            f.name.clone(),
                            ItemKind::Field,
                            Some(f.ty.to_string()),
                        ));
                    }
                }
            }
        }
        Context::Topic => items(&[DefKind::Topic], &mut out),
        Context::Value(key) => match key.as_str() {
            "strategy" => out.extend(
                StrategyKind::ALL
                    .map(|s| Completion::new(s.name(), ItemKind::Keyword, Some(s.doc().into()))),
            ),
            "priority" => words(PRIORITIES, &mut out),
            "backoff" => words(&["fixed", "linear", "exponential"], &mut out),
            "consensus" => words(&["majority", "unanimous", "quorum", "first"], &mut out),
            "provides" => items(&[DefKind::Capability], &mut out),
            "members" => items(&[DefKind::Agent], &mut out),
            "subscribes" => items(&[DefKind::Topic], &mut out),
            "on" => items(&[DefKind::Agent, DefKind::Pool], &mut out),
            "builtin" => out.push(Completion::new("\"std\"", ItemKind::Keyword, None)),
            "broadcast" => words(&["true", "false"], &mut out),
            "after" => out.extend(
                site.steps
                    .iter()
                    .map(|s| Completion::new(s.clone(), ItemKind::Local, Some("step".into()))),
            ),
            _ => names(db, file, site, &mut out),
        },
        Context::Args { callee, written } => {
            if let Some(def) = item_named(db, file, callee)
                && let Some(sig) = callee_signature(db, def.item, def.kind)
            {
                for p in sig.params.iter().filter(|p| !written.contains(&p.name)) {
                    out.push(Completion::new(
                        format!("{}: ", p.name),
                        ItemKind::Field,
                        Some(p.ty.to_string()),
                    ));
                }
            }
            names(db, file, site, &mut out);
        }
        Context::Name => names(db, file, site, &mut out),
    }
    out
}

fn names(db: &dyn Db, file: SourceFile, site: &Site, out: &mut Vec<Completion>) {
    out.extend(site.locals.iter().cloned());
    for (name, def) in &scope(db, file).names {
        out.push(Completion::new(
            name.clone(),
            ItemKind::Item(def.kind),
            Some(def.kind.word().into()),
        ));
    }
    for f in Function::all_written() {
        out.push(Completion::new(
            f.name(),
            ItemKind::Function,
            Some(format!("{}: {}", f.signature(), f.builtin().doc)),
        ));
    }
    for w in ["true", "false", "none"] {
        out.push(Completion::new(w, ItemKind::Keyword, None));
    }
}

/// The item `dotted` names in `file` (`alias.name` in an imported module), looked up without
/// counting as a use of it, which only a check records.
fn item_named(db: &dyn Db, file: SourceFile, dotted: &str) -> Option<Def> {
    let names = &scope(db, file).names;
    if let Some(def) = names.get(dotted) {
        return Some(*def);
    }
    let (alias, rest) = dotted.split_once('.')?;
    let module = names
        .get(alias)
        .filter(|d| d.kind == DefKind::Module)?
        .module?;
    own_names(db, module).get(rest).copied()
}

/// The text to index for member completion: `text` with the member being typed (from the dot
/// at `dot` to the end of the name after it, `end`) cut out, so that the name before the dot
/// can be resolved.
pub fn member_patch(text: &str, dot: u32, end: u32) -> String {
    let (dot, end) = (dot as usize, (end as usize).min(text.len()));
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..dot]);
    out.push_str(&text[end.max(dot)..]);
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
