//! Shared state: `state` cells (type, default, policy), the cells capabilities declare they
//! read and write, and which writes in a workflow may happen at the same time.

use super::props::{self, PropSpec, Values};
use super::scope::{DefKind, ItemRef, decl_span};
use super::types::{Ty, resolve_type};
use super::workflow::check_workflow;
use crate::codes::Code;
use crate::db::{Db, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::item;
use crate::syntax::Span;
use crate::syntax::ast::{ItemKeyword, ItemKind, Name};
use hive_plan::{Conflict, Policy, Reducer};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Properties of `state` items.
pub const STATE: &[PropSpec] = &[
    PropSpec {
        name: "conflict",
        doc: "what concurrent writes do: reject (default: two steps that may run at once must not both write it), last_writer, first_writer",
    },
    PropSpec {
        name: "merge",
        doc: "combine each write with the value: append, union (lists), sum, max, min (numbers)",
    },
    PropSpec {
        name: "scope",
        doc: "how long the cell lives: run (the default, one run)",
    },
];

/// A `state` item after checking.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StateDecl {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// What concurrent writes do.
    pub policy: Policy,
}

/// The `state` item `index` of `file`: its type, default and policy.
#[salsa::tracked(returns(ref))]
pub fn state_decl(db: &dyn Db, file: SourceFile, index: u32) -> Option<StateDecl> {
    let it = item(db, file, index).as_ref()?;
    let ItemKind::State(s) = &it.kind else {
        return None;
    };
    let owner = ItemRef { file, index };
    let ty = resolve_type(db, file, owner, &s.ty);
    match &s.default {
        Some(d) => {
            let mut cx = super::expr::ExprCx::new(db, file, owner);
            cx.check(
                d,
                &ty,
                format_args!("the default of state `{}`", s.name.text),
            );
        }
        None if !matches!(ty, Ty::Optional(_) | Ty::Json | Ty::Error) => report(
            db,
            Diagnostic::new(
                Code::StateWithoutDefault,
                owner.loc(s.ty.span),
                format!(
                    "state `{}` of type `{ty}` has no value before its first write",
                    s.name.text
                ),
                "not optional",
            )
            .with_help(format!(
                "give it a default (`state {}: {ty} = …`) or make it optional (`{ty}?`)",
                s.name.text
            ))
            .with_fix(owner.loc(Span::new(s.ty.span.end, s.ty.span.end)), "?"),
        ),
        None => {}
    }
    let props = props::index(db, owner, &s.properties, STATE, "a state cell");
    let values = Values { db, file, owner };
    let conflict = props.get("conflict").and_then(|p| {
        let names = Conflict::ALL.map(Conflict::name);
        let word = values.word("conflict", &p.value, &names)?;
        Conflict::ALL.into_iter().find(|c| c.name() == word)
    });
    let merge = props.get("merge").and_then(|p| {
        let names = Reducer::ALL.map(Reducer::name);
        let word = values.word("merge", &p.value, &names)?;
        Reducer::ALL.into_iter().find(|r| r.name() == word)
    });
    if let Some(p) = props.get("scope")
        && values
            .word("scope", &p.value, &["run", "global"])
            .as_deref()
            == Some("global")
    {
        report(
            db,
            Diagnostic::new(
                Code::InvalidPropertyValue,
                owner.loc(p.value.span),
                format!("state `{}` cannot be global", s.name.text),
                "not supported",
            )
            .with_help(
                "cells live for one run; keep what must outlive it in a file or a service an agent writes to",
            ),
        );
    }
    if let (Some(c), Some(m)) = (props.get("conflict"), props.get("merge")) {
        report(
            db,
            Diagnostic::new(
                Code::ConflictingProperties,
                owner.loc(m.name.span),
                format!(
                    "state `{}` has both a `conflict` policy and a `merge` reducer",
                    s.name.text
                ),
                "a merge combines concurrent writes",
            )
            .with_label(owner.loc(c.name.span), "so no conflict policy applies")
            .with_help("keep one of them"),
        );
    }
    if let (Some(r), Some(p)) = (merge, props.get("merge"))
        && !fits(r, &ty)
    {
        report(
            db,
            Diagnostic::new(
                Code::ReducerTypeMismatch,
                owner.loc(p.value.span),
                format!(
                    "`merge: {}` combines {}, and state `{}` is `{ty}`",
                    r.name(),
                    r.operands(),
                    s.name.text
                ),
                format!("combines {}", r.operands()),
            )
            .with_label(owner.loc(s.ty.span), format!("`{ty}` declared here"))
            .with_help(fit_help(r, &ty)),
        );
    }
    let policy = match merge {
        Some(r) => Policy::Merge(r),
        None => Policy::Conflict(conflict.unwrap_or(Conflict::Reject)),
    };
    Some(StateDecl {
        name: s.name.text.clone(),
        ty,
        policy,
    })
}

/// The checker's side of [`Reducer::fits`].
fn fits(r: Reducer, ty: &Ty) -> bool {
    match ty {
        Ty::Json | Ty::Error => true,
        Ty::Optional(t) | Ty::Map(t) => fits(r, t),
        Ty::List(_) => matches!(r, Reducer::Append | Reducer::Union),
        Ty::Int | Ty::Float => matches!(r, Reducer::Sum | Reducer::Max | Reducer::Min),
        _ => false,
    }
}

fn fit_help(r: Reducer, ty: &Ty) -> String {
    let numeric = matches!(ty.unwrap_optional(), Ty::Int | Ty::Float);
    match r {
        Reducer::Append | Reducer::Union if numeric => {
            "for a number use `merge: sum`, `max` or `min`".to_string()
        }
        Reducer::Sum | Reducer::Max | Reducer::Min if matches!(ty, Ty::List(_)) => {
            "for a list use `merge: append` or `union`".to_string()
        }
        _ => "use `conflict: last_writer` or `first_writer` to keep one whole value".to_string(),
    }
}

/// The state cells a capability declares: those it reads and those it writes, by their items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Access {
    /// `reads [..]`, resolved.
    pub reads: Vec<(String, ItemRef)>,
    /// `writes [..]`, resolved.
    pub writes: Vec<(String, ItemRef)>,
}

/// The cells capability `index` of `file` reads and writes; reports names that are no cell.
#[salsa::tracked(returns(ref))]
pub fn capability_access(db: &dyn Db, file: SourceFile, index: u32) -> Access {
    let Some(ItemKind::Capability(c)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return Access::default();
    };
    let owner = ItemRef { file, index };
    Access {
        reads: c
            .reads
            .iter()
            .filter_map(|n| resolve_cell(db, file, owner, n))
            .collect(),
        writes: c
            .writes
            .iter()
            .filter_map(|n| resolve_cell(db, file, owner, n))
            .collect(),
    }
}

/// The cell `name` names, or an `unknown-state` diagnostic with the closest cell's name.
pub fn resolve_cell(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    name: &Name,
) -> Option<(String, ItemRef)> {
    let kind = (DefKind::State, Code::UnknownState, "state cell");
    super::scope::resolve_named(db, file, owner, name, kind).map(|r| (name.text.clone(), r))
}

/// A cell's declaration by its item.
pub fn cell(db: &dyn Db, r: ItemRef) -> Option<&StateDecl> {
    state_decl(db, r.file, r.index).as_ref()
}

/// The cells a call of `callee` may write: a capability's `writes`, or for a workflow those of
/// every step it runs, the workflows it calls included (each counted once; a recursion, an
/// error of its own, ends there).
pub fn callee_writes(db: &dyn Db, callee: (DefKind, ItemRef)) -> Vec<(String, ItemRef)> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    collect_writes(db, callee, &mut seen, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect_writes(
    db: &dyn Db,
    (kind, r): (DefKind, ItemRef),
    seen: &mut Vec<ItemRef>,
    out: &mut Vec<(String, ItemRef)>,
) {
    match kind {
        DefKind::Capability => out.extend(capability_access(db, r.file, r.index).writes.clone()),
        DefKind::Workflow if !seen.contains(&r) => {
            seen.push(r);
            for step in &check_workflow(db, r.file, r.index).steps {
                if let Some(c) = step.callee {
                    collect_writes(db, c, seen, out);
                }
            }
        }
        _ => {}
    }
}

/// Checks every state item and every capability's `reads`/`writes` of `file`, and the
/// concurrent writes of each of its workflows.
#[salsa::tracked]
pub fn check_states(db: &dyn Db, file: SourceFile) {
    let heads = crate::queries::item_heads(db, file);
    for (index, (keyword, _)) in heads.iter().enumerate() {
        let index = index as u32;
        match keyword {
            ItemKeyword::State => {
                state_decl(db, file, index);
            }
            ItemKeyword::Capability => {
                capability_access(db, file, index);
            }
            ItemKeyword::Workflow => {
                super::races::check_races(db, file, index);
            }
            _ => {}
        }
    }
}

/// Where a cell is declared, for a label.
pub fn cell_loc(db: &dyn Db, r: ItemRef) -> crate::db::Loc {
    r.loc(decl_span(db, r))
}

/// Names of every cell written by some step, with the steps (indices) that may write it.
pub fn writers(
    db: &dyn Db,
    steps: &[super::workflow::CheckedStep],
) -> BTreeMap<(String, ItemRef), Vec<usize>> {
    let mut out: BTreeMap<(String, ItemRef), Vec<usize>> = BTreeMap::new();
    // Steps calling one callee write the same cells: their callee is read once.
    let mut of_callee: FxHashMap<(DefKind, ItemRef), Vec<(String, ItemRef)>> = FxHashMap::default();
    for (i, step) in steps.iter().enumerate() {
        if let Some(c) = step.callee {
            for w in of_callee.entry(c).or_insert_with(|| callee_writes(db, c)) {
                match out.get_mut(w) {
                    Some(writers) => writers.push(i),
                    None => _ = out.insert(w.clone(), vec![i]),
                }
            }
        }
    }
    out
}
