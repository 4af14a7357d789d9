//! Static bounds of a workflow: critical path, worst-case duration and token demand.

use super::scope::{DefKind, ItemRef};
use super::workflow::check_workflow;
use crate::codes::Code;
use crate::db::{Db, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::item;
use crate::syntax::ast::ItemKind;

/// What the plan alone tells about a run of a workflow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// Steps of the longest path, in order.
    pub critical_path: Vec<String>,
    /// Worst-case duration in ms; `None` when a step on some path has no timeout.
    pub worst_case_ms: Option<u64>,
    /// Steps without a timeout (which make the duration unknown).
    pub untimed_steps: Vec<String>,
    /// Tokens all steps may consume.
    pub tokens: u64,
    /// Whether `tokens` is exact (false when a map's length is unknown: counted once).
    pub tokens_exact: bool,
}

/// [`bounds`] of workflow `index` of `file`, a query: the check and lowering both read it.
#[salsa::tracked(returns(ref))]
pub fn workflow_bounds(db: &dyn Db, file: SourceFile, index: u32) -> Bounds {
    bounds(db, ItemRef { file, index }, &mut Vec::new())
}

/// Computes the bounds of workflow `wf`, expanding sub-workflows; `stack` guards recursion
/// (reported elsewhere), so a recursive call counts as unknown.
fn bounds(db: &dyn Db, wf: ItemRef, stack: &mut Vec<ItemRef>) -> Bounds {
    let checked = check_workflow(db, wf.file, wf.index);
    let mut out = Bounds {
        tokens_exact: true,
        ..Bounds::default()
    };
    if checked.cyclic || stack.contains(&wf) {
        out.tokens_exact = false;
        return out;
    }
    stack.push(wf);
    let n = checked.steps.len();
    // Per step: own duration (None = unknown) and tokens.
    let mut own: Vec<Option<u64>> = Vec::with_capacity(n);
    for s in &checked.steps {
        let elements = s.map.flatten();
        let attempts = u64::from(s.retry) + 1;
        let (dur, tokens, exact) = match s.callee {
            // A publish takes no time worth counting: it is done in the runtime.
            None if matches!(s.topic, Some((crate::syntax::ast::TopicOp::Publish, _))) => {
                (Some(0), 0, true)
            }
            Some((DefKind::Workflow, target)) => {
                let b = bounds(db, target, stack);
                // Each run of the callee ends at the call's `timeout`, if not sooner.
                let run = match (b.worst_case_ms, s.timeout_ms) {
                    (Some(w), Some(t)) => Some(w.min(t)),
                    (w, t) => w.or(t),
                };
                let dur = run.map(|r| {
                    r.saturating_mul(attempts)
                        .saturating_add(s.backoff.max_total_ms(s.retry))
                });
                if dur.is_none() {
                    out.untimed_steps.push(s.name.clone());
                }
                (dur, b.tokens, b.tokens_exact)
            }
            _ => {
                let dur = s.timeout_ms.map(|t| {
                    t.saturating_mul(attempts)
                        .saturating_add(s.backoff.max_total_ms(s.retry))
                });
                if dur.is_none() {
                    out.untimed_steps.push(s.name.clone());
                }
                // Each replica, and each member of a broadcast, is a task of its own; the
                // members run side by side, so the duration is one member's.
                let tasks = match s.callee {
                    Some((DefKind::Capability, c)) if s.broadcast => {
                        super::broadcast::reach(db, wf.file, s, c)
                            .map_or(1, |r| r.members.len().max(1) as u64)
                    }
                    _ => u64::from(s.replicas),
                };
                (
                    dur,
                    s.resources.tokens.unwrap_or(0).saturating_mul(tasks),
                    true,
                )
            }
        };
        // Elements of a map run side by side, in waves of `concurrency` when it is set.
        let waves = match (elements, s.concurrency) {
            (Some(len), Some(c)) if c > 0 => len.div_ceil(u64::from(c)).max(1),
            _ => 1,
        };
        own.push(dur.map(|d| d.saturating_mul(waves)));
        out.tokens = out
            .tokens
            .saturating_add(tokens.saturating_mul(elements.unwrap_or(1)));
        out.tokens_exact &= exact && (s.map.is_none() || elements.is_some());
    }
    stack.pop();
    // Longest path: finish times in dependency order (the graph is acyclic here).
    let order = checked.order().unwrap_or_default();
    let mut finish: Vec<u64> = vec![0; n];
    let mut via: Vec<Option<usize>> = vec![None; n];
    for &i in order {
        let start = checked.steps[i]
            .deps
            .iter()
            .map(|(d, _)| (finish[*d], *d))
            .max();
        if let Some((t, d)) = start {
            finish[i] = t;
            via[i] = Some(d);
        }
        finish[i] = finish[i].saturating_add(own[i].unwrap_or(0));
    }
    let end = (0..n).max_by_key(|i| (finish[*i], std::cmp::Reverse(*i)));
    let worst = end.map_or(0, |e| finish[e]);
    let mut path = Vec::new();
    let mut at = end;
    while let Some(i) = at {
        path.push(checked.steps[i].name.clone());
        at = via[i];
    }
    path.reverse();
    out.critical_path = path;
    out.worst_case_ms = out.untimed_steps.is_empty().then_some(worst);
    out
}

/// Reports bounds that break a workflow's own limits.
#[salsa::tracked]
pub fn check_bounds(db: &dyn Db, file: SourceFile) {
    for index in super::decls::decls(db, file).workflows.keys() {
        check_bounds_of(db, file, *index);
    }
}

/// [`check_bounds`] of workflow `index`: a query of its own, so an edit of one workflow
/// bounds only that one again.
#[salsa::tracked]
pub(crate) fn check_bounds_of(db: &dyn Db, file: SourceFile, index: u32) {
    let wf = ItemRef { file, index };
    let checked = check_workflow(db, file, index);
    let b = workflow_bounds(db, file, index);
    let Some(ItemKind::Workflow(ast)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return;
    };
    let prop_span = |name: &str| {
        ast.properties
            .iter()
            .find(|p| p.name.text == name)
            .map(|p| p.value.span)
            .unwrap_or(ast.name.span)
    };
    if let (Some(limit), Some(worst)) = (checked.timeout_ms, b.worst_case_ms)
        && worst > limit
    {
        report(
            db,
            Diagnostic::new(
                Code::TimeoutExceeded,
                wf.loc(prop_span("timeout")),
                format!(
                    "workflow `{}` may take {} in the worst case, above its timeout of {}",
                    checked.name,
                    hive_plan::duration(worst),
                    hive_plan::duration(limit)
                ),
                format!("worst case along {}", b.critical_path.join(" → ")),
            )
            .with_help("raise the timeout, or lower retries and per-attempt timeouts on that path"),
        );
    }
    if let Some(budget) = checked.budget_tokens
        && b.tokens > budget
    {
        report(
            db,
            Diagnostic::new(
                Code::BudgetExceeded,
                wf.loc(prop_span("budget")),
                format!(
                    "workflow `{}` may use {} tokens, above its budget of {budget}",
                    checked.name, b.tokens
                ),
                "budget declared here",
            )
            .with_help("lower the steps' `resources.tokens`, or raise `budget.tokens`"),
        );
    }
}
