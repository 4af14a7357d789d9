//! Lowering: a checked root file and its imports to a [`hive_plan::Plan`].
//!
//! Invariant: runs only on a closure without errors, so every name resolves; the output is a
//! function of the sources alone (no clock, no environment, no hash-map order).

mod deploy;
mod expr;
mod names;
mod sources;
mod workflow;

use crate::check::decls::{capability_signature, decls, record_fields};
use crate::check::scope::{DefKind, ItemRef};
use crate::db::{Db, SourceFile};
use crate::queries::item;
use crate::syntax::ast::ItemKind;
use deploy::Cx;
use expr::{Lower, lower_type};
use hive_plan::{Capability, FieldDef, Plan, TypeDef};
use std::collections::BTreeMap;

/// The plan of `root`: its workflows (and those they call), with the types, capabilities,
/// agents and pools of its closure.
#[salsa::tracked(returns(ref))]
pub fn plan(db: &dyn Db, root: SourceFile) -> Plan {
    lower(db, root)
}

/// [`plan`] taken out of the database, which is no longer needed: what a command that
/// lowers once and then runs the plan wants, without a copy. The database is dropped on a
/// thread of its own: freeing a long file's trees and checks is a sixth of lowering it, and
/// nothing waits for it.
pub fn take_plan(db: crate::db::Database, root: SourceFile) -> Plan {
    let plan = owned_plan(&db, root)
        .take()
        .unwrap_or_else(|| plan(&db, root).clone());
    // When no thread can be started, the refused closure drops the database here.
    let _ = std::thread::Builder::new()
        .name("hive-drop-database".into())
        .spawn(move || drop(db));
    plan
}

/// The plan lowered for [`take_plan`] alone, which moves it out of the memo: the database
/// it is in is dropped right after, so the memo is never read again.
#[salsa::tracked(returns(ref), no_eq)]
fn owned_plan(db: &dyn Db, root: SourceFile) -> Taken {
    Taken(std::sync::Mutex::new(Some(lower(db, root))))
}

/// A plan that can be moved out once.
struct Taken(std::sync::Mutex<Option<Plan>>);

impl Taken {
    fn take(&self) -> Option<Plan> {
        self.0.lock().ok()?.take()
    }
}

fn lower(db: &dyn Db, root: SourceFile) -> Plan {
    let sources = sources::Sources::new(db, root);
    let names = names::Names::new(db, root, &sources.paths);
    let cx = Cx {
        db,
        root,
        names: &names,
        sources: &sources,
    };
    let mut workflows = workflows(&cx);
    Plan::number_routings(&mut workflows);
    Plan {
        format: hive_plan::FORMAT,
        compiler: env!("CARGO_PKG_VERSION").to_string(),
        source_hash: sources.hash(db),
        base: sources.base.clone(),
        sources: sources.list(),
        types: types(&cx),
        capabilities: capabilities(&cx),
        agents: deploy::agents(&cx),
        pools: deploy::pools(&cx),
        workflows,
        states: states(&cx),
        topics: topics(&cx),
    }
}

fn topics(cx: &Cx) -> BTreeMap<String, hive_plan::Topic> {
    let mut out = BTreeMap::new();
    for (r, key) in cx.names.items(cx.db, DefKind::Topic) {
        let (Some(decl), Some(it)) = (
            crate::check::topics::topic_decl(cx.db, r.file, r.index),
            item(cx.db, r.file, r.index),
        ) else {
            continue;
        };
        out.insert(
            key.clone(),
            hive_plan::Topic {
                ty: lower_type(cx.names, &decl.ty),
                retain_ms: decl.retain_ms,
                dedupe_ms: decl.dedupe_ms,
                doc: it.doc.clone(),
                loc: cx.item_loc(r),
            },
        );
    }
    out
}

fn states(cx: &Cx) -> BTreeMap<String, hive_plan::StateCell> {
    let mut out = BTreeMap::new();
    for (r, key) in cx.names.items(cx.db, DefKind::State) {
        let (Some(decl), Some(it)) = (
            crate::check::state::state_decl(cx.db, r.file, r.index),
            item(cx.db, r.file, r.index),
        ) else {
            continue;
        };
        let ItemKind::State(s) = &it.kind else {
            continue;
        };
        let lx = Lower::new(cx.db, r.file, cx.names);
        out.insert(
            key.clone(),
            hive_plan::StateCell {
                ty: lower_type(cx.names, &decl.ty),
                default: s.default.as_ref().map(|d| lx.expr(d)),
                policy: decl.policy,
                doc: it.doc.clone(),
                loc: cx.item_loc(r),
            },
        );
    }
    out
}

/// The plan keys of the cells `cells` names.
fn cell_keys(cx: &Cx, cells: &[(String, ItemRef)]) -> Vec<String> {
    cells.iter().map(|(_, r)| cx.names.of(*r)).collect()
}

fn types(cx: &Cx) -> BTreeMap<String, TypeDef> {
    let mut out = BTreeMap::new();
    for (r, key) in cx.names.items(cx.db, DefKind::Type) {
        let Some(ItemKind::Type(t)) = item(cx.db, r.file, r.index).as_ref().map(|i| &i.kind) else {
            continue;
        };
        let lx = Lower::new(cx.db, r.file, cx.names);
        let fields = record_fields(cx.db, r)
            .iter()
            .zip(&t.fields)
            .map(|(ft, f)| FieldDef {
                name: ft.name.clone(),
                ty: lower_type(cx.names, &ft.ty),
                default: f.default.as_ref().map(|d| lx.expr(d)),
            })
            .collect();
        out.insert(key.clone(), TypeDef::Record(fields));
    }
    for (r, key) in cx.names.items(cx.db, DefKind::Enum) {
        let variants = crate::check::decls::enum_variants(cx.db, r).clone();
        out.insert(key.clone(), TypeDef::Enum(variants));
    }
    out
}

fn capabilities(cx: &Cx) -> BTreeMap<String, Capability> {
    let mut out = BTreeMap::new();
    for (r, key) in cx.names.items(cx.db, DefKind::Capability) {
        let (Some(sig), Some(it)) = (
            capability_signature(cx.db, r.file, r.index),
            item(cx.db, r.file, r.index),
        ) else {
            continue;
        };
        let ItemKind::Capability(c) = &it.kind else {
            continue;
        };
        let access = crate::check::state::capability_access(cx.db, r.file, r.index);
        out.insert(
            key.clone(),
            Capability {
                params: workflow::params(cx, r, &c.params, &sig.params),
                returns: lower_type(cx.names, &sig.ret),
                reads: cell_keys(cx, &access.reads),
                writes: cell_keys(cx, &access.writes),
                doc: it.doc.clone(),
                loc: cx.item_loc(r),
            },
        );
    }
    out
}

/// The root file's workflows and every workflow they call, transitively.
fn workflows(cx: &Cx) -> BTreeMap<String, hive_plan::Workflow> {
    let mut queue: Vec<ItemRef> = decls(cx.db, cx.root)
        .workflows
        .keys()
        .map(|i| ItemRef {
            file: cx.root,
            index: *i,
        })
        .collect();
    let mut out = BTreeMap::new();
    let mut seen = Vec::new();
    while let Some(wf) = queue.pop() {
        if seen.contains(&wf) {
            continue;
        }
        seen.push(wf);
        let checked = crate::check::workflow::check_workflow(cx.db, wf.file, wf.index);
        for s in &checked.steps {
            if let Some((DefKind::Workflow, callee)) = s.callee {
                queue.push(callee);
            }
        }
        if let Some(w) = workflow::workflow(cx, wf) {
            out.insert(cx.names.of(wf), w);
        }
    }
    out
}
