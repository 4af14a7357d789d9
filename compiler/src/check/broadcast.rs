//! Broadcast and multicast steps: `with { broadcast: true }` sends the task to every member of
//! the step's target, `on: [a, b]` names those members. This module holds the option's rules
//! against the step's other options, who a broadcast reaches (for routing, bounds, lowering
//! and hover alike), and the routing checks of its members.
//!
//! A broadcast reaches a set of agents fixed at compile time: the members of its `on` target
//! or targets, else of its capability's first route when that route has no `when`, else every
//! agent providing the capability. Route fallbacks are not members.

use super::consts::{Const, eval};
use super::decls::{agent, route};
use super::expr::ExprCx;
use super::props::Values;
use super::routing::{report_unprovided, routing_index, target_agents};
use super::scope::{DefKind, ItemRef, decl_name, decl_span, expect_item};
use super::workflow::CheckedStep;
use crate::codes::Code;
use crate::db::{Db, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::syntax::Span;
use crate::syntax::ast::{Expr, ExprKind, Property, Step, StepBody};
use std::collections::BTreeMap;

/// Whether a step's options say `broadcast: true`, read from the syntax alone (the first
/// `broadcast` key, as the option block keeps it): a broadcast step's type is `map<R>`, known
/// before any step is checked.
pub fn declared(db: &dyn Db, file: SourceFile, step: &Step) -> bool {
    step.options
        .iter()
        .find(|o| o.name.text == "broadcast")
        .is_some_and(|o| matches!(eval(db, file, &o.value), Some(Const::Bool(true))))
}

/// `on: [a, b]`: the agents and pools listed, each once, with their places.
pub fn multicast(cx: &ExprCx, v: &Values, list: &Expr, items: &[Expr]) -> Vec<Listed> {
    let (db, owner) = (cx.db, cx.owner);
    if items.is_empty() {
        v.out_of_range(
            "on",
            "must name at least one agent or pool",
            list.span,
            Some("list the members to broadcast to, such as `on: [cache_eu, cache_us]`".into()),
        );
    }
    let mut out: Vec<Listed> = Vec::new();
    for e in items {
        let ExprKind::Path(path) = &e.kind else {
            v.ill_typed("on", "an agent or pool name", e, None);
            continue;
        };
        let Some(def) = expect_item(
            db,
            cx.file,
            owner,
            path,
            &[DefKind::Agent, DefKind::Pool],
            "agent or pool",
        ) else {
            continue;
        };
        if let Some(first) = out.iter().find(|l| l.item == def.item) {
            report(
                db,
                Diagnostic::twice(
                    format!("`{}`", path.text()),
                    "listed",
                    owner.loc(e.span),
                    Some(owner.loc(first.span)),
                ),
            );
            continue;
        }
        out.push(Listed {
            kind: def.kind,
            item: def.item,
            span: e.span,
        });
    }
    out
}

/// One agent or pool of an `on: [..]` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Listed {
    /// Agent or pool.
    pub kind: DefKind,
    /// The item.
    pub item: ItemRef,
    /// Where the list names it.
    pub span: Span,
}

/// Reads `broadcast` into `checked` and reports what it excludes: a multicast without it, a
/// `for` map, `replicas`, `consensus` and a workflow call.
pub fn check_options(
    v: &Values,
    props: &BTreeMap<&str, &Property>,
    step: &Step,
    checked: &mut CheckedStep,
) {
    let (db, owner) = (v.db, v.owner);
    let option = props.get("broadcast");
    if let Some(p) = option {
        checked.broadcast = v.bool("broadcast", &p.value).unwrap_or(false);
    }
    let on = props.get("on");
    if !checked.broadcast && !checked.multicast.is_empty() {
        let span = on.map_or(checked.call_span, |p| p.value.span);
        report(
            db,
            Diagnostic::new(
                Code::MulticastWithoutBroadcast,
                owner.loc(span),
                format!(
                    "step `{}` names a list of targets in `on`, but does not broadcast",
                    checked.name
                ),
                "a list of targets",
            )
            .with_help(
                "add `broadcast: true` to send the task to every one of them, or name one agent or pool",
            ),
        );
    }
    let Some(p) = option.filter(|_| checked.broadcast) else {
        return;
    };
    let broadcast = owner.loc(p.name.span);
    if let StepBody::For { iter, .. } = &step.body {
        report(
            db,
            Diagnostic::new(
                Code::BroadcastConflict,
                broadcast,
                format!("step `{}` maps over a list and cannot broadcast", checked.name),
                "broadcast set here",
            )
            .with_label(owner.loc(iter.span), "one task per element of this list")
            .with_help(
                "move the broadcast into a workflow and call it from the `for` step: one broadcast per element",
            ),
        );
    }
    for key in ["replicas", "consensus"] {
        if let Some(q) = props.get(key) {
            report(
                db,
                Diagnostic::new(
                    Code::BroadcastConflict,
                    owner.loc(q.name.span),
                    format!("`{key}` does not apply to a broadcast step"),
                    format!("`{key}` set here"),
                )
                .with_label(broadcast, "every member answers a broadcast")
                .with_help(format!(
                    "remove `{key}`: the broadcast keeps every member's answer in its map"
                )),
            );
        }
    }
    if let Some((DefKind::Workflow, w)) = checked.callee {
        report(
            db,
            Diagnostic::new(
                Code::BroadcastWorkflowCall,
                broadcast,
                format!(
                    "step `{}` calls workflow `{}`, which cannot be broadcast",
                    checked.name,
                    decl_name(db, w)
                ),
                "broadcast set here",
            )
            .with_label(
                owner.loc(checked.call_span),
                "a workflow runs inline, not on agents",
            )
            .with_help(format!(
                "broadcast the capability steps inside `{}` instead",
                decl_name(db, w)
            )),
        );
    }
}

/// A target a broadcast reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// Named by the step's `on` (alone, or in a list, with its place).
    Named(DefKind, ItemRef, Option<Span>),
    /// The target of the capability's first route.
    Routed(DefKind, ItemRef, ItemRef),
    /// Every agent that provides the capability (it has no route).
    Providers,
}

/// Who a broadcast step reaches: its targets and their agents that provide the capability,
/// each once, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    /// The targets.
    pub over: Vec<Over>,
    /// The member agents.
    pub members: Vec<ItemRef>,
}

/// Why a broadcast reaches no fixed set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// The capability's first route is conditional.
    Conditional(ItemRef),
    /// Nothing provides the capability, or its route did not resolve (reported elsewhere).
    Nothing,
}

/// Who broadcast step `step` of a workflow in `file` reaches when it calls `capability`.
pub fn reach(
    db: &dyn Db,
    file: SourceFile,
    step: &CheckedStep,
    capability: ItemRef,
) -> Result<Reach, Unreachable> {
    let index = routing_index(db, file);
    let over: Vec<Over> = match step.on {
        Some((kind, t)) => vec![Over::Named(kind, t, step.on_span)],
        None if !step.multicast.is_empty() => step
            .multicast
            .iter()
            .map(|l| Over::Named(l.kind, l.item, Some(l.span)))
            .collect(),
        None => match index.routes.get(&capability).and_then(|r| r.first()) {
            Some(r) => {
                let decl = route(db, r.file, r.index)
                    .as_ref()
                    .ok_or(Unreachable::Nothing)?;
                if decl.conditional {
                    return Err(Unreachable::Conditional(*r));
                }
                let (kind, t) = decl.target.ok_or(Unreachable::Nothing)?;
                vec![Over::Routed(kind, t, *r)]
            }
            None => vec![Over::Providers],
        },
    };
    let mut members: Vec<ItemRef> = Vec::new();
    for o in &over {
        let agents = match *o {
            Over::Named(kind, t, _) | Over::Routed(kind, t, _) => target_agents(db, kind, t),
            Over::Providers => index
                .providers
                .get(&capability)
                .cloned()
                .unwrap_or_default(),
        };
        for a in agents {
            if provides(db, a, capability) && !members.contains(&a) {
                members.push(a);
            }
        }
    }
    if members.is_empty() && over == [Over::Providers] {
        return Err(Unreachable::Nothing);
    }
    Ok(Reach { over, members })
}

fn provides(db: &dyn Db, a: ItemRef, capability: ItemRef) -> bool {
    agent(db, a.file, a.index)
        .as_ref()
        .is_some_and(|d| d.provides.contains(&capability))
}

/// The routing checks of broadcast step `step` (of workflow `owner`): it reaches a fixed set,
/// every target it names serves the capability (a pool's members that do not are left out,
/// with a warning), and every member can hold its `resources` demand.
pub fn check_routing(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    step: &CheckedStep,
    capability: ItemRef,
) {
    let cap = decl_name(db, capability);
    let reach = match reach(db, file, step, capability) {
        Ok(reach) => reach,
        Err(Unreachable::Conditional(r)) => {
            report(
                db,
                Diagnostic::new(
                    Code::BroadcastConditionalRoute,
                    owner.loc(step.call_span),
                    format!(
                        "step `{}` broadcasts `{cap}`, whose route chooses its target per task",
                        step.name
                    ),
                    "broadcast without `on`",
                )
                .with_label(r.loc(decl_span(db, r)), "this route has a `when`")
                .with_help(
                    "name the members with `on`: a pool, an agent or a list such as `on: [a, b]`",
                ),
            );
            return;
        }
        Err(Unreachable::Nothing) => {
            if !routing_index(db, file).routes.contains_key(&capability) {
                let help = format!("add `{cap}` to some agent's `provides`");
                report_unprovided(db, file, owner, step, capability, help);
            }
            return;
        }
    };
    for o in &reach.over {
        let Over::Named(kind, t, span) = *o else {
            continue;
        };
        let at = owner.loc(span.unwrap_or(step.call_span));
        let all = target_agents(db, kind, t);
        let lacking: Vec<ItemRef> = all
            .iter()
            .copied()
            .filter(|a| !provides(db, *a, capability))
            .collect();
        let name = decl_name(db, t);
        if !all.is_empty() && lacking.len() == all.len() {
            report(
                db,
                Diagnostic::new(
                    Code::TargetLacksCapability,
                    at,
                    format!(
                        "step `{}` broadcasts to `{name}`, which does not provide `{cap}`",
                        step.name
                    ),
                    format!("calls `{cap}`"),
                )
                .with_label(t.loc(decl_span(db, t)), format!("`{name}` declared here"))
                .with_help(format!(
                    "add `{cap}` to its `provides`, or broadcast to other targets"
                )),
            );
            continue;
        }
        for a in lacking {
            report(
                db,
                Diagnostic::new(
                    Code::MemberLacksCapability,
                    at,
                    format!(
                        "pool `{name}` member `{}` does not provide `{cap}`",
                        decl_name(db, a)
                    ),
                    format!("step `{}` broadcasts `{cap}` here", step.name),
                )
                .with_label(
                    a.loc(decl_span(db, a)),
                    format!("`{}` declared here", decl_name(db, a)),
                )
                .with_help("the broadcast leaves that member out"),
            );
        }
    }
    for a in &reach.members {
        super::unused::mark_used(db, *a);
        let fits = agent(db, a.file, a.index)
            .as_ref()
            .is_none_or(|d| d.resources.covers(&step.resources));
        if !fits {
            let member = decl_name(db, *a);
            report(
                db,
                Diagnostic::new(
                    Code::BroadcastMemberTooSmall,
                    owner.loc(step.resources_span.unwrap_or(step.call_span)),
                    format!(
                        "step `{}` demands more resources than its member `{member}` has",
                        step.name
                    ),
                    "demand declared here",
                )
                .with_label(a.loc(decl_span(db, *a)), format!("`{member}` declared here"))
                .with_help(format!(
                    "every member runs a broadcast's task: raise `{member}`'s `resources`, lower the demand, or leave it out with `on: [..]`"
                )),
            );
        }
    }
}

/// Where a broadcast step's tasks go, for hover: its members and the targets they come from.
pub fn describe(db: &dyn Db, file: SourceFile, step: &CheckedStep, capability: ItemRef) -> String {
    let Ok(reach) = reach(db, file, step, capability) else {
        return ", broadcast to no fixed set of agents".to_string();
    };
    let members: Vec<String> = reach
        .members
        .iter()
        .map(|a| format!("`{}`", decl_name(db, *a)))
        .collect();
    let over: Vec<String> = reach
        .over
        .iter()
        .map(|o| match *o {
            Over::Named(kind, t, _) => {
                format!("{} `{}` (set by `on`)", kind.word(), decl_name(db, t))
            }
            Over::Routed(kind, t, _) => {
                format!("{} `{}` (its route)", kind.word(), decl_name(db, t))
            }
            Over::Providers => "every agent providing it (no route)".to_string(),
        })
        .collect();
    format!(
        ", broadcast to {} (one task each), from {}",
        members.join(", "),
        over.join(", ")
    )
}
