//! The plan for people: a text summary, and the step graphs as Graphviz DOT or Mermaid.

use crate::expr::Display;
use crate::{Backoff, Callee, Consensus, Plan, Routing, Step, Target, Workflow};
use std::fmt::Write;

/// `90s` → `1m30s`, `1500ms` → `1.5s`.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let mut out = String::new();
    let mut s = ms / 1000;
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s >= len {
            let _ = write!(out, "{}{unit}", s / len);
            s %= len;
        }
    }
    let frac = ms % 1000;
    if frac != 0 {
        let digits = format!("{frac:03}");
        let _ = write!(out, "{s}.{}s", digits.trim_end_matches('0'));
    } else if s != 0 {
        let _ = write!(out, "{s}s");
    }
    out
}

fn names(wf: &Workflow) -> Vec<String> {
    wf.steps.iter().map(|s| s.name.clone()).collect()
}

fn routing(r: &Routing, names: &[String]) -> String {
    let mut out = r.target.describe();
    // A single agent has nothing to balance.
    if !r.target.is_single() {
        let _ = write!(out, " ({})", r.strategy.name());
    }
    if let Some(when) = &r.when {
        let _ = write!(
            out,
            " when {}",
            Display {
                expr: when,
                steps: names
            }
        );
    }
    if let Some(fb) = &r.fallback {
        let _ = write!(out, ", fallback {}", routing(fb, names));
    }
    out
}

fn call(step: &Step) -> String {
    let mut out = match &step.call {
        Callee::Publish(t) => format!("publish {t}"),
        Callee::Receive(t) => format!("receive {t}"),
        c => c.name().to_string(),
    };
    if let Some(m) = &step.map {
        out = format!("for {} in … {out}", m.var);
    }
    if step.options.replicas > 1 {
        let _ = write!(out, " ×{}", step.options.replicas);
        if let Some(c) = step.options.consensus {
            let c = match c {
                Consensus::Majority => "majority".to_string(),
                Consensus::Unanimous => "unanimous".to_string(),
                Consensus::First => "first".to_string(),
                Consensus::Quorum(n) => format!("quorum {n}"),
            };
            let _ = write!(out, " {c}");
        }
    }
    out
}

fn target(step: &Step, names: &[String]) -> String {
    match &step.call {
        Callee::Workflow(w) => format!("workflow {w}"),
        Callee::Publish(_) | Callee::Receive(_) => "topic".to_string(),
        Callee::Capability(_) if step.broadcast.is_some() => broadcast(step),
        Callee::Capability(_) => step
            .routing
            .iter()
            .map(|r| routing(r, names))
            .collect::<Vec<_>>()
            .join("; otherwise "),
    }
}

/// `broadcast to cache_eu, cache_us (pool caches)`.
fn broadcast(step: &Step) -> String {
    let Some(b) = &step.broadcast else {
        return String::new();
    };
    let members: Vec<&str> = b.agents().collect();
    let over: Vec<String> = b
        .over
        .iter()
        .map(|t| match t {
            Target::Providers { .. } => "every provider".to_string(),
            t => t.describe(),
        })
        .collect();
    format!("broadcast to {} ({})", members.join(", "), over.join(", "))
}

fn options(plan_step: &Step, wf: &Workflow, names: &[String]) -> String {
    let o = &plan_step.options;
    let mut parts: Vec<String> = Vec::new();
    if !plan_step.deps.is_empty() {
        let deps: Vec<&str> = plan_step
            .deps
            .iter()
            .map(|d| names.get(*d).map_or("?", String::as_str))
            .collect();
        parts.push(format!("after {}", deps.join(", ")));
    }
    if let Some(w) = &o.when {
        parts.push(format!(
            "when {}",
            Display {
                expr: w,
                steps: names
            }
        ));
    }
    if let Some(t) = o.timeout_ms {
        parts.push(format!("timeout {}", duration(t)));
    }
    if o.retry > 0 {
        let backoff = match o.backoff {
            Backoff::None => String::new(),
            Backoff::Fixed { delay_ms } => format!(", fixed {}", duration(delay_ms)),
            Backoff::Linear { delay_ms } => format!(", linear {}", duration(delay_ms)),
            Backoff::Exponential { delay_ms, max_ms } => match max_ms {
                Some(m) => format!(", exponential {}..{}", duration(delay_ms), duration(m)),
                None => format!(", exponential {}", duration(delay_ms)),
            },
        };
        parts.push(format!("retry {}{backoff}", o.retry));
    }
    if o.priority != wf.priority {
        parts.push(format!("priority {}", o.priority.name()));
    }
    if let Some(c) = plan_step.map.as_ref().and_then(|m| m.concurrency) {
        parts.push(format!("concurrency {c}"));
    }
    let r = &o.resources;
    let mut res = Vec::new();
    if let Some(c) = r.cpu {
        res.push(format!("cpu {c}"));
    }
    if let Some(m) = r.memory {
        res.push(format!("memory {}", size(m)));
    }
    if let Some(t) = r.tokens {
        res.push(format!("tokens {t}"));
    }
    if !res.is_empty() {
        parts.push(res.join(" "));
    }
    if o.fallback.is_some() {
        parts.push("fallback".into());
    }
    if o.key.is_some() {
        parts.push("keyed".into());
    }
    parts.join(", ")
}

/// `4294967296` → `4gb`.
pub fn size(bytes: u64) -> String {
    for (unit, len) in [
        ("tb", 1u64 << 40),
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
    ] {
        if bytes >= len && bytes.is_multiple_of(len) {
            return format!("{}{unit}", bytes / len);
        }
    }
    format!("{bytes}b")
}

fn table(rows: &[[String; 4]]) -> String {
    let mut widths = [0usize; 4];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::from("  ");
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                let pad = widths[i] - c.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn signature(name: &str, wf: &Workflow) -> String {
    let params: Vec<String> = wf
        .params
        .iter()
        .map(|p| match &p.default {
            Some(d) => format!(
                "{}: {} = {}",
                p.name,
                p.ty,
                Display {
                    expr: d,
                    steps: &[]
                }
            ),
            None => format!("{}: {}", p.name, p.ty),
        })
        .collect();
    format!("workflow {name}({}) -> {}", params.join(", "), wf.returns)
}

/// What a person reads first: the agents, then per workflow its steps in order, their targets,
/// and the bounds.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let root = plan.sources.first().map_or("", String::as_str);
    let hash: String = plan.source_hash.chars().take(12).collect();
    let _ = writeln!(
        out,
        "plan of {root} (format {}, sources {hash})",
        plan.format
    );
    out.push_str("\nagents\n");
    let mut rows = Vec::new();
    for (name, a) in &plan.agents {
        let kind = match (&a.exec, &a.builtin) {
            (Some(e), _) => format!("exec {e:?}"),
            (None, Some(b)) => format!("builtin {b}"),
            (None, None) => "simulated".into(),
        };
        let replicas = if a.min_replicas == a.max_replicas {
            a.min_replicas.to_string()
        } else {
            format!("{}..{}", a.min_replicas, a.max_replicas)
        };
        let concurrency = a
            .concurrency
            .map_or("unlimited".to_string(), |c| c.to_string());
        rows.push([
            name.clone(),
            kind,
            format!("replicas {replicas}, concurrency {concurrency}"),
            a.provides.join(", "),
        ]);
    }
    out.push_str(&table(&rows));
    if !plan.pools.is_empty() {
        out.push_str("\npools\n");
        let rows: Vec<[String; 4]> = plan
            .pools
            .iter()
            .map(|(name, p)| {
                [
                    name.clone(),
                    p.strategy.name().to_string(),
                    p.members.join(", "),
                    p.max_queue
                        .map(|q| format!("max_queue {q}"))
                        .unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&table(&rows));
    }
    if !plan.states.is_empty() {
        out.push_str("\nstate\n");
        let rows: Vec<[String; 4]> = plan
            .states
            .iter()
            .map(|(name, c)| {
                let default = c
                    .default
                    .as_ref()
                    .map(|d| {
                        let shown = Display {
                            expr: d,
                            steps: &[],
                        };
                        format!("= {shown}")
                    })
                    .unwrap_or_default();
                let scope = "scope run".to_string();
                [
                    format!("{name}: {}", c.ty),
                    default,
                    c.policy.describe(),
                    scope,
                ]
            })
            .collect();
        out.push_str(&table(&rows));
    }
    if !plan.topics.is_empty() {
        out.push_str("\ntopics\n");
        let rows: Vec<[String; 4]> = plan
            .topics
            .iter()
            .map(|(name, t)| {
                let subscribers: Vec<&str> = plan
                    .agents
                    .iter()
                    .filter(|(_, a)| a.subscribes.contains(name))
                    .map(|(n, _)| n.as_str())
                    .collect();
                [
                    format!("{name}: {}", t.ty),
                    t.retain_ms
                        .map_or("retain run".into(), |ms| format!("retain {}", duration(ms))),
                    t.dedupe_ms
                        .map_or(String::new(), |ms| format!("dedupe {}", duration(ms))),
                    match subscribers.is_empty() {
                        true => String::new(),
                        false => format!("subscribers {}", subscribers.join(", ")),
                    },
                ]
            })
            .collect();
        out.push_str(&table(&rows));
    }
    for (name, wf) in &plan.workflows {
        let names = names(wf);
        let _ = writeln!(out, "\n{}", signature(name, wf));
        let mut head = vec![format!("priority {}", wf.priority.name())];
        if let Some(t) = wf.timeout_ms {
            head.push(format!("timeout {}", duration(t)));
        }
        if let Some(b) = wf.budget_tokens {
            head.push(format!("budget {b} tokens"));
        }
        let _ = writeln!(out, "  {}", head.join(", "));
        for (word, receive) in [("publishes to", false), ("receives from", true)] {
            let topics = wf.topics(receive);
            if !topics.is_empty() {
                let _ = writeln!(out, "  {word} {}", topics.join(", "));
            }
        }
        let rows: Vec<[String; 4]> = wf
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                [
                    format!("{} {}", i + 1, s.name),
                    call(s),
                    target(s, &names),
                    options(s, wf, &names),
                ]
            })
            .collect();
        out.push_str(&table(&rows));
        let b = &wf.bounds;
        let _ = writeln!(out, "  critical path: {}", b.critical_path.join(" → "));
        let worst = match b.worst_case_ms {
            Some(ms) => {
                let within = match wf.timeout_ms {
                    Some(t) if ms > t => format!(" (above the timeout of {})", duration(t)),
                    Some(t) => format!(" (within the timeout of {})", duration(t)),
                    None => String::new(),
                };
                format!("{}{within}", duration(ms))
            }
            None => format!("unknown: no timeout on {}", b.untimed_steps.join(", ")),
        };
        let _ = writeln!(out, "  worst case: {worst}");
        // A workflow whose steps declare no tokens has no token demand to show.
        let tokens = match b.tokens {
            0 => "0".to_string(),
            t if b.tokens_exact => t.to_string(),
            t => format!("at least {t}"),
        };
        let _ = match wf.budget_tokens {
            Some(budget) => writeln!(out, "  tokens: {tokens} of a budget of {budget}"),
            None if b.tokens == 0 => Ok(()),
            None => writeln!(out, "  tokens: {tokens}"),
        };
        for s in wf.steps.iter().filter(|s| !s.writes.is_empty()) {
            let _ = writeln!(out, "  {} writes state {}", s.name, s.writes.join(", "));
        }
    }
    out
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The step graphs in Graphviz DOT, one cluster per workflow.
pub fn dot(plan: &Plan) -> String {
    let mut out = String::from(
        "digraph plan {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (wi, (name, wf)) in plan.workflows.iter().enumerate() {
        let names = names(wf);
        let _ = writeln!(out, "  subgraph cluster_{wi} {{");
        let _ = writeln!(out, "    label={};", quoted(&format!("workflow {name}")));
        for (i, s) in wf.steps.iter().enumerate() {
            let label = format!("{}\n{}\n→ {}", s.name, call(s), target(s, &names));
            let _ = writeln!(out, "    w{wi}_s{i} [label={}];", quoted(&label));
        }
        for (i, s) in wf.steps.iter().enumerate() {
            for d in &s.deps {
                let _ = writeln!(out, "    w{wi}_s{d} -> w{wi}_s{i};");
            }
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// The step graphs as a Mermaid flowchart, one subgraph per workflow.
pub fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart LR\n");
    for (wi, (name, wf)) in plan.workflows.iter().enumerate() {
        let names = names(wf);
        let _ = writeln!(out, "  subgraph w{wi}[\"workflow {name}\"]");
        for (i, s) in wf.steps.iter().enumerate() {
            let label = format!("{}<br/>{}<br/>→ {}", s.name, call(s), target(s, &names))
                .replace('"', "#quot;");
            let _ = writeln!(out, "    w{wi}_s{i}[\"{label}\"]");
        }
        for (i, s) in wf.steps.iter().enumerate() {
            for d in &s.deps {
                let _ = writeln!(out, "    w{wi}_s{d} --> w{wi}_s{i}");
            }
        }
        out.push_str("  end\n");
    }
    out
}
