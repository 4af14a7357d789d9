//! Declarations: records, enums, signatures, agents, pools and routes, each checked once and
//! kept free of positions in the file so edits elsewhere do not invalidate them. This module
//! holds which items of a file are of which kind; each kind of declaration has a file of its
//! own, and they share the imports below (`use super::*`).

use super::expr::{ExprCx, Local, LocalKind};
use super::props::{self, Values};
use super::scope::{DefKind, ItemRef, expect_item, scope};
use super::types::{FieldTy, Ty, resolve_type};
use crate::codes::Code;
use crate::db::{Db, Loc, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::{item, item_heads};
use crate::syntax::Span;
use crate::syntax::ast::{Block, ExprKind, Field, FloatBits, ItemKeyword, ItemKind, Property};
use std::collections::BTreeMap;

// One file per kind of declaration.
mod agents;
mod constants;
mod pools;
mod records;
mod routes;
mod signature;
mod strategy;
pub use agents::*;
use constants::*;
pub use pools::*;
pub use records::*;
pub use routes::*;
pub use signature::*;
pub use strategy::*;

/// Which items of a file are of which kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decls {
    /// Workflow item indices and names.
    pub workflows: BTreeMap<u32, String>,
    /// Agent item indices.
    pub agents: Vec<u32>,
    /// Pool item indices.
    pub pools: Vec<u32>,
    /// Route item indices.
    pub routes: Vec<u32>,
    /// Everything else that declares something checkable.
    pub others: Vec<u32>,
}

/// The kinds of a file's items; checks every declaration that is not a workflow.
#[salsa::tracked(returns(ref))]
pub fn decls(db: &dyn Db, file: SourceFile) -> Decls {
    let mut d = Decls::default();
    for (i, (keyword, name)) in item_heads(db, file).iter().enumerate() {
        let i = i as u32;
        let r = ItemRef { file, index: i };
        match keyword {
            ItemKeyword::Workflow => {
                d.workflows.insert(i, name.clone().unwrap_or_default());
                workflow_signature(db, file, i);
            }
            ItemKeyword::Agent => {
                d.agents.push(i);
                agent(db, file, i);
            }
            ItemKeyword::Pool => {
                d.pools.push(i);
                pool(db, file, i);
            }
            ItemKeyword::Route => {
                d.routes.push(i);
                route(db, file, i);
            }
            ItemKeyword::Type => {
                d.others.push(i);
                record_fields(db, r);
            }
            ItemKeyword::Capability => {
                d.others.push(i);
                capability_signature(db, file, i);
            }
            ItemKeyword::Const => {
                d.others.push(i);
                check_const(db, file, i);
            }
            // Checked where they are used (enums, states and topics) or by the scope (imports).
            ItemKeyword::Import | ItemKeyword::Enum | ItemKeyword::State | ItemKeyword::Topic => {}
        }
    }
    d
}
