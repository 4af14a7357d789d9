//! Routing: which agents can serve each step, checked against what they provide, their
//! resources and their number.

use super::decls::{self, Resources, agent, pool, route};
use super::graph::file_closure;
use super::scope::{DefKind, ItemRef, decl_name, decl_span};
use super::workflow::{CheckedStep, check_workflow};
use crate::codes::Code;
use crate::db::{Db, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::item;
use crate::syntax::ast::ItemKind;
use rustc_hash::{FxHashMap, FxHashSet};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The agents, pools and routes visible to a file: its own and those of every file it imports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deployment {
    /// Every agent.
    pub agents: Vec<ItemRef>,
    /// Every pool.
    pub pools: Vec<ItemRef>,
    /// Every route, in declaration order (first match wins).
    pub routes: Vec<ItemRef>,
}

/// The deployment a file runs in.
#[salsa::tracked(returns(ref))]
pub fn deployment(db: &dyn Db, file: SourceFile) -> Deployment {
    let mut d = Deployment::default();
    for f in file_closure(db, file) {
        let decls = decls::decls(db, *f);
        d.agents.extend(decls.agents.iter().map(|i| ItemRef {
            file: *f,
            index: *i,
        }));
        d.pools.extend(decls.pools.iter().map(|i| ItemRef {
            file: *f,
            index: *i,
        }));
        d.routes.extend(decls.routes.iter().map(|i| ItemRef {
            file: *f,
            index: *i,
        }));
    }
    d
}

/// The names that malformed agents and routes of `file`'s deployment mention.
#[salsa::tracked(returns(ref))]
pub fn broken_mentions(db: &dyn Db, file: SourceFile) -> std::collections::BTreeSet<String> {
    file_closure(db, file)
        .iter()
        .flat_map(|f| {
            crate::queries::parse(db, *f)
                .broken_mentions
                .iter()
                .cloned()
        })
        .collect()
}

/// Reports that no agent provides `capability`, which `step` of `owner` calls, with `help` —
/// unless a malformed agent or route of `file`'s deployment mentions it: that one was
/// reported instead, and may be what provides it.
pub fn report_unprovided(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    step: &CheckedStep,
    capability: ItemRef,
    help: String,
) {
    let cap = decl_name(db, capability);
    let last = cap.rsplit('.').next().unwrap_or(&cap);
    if broken_mentions(db, file).contains(last) {
        return;
    }
    report(
        db,
        Diagnostic::new(
            Code::UnprovidedCapability,
            owner.loc(step.call_span),
            format!("no agent provides `{cap}`"),
            format!("step `{}` needs `{cap}`", step.name),
        )
        .with_label(
            capability.loc(decl_span(db, capability)),
            "capability declared here",
        )
        .with_help(help),
    );
}

/// The agents of a target: the agent itself, or a pool's members.
pub fn target_agents(db: &dyn Db, kind: DefKind, target: ItemRef) -> Vec<ItemRef> {
    match kind {
        DefKind::Agent => vec![target],
        DefKind::Pool => pool(db, target.file, target.index)
            .as_ref()
            .map(|p| p.members.clone())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn provides(db: &dyn Db, a: ItemRef, capability: ItemRef) -> bool {
    agent(db, a.file, a.index)
        .as_ref()
        .is_some_and(|a| a.provides.contains(&capability))
}

/// The deployment indexed by capability, so that routing a step costs a lookup rather than a
/// scan of every agent and route.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoutingIndex {
    /// Capability → agents providing it, in deployment order.
    pub providers: BTreeMap<ItemRef, Vec<ItemRef>>,
    /// Capability → its routes, in declaration order.
    pub routes: BTreeMap<ItemRef, Vec<ItemRef>>,
}

/// The routing index of `file`'s deployment.
#[salsa::tracked(returns(ref))]
pub fn routing_index(db: &dyn Db, file: SourceFile) -> RoutingIndex {
    let dep = deployment(db, file);
    let mut index = RoutingIndex::default();
    for a in &dep.agents {
        if let Some(decl) = agent(db, a.file, a.index) {
            for c in &decl.provides {
                let list = index.providers.entry(*c).or_default();
                if !list.contains(a) {
                    list.push(*a);
                }
            }
        }
    }
    for r in &dep.routes {
        if let Some(c) = route(db, r.file, r.index)
            .as_ref()
            .and_then(|d| d.capability)
        {
            index.routes.entry(c).or_default().push(*r);
        }
    }
    index
}

/// Where tasks of `capability` can go in `file`'s deployment: the targets of its routes,
/// or, without routes, every agent that provides it.
pub fn candidates(db: &dyn Db, file: SourceFile, capability: ItemRef) -> (Vec<ItemRef>, bool) {
    let index = routing_index(db, file);
    let Some(routes) = index.routes.get(&capability) else {
        let providers = index
            .providers
            .get(&capability)
            .cloned()
            .unwrap_or_default();
        return (providers, false);
    };
    let mut agents: Vec<ItemRef> = Vec::new();
    for r in routes {
        let Some(decl) = route(db, r.file, r.index) else {
            continue;
        };
        for (kind, t) in decl.target.iter().chain(decl.fallback.iter()) {
            for a in target_agents(db, *kind, *t) {
                if provides(db, a, capability) && !agents.contains(&a) {
                    agents.push(a);
                }
            }
        }
    }
    (agents, true)
}

/// Checks the routes declared in `file` and the routing of every step of its workflows.
#[salsa::tracked]
pub fn check_routing(db: &dyn Db, file: SourceFile) {
    let decls = decls::decls(db, file);
    for index in &decls.routes {
        check_route(db, file, *index);
    }
    for index in decls.workflows.keys() {
        check_routing_of(db, file, *index);
    }
}

/// Checks the routing of every step of workflow `index`: a query of its own, so an edit of
/// one workflow routes only that one again.
#[salsa::tracked]
pub(crate) fn check_routing_of(db: &dyn Db, file: SourceFile, index: u32) {
    let owner = ItemRef { file, index };
    let wf = check_workflow(db, file, index);
    // Steps calling one capability share its name and the agents its routes reach: a
    // generated workflow has thousands of them.
    let mut known: FxHashMap<ItemRef, (String, Vec<ItemRef>, bool)> = FxHashMap::default();
    let mut marked: FxHashSet<ItemRef> = FxHashSet::default();
    for step in &wf.steps {
        let Some((DefKind::Capability, capability)) = step.callee else {
            continue;
        };
        if step.broadcast || !step.multicast.is_empty() {
            // A multicast without `broadcast` was reported with the step's options.
            if step.broadcast {
                super::broadcast::check_routing(db, file, owner, step, capability);
            }
            continue;
        }
        let (cap_name, routed_agents, routed) = &*known.entry(capability).or_insert_with(|| {
            let (agents, routed) = candidates(db, file, capability);
            (decl_name(db, capability), agents, routed)
        });
        let agents: Cow<[ItemRef]> = match step.on {
            Some((kind, target)) => {
                let all = target_agents(db, kind, target);
                let serving: Vec<ItemRef> = all
                    .iter()
                    .copied()
                    .filter(|a| provides(db, *a, capability))
                    .collect();
                if serving.is_empty() && !all.is_empty() {
                    report(
                        db,
                        Diagnostic::new(
                            Code::TargetLacksCapability,
                            owner.loc(step.call_span),
                            format!(
                                "step `{}` runs on `{}`, which does not provide `{cap_name}`",
                                step.name,
                                decl_name(db, target)
                            ),
                            format!("calls `{cap_name}`"),
                        )
                        .with_label(
                            target.loc(decl_span(db, target)),
                            format!("`{}` declared here", decl_name(db, target)),
                        )
                        .with_help(format!(
                            "add `{cap_name}` to its `provides`, or choose another `on`"
                        )),
                    );
                    continue;
                }
                Cow::Owned(serving)
            }
            None => {
                if routed_agents.is_empty() {
                    if !routed {
                        report_unprovided(
                            db,
                            file,
                            owner,
                            step,
                            capability,
                            format!(
                                "add `{cap_name}` to some agent's `provides`, or route it: `route {cap_name} -> agent`"
                            ),
                        );
                    }
                    continue;
                }
                Cow::Borrowed(routed_agents)
            }
        };
        for a in agents.iter() {
            if marked.insert(*a) {
                super::unused::mark_used(db, *a);
            }
        }
        if step.resources != Resources::default() {
            let fits = agents.iter().any(|a| {
                agent(db, a.file, a.index)
                    .as_ref()
                    .is_some_and(|d| d.resources.covers(&step.resources))
            });
            if !fits {
                let names: Vec<String> = agents
                    .iter()
                    .map(|a| format!("`{}`", decl_name(db, *a)))
                    .collect();
                report(
                    db,
                    Diagnostic::new(
                        Code::ResourcesFitNoAgent,
                        owner.loc(step.resources_span.unwrap_or(step.call_span)),
                        format!("step `{}` demands more resources than any agent serving `{cap_name}` has", step.name),
                        "demand declared here",
                    )
                    .with_help(format!("agents that could serve it: {}; raise one's `resources` or lower the demand", names.join(", "))),
                );
            }
        }
        if !agents.is_empty() && step.replicas as usize > agents.len() {
            report(
                db,
                Diagnostic::new(
                    Code::ReplicasExceedAgents,
                    owner.loc(step.replicas_span.unwrap_or(step.call_span)),
                    format!(
                        "step `{}` asks for {} replicas, but only {} distinct agent{} can serve `{cap_name}`",
                        step.name,
                        step.replicas,
                        agents.len(),
                        if agents.len() == 1 { "" } else { "s" }
                    ),
                    format!("{} replicas", step.replicas),
                )
                .with_help(format!("replicas run on distinct agents: lower it to {} or add agents providing `{cap_name}`", agents.len())),
            );
        }
    }
}

fn check_route(db: &dyn Db, file: SourceFile, index: u32) {
    let owner = ItemRef { file, index };
    let Some(decl) = route(db, file, index) else {
        return;
    };
    let (Some(capability), Some((kind, target))) = (decl.capability, decl.target) else {
        return;
    };
    let Some(ItemKind::Route(r)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return;
    };
    let cap_name = decl_name(db, capability);
    let target_name = decl_name(db, target);
    // A pool's `hash(key: input.x)` reads this capability's arguments, unless the route
    // balances by a strategy of its own.
    if kind == DefKind::Pool
        && !r.properties.iter().any(|p| p.name.text == "strategy")
        && let Some(ItemKind::Pool(pool)) = item(db, target.file, target.index)
            .as_ref()
            .map(|i| &i.kind)
        && let Some(key) = decls::hash_key(&pool.properties)
    {
        let input = decls::capability_signature(db, capability.file, capability.index)
            .as_ref()
            .map_or(super::types::Ty::Json, |s| s.input_type());
        decls::check_hash_key(db, target, key, input);
    }
    let members = target_agents(db, kind, target);
    let lacking: Vec<ItemRef> = members
        .iter()
        .copied()
        .filter(|a| !provides(db, *a, capability))
        .collect();
    if !members.is_empty() && lacking.len() == members.len() {
        let message = if kind == DefKind::Pool {
            format!("no member of pool `{target_name}` provides `{cap_name}`")
        } else {
            format!("agent `{target_name}` does not provide `{cap_name}`")
        };
        report(
            db,
            Diagnostic::new(
                Code::TargetLacksCapability,
                owner.loc(r.target.span),
                message,
                format!("`{cap_name}` routed here"),
            )
            .with_label(
                target.loc(decl_span(db, target)),
                format!("`{target_name}` declared here"),
            )
            .with_help(format!(
                "add `{cap_name}` to the `provides` of `{target_name}`, or route it elsewhere"
            )),
        );
        return;
    }
    for a in lacking {
        report(
            db,
            Diagnostic::new(
                Code::MemberLacksCapability,
                owner.loc(r.target.span),
                format!(
                    "pool `{target_name}` member `{}` does not provide `{cap_name}`",
                    decl_name(db, a)
                ),
                format!("`{cap_name}` routed to `{target_name}`"),
            )
            .with_label(
                a.loc(decl_span(db, a)),
                format!("`{}` declared here", decl_name(db, a)),
            )
            .with_help("tasks of this capability will never go to that member"),
        );
    }
}
