//! Agents, pools and routes: where each capability's tasks go.

use super::expr::{Local, Lower};
use super::names::Names;
use super::sources::Sources;
use crate::check::decls::{self, AgentDecl, Resources, Strategy};
use crate::check::props::PRIORITIES;
use crate::check::routing::{deployment, routing_index};
use crate::check::scope::{DefKind, ItemRef};
use crate::db::{Db, Loc, SourceFile};
use crate::queries::item;
use crate::syntax::ast::{ExprKind, ItemKind, Property};
use hive_plan::{Expr, Routing, Simulate, Target};
use std::collections::BTreeMap;

/// Lowering context shared by the whole plan.
pub struct Cx<'a> {
    /// The database.
    pub db: &'a dyn Db,
    /// The root file.
    pub root: SourceFile,
    /// Plan keys.
    pub names: &'a Names,
    /// Files and positions.
    pub sources: &'a Sources,
}

impl Cx<'_> {
    /// The plan location of `span` inside `item`.
    pub fn loc(&self, item: ItemRef, span: crate::syntax::Span) -> hive_plan::Loc {
        self.sources
            .loc(self.db, Loc::item(item.file, item.index, span))
    }

    /// The location of an item's name.
    pub fn item_loc(&self, r: ItemRef) -> hive_plan::Loc {
        self.loc(r, crate::check::scope::decl_span(self.db, r))
    }

    fn doc(&self, r: ItemRef) -> Option<String> {
        item(self.db, r.file, r.index).as_ref()?.doc.clone()
    }

    fn properties(&self, r: ItemRef) -> Vec<Property> {
        match item(self.db, r.file, r.index).as_ref().map(|i| &i.kind) {
            Some(ItemKind::Agent(b) | ItemKind::Pool(b)) => b.properties.clone(),
            Some(ItemKind::Route(r)) => r.properties.clone(),
            _ => Vec::new(),
        }
    }
}

/// Plan resources of checked resources.
pub fn resources(r: &Resources) -> hive_plan::Resources {
    hive_plan::Resources {
        cpu: r.cpu.map(|c| c.get()),
        memory: r.memory,
        tokens: r.tokens,
    }
}

/// Every agent of the deployment.
pub fn agents(cx: &Cx) -> BTreeMap<String, hive_plan::Agent> {
    let mut out = BTreeMap::new();
    for r in &deployment(cx.db, cx.root).agents {
        let Some(a) = decls::agent(cx.db, r.file, r.index) else {
            continue;
        };
        out.insert(cx.names.of(*r), agent(cx, *r, a));
    }
    out
}

fn agent(cx: &Cx, r: ItemRef, a: &AgentDecl) -> hive_plan::Agent {
    let props = cx.properties(r);
    let lx = Lower::new(cx.db, r.file, cx.names);
    let map = |key: &str| -> BTreeMap<String, Expr> {
        match props
            .iter()
            .find(|p| p.name.text == key)
            .map(|p| &p.value.kind)
        {
            Some(ExprKind::Record(fields)) => fields
                .iter()
                .map(|f| (f.name.text.clone(), lx.expr(&f.value)))
                .collect(),
            _ => BTreeMap::new(),
        }
    };
    let simulate = a.simulate.as_ref().map(|s| {
        let output = props
            .iter()
            .find(|p| p.name.text == "simulate")
            .and_then(|p| match &p.value.kind {
                ExprKind::Record(fields) => fields.iter().find(|f| f.name.text == "output"),
                _ => None,
            })
            .map(|f| lx.expr(&f.value));
        Simulate {
            latency_ms: s.latency_ms,
            jitter_ms: s.jitter_ms,
            failure_rate: s.failure_rate.get(),
            output,
        }
    });
    let dir = a.exec.as_ref().map(|_| {
        let path = &cx.sources.paths[&r.file];
        match path.rfind('/') {
            Some(i) => path[..i].to_string(),
            None => ".".to_string(),
        }
    });
    hive_plan::Agent {
        provides: a.provides.iter().map(|c| cx.names.of(*c)).collect(),
        subscribes: a.subscribes.iter().map(|t| cx.names.of(*t)).collect(),
        exec: a.exec.clone(),
        dir,
        builtin: a.builtin.clone(),
        files: a.files.clone(),
        min_replicas: a.replicas.0,
        max_replicas: a.replicas.1,
        // The built-in agent has no limit unless its declaration sets one.
        concurrency: (a.builtin.is_none() || props.iter().any(|p| p.name.text == "concurrency"))
            .then_some(a.concurrency),
        weight: a.weight,
        resources: resources(&a.resources),
        heartbeat_ms: a.heartbeat_ms,
        max_deliveries: a.max_deliveries,
        labels: map("labels"),
        env: map("env"),
        simulate,
        doc: cx.doc(r),
        loc: cx.item_loc(r),
    }
}

/// Every pool of the deployment.
pub fn pools(cx: &Cx) -> BTreeMap<String, hive_plan::Pool> {
    let mut out = BTreeMap::new();
    for r in &deployment(cx.db, cx.root).pools {
        let Some(p) = decls::pool(cx.db, r.file, r.index) else {
            continue;
        };
        out.insert(
            cx.names.of(*r),
            hive_plan::Pool {
                members: p.members.iter().map(|m| cx.names.of(*m)).collect(),
                strategy: strategy(cx, *r, &p.strategy),
                max_queue: p.max_queue,
                loc: cx.item_loc(*r),
            },
        );
    }
    out
}

/// The plan strategy of a checked one; `hash` takes its key from the `strategy` property of
/// `owner` (a pool or route), lowered with `input` in scope.
fn strategy(cx: &Cx, owner: ItemRef, s: &Strategy) -> hive_plan::Strategy {
    s.clone().with_key(|()| {
        let mut lx = Lower::new(cx.db, owner.file, cx.names);
        lx.locals.insert("input".into(), Local::Named);
        cx.properties(owner)
            .iter()
            .find(|p| p.name.text == "strategy")
            .and_then(|p| match &p.value.kind {
                ExprKind::Call(c) => c.args.first().map(|a| lx.expr(&a.value)),
                _ => None,
            })
            .unwrap_or(Expr::Local {
                name: "input".into(),
            })
    })
}

/// A target and the strategy it balances with by default.
fn target_of(cx: &Cx, kind: DefKind, r: ItemRef) -> (Target, hive_plan::Strategy) {
    match kind {
        DefKind::Pool => {
            let s = decls::pool(cx.db, r.file, r.index)
                .as_ref()
                .map_or(hive_plan::Strategy::LeastBusy, |p| {
                    strategy(cx, r, &p.strategy)
                });
            (
                Target::Pool {
                    pool: cx.names.of(r),
                },
                s,
            )
        }
        _ => (
            Target::Agent {
                agent: cx.names.of(r),
            },
            hive_plan::Strategy::LeastBusy,
        ),
    }
}

/// Where tasks of `capability` go: an `on:` override, else its routes in order (conditional
/// ones first come first), else, or after conditional routes only, every agent providing it.
pub fn routing(cx: &Cx, capability: ItemRef, on: Option<(DefKind, ItemRef)>) -> Vec<Routing> {
    if let Some((kind, r)) = on {
        let (target, strategy) = target_of(cx, kind, r);
        return vec![Routing {
            id: 0,
            when: None,
            target,
            strategy,
            fallback: None,
            route: None,
        }];
    }
    let index = routing_index(cx.db, cx.root);
    let mut out = Vec::new();
    for r in index.routes.get(&capability).into_iter().flatten() {
        let Some(decl) = decls::route(cx.db, r.file, r.index) else {
            continue;
        };
        let Some((kind, t)) = decl.target else {
            continue;
        };
        let (target, default_strategy) = target_of(cx, kind, t);
        let strategy = decl
            .strategy
            .as_ref()
            .map_or(default_strategy, |s| strategy(cx, *r, s));
        let fallback = decl.fallback.map(|(k, f)| {
            let (target, strategy) = target_of(cx, k, f);
            Box::new(Routing {
                id: 0,
                when: None,
                target,
                strategy,
                fallback: None,
                route: None,
            })
        });
        let when = decl.conditional.then(|| route_condition(cx, *r)).flatten();
        let unconditional = when.is_none();
        out.push(Routing {
            id: 0,
            when,
            target,
            strategy,
            fallback,
            route: Some(cx.item_loc(*r)),
        });
        if unconditional {
            return out;
        }
    }
    let providers: Vec<String> = index
        .providers
        .get(&capability)
        .into_iter()
        .flatten()
        .map(|a| cx.names.of(*a))
        .collect();
    if !providers.is_empty() {
        out.push(Routing {
            id: 0,
            when: None,
            target: Target::Providers { agents: providers },
            strategy: hive_plan::Strategy::LeastBusy,
            fallback: None,
            route: None,
        });
    }
    out
}

/// A route's `when`, over `input` and `priority`; levels lower to their urgency, 0 (`low`)
/// to 4 (`critical`), so that `priority >= high` reads as "at least high".
fn route_condition(cx: &Cx, r: ItemRef) -> Option<Expr> {
    let props = cx.properties(r);
    let when = props.iter().find(|p| p.name.text == "when")?;
    let mut lx = Lower::new(cx.db, r.file, cx.names);
    lx.locals.insert("input".into(), Local::Named);
    lx.locals.insert("priority".into(), Local::Named);
    for level in PRIORITIES {
        let urgency = hive_plan::Priority::parse(level).map_or(0, |p| p.urgency());
        lx.locals
            .insert((*level).to_string(), Local::Value(urgency.into()));
    }
    Some(lx.expr(&when.value))
}

/// Where a broadcast step's task goes: the targets it reaches (checked in the workflow's
/// `file`) and one single-agent routing per member, behind the route that chose them if any.
pub fn broadcast(
    cx: &Cx,
    file: SourceFile,
    capability: ItemRef,
    step: &crate::check::workflow::CheckedStep,
) -> hive_plan::Broadcast {
    use crate::check::broadcast::{Over, reach};
    let Ok(reach) = reach(cx.db, file, step, capability) else {
        return hive_plan::Broadcast {
            over: Vec::new(),
            members: Vec::new(),
        };
    };
    let mut route = None;
    let over = reach
        .over
        .iter()
        .map(|o| match *o {
            Over::Named(kind, t, _) => target_of(cx, kind, t).0,
            Over::Routed(kind, t, r) => {
                route = Some(cx.item_loc(r));
                target_of(cx, kind, t).0
            }
            Over::Providers => Target::Providers {
                agents: reach.members.iter().map(|a| cx.names.of(*a)).collect(),
            },
        })
        .collect();
    let members = reach
        .members
        .iter()
        .map(|a| Routing {
            id: 0,
            when: None,
            target: Target::Agent {
                agent: cx.names.of(*a),
            },
            strategy: hive_plan::Strategy::LeastBusy,
            fallback: None,
            route,
        })
        .collect();
    hive_plan::Broadcast { over, members }
}
