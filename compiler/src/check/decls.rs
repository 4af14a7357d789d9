//! Declarations: records, enums, signatures, agents, pools and routes, each checked once and
//! kept free of positions in the file so edits elsewhere do not invalidate them.

use super::expr::{ExprCx, Local, LocalKind};
use super::props::{self, Values};
use super::scope::{DefKind, ItemRef, expect_item, scope};
use super::types::{FieldTy, Ty, resolve_type};
use crate::codes::Code;
use crate::db::{Db, Loc, SourceFile, report};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::queries::{item, item_heads};
use crate::syntax::Span;
use crate::syntax::ast::{Block, ExprKind, Field, FloatBits, ItemKind, Property};
use std::collections::BTreeMap;

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
        match *keyword {
            "workflow" => {
                d.workflows.insert(i, name.clone().unwrap_or_default());
                workflow_signature(db, file, i);
            }
            "agent" => {
                d.agents.push(i);
                agent(db, file, i);
            }
            "pool" => {
                d.pools.push(i);
                pool(db, file, i);
            }
            "route" => {
                d.routes.push(i);
                route(db, file, i);
            }
            "type" => {
                d.others.push(i);
                record_fields(db, r);
            }
            "capability" => {
                d.others.push(i);
                capability_signature(db, file, i);
            }
            "const" => {
                d.others.push(i);
                check_const(db, file, i);
            }
            _ => {}
        }
    }
    d
}

/// A record's fields.
pub fn record_fields(db: &dyn Db, r: ItemRef) -> &Vec<FieldTy> {
    record_fields_of(db, r.file, r.index)
}

#[salsa::tracked(returns(ref))]
fn record_fields_of(db: &dyn Db, file: SourceFile, index: u32) -> Vec<FieldTy> {
    let owner = ItemRef { file, index };
    let Some(ItemKind::Type(t)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return Vec::new();
    };
    no_duplicate_fields(db, owner, &t.fields, "field");
    let fields: Vec<FieldTy> = t
        .fields
        .iter()
        .map(|f| FieldTy {
            name: f.name.text.clone(),
            ty: resolve_type(db, file, owner, &f.ty),
            has_default: f.default.is_some(),
        })
        .collect();
    for (f, ft) in t.fields.iter().zip(&fields) {
        if let Some(default) = &f.default {
            let mut cx = ExprCx::new(db, file, owner);
            cx.check(default, &ft.ty, &format!("the default of `{}`", ft.name));
        }
    }
    fields
}

fn no_duplicate_fields(db: &dyn Db, owner: ItemRef, fields: &[Field], what: &str) {
    for (i, f) in fields.iter().enumerate() {
        if let Some(first) = fields[..i].iter().find(|g| g.name.text == f.name.text) {
            report(
                db,
                Diagnostic::new(
                    Code::DuplicateEntry,
                    owner.loc(f.name.span),
                    format!("{what} `{}` is declared twice", f.name.text),
                    "declared again here",
                )
                .with_label(owner.loc(first.name.span), "first declared here"),
            );
        }
    }
}

/// An enum's values.
pub fn enum_variants(db: &dyn Db, r: ItemRef) -> &Vec<String> {
    enum_variants_of(db, r.file, r.index)
}

#[salsa::tracked(returns(ref))]
fn enum_variants_of(db: &dyn Db, file: SourceFile, index: u32) -> Vec<String> {
    let Some(ItemKind::Enum(e)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return Vec::new();
    };
    let owner = ItemRef { file, index };
    for (i, (_, v)) in e.variants.iter().enumerate() {
        if let Some((_, first)) = e.variants[..i].iter().find(|(_, w)| w.text == v.text) {
            report(
                db,
                Diagnostic::new(
                    Code::DuplicateEntry,
                    owner.loc(v.span),
                    format!("enum value `{}` is declared twice", v.text),
                    "declared again here",
                )
                .with_label(owner.loc(first.span), "first declared here"),
            );
        }
    }
    e.variants.iter().map(|(_, v)| v.text.clone()).collect()
}

/// A parameter of a capability or workflow.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParamSig {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// Whether it may be left out.
    pub has_default: bool,
    /// Where it is declared, inside its item.
    pub span: Span,
}

/// The typed signature of a capability or workflow.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// Full name (`std.shell`).
    pub name: String,
    /// Parameters in order.
    pub params: Vec<ParamSig>,
    /// Return type.
    pub ret: Ty,
}

impl Signature {
    /// The arguments as a record type (`input` in routes and strategies).
    pub fn input_type(&self) -> Ty {
        Ty::Anon(
            self.params
                .iter()
                .map(|p| (p.name.clone(), p.ty.clone()))
                .collect(),
        )
    }
}

fn signature(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    name: String,
    params: &[Field],
    ret: &crate::syntax::ast::TypeExpr,
) -> Signature {
    no_duplicate_fields(db, owner, params, "parameter");
    let params: Vec<ParamSig> = params
        .iter()
        .map(|p| {
            let ty = resolve_type(db, file, owner, &p.ty);
            if let Some(d) = &p.default {
                let mut cx = ExprCx::new(db, file, owner);
                cx.check(d, &ty, &format!("the default of `{}`", p.name.text));
            }
            ParamSig {
                name: p.name.text.clone(),
                ty,
                has_default: p.default.is_some(),
                span: p.name.span,
            }
        })
        .collect();
    Signature {
        name,
        params,
        ret: resolve_type(db, file, owner, ret),
    }
}

/// A capability's signature.
#[salsa::tracked(returns(ref))]
pub fn capability_signature(db: &dyn Db, file: SourceFile, index: u32) -> Option<Signature> {
    let it = item(db, file, index).as_ref()?;
    let ItemKind::Capability(c) = &it.kind else {
        return None;
    };
    Some(signature(
        db,
        file,
        ItemRef { file, index },
        c.name.text(),
        &c.params,
        &c.ret,
    ))
}

/// A workflow's signature (parameters and return type, not its body).
#[salsa::tracked(returns(ref))]
pub fn workflow_signature(db: &dyn Db, file: SourceFile, index: u32) -> Option<Signature> {
    let it = item(db, file, index).as_ref()?;
    let ItemKind::Workflow(w) = &it.kind else {
        return None;
    };
    Some(signature(
        db,
        file,
        ItemRef { file, index },
        w.name.text.clone(),
        &w.params,
        &w.ret,
    ))
}

/// The signature of a capability or workflow by reference.
pub fn callee_signature(db: &dyn Db, r: ItemRef, kind: DefKind) -> Option<&Signature> {
    match kind {
        DefKind::Capability => capability_signature(db, r.file, r.index).as_ref(),
        DefKind::Workflow => workflow_signature(db, r.file, r.index).as_ref(),
        _ => None,
    }
}

#[salsa::tracked]
fn check_const(db: &dyn Db, file: SourceFile, index: u32) {
    let Some(ItemKind::Const(c)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return;
    };
    let owner = ItemRef { file, index };
    let ty = resolve_type(db, file, owner, &c.ty);
    let mut cx = ExprCx::new(db, file, owner);
    cx.check(&c.value, &ty, &format!("constant `{}`", c.name.text));
    if !cx.step_refs.is_empty() {
        return;
    }
    if let Err(why) = super::consts::evaluate_const(db, owner) {
        report(db, not_const(owner, &c.name.text, &why));
    }
}

/// Why constant `name` has no value, placed where it fails.
fn not_const(owner: ItemRef, name: &str, why: &super::consts::NotConst) -> Diagnostic<Loc> {
    use super::consts::Cause;
    let via = why
        .via
        .as_ref()
        .map_or(String::new(), |v| format!(" (through constant `{v}`)"));
    let (message, label, help) = match &why.cause {
        Cause::RunTime => (
            format!("constant `{name}` is not known at compile time"),
            "computed at run time".to_string(),
            "constants are literals, other constants, operators and the built-in functions but `env`"
                .to_string(),
        ),
        Cause::Env => (
            format!("constant `{name}` reads the environment"),
            "`env` is read when the run starts".to_string(),
            "read it in the workflow instead: `env(…)` in a step's argument or the output".to_string(),
        ),
        Cause::DivisionByZero => (
            format!("constant `{name}` divides by zero{via}"),
            "division by zero".to_string(),
            "the divisor is known at compile time and is 0".to_string(),
        ),
        Cause::Overflow(what) => (
            format!("constant `{name}` overflows{via}: {what} does not fit its type"),
            "overflows".to_string(),
            "integers are 64-bit; durations and sizes are not negative".to_string(),
        ),
        Cause::TooLarge => (
            format!("constant `{name}` is too large to compute at compile time{via}"),
            "too large".to_string(),
            format!(
                "a constant may build at most {} elements and characters; compute large values in a step",
                super::consts::MAX_CONST_WORK
            ),
        ),
        Cause::Invalid(what) => (
            format!("constant `{name}` has no value{via}: {what}"),
            "fails".to_string(),
            "the runtime would refuse the same expression".to_string(),
        ),
        Cause::Cycle => (
            format!("constant `{name}` depends on itself{via}"),
            "refers back to it".to_string(),
            "give one of the constants in the cycle a value of its own".to_string(),
        ),
        Cause::TooDeep => (
            format!(
                "constant `{name}` refers to constants more than {} deep",
                super::consts::MAX_CONST_DEPTH
            ),
            "too deep".to_string(),
            "flatten the chain of constants".to_string(),
        ),
    };
    Diagnostic::new(
        Code::InvalidPropertyValue,
        owner.loc(why.span),
        message,
        label,
    )
    .with_help(help)
}

/// Capacity of one agent instance, or demand of one task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    /// CPUs.
    pub cpu: Option<FloatBits>,
    /// Bytes of memory.
    pub memory: Option<u64>,
    /// LLM tokens.
    pub tokens: Option<u64>,
}

impl Resources {
    /// Whether a capacity (`self`) covers a demand; a capacity left unset is unlimited.
    pub fn covers(&self, demand: &Resources) -> bool {
        let cpu = match (self.cpu, demand.cpu) {
            (Some(have), Some(need)) => have.get() >= need.get(),
            _ => true,
        };
        let mem = match (self.memory, demand.memory) {
            (Some(have), Some(need)) => have >= need,
            _ => true,
        };
        let tok = match (self.tokens, demand.tokens) {
            (Some(have), Some(need)) => have >= need,
            _ => true,
        };
        cpu && mem && tok
    }
}

/// Reads a `{ cpu, memory, tokens }` record.
pub fn resources(v: &Values, prop: &Property) -> Resources {
    let mut r = Resources::default();
    for (key, value) in v.record("resources", &prop.value, &["cpu", "memory", "tokens"]) {
        match key {
            "cpu" => {
                r.cpu = v
                    .fraction("resources.cpu", value, 0.0, hive_plan::limits::MAX_CPU)
                    .map(|f| FloatBits(f.to_bits()))
            }
            "memory" => r.memory = v.size("resources.memory", value),
            _ => r.tokens = v.int("resources.tokens", value, 0).map(|t| t as u64),
        }
    }
    r
}

/// An agent's `simulate` behaviour.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Simulate {
    /// Mean latency, ms.
    pub latency_ms: u64,
    /// Uniform jitter around the latency, ms.
    pub jitter_ms: u64,
    /// Probability that a task fails.
    pub failure_rate: FloatBits,
}

/// A checked agent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AgentDecl {
    /// Its name.
    pub name: String,
    /// Capabilities it provides.
    pub provides: Vec<ItemRef>,
    /// Topics it subscribes to.
    pub subscribes: Vec<ItemRef>,
    /// `exec` command.
    pub exec: Option<String>,
    /// `builtin` implementation.
    pub builtin: Option<String>,
    /// `files`: the root of a `std` agent's file capabilities.
    pub files: Option<String>,
    /// Minimum and maximum instances.
    pub replicas: (u32, u32),
    /// Tasks in flight per instance.
    pub concurrency: u32,
    /// Weight for `weighted`.
    pub weight: u32,
    /// Capacity of one instance.
    pub resources: Resources,
    /// Heartbeat interval, ms.
    pub heartbeat_ms: u64,
    /// Unanswered deliveries of one task before it is dead-lettered.
    pub max_deliveries: u32,
    /// Simulation behaviour.
    pub simulate: Option<Simulate>,
    /// Whether `weight` was written (equal-weight warnings only count explicit weights).
    pub weight_given: bool,
}

/// A checked agent, if `index` is an agent.
#[salsa::tracked(returns(ref))]
pub fn agent(db: &dyn Db, file: SourceFile, index: u32) -> Option<AgentDecl> {
    let Some(ItemKind::Agent(block)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return None;
    };
    let owner = ItemRef { file, index };
    let props = props::index(db, owner, &block.properties, props::AGENT, "an agent");
    let v = Values { db, file, owner };
    let mut a = AgentDecl {
        name: block.name.text.clone(),
        provides: Vec::new(),
        subscribes: Vec::new(),
        exec: None,
        builtin: None,
        files: None,
        replicas: (1, 1),
        concurrency: 1,
        weight: 1,
        resources: Resources::default(),
        heartbeat_ms: 5_000,
        max_deliveries: 3,
        simulate: None,
        weight_given: false,
    };
    match props.get("provides") {
        None => missing(
            db,
            owner,
            block,
            "provides",
            "list the capabilities it serves: `provides: [name]`",
        ),
        Some(p) => match &p.value.kind {
            ExprKind::List(items) => {
                for e in items {
                    match &e.kind {
                        ExprKind::Path(path) => {
                            if let Some(def) = expect_item(
                                db,
                                file,
                                owner,
                                path,
                                &[DefKind::Capability],
                                "capability",
                            ) {
                                a.provides.push(def.item);
                            }
                        }
                        _ => v.ill_typed("provides", "a list of capability names", e, None),
                    }
                }
            }
            _ => v.ill_typed("provides", "a list of capability names", &p.value, None),
        },
    }
    if let Some(p) = props.get("subscribes") {
        a.subscribes = super::topics::subscribes(db, file, owner, p);
    }
    if let Some(p) = props.get("exec") {
        a.exec = v.string("exec", &p.value);
    }
    if let Some(p) = props.get("builtin") {
        a.builtin = v.string("builtin", &p.value);
        if let Some(b) = &a.builtin
            && b != "std"
        {
            v.out_of_range(
                "builtin",
                &format!("names no built-in agent: `{b}`"),
                p.value.span,
                Some("the runtime implements `\"std\"`".into()),
            );
        }
    }
    if let Some(p) = props.get("files") {
        a.files = v.string("files", &p.value);
        if a.files.as_deref() == Some("") {
            v.out_of_range(
                "files",
                "must name a directory",
                p.value.span,
                Some(
                    "give the directory its file capabilities may reach: `files: \"data\"`".into(),
                ),
            );
        } else if a.files.is_some() && a.builtin.as_deref() != Some("std") {
            v.out_of_range(
                "files",
                "applies only to `builtin: \"std\"` agents",
                p.name.span,
                Some(
                    "an exec agent's process reaches the files its user can: remove `files`".into(),
                ),
            );
        }
    }
    if let (Some(e), Some(b)) = (props.get("exec"), props.get("builtin")) {
        report(
            db,
            Diagnostic::new(
                Code::ConflictingProperties,
                owner.loc(b.name.span),
                format!("agent `{}` has both `exec` and `builtin`", a.name),
                "builtin here",
            )
            .with_label(owner.loc(e.name.span), "exec here")
            .with_help("an agent is either a process (`exec`) or built in (`builtin`): keep one"),
        );
    }
    if !props.contains_key("exec")
        && !props.contains_key("builtin")
        && !props.contains_key("simulate")
    {
        missing(
            db,
            owner,
            block,
            "exec",
            "give `exec: \"command\"`, `builtin: \"std\"`, or a `simulate` block for --simulate",
        );
    }
    if let Some(p) = props.get("replicas") {
        a.replicas = replicas(&v, p).unwrap_or((1, 1));
    }
    if let Some(p) = props.get("concurrency") {
        a.concurrency = v.int("concurrency", &p.value, 1).map_or(1, clamp_u32);
    }
    if let Some(p) = props.get("weight") {
        a.weight = v.int("weight", &p.value, 1).map_or(1, clamp_u32);
        a.weight_given = true;
    }
    if let Some(p) = props.get("resources") {
        a.resources = resources(&v, p);
    }
    if let Some(p) = props.get("max_deliveries") {
        a.max_deliveries = v.int("max_deliveries", &p.value, 1).map_or(3, clamp_u32);
    }
    if let Some(p) = props.get("heartbeat") {
        a.heartbeat_ms = v.duration("heartbeat", &p.value).unwrap_or(5_000);
    }
    for key in ["labels", "env"] {
        if let Some(p) = props.get(key) {
            let mut cx = ExprCx::new(db, file, owner);
            cx.check(&p.value, &Ty::Map(Box::new(Ty::Str)), &format!("`{key}`"));
        }
    }
    if let Some(p) = props.get("simulate") {
        a.simulate = Some(simulate(&v, p));
    }
    Some(a)
}

fn clamp_u32(i: i64) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn replicas(v: &Values, p: &Property) -> Option<(u32, u32)> {
    use hive_plan::limits::MAX_REPLICAS;
    let most = match super::consts::eval(v.db, v.file, &p.value) {
        Some(super::consts::Const::Int(n) | super::consts::Const::Range(_, n)) => n,
        _ => 0,
    };
    if most > i64::from(MAX_REPLICAS) {
        v.out_of_range(
            "replicas",
            &format!("of {most} is over the limit of {MAX_REPLICAS} instances"),
            p.value.span,
            Some(format!(
                "use at most {MAX_REPLICAS} instances for one agent"
            )),
        );
        return None;
    }
    match super::consts::eval(v.db, v.file, &p.value) {
        Some(super::consts::Const::Int(n)) if n >= 1 => Some((clamp_u32(n), clamp_u32(n))),
        Some(super::consts::Const::Range(lo, hi)) if lo >= 1 && hi >= lo => {
            Some((clamp_u32(lo), clamp_u32(hi)))
        }
        Some(super::consts::Const::Range(lo, hi)) => {
            v.out_of_range(
                "replicas",
                &format!("range {lo}..{hi} must start at 1 or more and not decrease"),
                p.value.span,
                None,
            );
            None
        }
        Some(super::consts::Const::Int(n)) => {
            v.out_of_range(
                "replicas",
                &format!("must be at least 1, found {n}"),
                p.value.span,
                Some("use a value of 1 or more".into()),
            );
            None
        }
        other => {
            v.ill_typed(
                "replicas",
                "an integer or a range `min..max`",
                &p.value,
                other.as_ref(),
            );
            None
        }
    }
}

fn simulate(v: &Values, p: &Property) -> Simulate {
    let mut s = Simulate {
        latency_ms: 0,
        jitter_ms: 0,
        failure_rate: FloatBits(0f64.to_bits()),
    };
    for (key, value) in v.record(
        "simulate",
        &p.value,
        &["latency", "jitter", "failure_rate", "output"],
    ) {
        match key {
            "latency" | "jitter" => {
                let ms = match super::consts::eval(v.db, v.file, value) {
                    Some(super::consts::Const::Duration(ms)) => ms,
                    other => {
                        v.ill_typed(
                            &format!("simulate.{key}"),
                            "a duration",
                            value,
                            other.as_ref(),
                        );
                        0
                    }
                };
                if key == "latency" {
                    s.latency_ms = ms
                } else {
                    s.jitter_ms = ms
                }
            }
            "failure_rate" => {
                if let Some(f) = v.fraction("simulate.failure_rate", value, 0.0, 1.0) {
                    s.failure_rate = FloatBits(f.to_bits());
                }
            }
            _ => {
                ExprCx::new(v.db, v.file, v.owner).infer(value);
            }
        }
    }
    s
}

fn missing(db: &dyn Db, owner: ItemRef, block: &Block, prop: &str, help: &str) {
    report(
        db,
        Diagnostic::new(
            Code::MissingProperty,
            owner.loc(block.name.span),
            format!("`{}` has no `{prop}`", block.name.text),
            format!("`{prop}` missing"),
        )
        .with_help(help),
    );
}

/// Checks a `hash` strategy's key of `owner` against the arguments (`input`) of a task.
pub fn check_hash_key(db: &dyn Db, owner: ItemRef, key: &crate::syntax::ast::Expr, input: Ty) {
    let mut cx = ExprCx::new(db, owner.file, owner);
    cx.locals.insert(
        "input".into(),
        Local {
            ty: input,
            kind: LocalKind::Context,
        },
    );
    cx.infer(key);
}

/// The key expression of a `strategy: hash(key: …)` among `properties`.
pub fn hash_key(properties: &[Property]) -> Option<&crate::syntax::ast::Expr> {
    let p = properties.iter().find(|p| p.name.text == "strategy")?;
    let ExprKind::Call(c) = &p.value.kind else {
        return None;
    };
    if c.callee.text() != "hash" {
        return None;
    }
    c.args
        .iter()
        .find(|a| a.name.as_ref().is_some_and(|n| n.text == "key"))
        .map(|a| &a.value)
}

/// A balancing strategy as checked: `hash` keeps its key expression in the syntax tree until
/// lowering.
pub type Strategy = hive_plan::Strategy<()>;

/// Reads a `strategy` value; `input` is the type of the routed task's arguments.
pub fn strategy(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    prop: &Property,
    input: Ty,
) -> Option<Strategy> {
    let (name, args, span) = match &prop.value.kind {
        ExprKind::Path(p) => (p.text(), &[][..], p.span),
        ExprKind::Call(c) => (c.callee.text(), &c.args[..], c.callee.span),
        _ => {
            Values { db, file, owner }.ill_typed("strategy", "a strategy name", &prop.value, None);
            return None;
        }
    };
    let bad_arg = |span: Span, message: String, help: &str| {
        report(
            db,
            Diagnostic::new(
                Code::InvalidStrategyArgument,
                owner.loc(span),
                message,
                "here",
            )
            .with_help(help),
        );
    };
    let no_args = |s: Strategy| {
        if let Some(a) = args.first() {
            bad_arg(
                a.span,
                format!("`{name}` takes no arguments"),
                &format!("write `strategy: {name}`"),
            );
        }
        Some(s)
    };
    match name.as_str() {
        "round_robin" => no_args(Strategy::RoundRobin),
        "least_busy" => no_args(Strategy::LeastBusy),
        "weighted" => no_args(Strategy::Weighted),
        "resource_aware" => no_args(Strategy::ResourceAware),
        "performance" => no_args(Strategy::Performance),
        "auction" => no_args(Strategy::Auction),
        "random" => {
            let mut two_choices = false;
            for a in args {
                match a.name.as_ref().map(|n| n.text.as_str()) {
                    Some("two_choices") => match super::consts::eval(db, file, &a.value) {
                        Some(super::consts::Const::Bool(b)) => two_choices = b,
                        _ => bad_arg(
                            a.value.span,
                            "`two_choices` must be `true` or `false`".into(),
                            "write `random(two_choices: true)`",
                        ),
                    },
                    _ => bad_arg(
                        a.span,
                        "`random` takes only `two_choices: bool`".into(),
                        "write `random` or `random(two_choices: true)`",
                    ),
                }
            }
            Some(Strategy::Random { two_choices })
        }
        "hash" => {
            let key = args
                .iter()
                .find(|a| a.name.as_ref().is_some_and(|n| n.text == "key"));
            for a in args
                .iter()
                .filter(|a| a.name.as_ref().is_none_or(|n| n.text != "key"))
            {
                bad_arg(
                    a.span,
                    "`hash` takes only `key: expr`".into(),
                    "write `hash(key: input.user)`",
                );
            }
            match key {
                Some(k) => check_hash_key(db, owner, &k.value, input),
                None => bad_arg(
                    span,
                    "`hash` needs a key".into(),
                    "write `hash(key: input.user)`: equal keys go to the same member",
                ),
            }
            Some(Strategy::Hash { key: () })
        }
        _ => {
            report(
                db,
                Diagnostic::new(
                    Code::UnknownStrategy,
                    owner.loc(span),
                    format!("unknown strategy `{name}`"),
                    "not a strategy",
                )
                .with_help(
                    match did_you_mean(&name, props::STRATEGIES.iter().copied()) {
                        Some(s) => s,
                        None => format!("strategies: {}", props::STRATEGIES.join(", ")),
                    },
                ),
            );
            None
        }
    }
}

/// A checked pool.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolDecl {
    /// Its name.
    pub name: String,
    /// Member agents (unknown ones left out, already reported).
    pub members: Vec<ItemRef>,
    /// The strategy, default `least_busy`.
    pub strategy: Strategy,
    /// Bound on waiting tasks.
    pub max_queue: Option<u32>,
}

/// A checked pool, if `index` is a pool.
#[salsa::tracked(returns(ref))]
pub fn pool(db: &dyn Db, file: SourceFile, index: u32) -> Option<PoolDecl> {
    let Some(ItemKind::Pool(block)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return None;
    };
    let owner = ItemRef { file, index };
    let props = props::index(db, owner, &block.properties, props::POOL, "a pool");
    let v = Values { db, file, owner };
    let mut members = Vec::new();
    match props.get("members") {
        None => missing(
            db,
            owner,
            block,
            "members",
            "list its agents: `members: [a, b]`",
        ),
        Some(p) => match &p.value.kind {
            ExprKind::List(items) => {
                for e in items {
                    let ExprKind::Path(path) = &e.kind else {
                        v.ill_typed("members", "a list of agent names", e, None);
                        continue;
                    };
                    match super::scope::resolve_path(db, file, path) {
                        super::scope::Resolved::Item(def, n)
                            if n == path.segments.len() && def.kind == DefKind::Agent =>
                        {
                            if members.contains(&def.item) {
                                report(
                                    db,
                                    Diagnostic::new(
                                        Code::DuplicateEntry,
                                        owner.loc(e.span),
                                        format!("`{}` is listed twice", path.text()),
                                        "listed again here",
                                    ),
                                );
                            }
                            members.push(def.item);
                        }
                        super::scope::Resolved::Item(def, n) if n == path.segments.len() => report(
                            db,
                            Diagnostic::new(
                                Code::InvalidPoolMember,
                                owner.loc(e.span),
                                format!(
                                    "pool member `{}` is {}, not an agent",
                                    path.text(),
                                    def.kind.a_word()
                                ),
                                "not an agent",
                            )
                            .with_help("pools group agents; routes can target pools directly"),
                        ),
                        _ => {
                            let names = scope(db, file);
                            let candidates: Vec<&str> = names.names_of(&[DefKind::Agent]).collect();
                            report(
                                db,
                                Diagnostic::new(
                                    Code::InvalidPoolMember,
                                    owner.loc(e.span),
                                    format!(
                                        "pool member `{}` is not a declared agent",
                                        path.text()
                                    ),
                                    "unknown agent",
                                )
                                .with_help_opt(did_you_mean(&path.text(), candidates)),
                            );
                        }
                    }
                }
            }
            _ => v.ill_typed("members", "a list of agent names", &p.value, None),
        },
    }
    let strategy = props
        .get("strategy")
        .and_then(|p| strategy(db, file, owner, p, Ty::Json))
        .unwrap_or(Strategy::LeastBusy);
    let max_queue = props
        .get("max_queue")
        .and_then(|p| v.int("max_queue", &p.value, 1))
        .map(clamp_u32);
    if strategy == Strategy::Weighted && members.len() > 1 {
        let weights: Vec<u32> = members
            .iter()
            .filter_map(|m| self::agent(db, m.file, m.index).as_ref().map(|a| a.weight))
            .collect();
        if weights.windows(2).all(|w| w[0] == w[1]) {
            report(
                db,
                Diagnostic::new(
                    Code::EqualWeights,
                    owner.loc(
                        props
                            .get("strategy")
                            .map_or(block.name.span, |p| p.value.span),
                    ),
                    format!(
                        "pool `{}` is weighted, but all its members weigh {}",
                        block.name.text,
                        weights.first().copied().unwrap_or(1)
                    ),
                    "equal weights make this round robin",
                )
                .with_help("give members different `weight`s, or use `strategy: round_robin`"),
            );
        }
    }
    Some(PoolDecl {
        name: block.name.text.clone(),
        members,
        strategy,
        max_queue,
    })
}

/// A checked route.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteDecl {
    /// The routed capability.
    pub capability: Option<ItemRef>,
    /// The agent or pool it goes to.
    pub target: Option<(DefKind, ItemRef)>,
    /// Strategy override.
    pub strategy: Option<Strategy>,
    /// Fallback agent or pool.
    pub fallback: Option<(DefKind, ItemRef)>,
    /// Whether it is conditional.
    pub conditional: bool,
}

/// A checked route, if `index` is a route.
#[salsa::tracked(returns(ref))]
pub fn route(db: &dyn Db, file: SourceFile, index: u32) -> Option<RouteDecl> {
    let Some(ItemKind::Route(r)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return None;
    };
    let owner = ItemRef { file, index };
    let capability = expect_item(
        db,
        file,
        owner,
        &r.capability,
        &[DefKind::Capability],
        "capability",
    )
    .map(|d| d.item);
    if let Some(c) = capability {
        super::unused::mark_used(db, c);
    }
    let target = expect_item(
        db,
        file,
        owner,
        &r.target,
        &[DefKind::Agent, DefKind::Pool],
        "agent or pool",
    )
    .map(|d| (d.kind, d.item));
    let props = props::index(db, owner, &r.properties, props::ROUTE, "a route");
    let input = capability
        .and_then(|c| capability_signature(db, c.file, c.index).as_ref())
        .map_or(Ty::Json, |s| s.input_type());
    let strategy = props
        .get("strategy")
        .and_then(|p| strategy(db, file, owner, p, input.clone()));
    let fallback = props.get("fallback").and_then(|p| match &p.value.kind {
        ExprKind::Path(path) => expect_item(
            db,
            file,
            owner,
            path,
            &[DefKind::Agent, DefKind::Pool],
            "agent or pool",
        )
        .map(|d| (d.kind, d.item)),
        _ => {
            Values { db, file, owner }.ill_typed(
                "fallback",
                "an agent or pool name",
                &p.value,
                None,
            );
            None
        }
    });
    if let Some(p) = props.get("when") {
        let mut cx = ExprCx::new(db, file, owner);
        cx.locals.insert(
            "input".into(),
            Local {
                ty: input,
                kind: LocalKind::Context,
            },
        );
        cx.locals.insert(
            "priority".into(),
            Local {
                ty: Ty::Priority,
                kind: LocalKind::Context,
            },
        );
        for level in props::PRIORITIES {
            cx.locals.insert(
                level.to_string(),
                Local {
                    ty: Ty::Priority,
                    kind: LocalKind::Context,
                },
            );
        }
        cx.check(&p.value, &Ty::Bool, "a route's `when`");
    }
    Some(RouteDecl {
        capability,
        target,
        strategy,
        fallback,
        conditional: props.contains_key("when"),
    })
}
