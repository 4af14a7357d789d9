//! Items nothing refers to.

use super::scope::scope;
use super::scope::{ItemRef, decl_name, decl_span};
use crate::codes::Code;
use crate::db::{Db, Used, Workspace, report};
use crate::diagnostic::Diagnostic;
use crate::queries::{check_file, item_heads, parse};
use crate::syntax::ast::ItemKeyword;
use std::collections::BTreeSet;

/// Records that `r` is used (from inside a query).
pub fn mark_used(db: &dyn Db, r: ItemRef) {
    use salsa::Accumulator;
    Used(r).accumulate(db);
}

/// Warns about types, enums, capabilities, agents and pools of the workspace's files that no
/// loaded file uses. A file without workflows is a library: its items exist to be imported.
#[salsa::tracked]
pub fn check_unused(db: &dyn Db, ws: Workspace) {
    let mut used: BTreeSet<ItemRef> = BTreeSet::new();
    for f in ws.files(db) {
        used.extend(
            check_file::accumulated::<Used>(db, *f)
                .into_iter()
                .map(|u| u.0),
        );
    }
    for f in ws.files(db) {
        if f.is_std(db) {
            continue;
        }
        let heads = item_heads(db, *f);
        // Libraries (no workflows) exist to be imported; a file with syntax errors may use
        // an item from the part that did not parse.
        if !heads.iter().any(|(k, _)| *k == ItemKeyword::Workflow)
            || !parse(db, *f).diagnostics.is_empty()
        {
            continue;
        }
        let names = scope(db, *f);
        for (i, (keyword, _)) in heads.iter().enumerate() {
            if !matches!(
                keyword,
                ItemKeyword::Type
                    | ItemKeyword::Enum
                    | ItemKeyword::Capability
                    | ItemKeyword::Agent
                    | ItemKeyword::Pool
            ) {
                continue;
            }
            let r = ItemRef {
                file: *f,
                index: i as u32,
            };
            let name = decl_name(db, r);
            // A duplicate is reported as such; its uses resolve to the first declaration.
            if used.contains(&r) || names.names.get(&name).is_some_and(|d| d.item != r) {
                continue;
            }
            report(
                db,
                Diagnostic::new(
                    Code::UnusedItem,
                    r.loc(decl_span(db, r)),
                    format!("{keyword} `{name}` is never used"),
                    "declared here",
                )
                .with_help("remove it if nothing is meant to use it"),
            );
        }
    }
}
