//! The capacity a worker reports with every heartbeat, per agent it hosts, and what a
//! coordinator makes of it: the other runs' load on each live instance, which the strategies
//! then see as they see this run's own.
//!
//! Invariant: a figure counts every run's tasks (a worker serves many runs); the coordinator
//! subtracts only its own run's, which it knows better than any report.

use crate::fleet::{Held, Used};
use hive_plan::Resources;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One agent on one worker.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AgentReport {
    /// Its live instances.
    pub instances: usize,
    /// Free slots over the live instances, every run's tasks counted as taken; absent when
    /// the agent's concurrency is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<u64>,
    /// Each live instance.
    #[serde(default)]
    pub slots: Vec<InstanceReport>,
}

/// One live instance.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstanceReport {
    /// Free slots; absent when concurrency is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<u32>,
    /// Free resources, in the dimensions the agent declares; absent when it declares none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_resources: Option<Resources>,
    /// What each run's tasks hold on it, by run id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runs: BTreeMap<String, Hold>,
}

/// What one run's tasks hold on one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    /// Slots.
    pub tasks: u32,
    /// Resources, in the dimensions the tasks asked for.
    #[serde(flatten)]
    pub used: Resources,
}

impl Hold {
    /// Adds (`sign` 1) or returns (`sign` -1) one task with `demand`.
    pub fn apply(&mut self, demand: &Resources, sign: i8) {
        let mut used = used_of(&self.used);
        used.apply(demand, sign);
        self.tasks = match sign {
            s if s > 0 => self.tasks.saturating_add(1),
            _ => self.tasks.saturating_sub(1),
        };
        self.used = resources_of(&used);
    }
}

impl InstanceReport {
    /// The report of an instance with `concurrency` slots (`None`: unlimited) and
    /// `capacity`, holding `runs`.
    pub fn new(
        concurrency: Option<u32>,
        capacity: &Resources,
        runs: BTreeMap<String, Hold>,
    ) -> InstanceReport {
        let mut taken = Hold::default();
        for hold in runs.values() {
            taken.tasks = taken.tasks.saturating_add(hold.tasks);
            let mut used = used_of(&taken.used);
            used.apply(&hold.used, 1);
            taken.used = resources_of(&used);
        }
        let used = used_of(&taken.used);
        let free_resources = (!capacity.is_empty()).then(|| Resources {
            cpu: capacity.cpu.map(|c| (c - used.cpu).max(0.0)),
            memory: capacity.memory.map(|c| c.saturating_sub(used.memory)),
            tokens: capacity.tokens.map(|c| c.saturating_sub(used.tokens)),
        });
        InstanceReport {
            free: concurrency.map(|c| c.saturating_sub(taken.tasks)),
            free_resources,
            runs,
        }
    }

    /// What runs other than `run` hold here.
    pub fn elsewhere(&self, run: &str) -> Held {
        let mut held = Held::default();
        for (_, hold) in self.runs.iter().filter(|(r, _)| r.as_str() != run) {
            held.tasks = held.tasks.saturating_add(hold.tasks);
            held.used.apply(&hold.used, 1);
        }
        held
    }
}

/// Resources as amounts taken (unset: none).
fn used_of(r: &Resources) -> Used {
    let mut used = Used::default();
    used.apply(r, 1);
    used
}

fn resources_of(used: &Used) -> Resources {
    Resources {
        cpu: (used.cpu > 0.0).then_some(used.cpu),
        memory: (used.memory > 0).then_some(used.memory),
        tokens: (used.tokens > 0).then_some(used.tokens),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_runs_count_as_taken_and_this_one_does_not() {
        let cpu = |c: f64| Resources {
            cpu: Some(c),
            ..Resources::default()
        };
        let mut mine = Hold::default();
        mine.apply(&cpu(1.0), 1);
        let mut theirs = Hold::default();
        theirs.apply(&cpu(0.5), 1);
        theirs.apply(&cpu(0.5), 1);
        let runs = BTreeMap::from([("mine".to_string(), mine), ("theirs".to_string(), theirs)]);
        let report = InstanceReport::new(Some(4), &cpu(4.0), runs);
        assert_eq!(report.free, Some(1));
        assert_eq!(report.free_resources, Some(cpu(2.0)));
        let held = report.elsewhere("mine");
        assert_eq!(held.tasks, 2);
        assert!((held.used.cpu - 1.0).abs() < 1e-9);
        theirs.apply(&cpu(0.5), -1);
        assert_eq!(theirs.tasks, 1);
        assert_eq!(theirs.used, cpu(0.5));
    }
}
