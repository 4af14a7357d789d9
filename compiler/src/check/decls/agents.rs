//! Agents: their properties, resources, replicas and simulated behaviour.

use super::*;

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
        a.subscribes = crate::check::topics::subscribes(db, file, owner, p);
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
            cx.check(
                &p.value,
                &Ty::Map(Box::new(Ty::Str)),
                format_args!("`{key}`"),
            );
        }
    }
    if let Some(p) = props.get("simulate") {
        a.simulate = Some(simulate(&v, p));
    }
    Some(a)
}

pub(super) fn clamp_u32(i: i64) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

pub(super) fn replicas(v: &Values, p: &Property) -> Option<(u32, u32)> {
    use hive_plan::limits::MAX_REPLICAS;
    let most = match crate::check::consts::eval(v.db, v.file, &p.value) {
        Some(crate::check::consts::Const::Int(n) | crate::check::consts::Const::Range(_, n)) => n,
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
    match crate::check::consts::eval(v.db, v.file, &p.value) {
        Some(crate::check::consts::Const::Int(n)) if n >= 1 => Some((clamp_u32(n), clamp_u32(n))),
        Some(crate::check::consts::Const::Range(lo, hi)) if lo >= 1 && hi >= lo => {
            Some((clamp_u32(lo), clamp_u32(hi)))
        }
        Some(crate::check::consts::Const::Range(lo, hi)) => {
            v.out_of_range(
                "replicas",
                &format!("range {lo}..{hi} must start at 1 or more and not decrease"),
                p.value.span,
                None,
            );
            None
        }
        Some(crate::check::consts::Const::Int(n)) => {
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

pub(super) fn simulate(v: &Values, p: &Property) -> Simulate {
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
                let ms = match crate::check::consts::eval(v.db, v.file, value) {
                    Some(crate::check::consts::Const::Duration(ms)) => ms,
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

pub(super) fn missing(db: &dyn Db, owner: ItemRef, block: &Block, prop: &str, help: &str) {
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
