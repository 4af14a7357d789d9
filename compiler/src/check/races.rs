//! Writes to one state cell that may happen at the same time: two steps with no path between
//! them in the workflow's DAG, or one step whose tasks run side by side (a `for` map's
//! elements, `replicas`).
//!
//! Invariant: linear in the steps for the usual shapes. The writers of a cell are taken in a
//! topological order; they are all ordered exactly when each reaches the next, and each such
//! search visits only the steps placed between the two, so a chain costs its length once.

use super::scope::ItemRef;
use super::state::{capability_access, cell, cell_loc, writers};
use super::workflow::{CheckedStep, check_workflow};
use crate::codes::Code;
use crate::db::{Db, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::item;
use crate::syntax::Span;
use crate::syntax::ast::{ItemKind, Workflow};
use hive_plan::{Conflict, Policy};

/// Why a cell's writes may overlap.
enum Race {
    /// The tasks of one step run side by side.
    Alone(usize, &'static str),
    /// Two steps with no path between them (the first comes first in the order).
    Pair(usize, usize),
}

/// Reports concurrent writers of `reject` cells (an error) and reads of cells whose
/// concurrent writers make the value depend on timing (a warning) in workflow `index`.
#[salsa::tracked]
pub fn check_races(db: &dyn Db, file: SourceFile, index: u32) {
    let checked = check_workflow(db, file, index);
    if checked.cyclic {
        return;
    }
    let written = writers(db, &checked.steps);
    if written.is_empty() {
        return;
    }
    let Some(ItemKind::Workflow(wf)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return;
    };
    let Some(order) = checked.order() else {
        return;
    };
    let mut graph = Dag::new(&checked.steps, order);
    let owner = ItemRef { file, index };
    for ((name, r), steps) in &written {
        let Some(decl) = cell(db, *r) else {
            continue;
        };
        let Some(race) = graph.first_race(&checked.steps, steps) else {
            continue;
        };
        match decl.policy {
            Policy::Conflict(Conflict::Reject) => {
                report(
                    db,
                    reject_error(db, owner, wf, &checked.steps, name, *r, race),
                );
            }
            Policy::Conflict(c) => {
                if let Some(read) = first_read(db, &checked.steps, &checked.state_reads, name) {
                    report(db, racy_read(db, owner, wf, name, *r, c, race, read));
                }
            }
            Policy::Merge(_) => {}
        }
    }
}

/// The workflow's steps as a DAG with each step's place in a topological order.
struct Dag {
    succ: Vec<Vec<usize>>,
    pos: Vec<usize>,
    /// The search that last visited each step, so that searches share one table.
    seen: Vec<u32>,
    search: u32,
}

impl Dag {
    fn new(steps: &[CheckedStep], order: &[usize]) -> Dag {
        let mut succ = vec![Vec::new(); steps.len()];
        for (i, s) in steps.iter().enumerate() {
            for (d, _) in &s.deps {
                succ[*d].push(i);
            }
        }
        let mut pos = vec![0; steps.len()];
        for (p, i) in order.iter().enumerate() {
            pos[*i] = p;
        }
        Dag {
            succ,
            pos,
            seen: vec![0; steps.len()],
            search: 0,
        }
    }

    /// Whether `to` waits, directly or not, for `from` (which is before it in the order):
    /// a search that never leaves the steps placed up to `to`.
    fn reaches(&mut self, from: usize, to: usize) -> bool {
        self.search += 1;
        let limit = self.pos[to];
        let mut stack = vec![from];
        self.seen[from] = self.search;
        while let Some(s) = stack.pop() {
            for &n in &self.succ[s] {
                if n == to {
                    return true;
                }
                if self.pos[n] < limit && self.seen[n] != self.search {
                    self.seen[n] = self.search;
                    stack.push(n);
                }
            }
        }
        false
    }

    fn first_race(&mut self, steps: &[CheckedStep], writers: &[usize]) -> Option<Race> {
        for &w in writers {
            if steps[w].map.is_some() {
                return Some(Race::Alone(w, "its `for` elements run side by side"));
            }
            if steps[w].replicas > 1 {
                return Some(Race::Alone(w, "its `replicas` run side by side"));
            }
        }
        let mut sorted = writers.to_vec();
        sorted.sort_by_key(|w| self.pos[*w]);
        sorted
            .windows(2)
            .find(|p| !self.reaches(p[0], p[1]))
            .map(|p| Race::Pair(p[0], p[1]))
    }
}

/// Where the workflow reads `cell`: an expression, or the call of a step whose capability
/// declares it in `reads`.
fn first_read(
    db: &dyn Db,
    steps: &[CheckedStep],
    reads: &[(String, Span)],
    cell: &str,
) -> Option<Span> {
    if let Some((_, span)) = reads.iter().find(|(n, _)| n == cell) {
        return Some(*span);
    }
    steps.iter().find_map(|s| match s.callee {
        Some((super::scope::DefKind::Capability, r))
            if capability_access(db, r.file, r.index)
                .reads
                .iter()
                .any(|(n, _)| n == cell) =>
        {
            Some(s.call_span)
        }
        _ => None,
    })
}

fn reject_error(
    db: &dyn Db,
    owner: ItemRef,
    wf: &Workflow,
    steps: &[CheckedStep],
    name: &str,
    r: ItemRef,
    race: Race,
) -> Diagnostic<crate::db::Loc> {
    let policy = format!("`{name}` has `conflict: reject` (the default)");
    match race {
        Race::Alone(w, why) => Diagnostic::new(
            Code::ConcurrentWrites,
            owner.loc(steps[w].call_span),
            format!(
                "step `{}` writes state `{name}` from tasks that run at the same time",
                steps[w].name
            ),
            format!("writes `{name}`; {why}"),
        )
        .with_label(cell_loc(db, r), policy)
        .with_help(format!(
            "give `{name}` a `merge` reducer that combines the writes, or `conflict: last_writer`"
        )),
        Race::Pair(a, b) => {
            let (first, second) = (&steps[a].name, &steps[b].name);
            let mut d = Diagnostic::new(
                Code::ConcurrentWrites,
                owner.loc(steps[b].call_span),
                format!(
                    "steps `{first}` and `{second}` may run at the same time and both write state `{name}`"
                ),
                format!("`{second}` writes `{name}`"),
            )
            .with_label(
                owner.loc(steps[a].call_span),
                format!("`{first}` writes `{name}`, and neither step waits for the other"),
            )
            .with_label(cell_loc(db, r), policy)
            .with_help(format!(
                "order them (`with {{ after: [{first}] }}` on `{second}`), or give `{name}` a policy for concurrent writes: `conflict: last_writer`, `first_writer` or a `merge`"
            ));
            if let Some(step) = wf.steps.get(b).filter(|s| s.options.is_empty()) {
                let end = Span::new(step.span.end, step.span.end);
                d = d.with_fix(owner.loc(end), format!(" with {{ after: [{first}] }}"));
            }
            d
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn racy_read(
    db: &dyn Db,
    owner: ItemRef,
    wf: &Workflow,
    name: &str,
    r: ItemRef,
    conflict: Conflict,
    race: Race,
    read: Span,
) -> Diagnostic<crate::db::Loc> {
    let step_name = |i: usize| wf.steps.get(i).map_or("?", |s| s.name.text.as_str());
    let which = if conflict == Conflict::FirstWriter {
        "first"
    } else {
        "last"
    };
    let (writes, at) = match race {
        Race::Alone(w, _) => (
            format!(
                "the tasks of step `{}` may write it at the same time",
                step_name(w)
            ),
            w,
        ),
        Race::Pair(a, b) => (
            format!(
                "steps `{}` and `{}` may write it at the same time",
                step_name(a),
                step_name(b)
            ),
            b,
        ),
    };
    let writer = wf.steps.get(at).map_or(read, |s| s.name.span);
    Diagnostic::new(
        Code::RacyStateRead,
        owner.loc(read),
        format!("state `{name}` is read, and {writes}"),
        format!("which value is read depends on which write comes {which}"),
    )
    .with_label(owner.loc(writer), "a concurrent writer")
    .with_label(cell_loc(db, r), format!("`{name}` has `conflict: {}`", conflict.name()))
    .with_help(format!(
        "order the writers with `after`, or give `{name}` a `merge` reducer, whose value does not depend on the order"
    ))
}
