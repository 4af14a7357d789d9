//! Validation of a plan read from a file: a saved plan may have been written by hand or
//! edited, and the runtime trusts what it runs. [`validate`] holds a plan to what the checker
//! holds a `.hive` file to — the ranges of its numbers, every name it refers to, acyclic
//! steps and workflow calls, the shape of its source hash — so that nothing starts on a plan
//! the compiler could not have written.
//!
//! Invariant: a plan the compiler lowered from a file without errors has no problem here
//! (`plan_of` in `tests/lib.rs` validates every plan the tests lower).

use crate::limits::{MAX_CPU, MAX_REPLICAS};
use crate::{Agent, Broadcast, Callee, Consensus, Expr, Loc, Param, Plan, Resources};
use crate::{Routing, Strategy};
use crate::{Step, Target, Type, TypeDef, Workflow};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// One problem of a plan: where it is, as a path of JSON keys, and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `agents.worker.min_replicas`, `workflows.main.steps[2].deps[0]`.
    pub path: String,
    /// What is wrong, with the value found.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem of `plan`, in plan order; none for a plan the compiler wrote.
pub fn validate(plan: &Plan) -> Vec<Problem> {
    let mut v = Validator {
        plan,
        problems: Vec::new(),
        routing_ids: HashMap::new(),
    };
    v.plan();
    v.problems
}

/// A JSON key as a path segment: `.name`, or `["lib/x.hive::y"]` when it is not a plain name.
fn key(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!(".{name}")
    } else {
        format!("[{}]", serde_json::Value::from(name))
    }
}

/// What the names of an expression may refer to where it stands.
#[derive(Clone, Copy)]
struct Names<'a> {
    /// The workflow's parameters, where they are in scope.
    params: Option<&'a [Param]>,
    /// The steps it may read: none, those a step waits for, or any of a workflow's.
    steps: Steps<'a>,
    /// Local names (`for` variable, `input`, `priority`).
    locals: &'a [&'a str],
}

#[derive(Clone, Copy)]
enum Steps<'a> {
    None,
    Deps(&'a [usize]),
    All(usize),
}

/// Names of nothing: values known when planning, and pure functions.
const CONSTANT: Names<'static> = Names {
    params: None,
    steps: Steps::None,
    locals: &[],
};

/// A route's `when` and a `hash` key see the task's arguments and its priority.
const ROUTE: Names<'static> = Names {
    params: None,
    steps: Steps::None,
    locals: &["input", "priority"],
};

struct Validator<'a> {
    plan: &'a Plan,
    problems: Vec<Problem>,
    /// Routing ids seen, with the path of the first.
    routing_ids: HashMap<u32, String>,
}

impl<'a> Validator<'a> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn plan(&mut self) {
        let plan = self.plan;
        if plan.format != crate::FORMAT {
            self.problem(
                "format",
                format!("{} is not the plan format {}", plan.format, crate::FORMAT),
            );
        }
        let hex = plan
            .source_hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if plan.source_hash.len() != 64 || !hex {
            self.problem(
                "source_hash",
                format!(
                    "{:?} is not a SHA-256 (64 lowercase hexadecimal digits)",
                    cut(&plan.source_hash)
                ),
            );
        }
        if plan.sources.is_empty() {
            self.problem("sources", "is empty: a plan has at least its root file");
        }
        for (name, def) in &plan.types {
            let path = format!("types{}", key(name));
            match def {
                TypeDef::Record(fields) => {
                    let mut seen = BTreeSet::new();
                    for (i, f) in fields.iter().enumerate() {
                        let at = format!("{path}[{i}]");
                        if !seen.insert(&f.name) {
                            self.problem(format!("{at}.name"), format!("`{}` is repeated", f.name));
                        }
                        self.ty(&format!("{at}.type"), &f.ty);
                        if let Some(d) = &f.default {
                            self.expr(&format!("{at}.default"), d, CONSTANT);
                        }
                    }
                }
                TypeDef::Enum(variants) => {
                    if variants.is_empty() {
                        self.problem(path.clone(), "an enum has at least one variant");
                    }
                    let mut seen = BTreeSet::new();
                    for (i, v) in variants.iter().enumerate() {
                        if !seen.insert(v) {
                            self.problem(format!("{path}[{i}]"), format!("`{v}` is repeated"));
                        }
                    }
                }
            }
        }
        for (name, cap) in &plan.capabilities {
            let path = format!("capabilities{}", key(name));
            self.params(&format!("{path}.params"), &cap.params);
            self.ty(&format!("{path}.returns"), &cap.returns);
            self.loc(&format!("{path}.loc"), &cap.loc);
            for (field, cells) in [("reads", &cap.reads), ("writes", &cap.writes)] {
                self.cells(&format!("{path}.{field}"), cells);
            }
        }
        for (name, cell) in &plan.states {
            let path = format!("states{}", key(name));
            self.ty(&format!("{path}.type"), &cell.ty);
            if let crate::Policy::Merge(r) = cell.policy
                && !r.fits(&cell.ty)
            {
                self.problem(
                    format!("{path}.policy"),
                    format!(
                        "`merge: {}` combines {}, not `{}`",
                        r.name(),
                        r.operands(),
                        cell.ty
                    ),
                );
            }
            match &cell.default {
                Some(d) => self.expr(&format!("{path}.default"), d, CONSTANT),
                None if !matches!(cell.ty, Type::Optional(_) | Type::Json) => self.problem(
                    format!("{path}.default"),
                    format!("is missing, and a `{}` cannot be none", cell.ty),
                ),
                None => {}
            }
            self.loc(&format!("{path}.loc"), &cell.loc);
        }
        for (name, topic) in &plan.topics {
            let path = format!("topics{}", key(name));
            self.ty(&format!("{path}.type"), &topic.ty);
            for (field, ms) in [
                ("retain_ms", topic.retain_ms),
                ("dedupe_ms", topic.dedupe_ms),
            ] {
                if ms == Some(0) {
                    self.problem(format!("{path}.{field}"), "0 is below the minimum of 1");
                }
            }
            self.loc(&format!("{path}.loc"), &topic.loc);
        }
        for (name, agent) in &plan.agents {
            self.agent(&format!("agents{}", key(name)), agent);
        }
        for (name, pool) in &plan.pools {
            let path = format!("pools{}", key(name));
            if pool.members.is_empty() {
                self.problem(format!("{path}.members"), "is empty: a pool has members");
            }
            let mut seen = BTreeSet::new();
            for (i, m) in pool.members.iter().enumerate() {
                let at = format!("{path}.members[{i}]");
                if !plan.agents.contains_key(m) {
                    self.problem(at, format!("`{m}` is not an agent of the plan"));
                } else if !seen.insert(m) {
                    self.problem(at, format!("`{m}` is listed twice"));
                }
            }
            self.strategy(&format!("{path}.strategy"), &pool.strategy);
            if pool.max_queue == Some(0) {
                self.problem(format!("{path}.max_queue"), "0 is below the minimum of 1");
            }
            self.loc(&format!("{path}.loc"), &pool.loc);
        }
        for (name, wf) in &plan.workflows {
            self.workflow(&format!("workflows{}", key(name)), wf);
        }
        self.workflow_calls();
    }

    /// A `publish` or `receive` step: its topic is one of the plan's, `publish` has its
    /// message as `value` and `receive` at most a `where`.
    fn topic_step(&mut self, at: &str, s: &Step, topic: &str) {
        if !self.plan.topics.contains_key(topic) {
            self.problem(
                format!("{at}.call"),
                format!("`{topic}` is not a topic of the plan"),
            );
        }
        let allowed: &[&str] = match s.call {
            Callee::Publish(_) => &["value"],
            _ => &["where"],
        };
        if matches!(s.call, Callee::Publish(_)) && !s.args.contains_key("value") {
            self.problem(
                format!("{at}.args"),
                "has no `value`: the message to publish",
            );
        }
        for name in s.args.keys() {
            if !allowed.contains(&name.as_str()) {
                self.problem(
                    format!("{at}.args{}", key(name)),
                    format!(
                        "is not an argument of a topic step (allowed: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn agent(&mut self, path: &str, a: &Agent) {
        let plan = self.plan;
        if a.provides.is_empty() && a.subscribes.is_empty() {
            self.problem(
                format!("{path}.provides"),
                "is empty: an agent provides a capability or subscribes to a topic",
            );
        }
        for (i, t) in a.subscribes.iter().enumerate() {
            if !plan.topics.contains_key(t) {
                self.problem(
                    format!("{path}.subscribes[{i}]"),
                    format!("`{t}` is not a topic of the plan"),
                );
            }
        }
        for (i, c) in a.provides.iter().enumerate() {
            if !plan.capabilities.contains_key(c) {
                self.problem(
                    format!("{path}.provides[{i}]"),
                    format!("`{c}` is not a capability of the plan"),
                );
            }
        }
        match (&a.exec, &a.builtin) {
            (Some(_), Some(_)) => self.problem(
                path,
                "has both `exec` and `builtin`: an agent is a process or built in",
            ),
            (None, Some(b)) if b != "std" => self.problem(
                format!("{path}.builtin"),
                format!("`{b}` names no built-in agent; the runtime implements `std`"),
            ),
            (None, None) if a.simulate.is_none() => self.problem(
                path,
                "has none of `exec`, `builtin` and `simulate`: nothing could serve its tasks",
            ),
            _ => {}
        }
        if a.min_replicas < 1 {
            self.problem(
                format!("{path}.min_replicas"),
                format!("{} is below the minimum of 1", a.min_replicas),
            );
        }
        if a.max_replicas < a.min_replicas {
            self.problem(
                format!("{path}.max_replicas"),
                format!(
                    "{} is below min_replicas {}",
                    a.max_replicas, a.min_replicas
                ),
            );
        }
        for (field, n) in [
            ("min_replicas", a.min_replicas),
            ("max_replicas", a.max_replicas),
        ] {
            if n > MAX_REPLICAS {
                self.problem(
                    format!("{path}.{field}"),
                    format!("{n} is over the limit of {MAX_REPLICAS}"),
                );
            }
        }
        for (field, n) in [
            ("concurrency", a.concurrency.unwrap_or(1)),
            ("weight", a.weight),
            ("max_deliveries", a.max_deliveries),
        ] {
            if n < 1 {
                self.problem(
                    format!("{path}.{field}"),
                    format!("{n} is below the minimum of 1"),
                );
            }
        }
        if a.heartbeat_ms < 1 {
            self.problem(
                format!("{path}.heartbeat_ms"),
                "0 is below the minimum of 1 (a heartbeat is longer than zero)",
            );
        }
        self.resources(&format!("{path}.resources"), &a.resources);
        for (field, map) in [("labels", &a.labels), ("env", &a.env)] {
            for (k, e) in map {
                self.expr(&format!("{path}.{field}{}", key(k)), e, CONSTANT);
            }
        }
        if let Some(s) = &a.simulate {
            if !(0.0..=1.0).contains(&s.failure_rate) {
                self.problem(
                    format!("{path}.simulate.failure_rate"),
                    format!("{} is not between 0 and 1", s.failure_rate),
                );
            }
            if let Some(e) = &s.output {
                self.expr(&format!("{path}.simulate.output"), e, CONSTANT);
            }
        }
        if let Some(f) = &a.files {
            if f.is_empty() {
                self.problem(format!("{path}.files"), "is empty: it names a directory");
            }
            if a.builtin.as_deref() != Some("std") {
                self.problem(
                    format!("{path}.files"),
                    "applies only to `builtin: \"std\"` agents",
                );
            }
        }
        self.loc(&format!("{path}.loc"), &a.loc);
    }

    fn resources(&mut self, path: &str, r: &Resources) {
        if let Some(cpu) = r.cpu
            && !(0.0..=MAX_CPU).contains(&cpu)
        {
            self.problem(
                format!("{path}.cpu"),
                format!("{cpu} is not between 0 and {MAX_CPU}"),
            );
        }
    }

    fn strategy(&mut self, path: &str, s: &Strategy) {
        if let Strategy::Hash { key } = s {
            self.expr(&format!("{path}.key"), key, ROUTE);
        }
    }

    fn params(&mut self, path: &str, params: &[Param]) {
        let mut seen = BTreeSet::new();
        for (i, p) in params.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if !seen.insert(&p.name) {
                self.problem(format!("{at}.name"), format!("`{}` is repeated", p.name));
            }
            self.ty(&format!("{at}.type"), &p.ty);
            if let Some(d) = &p.default {
                self.expr(&format!("{at}.default"), d, CONSTANT);
            }
        }
    }

    fn workflow(&mut self, path: &str, wf: &'a Workflow) {
        let plan = self.plan;
        self.params(&format!("{path}.params"), &wf.params);
        self.ty(&format!("{path}.returns"), &wf.returns);
        if wf.timeout_ms == Some(0) {
            self.problem(format!("{path}.timeout_ms"), "0 is below the minimum of 1");
        }
        let n = wf.steps.len();
        let mut names = BTreeSet::new();
        for (i, s) in wf.steps.iter().enumerate() {
            if !names.insert(s.name.as_str()) {
                self.problem(
                    format!("{path}.steps[{i}].name"),
                    format!("`{}` is repeated", s.name),
                );
            }
        }
        let cycle = step_cycle(wf);
        if let Some(cycle) = &cycle {
            let names: Vec<String> = cycle
                .iter()
                .chain(cycle.first())
                .map(|&i| format!("`{}`", wf.steps[i].name))
                .collect();
            self.problem(
                format!("{path}.steps"),
                format!(
                    "the steps {} wait for each other in a cycle",
                    names.join(" → ")
                ),
            );
        }
        for (i, s) in wf.steps.iter().enumerate() {
            let at = format!("{path}.steps[{i}]");
            for (j, &d) in s.deps.iter().enumerate() {
                if d >= n {
                    self.problem(
                        format!("{at}.deps[{j}]"),
                        format!("{d} is not a step: the workflow has {n}"),
                    );
                } else if d >= i && cycle.is_none() {
                    self.problem(
                        format!("{at}.deps[{j}]"),
                        format!(
                            "`{}` waits for `{}`, which comes after it: steps are listed in the order they can run",
                            s.name, wf.steps[d].name
                        ),
                    );
                }
            }
            let params: Option<&[Param]> = match &s.call {
                Callee::Capability(c) => match plan.capabilities.get(c) {
                    Some(cap) => Some(&cap.params),
                    None => {
                        self.problem(
                            format!("{at}.call.capability"),
                            format!("`{c}` is not a capability of the plan"),
                        );
                        None
                    }
                },
                Callee::Workflow(w) => match plan.workflows.get(w) {
                    Some(callee) => Some(&callee.params),
                    None => {
                        self.problem(
                            format!("{at}.call.workflow"),
                            format!("`{w}` is not a workflow of the plan"),
                        );
                        None
                    }
                },
                Callee::Publish(t) | Callee::Receive(t) => {
                    self.topic_step(&at, s, t);
                    None
                }
            };
            let step_names = Names {
                params: Some(&wf.params),
                steps: Steps::Deps(&s.deps),
                locals: &[],
            };
            // `it`, the message, in a `receive`'s `where`.
            let var = match &s.call {
                Callee::Receive(_) => Some("it"),
                _ => s.map.as_ref().map(|m| m.var.as_str()),
            };
            let vars = var.as_slice();
            let with_var = Names {
                locals: vars,
                ..step_names
            };
            for (name, e) in s.args.iter() {
                let arg = format!("{at}.args{}", key(name));
                if let Some(ps) = params
                    && !ps.iter().any(|p| &p.name == name)
                {
                    self.problem(
                        arg.clone(),
                        format!("`{}` has no parameter `{name}`", s.call.name()),
                    );
                }
                self.expr(&arg, e, with_var);
            }
            for p in params.unwrap_or_default() {
                if !s.args.contains_key(&p.name) {
                    self.problem(
                        format!("{at}.args"),
                        format!("has no argument `{}` of `{}`", p.name, s.call.name()),
                    );
                }
            }
            if let Some(m) = &s.map {
                self.expr(&format!("{at}.map.over"), &m.over, step_names);
                if m.concurrency == Some(0) {
                    self.problem(
                        format!("{at}.map.concurrency"),
                        "0 is below the minimum of 1",
                    );
                }
            }
            self.ty(&format!("{at}.type"), &s.ty);
            let o = &s.options;
            if o.replicas < 1 {
                self.problem(
                    format!("{at}.options.replicas"),
                    "0 is below the minimum of 1",
                );
            }
            if let Some(Consensus::Quorum(q)) = o.consensus
                && (q < 1 || q > o.replicas)
            {
                self.problem(
                    format!("{at}.options.consensus.quorum"),
                    format!("{q} cannot be reached with {} replicas", o.replicas),
                );
            }
            if o.timeout_ms == Some(0) {
                self.problem(
                    format!("{at}.options.timeout_ms"),
                    "0 is below the minimum of 1",
                );
            }
            self.resources(&format!("{at}.options.resources"), &o.resources);
            if let Some(e) = &o.when {
                self.expr(&format!("{at}.options.when"), e, step_names);
            }
            if let Some(e) = &o.fallback {
                self.expr(&format!("{at}.options.fallback"), e, with_var);
            }
            if let Some(e) = &o.key {
                self.expr(&format!("{at}.options.key"), e, with_var);
            }
            match &s.call {
                Callee::Capability(c) if s.broadcast.is_some() => {
                    if !s.routing.is_empty() {
                        self.problem(
                            format!("{at}.routing"),
                            "a broadcast step has no routing of its own: its members are in `broadcast`",
                        );
                    }
                    if let Some(b) = &s.broadcast {
                        self.broadcast(&at, s, b, c);
                    }
                }
                Callee::Capability(c) => {
                    if s.routing.is_empty() {
                        self.problem(
                            format!("{at}.routing"),
                            format!("is empty: no agent would serve `{c}`"),
                        );
                    }
                    let mut serving = BTreeSet::new();
                    for (j, r) in s.routing.iter().enumerate() {
                        self.routing(&format!("{at}.routing[{j}]"), r, c, &mut serving);
                    }
                    if !serving.is_empty() && o.replicas as usize > serving.len() {
                        self.problem(
                            format!("{at}.options.replicas"),
                            format!(
                                "{} replicas run on distinct agents, and only {} can serve `{c}`",
                                o.replicas,
                                serving.len()
                            ),
                        );
                    }
                }
                Callee::Workflow(_) | Callee::Publish(_) | Callee::Receive(_)
                    if !s.routing.is_empty() =>
                {
                    self.problem(
                        format!("{at}.routing"),
                        "a step that calls a workflow or a topic has no routing",
                    )
                }
                Callee::Workflow(_) | Callee::Publish(_) | Callee::Receive(_) => {}
            }
            if s.broadcast.is_some() && !matches!(s.call, Callee::Capability(_)) {
                self.problem(
                    format!("{at}.broadcast"),
                    "only a step that calls a capability can broadcast",
                );
            }
            self.cells(&format!("{at}.writes"), &s.writes);
            self.loc(&format!("{at}.loc"), &s.loc);
        }
        let output = Names {
            params: Some(&wf.params),
            steps: Steps::All(n),
            locals: &[],
        };
        self.expr(&format!("{path}.output"), &wf.output, output);
        for (field, list) in [
            ("critical_path", &wf.bounds.critical_path),
            ("untimed_steps", &wf.bounds.untimed_steps),
        ] {
            for (i, name) in list.iter().enumerate() {
                if !names.contains(name.as_str()) {
                    self.problem(
                        format!("{path}.bounds.{field}[{i}]"),
                        format!("`{name}` is not a step of the workflow"),
                    );
                }
            }
        }
        self.loc(&format!("{path}.loc"), &wf.loc);
    }

    /// A routing and the fallbacks behind it; the agents that can serve `capability` through
    /// it are added to `serving`.
    fn routing(
        &mut self,
        path: &str,
        r: &Routing,
        capability: &str,
        serving: &mut BTreeSet<&'a str>,
    ) {
        let plan = self.plan;
        if let Some(first) = self.routing_ids.get(&r.id) {
            let first = first.clone();
            self.problem(
                format!("{path}.id"),
                format!("{} is already the id of {first}", r.id),
            );
        } else {
            self.routing_ids.insert(r.id, path.to_string());
        }
        if let Some(e) = &r.when {
            self.expr(&format!("{path}.when"), e, ROUTE);
        }
        self.strategy(&format!("{path}.strategy"), &r.strategy);
        let agents: Vec<(String, &String)> = match &r.target {
            Target::Agent { agent } => vec![(format!("{path}.target.agent"), agent)],
            Target::Pool { pool } => match plan.pools.get(pool) {
                Some(p) => p
                    .members
                    .iter()
                    .map(|m| (format!("pools{}.members", key(pool)), m))
                    .collect(),
                None => {
                    self.problem(
                        format!("{path}.target.pool"),
                        format!("`{pool}` is not a pool of the plan"),
                    );
                    Vec::new()
                }
            },
            Target::Providers { agents } => {
                if agents.is_empty() {
                    self.problem(format!("{path}.target.agents"), "is empty");
                }
                agents
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (format!("{path}.target.agents[{i}]"), a))
                    .collect()
            }
        };
        let mut serves = false;
        for (at, name) in &agents {
            match plan.agents.get_key_value(name.as_str()) {
                // A pool's unknown member is reported with the pool.
                None if !matches!(r.target, Target::Pool { .. }) => {
                    self.problem(at.clone(), format!("`{name}` is not an agent of the plan"));
                }
                None => {}
                Some((k, a)) if a.provides.iter().any(|p| p == capability) => {
                    serves = true;
                    serving.insert(k.as_str());
                }
                Some(_) => {}
            }
        }
        if !serves && !agents.is_empty() {
            self.problem(
                format!("{path}.target"),
                format!("{} does not provide `{capability}`", r.target.describe()),
            );
        }
        if let Some(loc) = &r.route {
            self.loc(&format!("{path}.route"), loc);
        }
        if let Some(f) = &r.fallback {
            self.routing(&format!("{path}.fallback"), f, capability, serving);
        }
    }

    /// A broadcast step at `at`: one routing per distinct member agent, each an agent of the
    /// targets it names that serves `capability`, and no option a broadcast excludes.
    fn broadcast(&mut self, at: &str, s: &'a Step, b: &'a Broadcast, capability: &str) {
        let plan = self.plan;
        let path = format!("{at}.broadcast");
        if s.map.is_some() {
            self.problem(
                format!("{at}.map"),
                "a broadcast step cannot map over a list",
            );
        }
        if s.options.replicas != 1 || s.options.consensus.is_some() {
            self.problem(
                format!("{at}.options.replicas"),
                "a broadcast step runs once on every member, without replicas or consensus",
            );
        }
        if b.over.is_empty() {
            self.problem(
                format!("{path}.over"),
                "is empty: the broadcast names no target",
            );
        }
        // The agents the targets hold: the members must be among them.
        let mut reachable: BTreeSet<&str> = BTreeSet::new();
        for (i, t) in b.over.iter().enumerate() {
            let named: Vec<(String, &String)> = match t {
                Target::Agent { agent } => vec![(format!("{path}.over[{i}].agent"), agent)],
                Target::Pool { pool } => match plan.pools.get(pool) {
                    Some(p) => {
                        reachable.extend(p.members.iter().map(String::as_str));
                        Vec::new()
                    }
                    None => {
                        self.problem(
                            format!("{path}.over[{i}].pool"),
                            format!("`{pool}` is not a pool of the plan"),
                        );
                        Vec::new()
                    }
                },
                Target::Providers { agents } => agents
                    .iter()
                    .enumerate()
                    .map(|(j, a)| (format!("{path}.over[{i}].agents[{j}]"), a))
                    .collect(),
            };
            for (p, a) in named {
                if !plan.agents.contains_key(a) {
                    self.problem(p, format!("`{a}` is not an agent of the plan"));
                }
                reachable.insert(a);
            }
        }
        if b.members.is_empty() {
            self.problem(
                format!("{path}.members"),
                format!("is empty: no agent would serve `{capability}`"),
            );
        }
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (j, r) in b.members.iter().enumerate() {
            let member = format!("{path}.members[{j}]");
            self.routing(&member, r, capability, &mut BTreeSet::new());
            match &r.target {
                Target::Agent { agent } => {
                    if !seen.insert(agent) {
                        self.problem(
                            format!("{member}.target.agent"),
                            format!("`{agent}` is already a member of the broadcast"),
                        );
                    } else if !reachable.contains(agent.as_str()) {
                        self.problem(
                            format!("{member}.target.agent"),
                            format!("`{agent}` is not an agent of the broadcast's targets"),
                        );
                    }
                }
                other => self.problem(
                    format!("{member}.target"),
                    format!("a broadcast member is one agent, not {}", other.describe()),
                ),
            }
            if r.when.is_some() {
                self.problem(
                    format!("{member}.when"),
                    "a broadcast member has no condition",
                );
            }
            if r.fallback.is_some() {
                self.problem(
                    format!("{member}.fallback"),
                    "a broadcast member has no fallback",
                );
            }
        }
    }

    /// Workflows that call each other without end would run without end.
    fn workflow_calls(&mut self) {
        let plan = self.plan;
        let names: Vec<&String> = plan.workflows.keys().collect();
        let index: BTreeMap<&String, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let edges: Vec<Vec<usize>> = plan
            .workflows
            .values()
            .map(|w| {
                w.steps
                    .iter()
                    .filter_map(|s| match &s.call {
                        Callee::Workflow(c) => index.get(c).copied(),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        if let Some(cycle) = find_cycle(&edges) {
            let shown: Vec<String> = cycle
                .iter()
                .chain(cycle.first())
                .map(|&i| format!("`{}`", names[i]))
                .collect();
            self.problem(
                "workflows",
                format!(
                    "the workflows {} call each other in a cycle, so a run would never end",
                    shown.join(" → ")
                ),
            );
        }
    }

    /// Names of state cells: each a key of the plan's `states`.
    fn cells(&mut self, path: &str, cells: &[String]) {
        for (i, c) in cells.iter().enumerate() {
            if !self.plan.states.contains_key(c) {
                self.problem(
                    format!("{path}[{i}]"),
                    format!("`{c}` is not a state cell of the plan"),
                );
            }
        }
    }

    fn loc(&mut self, path: &str, loc: &Loc) {
        if loc.file as usize >= self.plan.sources.len() {
            self.problem(
                format!("{path}.file"),
                format!(
                    "{} is not a source: the plan has {}",
                    loc.file,
                    self.plan.sources.len()
                ),
            );
        }
        if loc.line < 1 || loc.column < 1 {
            self.problem(path, "lines and columns count from 1");
        }
    }

    fn ty(&mut self, path: &str, ty: &Type) {
        match ty {
            Type::List(t) | Type::Map(t) | Type::Optional(t) => self.ty(path, t),
            Type::Record(n) if !matches!(self.plan.types.get(n), Some(TypeDef::Record(_))) => {
                self.problem(path, format!("`{n}` is not a record type of the plan"));
            }
            Type::Enum(n) if !matches!(self.plan.types.get(n), Some(TypeDef::Enum(_))) => {
                self.problem(path, format!("`{n}` is not an enum of the plan"));
            }
            Type::Fields(fields) => {
                let mut seen = BTreeSet::new();
                for (name, t) in fields {
                    if !seen.insert(name) {
                        self.problem(path, format!("field `{name}` is repeated"));
                    }
                    self.ty(path, t);
                }
            }
            _ => {}
        }
    }

    fn expr(&mut self, path: &str, e: &Expr, names: Names<'_>) {
        match e {
            Expr::Value { .. } => {}
            Expr::Param { name } => {
                let known = names
                    .params
                    .is_some_and(|ps| ps.iter().any(|p| &p.name == name));
                if !known {
                    let why = match names.params {
                        Some(_) => "the workflow has no such parameter",
                        None => "no parameter is in scope here",
                    };
                    self.problem(path, format!("reads parameter `{name}`: {why}"));
                }
            }
            Expr::Step { step } => match names.steps {
                Steps::None => {
                    self.problem(path, format!("reads step {step}: no step is in scope here"))
                }
                Steps::Deps(deps) if !deps.contains(step) => self.problem(
                    path,
                    format!(
                        "reads step {step}, which is not among the steps it waits for (`deps`)"
                    ),
                ),
                Steps::All(n) if *step >= n => {
                    self.problem(path, format!("reads step {step}: the workflow has {n}"))
                }
                _ => {}
            },
            Expr::State { cell } => {
                if names.params.is_none() {
                    self.problem(
                        path,
                        format!("reads state `{cell}`: state is read only in a workflow"),
                    );
                } else if !self.plan.states.contains_key(cell) {
                    self.problem(
                        path,
                        format!("reads `{cell}`, which is not a state cell of the plan"),
                    );
                }
            }
            Expr::Local { name } => {
                if !names.locals.contains(&name.as_str()) {
                    self.problem(path, format!("reads `{name}`, which is not in scope here"));
                }
            }
            Expr::Field { of, .. } => self.expr(path, of, names),
            Expr::Index { of, index } => {
                self.expr(path, of, names);
                self.expr(path, index, names);
            }
            Expr::Unary { arg, .. } => self.expr(path, arg, names),
            Expr::Binary { left, right, .. } => {
                self.expr(path, left, names);
                self.expr(path, right, names);
            }
            Expr::Concat { parts: items }
            | Expr::List { items }
            | Expr::Call { args: items, .. } => {
                for item in items {
                    self.expr(path, item, names);
                }
            }
            Expr::Record { fields } => {
                for (_, item) in fields {
                    self.expr(path, item, names);
                }
            }
        }
    }
}

/// The first dependency cycle among a workflow's steps, in order.
fn step_cycle(wf: &Workflow) -> Option<Vec<usize>> {
    let n = wf.steps.len();
    let edges: Vec<Vec<usize>> = wf
        .steps
        .iter()
        .map(|s| s.deps.iter().copied().filter(|&d| d < n).collect())
        .collect();
    find_cycle(&edges)
}

/// A cycle of the graph `edges` (node → successors), as its nodes in order; iterative, so a
/// long chain does not exhaust the stack.
fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    for root in 0..edges.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // The path from `root`, each node with the next successor to look at.
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            match edges[node].get(*next) {
                Some(&succ) => {
                    *next += 1;
                    match mark[succ] {
                        Mark::New => {
                            mark[succ] = Mark::Open;
                            path.push((succ, 0));
                        }
                        Mark::Open => {
                            let start = path.iter().position(|&(p, _)| p == succ)?;
                            return Some(path[start..].iter().map(|&(p, _)| p).collect());
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    mark[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    None
}

/// A value cut for a message.
fn cut(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
