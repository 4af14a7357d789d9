//! The execution plan: what `hivec plan` prints and `hivec run` executes.
//!
//! Invariant: a plan is self-contained and deterministic. Every name in it is resolved to a key
//! of one of its maps, every default is filled in, and the same sources always give the same
//! plan, byte for byte. The runtime reads nothing else.

mod args;
mod builtins;
mod expr;
pub mod limits;
mod render;
mod state;
mod strategies;
mod topic;
mod types;
mod validate;

pub use args::Args;
pub use builtins::{Arity, Builtin, Function};
pub use expr::{BinaryOp, Display as ExprDisplay, Expr, UnaryOp};
pub use render::{dot, duration, mermaid, size, text};
pub use state::{Conflict, Policy, Reducer, StateCell};
pub use strategies::StrategyKind;
pub use topic::Topic;
pub use types::{FieldDef, Type, TypeDef};
pub use validate::{Problem, validate};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The version of the plan format; a plan of another version is refused.
pub const FORMAT: u32 = 2;

/// A lowered workspace: one root file and everything it imports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`FORMAT`] at the time of writing.
    pub format: u32,
    /// Version of the compiler that wrote it.
    pub compiler: String,
    /// SHA-256 over the sources (their paths relative to the root file and their text).
    pub source_hash: String,
    /// Directory of the root file as the compiler was given it (`hivec plan --format json`
    /// saves it absolute; `hivec run` takes a relative one in a saved plan relative to the
    /// plan file); `exec` agents start from the directory of their source file, found
    /// relative to this one.
    pub base: String,
    /// Source files relative to `base`; [`Loc::file`] indexes this list.
    pub sources: Vec<String>,
    /// Records and enums by name.
    pub types: BTreeMap<String, TypeDef>,
    /// Capabilities by name.
    pub capabilities: BTreeMap<String, Capability>,
    /// Agents by name.
    pub agents: BTreeMap<String, Agent>,
    /// Pools by name.
    pub pools: BTreeMap<String, Pool>,
    /// Workflows by name: the root file's, and those they call.
    pub workflows: BTreeMap<String, Workflow>,
    /// Shared state cells by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub states: BTreeMap<String, StateCell>,
    /// Topics by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<String, Topic>,
}

impl Plan {
    /// Every routing of every step, fallbacks after the routing they stand behind, and the
    /// members of broadcast steps.
    pub fn routings(&self) -> impl Iterator<Item = &Routing> {
        self.workflows
            .values()
            .flat_map(|w| &w.steps)
            .flat_map(|s| {
                s.routing
                    .iter()
                    .chain(s.broadcast.iter().flat_map(|b| &b.members))
            })
            .flat_map(|r| std::iter::successors(Some(r), |r| r.fallback.as_deref()))
    }

    /// Numbers every routing in plan order ([`Routing::id`]), so ids depend on the sources
    /// alone.
    pub fn number_routings(workflows: &mut BTreeMap<String, Workflow>) {
        let mut next = 0;
        for step in workflows.values_mut().flat_map(|w| &mut w.steps) {
            let members = step.broadcast.iter_mut().flat_map(|b| &mut b.members);
            for routing in step.routing.iter_mut().chain(members) {
                let mut r = Some(routing);
                while let Some(routing) = r {
                    routing.id = next;
                    next += 1;
                    r = routing.fallback.as_deref_mut();
                }
            }
        }
    }

    /// The workflow a run executes, with its name: `name` if given, else `main`, else the
    /// only one.
    pub fn entry(&self, name: Option<&str>) -> Result<(&str, &Workflow), String> {
        let names = || {
            self.workflows
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(n) => self
                .workflows
                .get_key_value(n)
                .map(|(k, w)| (k.as_str(), w))
                .ok_or_else(|| format!("no workflow `{n}`; the plan has {}", names())),
            None => {
                if let Some((k, w)) = self.workflows.get_key_value("main") {
                    return Ok((k, w));
                }
                let mut it = self.workflows.iter();
                match (it.next(), it.next()) {
                    (Some((k, w)), None) => Ok((k, w)),
                    (None, _) => Err("the plan has no workflow".into()),
                    _ => Err(format!(
                        "the plan has several workflows and none is `main`: choose one of {} with --workflow",
                        names()
                    )),
                }
            }
        }
    }

    /// Keeps workflow `name` and the workflows it calls, transitively; an error names the
    /// workflows there are.
    pub fn retain_workflow(&mut self, name: &str) -> Result<(), String> {
        self.entry(Some(name))?;
        let mut keep = vec![name.to_string()];
        let mut i = 0;
        while i < keep.len() {
            for s in &self.workflows[&keep[i]].steps {
                if let Callee::Workflow(w) = &s.call
                    && !keep.contains(w)
                {
                    keep.push(w.clone());
                }
            }
            i += 1;
        }
        self.workflows.retain(|k, _| keep.contains(k));
        Ok(())
    }

    /// The source location as `path:line:column`.
    pub fn place(&self, loc: &Loc) -> String {
        let file = self
            .sources
            .get(loc.file as usize)
            .map_or("?", String::as_str);
        format!("{file}:{}:{}", loc.line, loc.column)
    }
}

/// A place in a source file, for messages at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loc {
    /// Index into [`Plan::sources`].
    pub file: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// A typed signature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Capability {
    /// Parameters in order.
    pub params: Vec<Param>,
    /// What a task returns; outputs are checked against it.
    pub returns: Type,
    /// State cells its agents may read (`reads [..]`), keys of [`Plan::states`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
    /// State cells its agents may write (`writes [..]`), keys of [`Plan::states`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<String>,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// A parameter of a capability or workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: Type,
    /// Its default value, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Expr>,
}

/// Resource amounts: an agent instance's capacity, or a step's demand. Unset means unlimited
/// (capacity) or nothing (demand).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    /// Memory in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// LLM tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
}

impl Resources {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none() && self.tokens.is_none()
    }
}

/// A worker that provides capabilities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Capabilities it serves.
    pub provides: Vec<String>,
    /// Topics whose messages it is sent as `event` messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribes: Vec<String>,
    /// Command line run by `sh -c`, if it is a process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<String>,
    /// Directory the command runs in, relative to [`Plan::base`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Name of a built-in agent (`std`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
    /// For a `std` agent: the directory its file capabilities may reach, as written (a
    /// relative one is relative to the run's directory); none for the run's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<String>,
    /// Fewest instances.
    pub min_replicas: u32,
    /// Most instances; above `min_replicas` the agent scales automatically.
    pub max_replicas: u32,
    /// Tasks in flight per instance; none for a built-in agent without a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// For the `weighted` strategy.
    pub weight: u32,
    /// Capacity of one instance.
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// Heartbeat interval; three missed intervals mean the instance is dead.
    pub heartbeat_ms: u64,
    /// Distributed mode: deliveries of one task that may go unanswered (its worker or
    /// instance died) before the task is dead-lettered.
    pub max_deliveries: u32,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Expr>,
    /// Environment of the process (`env("NAME")` values are read at run time).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Expr>,
    /// Behaviour under `--simulate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulate: Option<Simulate>,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// Simulated behaviour of an agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Simulate {
    /// Mean latency.
    pub latency_ms: u64,
    /// Uniform jitter around the latency.
    pub jitter_ms: u64,
    /// Probability that a task fails.
    pub failure_rate: f64,
    /// The output, when not generated from the return type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Expr>,
}

/// A group of agents with one strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    /// Member agents.
    pub members: Vec<String>,
    /// How a member is chosen.
    pub strategy: Strategy,
    /// Most tasks waiting for the pool; beyond it, tasks wait at their steps (backpressure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue: Option<u32>,
    /// Where it is declared.
    pub loc: Loc,
}

/// A balancing strategy. The checker uses it with no key (`Strategy<()>`): the `hash` key
/// becomes an expression of the plan only when lowered.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Strategy<K = Expr> {
    /// The next live member with free capacity, in turn.
    RoundRobin,
    /// Fewest tasks in flight relative to capacity.
    LeastBusy,
    /// Smooth weighted round robin over `weight`.
    Weighted,
    /// Most headroom among members whose free resources cover the demand.
    ResourceAware,
    /// Lowest expected completion time, from moving averages of latency and success.
    Performance,
    /// Uniform, or the better of two random choices.
    Random {
        /// Power of two choices.
        two_choices: bool,
    },
    /// Consistent hashing of a key over the task's arguments (`input`).
    Hash {
        /// The key.
        key: K,
    },
    /// Lowest bid.
    Auction,
}

impl<K> Strategy<K> {
    /// The same strategy with `hash`'s key replaced by `key(old)`; `key` runs only for `hash`.
    pub fn with_key<L>(self, key: impl FnOnce(K) -> L) -> Strategy<L> {
        match self {
            Strategy::RoundRobin => Strategy::RoundRobin,
            Strategy::LeastBusy => Strategy::LeastBusy,
            Strategy::Weighted => Strategy::Weighted,
            Strategy::ResourceAware => Strategy::ResourceAware,
            Strategy::Performance => Strategy::Performance,
            Strategy::Random { two_choices } => Strategy::Random { two_choices },
            Strategy::Hash { key: k } => Strategy::Hash { key: key(k) },
            Strategy::Auction => Strategy::Auction,
        }
    }
}

/// Where tasks go: one agent, a pool, or every agent providing the capability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// One agent.
    Agent {
        /// Its name.
        agent: String,
    },
    /// A pool's members.
    Pool {
        /// Its name.
        pool: String,
    },
    /// Every agent that provides the capability (no route names a target).
    Providers {
        /// Those agents.
        agents: Vec<String>,
    },
}

impl Target {
    /// A short description: `reviewers (pool)`.
    pub fn describe(&self) -> String {
        match self {
            Target::Agent { agent } => agent.clone(),
            Target::Pool { pool } => format!("pool {pool}"),
            Target::Providers { agents } if agents.len() == 1 => agents[0].clone(),
            Target::Providers { agents } => format!("any of {}", agents.join(", ")),
        }
    }

    /// Whether it is one agent, with nothing to balance.
    pub fn is_single(&self) -> bool {
        match self {
            Target::Agent { .. } => true,
            Target::Pool { .. } => false,
            Target::Providers { agents } => agents.len() == 1,
        }
    }
}

/// One way a capability step's tasks may be routed; the first whose `when` holds applies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    /// Its number in the plan, unique among all routings of all workflows (fallbacks
    /// included): how the runtime and remote workers name it.
    pub id: u32,
    /// Condition over `input` (the task's arguments) and `priority`; none for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Expr>,
    /// Where the tasks go.
    pub target: Target,
    /// How a member is chosen.
    pub strategy: Strategy,
    /// Used when the target has no live member, or all attempts on it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Box<Routing>>,
    /// The route that chose this, if any (`on:` and implicit routing have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Loc>,
}

/// Scheduling priority, most urgent first.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// `critical`
    Critical,
    /// `urgent`
    Urgent,
    /// `high`
    High,
    /// `normal`
    #[default]
    Normal,
    /// `low`
    Low,
}

impl Priority {
    /// Parses a level as written.
    pub fn parse(word: &str) -> Option<Priority> {
        Some(match word {
            "critical" => Priority::Critical,
            "urgent" => Priority::Urgent,
            "high" => Priority::High,
            "normal" => Priority::Normal,
            "low" => Priority::Low,
            _ => return None,
        })
    }

    /// 0 (`low`) to 4 (`critical`): how a route's `when` sees `priority`.
    pub fn urgency(self) -> u8 {
        4 - self as u8
    }

    /// The level as written.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// A typed DAG of steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// Parameters (the run's inputs).
    pub params: Vec<Param>,
    /// The output's type.
    pub returns: Type,
    /// Priority of its tasks unless a step overrides it.
    pub priority: Priority,
    /// Deadline of a whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Token budget of one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u64>,
    /// Steps in a topological order (ties in source order); dependencies point backwards.
    pub steps: Vec<Step>,
    /// The value it returns.
    pub output: Expr,
    /// What the plan alone tells about a run.
    pub bounds: Bounds,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

impl Workflow {
    /// The topics its steps publish to (`publish`) or receive from (`receive`), each once,
    /// in step order.
    pub fn topics(&self, receive: bool) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.steps {
            let t = match (&s.call, receive) {
                (Callee::Publish(t), false) | (Callee::Receive(t), true) => t.as_str(),
                _ => continue,
            };
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }
}

/// What a step calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Callee {
    /// A capability, served by agents.
    Capability(String),
    /// A sub-workflow, run inline.
    Workflow(String),
    /// `publish topic(value)`: the argument `value` is the message.
    Publish(String),
    /// `receive topic(where: pred)`: the optional argument `where` filters the messages.
    Receive(String),
}

impl Callee {
    /// The callee's name.
    pub fn name(&self) -> &str {
        match self {
            Callee::Capability(n)
            | Callee::Workflow(n)
            | Callee::Publish(n)
            | Callee::Receive(n) => n,
        }
    }
}

/// A `for` step: one task per element.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Map {
    /// The loop variable.
    pub var: String,
    /// The list.
    pub over: Expr,
    /// At most this many of its tasks in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
}

/// Delay between attempts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backoff {
    /// Retry at once.
    #[default]
    None,
    /// The same delay every time.
    Fixed {
        /// The delay.
        delay_ms: u64,
    },
    /// `delay × attempt`.
    Linear {
        /// The first delay.
        delay_ms: u64,
    },
    /// `delay × 2^(attempt-1)`, at most `max_ms`.
    Exponential {
        /// The first delay.
        delay_ms: u64,
        /// The cap.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
}

impl Backoff {
    /// The delay before retry `n` (1-based), before jitter.
    pub fn delay_ms(&self, n: u32) -> u64 {
        match *self {
            Backoff::None => 0,
            Backoff::Fixed { delay_ms } => delay_ms,
            Backoff::Linear { delay_ms } => delay_ms.saturating_mul(u64::from(n)),
            Backoff::Exponential { delay_ms, max_ms } => {
                let doubled = delay_ms.saturating_mul(1u64 << n.saturating_sub(1).min(63));
                doubled.min(max_ms.unwrap_or(u64::MAX))
            }
        }
    }

    /// The longest total delay over `retries` retries. Jitter only shortens delays, so it
    /// does not raise this bound.
    pub fn max_total_ms(&self, retries: u32) -> u64 {
        let r = u64::from(retries);
        if let Backoff::Linear { delay_ms } = *self {
            return delay_ms.saturating_mul(r.saturating_mul(r + 1) / 2);
        }
        // Otherwise every delay from the 64th retry on is the same (fixed, capped or saturated).
        let varying = retries.min(64);
        let head = (1..=varying)
            .map(|n| self.delay_ms(n))
            .fold(0u64, u64::saturating_add);
        let tail = self
            .delay_ms(64)
            .saturating_mul(u64::from(retries - varying));
        head.saturating_add(tail)
    }
}

/// How replicas' answers are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consensus {
    /// The answer more than half gave.
    Majority,
    /// Every answer equal.
    Unanimous,
    /// The first answer.
    First,
    /// At least n equal answers.
    Quorum(u32),
}

/// A step's options, defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Extra attempts after a failure or timeout.
    pub retry: u32,
    /// Delay between attempts (with jitter).
    pub backoff: Backoff,
    /// Per attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The step's own or the workflow's.
    pub priority: Priority,
    /// The same task on this many distinct agents.
    pub replicas: u32,
    /// How their answers are combined (with `replicas` above 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus: Option<Consensus>,
    /// Demand of each task.
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// The step runs only if this holds; otherwise its value is `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Expr>,
    /// Value used when all attempts failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Expr>,
    /// Idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Expr>,
}

/// One step of a workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Its name.
    pub name: String,
    /// What it calls.
    pub call: Callee,
    /// Named arguments, defaults filled in.
    pub args: Args,
    /// Set for `for` steps (boxed: most steps have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<Box<Map>>,
    /// Indices of the steps it waits for (data and `after`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<usize>,
    /// Type of its value.
    #[serde(rename = "type")]
    pub ty: Type,
    /// Options: shared by the steps that have the same ones, as most steps do.
    pub options: Arc<Options>,
    /// Where its tasks go (capability steps); the first applicable entry wins. Empty for a
    /// broadcast step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<Routing>,
    /// Set for a broadcast step (`broadcast: true`): the agents that each receive its task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<Box<Broadcast>>,
    /// The state cells its tasks may write: its capability's `writes`, or every cell the
    /// steps of the workflow it calls may write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<String>,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// Who a broadcast step's task goes to. Its value is an object keyed by member agent with each
/// member's output; a member that failed is absent from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Broadcast {
    /// The targets the members come from, as the step names them: its `on` (one target or a
    /// list), else its capability's route target, else every agent providing the capability.
    pub over: Vec<Target>,
    /// One routing per member, in order: a single agent ([`Target::Agent`]) with no `when`
    /// and no fallback. Each member's task is placed on one of that agent's instances.
    pub members: Vec<Routing>,
}

impl Broadcast {
    /// The member agents' names, in order.
    pub fn agents(&self) -> impl Iterator<Item = &str> {
        self.members.iter().filter_map(|r| match &r.target {
            Target::Agent { agent } => Some(agent.as_str()),
            _ => None,
        })
    }
}

/// Static bounds of a workflow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// Steps of the longest path, in order.
    pub critical_path: Vec<String>,
    /// Worst-case duration; unknown when a step has no timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_case_ms: Option<u64>,
    /// Steps without a timeout, which make the duration unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untimed_steps: Vec<String>,
    /// Tokens all steps may consume.
    pub tokens: u64,
    /// Whether `tokens` is exact (not when a map's length is unknown).
    pub tokens_exact: bool,
}

#[cfg(test)]
mod tests {
    use super::{Backoff, Step};

    #[test]
    fn a_step_stays_small() {
        // A generated workflow holds a step per line: its rare parts are boxed and its options
        // shared, so 100,000 steps take 25 MB, not the 58 MB they took unboxed.
        let size = std::mem::size_of::<Step>();
        assert!(size <= 256, "a plan step takes {size} bytes");
    }

    #[test]
    fn backoff_delays_and_their_worst_total() {
        let fixed = Backoff::Fixed { delay_ms: 10 };
        assert_eq!(fixed.max_total_ms(3), 30);
        let linear = Backoff::Linear { delay_ms: 10 };
        assert_eq!(linear.max_total_ms(3), 10 + 20 + 30);
        let exp = Backoff::Exponential {
            delay_ms: 1_000,
            max_ms: Some(5_000),
        };
        assert_eq!(
            (1..=4).map(|n| exp.delay_ms(n)).collect::<Vec<_>>(),
            [1_000, 2_000, 4_000, 5_000]
        );
        assert_eq!(exp.max_total_ms(4), 12_000);
        // Past 64 retries every delay is the cap.
        assert_eq!(exp.max_total_ms(100), exp.max_total_ms(64) + 36 * 5_000);
        assert_eq!(linear.max_total_ms(100), 10 * 5_050);
        assert_eq!(linear.max_total_ms(u32::MAX), u64::MAX);
        assert_eq!(Backoff::None.max_total_ms(5), 0);
    }
}
