//! The summary's table of steps under `--simulate`, measured from the run's attempts: where
//! each step's tasks went, its attempts and failures, its makespan, the p99 latency of its
//! attempts and how busy it kept its target. A file that sends the same work through one
//! strategy per step (`examples/strategy_comparison.hive`) compares the strategies here.

use crate::run::show_us;
use hive_plan::{Callee, Plan, Routing, Step, Target};
use hive_runtime::dispatch::MemberReport;
use serde_json::Value;
use std::collections::BTreeSet;

/// The attempts of one step (of every element, for a map or a step of a called workflow).
#[derive(Default)]
struct Measured {
    first_start: u64,
    last_end: u64,
    failed: u64,
    /// Duration of every attempt.
    latencies: Vec<u64>,
}

/// One row per step that ran an attempt, in the order the steps first started; `trace` is
/// the run's Chrome trace ([`hive_runtime::Runtime::trace`]), `entry` the workflow run.
pub fn table(plan: &Plan, entry: &str, trace: &Value, members: &[MemberReport]) -> String {
    let mut steps: Vec<(String, Measured)> = Vec::new();
    let events = trace["traceEvents"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let (Some(label), Some(start), Some(duration)) =
            (e["name"].as_str(), e["ts"].as_u64(), e["dur"].as_u64())
        else {
            continue;
        };
        let label = without_indices(label);
        let i = match steps.iter().position(|(l, _)| *l == label) {
            Some(i) => i,
            None => {
                steps.push((
                    label,
                    Measured {
                        first_start: start,
                        ..Measured::default()
                    },
                ));
                steps.len() - 1
            }
        };
        let m = &mut steps[i].1;
        m.first_start = m.first_start.min(start);
        m.last_end = m.last_end.max(start + duration);
        m.failed += u64::from(e["cat"] == "failed");
        m.latencies.push(duration);
    }
    steps.sort_by_key(|(_, m)| m.first_start);
    let mut rows = vec![[
        "step".to_string(),
        "on".to_string(),
        "tasks".to_string(),
        "failed".to_string(),
        "makespan".to_string(),
        "p99".to_string(),
        "busy".to_string(),
    ]];
    for (label, mut m) in steps {
        let step = find(plan, entry, &label);
        let makespan = m.last_end - m.first_start;
        let busy = match step.map(|s| slots(plan, routings(s), members)) {
            Some(Some(slots)) if slots > 0 && makespan > 0 => {
                let busy: u64 = m.latencies.iter().sum();
                format!("{:.1}%", 100.0 * busy as f64 / (slots * makespan) as f64)
            }
            _ => "-".to_string(),
        };
        m.latencies.sort_unstable();
        let p99 = m.latencies[(m.latencies.len() * 99).div_ceil(100).saturating_sub(1)];
        rows.push([
            label,
            step.map_or_else(|| "?".to_string(), on),
            m.latencies.len().to_string(),
            m.failed.to_string(),
            show_us(makespan),
            show_us(p99),
            busy,
        ]);
    }
    if rows.len() == 1 {
        return String::new();
    }
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..7).map(width).collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = format!(
            "{:<w0$}  {:<w1$}",
            row[0],
            row[1],
            w0 = widths[0],
            w1 = widths[1]
        );
        for (cell, w) in row.iter().zip(&widths).skip(2) {
            line.push_str(&format!("  {cell:>w$}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    // Apart from the table of agents that follows.
    out.push('\n');
    out
}

/// `builds[2]/test` → `builds/test`: a map's elements are one step.
fn without_indices(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut depth = 0;
    for c in label.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The step a label names: `notes/draft` is step `draft` of the workflow step `notes` calls.
fn find<'p>(plan: &'p Plan, entry: &str, label: &str) -> Option<&'p Step> {
    let mut workflow = plan.workflows.get(entry)?;
    let mut parts = label.split('/').peekable();
    while let Some(name) = parts.next() {
        let step = workflow.steps.iter().find(|s| s.name == name)?;
        match (&step.call, parts.peek()) {
            (_, None) => return Some(step),
            (Callee::Workflow(callee), Some(_)) => workflow = plan.workflows.get(callee)?,
            (_, Some(_)) => return None,
        }
    }
    None
}

/// Where a step's tasks go: its routing, or a broadcast's members.
fn routings(step: &Step) -> &[Routing] {
    step.broadcast
        .as_ref()
        .map_or(&step.routing[..], |b| &b.members[..])
}

/// `pool by_turn (round_robin)`, or `broadcast a, b`; a single agent has no strategy to show.
fn on(step: &Step) -> String {
    if let Some(b) = &step.broadcast {
        return format!("broadcast {}", b.agents().collect::<Vec<_>>().join(", "));
    }
    let entries: Vec<String> = step
        .routing
        .iter()
        .map(|r| match r.target.is_single() {
            true => r.target.describe(),
            false => format!("{} ({})", r.target.describe(), r.strategy.name()),
        })
        .collect();
    entries.join("; otherwise ")
}

/// Tasks the agents a step may go to can run at once, at their most instances; `None` when
/// one of them is unlimited.
fn slots(plan: &Plan, routing: &[Routing], members: &[MemberReport]) -> Option<u64> {
    let mut agents = BTreeSet::new();
    let mut pending: Vec<&Routing> = routing.iter().collect();
    while let Some(r) = pending.pop() {
        match &r.target {
            Target::Agent { agent } => {
                agents.insert(agent.as_str());
            }
            Target::Pool { pool } => {
                let members = plan.pools.get(pool).map_or(&[][..], |p| &p.members);
                agents.extend(members.iter().map(String::as_str));
            }
            Target::Providers { agents: a } => agents.extend(a.iter().map(String::as_str)),
        }
        pending.extend(r.fallback.as_deref());
    }
    let mut slots = 0u64;
    for agent in agents {
        let Some(m) = members.iter().find(|m| m.name == agent) else {
            continue;
        };
        if m.concurrency == u32::MAX {
            return None;
        }
        let instances = m.instances.max(m.scaling.peak) as u64;
        slots += u64::from(m.concurrency) * instances;
    }
    Some(slots)
}

#[cfg(test)]
mod tests {
    use super::without_indices;

    #[test]
    fn elements_of_a_map_are_one_step() {
        assert_eq!(without_indices("builds[2]/test"), "builds/test");
        assert_eq!(without_indices("a[1]/b[10]/c"), "a/b/c");
        assert_eq!(without_indices("plan"), "plan");
    }
}
