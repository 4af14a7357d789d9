//! Property blocks: which keys each block allows (with their docs), and typed readers that
//! report ill-typed and out-of-range values.

use super::consts::{Const, eval};
use super::scope::ItemRef;
use crate::codes::Code;
use crate::db::{Db, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::syntax::Span;
use crate::syntax::ast::{Expr, ExprKind, Property};
use std::collections::BTreeMap;

/// An allowed property and what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropSpec {
    /// The key.
    pub name: &'static str,
    /// One line for completion and hover.
    pub doc: &'static str,
}

const fn p(name: &'static str, doc: &'static str) -> PropSpec {
    PropSpec { name, doc }
}

/// Properties of `agent` blocks.
pub const AGENT: &[PropSpec] = &[
    p(
        "provides",
        "capabilities this agent serves (required; may be `[]` for a listener with `subscribes`)",
    ),
    p(
        "subscribes",
        "topics whose messages this agent receives as `event` messages",
    ),
    p(
        "exec",
        "command line started with `sh -c`; speaks the agent protocol on stdin/stdout",
    ),
    p("builtin", "an agent implemented by the runtime (`\"std\"`)"),
    p(
        "files",
        "for `builtin: \"std\"`: the directory `std.read_file` and `std.write_file` may reach (default: the run's directory)",
    ),
    p(
        "replicas",
        "instances to start: a number, or a range `1..8` to auto-scale",
    ),
    p("concurrency", "tasks in flight per instance (default 1)"),
    p(
        "weight",
        "share of work under the `weighted` strategy (default 1)",
    ),
    p(
        "resources",
        "capacity of one instance: `{ cpu, memory, tokens }`",
    ),
    p(
        "heartbeat",
        "interval of liveness messages; silent for 3 intervals means dead (default 5s)",
    ),
    p(
        "max_deliveries",
        "distributed mode: deliveries of one task that may go unanswered (its worker or instance died) before it is dead-lettered (default 3)",
    ),
    p("labels", "free-form `{ key: \"value\" }` tags"),
    p(
        "env",
        "environment variables of the process; `env(\"NAME\")` reads the caller's",
    ),
    p(
        "simulate",
        "behaviour under `--simulate`: `{ latency, jitter, failure_rate, output }`",
    ),
];

/// Properties of `pool` blocks.
pub const POOL: &[PropSpec] = &[
    p("members", "the agents of the pool (required)"),
    p(
        "strategy",
        "how a member is chosen for each task (default least_busy)",
    ),
    p(
        "max_queue",
        "tasks allowed to wait for a free member before submissions block",
    ),
];

/// Properties of `route` blocks.
pub const ROUTE: &[PropSpec] = &[
    p("strategy", "overrides the target pool's strategy"),
    p(
        "fallback",
        "agent or pool used when the target has no live member or all attempts failed",
    ),
    p(
        "when",
        "condition over `input` and `priority`; the first matching route wins",
    ),
];

/// Properties of workflows.
pub const WORKFLOW: &[PropSpec] = &[
    p(
        "priority",
        "critical, urgent, high, normal (default) or low",
    ),
    p("timeout", "deadline for the whole run"),
    p("budget", "token budget for one run: `{ tokens: n }`"),
];

/// Options of steps (`with { … }`).
pub const STEP: &[PropSpec] = &[
    p(
        "retry",
        "extra attempts after a failure or timeout (default 0)",
    ),
    p(
        "backoff",
        "delay between attempts: fixed(d), linear(d) or exponential(d, max: d)",
    ),
    p("timeout", "limit of one attempt"),
    p("priority", "overrides the workflow's priority"),
    p(
        "on",
        "agent or pool that runs this step, overriding routes; with `broadcast`, a list `[a, b]`",
    ),
    p(
        "broadcast",
        "`true`: the task goes to every member of the target, and the value maps each agent that answered to its result",
    ),
    p(
        "after",
        "steps that must finish first, without using their values",
    ),
    p(
        "when",
        "condition; when false the step is skipped and its value is `none`",
    ),
    p("fallback", "value used when every attempt failed"),
    p("replicas", "run the same task on this many distinct agents"),
    p(
        "consensus",
        "how replica answers are combined: majority, unanimous, quorum(n), first",
    ),
    p("resources", "demand of one task: `{ cpu, memory, tokens }`"),
    p(
        "concurrency",
        "for `for` steps: at most this many elements in flight",
    ),
    p(
        "key",
        "idempotency key: a task whose key already completed is not run again",
    ),
];

/// The priority levels, highest first.
pub const PRIORITIES: &[&str] = &["critical", "urgent", "high", "normal", "low"];

/// Reads a property block: unknown keys (with suggestions) and repeated keys are reported;
/// the rest come back by key.
pub fn index<'p>(
    db: &dyn Db,
    owner: ItemRef,
    props: &'p [Property],
    specs: &[PropSpec],
    block: &str,
) -> BTreeMap<&'p str, &'p Property> {
    let mut out: BTreeMap<&str, &Property> = BTreeMap::new();
    for prop in props {
        let key = prop.name.text.as_str();
        if !specs.iter().any(|s| s.name == key) {
            let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
            report(
                db,
                Diagnostic::new(
                    Code::UnknownProperty,
                    owner.loc(prop.name.span),
                    format!("{block} has no property `{key}`"),
                    "unknown property",
                )
                .with_did_you_mean(key, names.iter().copied())
                .or_help(format!("allowed here: {}", names.join(", "))),
            );
            continue;
        }
        if let Some(first) = out.get(key) {
            report(
                db,
                Diagnostic::twice(
                    format!("`{key}`"),
                    "set",
                    owner.loc(prop.name.span),
                    Some(owner.loc(first.name.span)),
                ),
            );
            continue;
        }
        out.insert(key, prop);
    }
    out
}

/// Typed readers of property values, all reporting at one item.
pub struct Values<'a> {
    /// The database.
    pub db: &'a dyn Db,
    /// The file.
    pub file: SourceFile,
    /// The item the spans belong to.
    pub owner: ItemRef,
}

impl Values<'_> {
    /// Reports that `prop`'s value is not of the expected kind.
    pub fn ill_typed(&self, what: &str, expected: &str, value: &Expr, found: Option<&Const>) {
        let found = found.map_or("an expression computed at run time", Const::kind);
        report(
            self.db,
            Diagnostic::new(
                Code::InvalidPropertyValue,
                self.owner.loc(value.span),
                format!("`{what}` must be {expected}, found {found}"),
                format!("expected {expected}"),
            ),
        );
    }

    /// Reports a value outside its allowed range.
    pub fn out_of_range(&self, what: &str, rule: &str, span: Span, help: Option<String>) {
        report(
            self.db,
            Diagnostic::new(
                Code::ValueOutOfRange,
                self.owner.loc(span),
                format!("`{what}` {rule}"),
                "out of range",
            )
            .with_help_opt(help),
        );
    }

    /// An integer of at least `min`.
    pub fn int(&self, what: &str, value: &Expr, min: i64) -> Option<i64> {
        match eval(self.db, self.file, value) {
            Some(Const::Int(i)) if i >= min => Some(i),
            Some(Const::Int(i)) => {
                let help = Some(format!("use a value of {min} or more"));
                self.out_of_range(
                    what,
                    &format!("must be at least {min}, found {i}"),
                    value.span,
                    help,
                );
                None
            }
            other => {
                self.ill_typed(what, "an integer", value, other.as_ref());
                None
            }
        }
    }

    /// A positive duration, in milliseconds.
    pub fn duration(&self, what: &str, value: &Expr) -> Option<u64> {
        match eval(self.db, self.file, value) {
            Some(Const::Duration(0)) => {
                let help = Some(format!(
                    "give a positive duration such as `30s`, or remove `{what}`"
                ));
                self.out_of_range(what, "must be longer than zero", value.span, help);
                None
            }
            Some(Const::Duration(ms)) => Some(ms),
            Some(Const::Int(_)) => {
                self.ill_typed(
                    what,
                    "a duration with a unit (`500ms`, `30s`, `5m`)",
                    value,
                    None,
                );
                None
            }
            other => {
                self.ill_typed(what, "a duration", value, other.as_ref());
                None
            }
        }
    }

    /// A boolean known at compile time.
    pub fn bool(&self, what: &str, value: &Expr) -> Option<bool> {
        match eval(self.db, self.file, value) {
            Some(Const::Bool(b)) => Some(b),
            other => {
                self.ill_typed(what, "`true` or `false`", value, other.as_ref());
                None
            }
        }
    }

    /// A string known at compile time.
    pub fn string(&self, what: &str, value: &Expr) -> Option<String> {
        match eval(self.db, self.file, value) {
            Some(Const::Str(s)) => Some(s),
            other => {
                self.ill_typed(what, "a string", value, other.as_ref());
                None
            }
        }
    }

    /// A float in `lo..=hi`.
    pub fn fraction(&self, what: &str, value: &Expr, lo: f64, hi: f64) -> Option<f64> {
        let v = match eval(self.db, self.file, value) {
            Some(Const::Float(f)) => f,
            Some(Const::Int(i)) => i as f64,
            other => {
                self.ill_typed(what, "a number", value, other.as_ref());
                return None;
            }
        };
        if v < lo || v > hi {
            self.out_of_range(
                what,
                &format!("must be between {lo} and {hi}, found {v}"),
                value.span,
                None,
            );
            return None;
        }
        Some(v)
    }

    /// A size in bytes.
    pub fn size(&self, what: &str, value: &Expr) -> Option<u64> {
        match eval(self.db, self.file, value) {
            Some(Const::Size(b)) => Some(b),
            other => {
                self.ill_typed(what, "a size (`512mb`, `4gb`)", value, other.as_ref());
                None
            }
        }
    }

    /// A bare word out of `allowed` (a priority, a consensus rule…).
    pub fn word(&self, what: &str, value: &Expr, allowed: &[&str]) -> Option<String> {
        let ExprKind::Path(path) = &value.kind else {
            self.ill_typed(what, &format!("one of {}", allowed.join(", ")), value, None);
            return None;
        };
        let text = path.text();
        if allowed.contains(&text.as_str()) {
            return Some(text);
        }
        report(
            self.db,
            Diagnostic::new(
                Code::InvalidPropertyValue,
                self.owner.loc(value.span),
                format!("`{text}` is not a valid `{what}`"),
                format!("expected one of {}", allowed.join(", ")),
            )
            .with_did_you_mean(&text, allowed.iter().copied()),
        );
        None
    }

    /// A record whose keys are from `keys`; returns its fields.
    pub fn record<'e>(
        &self,
        what: &str,
        value: &'e Expr,
        keys: &[&str],
    ) -> Vec<(&'e str, &'e Expr)> {
        let ExprKind::Record(fields) = &value.kind else {
            self.ill_typed(
                what,
                &format!("a record `{{ {} }}`", keys.join(", ")),
                value,
                None,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for f in fields {
            if keys.contains(&f.name.text.as_str()) {
                out.push((f.name.text.as_str(), &f.value));
            } else {
                report(
                    self.db,
                    Diagnostic::new(
                        Code::UnknownProperty,
                        self.owner.loc(f.name.span),
                        format!("`{what}` has no key `{}`", f.name.text),
                        "unknown key",
                    )
                    .with_did_you_mean(&f.name.text, keys.iter().copied())
                    .or_help(format!("allowed keys: {}", keys.join(", "))),
                );
            }
        }
        out
    }
}
