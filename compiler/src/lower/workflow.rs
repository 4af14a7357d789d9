//! Workflows: steps in a stable topological order, with calls, arguments, options and routing.

use super::deploy::{Cx, broadcast, resources, routing};
use super::expr::{Local, Lower, lower_type};
use crate::check::bounds::workflow_bounds;
use crate::check::decls::{callee_signature, workflow_signature};
use crate::check::scope::{DefKind, ItemRef};
use crate::check::workflow::check_workflow;
use crate::queries::item;
use crate::syntax::ast::{Field, ItemKind, StepBody, TopicOp};
use hive_plan::{Callee, Map, Options, Param, Routing, Step};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// A step's `on:` target: an agent or pool.
type Target = (DefKind, ItemRef);

/// Parameters with their defaults, lowered in the declaring file.
pub fn params(
    cx: &Cx,
    owner: ItemRef,
    decl: &[Field],
    sig: &[crate::check::decls::ParamSig],
) -> Vec<Param> {
    let lx = Lower::new(cx.db, owner.file, cx.names);
    sig.iter()
        .map(|p| Param {
            name: p.name.clone(),
            ty: lx.ty(&p.ty),
            default: decl
                .iter()
                .find(|f| f.name.text == p.name)
                .and_then(|f| f.default.as_ref())
                .map(|d| lx.expr(d)),
        })
        .collect()
}

/// Workflow `wf` lowered; `None` if it is not a workflow.
pub fn workflow(cx: &Cx, wf: ItemRef) -> Option<hive_plan::Workflow> {
    let it = item(cx.db, wf.file, wf.index).as_ref()?;
    let ItemKind::Workflow(decl) = &it.kind else {
        return None;
    };
    let sig = workflow_signature(cx.db, wf.file, wf.index).as_ref()?;
    let checked = check_workflow(cx.db, wf.file, wf.index);
    let priority = checked.priority.unwrap_or_default();

    // A cycle is an error, and lowering runs only without errors; source order otherwise.
    let in_source_order: Vec<usize>;
    let order = match checked.order() {
        Some(order) => order,
        None => {
            in_source_order = (0..checked.steps.len()).collect();
            &in_source_order
        }
    };
    // Source index → plan index.
    let mut position = vec![0; order.len()];
    for (plan_index, source_index) in order.iter().enumerate() {
        position[*source_index] = plan_index;
    }

    let mut lx = Lower::new(cx.db, wf.file, cx.names);
    lx.types = Some(&checked.types);
    lx.locals.reserve(sig.params.len() + decl.steps.len());
    for p in &sig.params {
        lx.locals.insert(p.name.clone(), Local::Param);
    }
    for (i, s) in decl.steps.iter().enumerate() {
        lx.locals
            .entry(s.name.text.clone())
            .or_insert(Local::Step(position[i]));
    }
    lx.share_locals();

    // Steps calling the same callee share its lowered parameters, routings and writes.
    let mut callees: FxHashMap<Target, Vec<Param>> = FxHashMap::default();
    let mut writes: FxHashMap<Target, Vec<String>> = FxHashMap::default();
    let mut routings: FxHashMap<(ItemRef, Option<Target>), Vec<Routing>> = FxHashMap::default();
    let mut steps = Vec::with_capacity(order.len());
    let mut last_options: Option<Arc<Options>> = None;
    let at = cx.sources.in_item(cx.db, wf.file, wf.index);
    for &i in order {
        let (step, c) = (&decl.steps[i], &checked.steps[i]);
        let mut deps: Vec<usize> = c.deps.iter().map(|(d, _)| position[*d]).collect();
        deps.sort_unstable();
        deps.dedup();
        let mut body = lx.step();
        let map = match &step.body {
            StepBody::For { var, iter, .. } => {
                let over = lx.expr(iter);
                body.locals.insert(var.text.clone(), Local::Named);
                Some(Box::new(Map {
                    var: var.text.clone(),
                    over,
                    concurrency: c.concurrency,
                }))
            }
            StepBody::Call(_) | StepBody::Publish(_) | StepBody::Receive(_) => None,
        };
        let call = step.body.call();
        let callee_params = match c.callee {
            Some((kind, r)) => callees
                .entry((kind, r))
                .or_insert_with(|| callee_params(cx, kind, r, callee_signature(cx.db, r, kind))),
            None => &mut Vec::new(),
        };
        // Arguments in parameter order; defaults come from the callee's declaration.
        let mut list = Vec::with_capacity(callee_params.len());
        list.extend(callee_params.iter().filter_map(|p| {
            let given = call
                .args
                .iter()
                .find(|a| a.name.as_ref().is_some_and(|n| n.text == p.name));
            let value = match given {
                Some(a) => Some(body.expr(&a.value)),
                None => p.default.clone().or_else(|| {
                    matches!(p.ty, hive_plan::Type::Optional(_))
                        .then(|| hive_plan::Expr::value(serde_json::Value::Null))
                }),
            }?;
            Some((p.name.clone(), value))
        }));
        let mut args = hive_plan::Args::from(list);
        let opt = |name: &str| step.options.iter().find(|o| o.name.text == name);
        let options = Options {
            retry: c.retry,
            backoff: c.backoff,
            timeout_ms: c.timeout_ms,
            priority: c.priority.unwrap_or(priority),
            replicas: c.replicas,
            consensus: c.consensus,
            resources: resources(&c.resources),
            when: opt("when").map(|p| body.expr(&p.value)),
            fallback: opt("fallback").map(|p| body.expr(&p.value)),
            key: opt("key").map(|p| body.expr(&p.value)),
        };
        // Consecutive steps mostly have the same options: they share one copy.
        let options = match &last_options {
            Some(last) if **last == options => Arc::clone(last),
            _ => last_options.insert(Arc::new(options)).clone(),
        };
        let mut broadcast_to = None;
        let (callee, routing) = match (c.callee, c.topic) {
            (_, Some((op, topic))) => {
                // The message of `publish` is its one argument; `receive` keeps `where`.
                let topic = topic.map_or_else(String::new, |t| cx.names.of(t));
                let arg = match op {
                    TopicOp::Publish => call.args.first().map(|a| ("value", a)),
                    TopicOp::Receive => call
                        .args
                        .iter()
                        .find(|a| a.name.as_ref().is_some_and(|n| n.text == "where"))
                        .map(|a| ("where", a)),
                };
                if let Some((name, a)) = arg {
                    let mut scope = lx.step();
                    scope.locals.insert("it".to_string(), Local::Named);
                    args.insert(name.to_string(), scope.expr(&a.value));
                }
                match op {
                    TopicOp::Publish => (Callee::Publish(topic), Vec::new()),
                    TopicOp::Receive => (Callee::Receive(topic), Vec::new()),
                }
            }
            (Some((DefKind::Workflow, r)), _) => (Callee::Workflow(cx.names.of(r)), Vec::new()),
            (Some((_, r)), _) if c.broadcast => {
                broadcast_to = Some(Box::new(broadcast(cx, wf.file, r, c)));
                (Callee::Capability(cx.names.of(r)), Vec::new())
            }
            (Some((_, r)), _) => {
                let routing = routings
                    .entry((r, c.on))
                    .or_insert_with(|| routing(cx, r, c.on));
                (Callee::Capability(cx.names.of(r)), routing.clone())
            }
            (None, _) => (Callee::Capability(String::new()), Vec::new()),
        };
        steps.push(Step {
            name: step.name.text.clone(),
            call: callee,
            args,
            map,
            deps,
            ty: lx.ty(&c.ty),
            options,
            routing,
            broadcast: broadcast_to,
            writes: c
                .callee
                .map(|callee| {
                    writes
                        .entry(callee)
                        .or_insert_with(|| {
                            crate::check::state::callee_writes(cx.db, callee)
                                .iter()
                                .map(|(_, r)| cx.names.of(*r))
                                .collect()
                        })
                        .clone()
                })
                .unwrap_or_default(),
            doc: step.doc.clone(),
            loc: at.loc(step.name.span),
        });
    }

    let b = workflow_bounds(cx.db, wf.file, wf.index);
    Some(hive_plan::Workflow {
        params: params(cx, wf, &decl.params, &sig.params),
        returns: lower_type(cx.names, &sig.ret),
        priority,
        timeout_ms: checked.timeout_ms,
        budget_tokens: checked.budget_tokens,
        steps,
        output: decl
            .outputs
            .first()
            .map_or(hive_plan::Expr::value(serde_json::Value::Null), |o| {
                lx.expr(o)
            }),
        bounds: hive_plan::Bounds {
            critical_path: b.critical_path.clone(),
            worst_case_ms: b.worst_case_ms,
            untimed_steps: b.untimed_steps.clone(),
            tokens: b.tokens,
            tokens_exact: b.tokens_exact,
        },
        doc: it.doc.clone(),
        loc: cx.loc(wf, decl.name.span),
    })
}

/// The parameters of a step's callee, with defaults lowered where the callee is declared.
fn callee_params(
    cx: &Cx,
    kind: DefKind,
    r: ItemRef,
    sig: Option<&crate::check::decls::Signature>,
) -> Vec<Param> {
    let Some(sig) = sig else { return Vec::new() };
    let decl: Vec<Field> = match item(cx.db, r.file, r.index).as_ref().map(|i| &i.kind) {
        Some(ItemKind::Capability(c)) if kind == DefKind::Capability => c.params.clone(),
        Some(ItemKind::Workflow(w)) if kind == DefKind::Workflow => w.params.clone(),
        _ => Vec::new(),
    };
    params(cx, r, &decl, &sig.params)
}
