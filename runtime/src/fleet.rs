//! The agents of a run and their instances: capacity, tasks in flight, resources in use and
//! what each member has shown so far (latency, success).
//!
//! Invariant: only the dispatcher mutates a fleet, so the counts it decides on are exact.

use crate::agent::{Health, Instance};
use hive_plan::Resources;
use std::sync::Arc;
use tokio::time::Instant;

/// One agent of the plan.
pub struct Member {
    /// The agent's name in the plan.
    pub name: String,
    /// Tasks in flight per instance; `u32::MAX` for unlimited.
    pub concurrency: u32,
    /// For the `weighted` strategy.
    pub weight: u32,
    /// Capacity of one instance; `None` dimensions are unlimited.
    pub capacity: Resources,
    /// Every instance started, retired ones included (a slot's index is its instance
    /// number, which attempts in flight refer to).
    pub instances: Vec<Slot>,
    /// Fewest and most instances (`replicas: a..b`); equal when the agent does not scale.
    pub replicas: (usize, usize),
    /// Makes a new instance.
    pub spawn: crate::Spawn,
    /// How the member scaled.
    pub scaling: Scaling,
    /// What other runs hold on each instance (distributed mode: as the workers hosting the
    /// member report it with their heartbeats), by slot; empty in one process.
    pub elsewhere: Vec<Held>,
    /// Exponentially weighted mean latency of successful attempts, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Exponentially weighted success rate, 1.0 at the start.
    pub success: f64,
    /// What the summary reports.
    pub stats: Stats,
}

/// One instance of a member.
pub struct Slot {
    /// Executes the tasks.
    pub instance: Arc<dyn Instance>,
    /// Tasks running on it now.
    pub in_flight: u32,
    /// Resources taken by those tasks.
    pub used: Used,
    /// Scaled down: it takes no tasks and has been shut down.
    pub retired: bool,
    /// Since when it has had nothing to do.
    pub idle_since: Option<Instant>,
}

/// Tasks and resources that other runs hold on one instance: a worker serves many runs, and
/// their tasks take slots and resources this run cannot have.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Held {
    /// Slots taken.
    pub tasks: u32,
    /// Resources taken.
    pub used: Used,
}

/// The auto-scaling state and history of one member.
#[derive(Clone, Debug, Default)]
pub struct Scaling {
    /// Since when its tasks have waited with every instance busy.
    pub pressed_since: Option<Instant>,
    /// The last time an instance was added or removed.
    pub last_change: Option<Instant>,
    /// Instances added after the start.
    pub added: u32,
    /// Instances removed.
    pub removed: u32,
    /// The most instances at once.
    pub peak: usize,
    /// Instance-microseconds up to `counted_at` (for utilisation when the count changed).
    pub instance_us: u64,
    /// When `instance_us` was last brought up to date.
    pub counted_at: Option<Instant>,
}

/// Resources taken on one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Used {
    /// CPUs.
    pub cpu: f64,
    /// Bytes of memory.
    pub memory: u64,
    /// Tokens.
    pub tokens: u64,
}

impl Used {
    /// Adds (`sign` 1) or returns (`sign` -1) a task's demand.
    pub fn apply(&mut self, demand: &Resources, sign: i8) {
        let cpu = demand.cpu.unwrap_or(0.0);
        let memory = demand.memory.unwrap_or(0);
        let tokens = demand.tokens.unwrap_or(0);
        if sign > 0 {
            self.cpu += cpu;
            self.memory += memory;
            self.tokens += tokens;
        } else {
            self.cpu = (self.cpu - cpu).max(0.0);
            self.memory = self.memory.saturating_sub(memory);
            self.tokens = self.tokens.saturating_sub(tokens);
        }
    }
}

/// Whether `demand` fits on an instance of `capacity` that already has `used` taken.
pub fn fits(capacity: &Resources, used: &Used, demand: &Resources) -> bool {
    let cpu = match (capacity.cpu, demand.cpu) {
        (Some(c), Some(d)) => used.cpu + d <= c + 1e-9,
        _ => true,
    };
    let memory = match (capacity.memory, demand.memory) {
        (Some(c), Some(d)) => used.memory.saturating_add(d) <= c,
        _ => true,
    };
    let tokens = match (capacity.tokens, demand.tokens) {
        (Some(c), Some(d)) => used.tokens.saturating_add(d) <= c,
        _ => true,
    };
    cpu && memory && tokens
}

/// Per-member counts for the end-of-run summary.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Attempts that finished.
    pub tasks: u64,
    /// Attempts that failed.
    pub failures: u64,
    /// Attempts cancelled before they finished: replicas of a decided consensus, tasks of
    /// a timed-out call, those still running when the run ended. Not counted in `tasks`.
    pub cancelled: u64,
    /// Finished attempts that were retries.
    pub retries: u64,
    /// Latency of each finished attempt, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Sum of the attempts' durations, in microseconds (for utilisation).
    pub busy_us: u64,
}

/// Weight of the newest sample in the moving averages of `performance`.
const EWMA: f64 = 0.3;

impl Member {
    /// A member with the plan's limits and its fewest instances, made by `spawn`.
    pub fn new(name: &str, agent: &hive_plan::Agent, spawn: crate::Spawn) -> Member {
        let min = agent.min_replicas.max(1) as usize;
        let max = (agent.max_replicas as usize).max(min);
        let mut member = Member {
            name: name.to_string(),
            concurrency: agent.concurrency.unwrap_or(u32::MAX),
            weight: agent.weight.max(1),
            capacity: agent.resources,
            instances: Vec::new(),
            replicas: (min, max),
            spawn,
            scaling: Scaling::default(),
            elsewhere: Vec::new(),
            latency_ms: None,
            success: 1.0,
            stats: Stats::default(),
        };
        for _ in 0..min {
            member.add_instance();
        }
        member
    }

    /// Brings the instance-time up to `now`, before the count of instances changes.
    pub fn count_instance_time(&mut self, now: Instant) {
        let current = self.current().count() as u64;
        let s = &mut self.scaling;
        if let Some(then) = s.counted_at {
            let us = crate::micros(now.saturating_duration_since(then));
            s.instance_us = s.instance_us.saturating_add(current.saturating_mul(us));
        }
        s.counted_at = Some(now);
    }

    /// Starts one more instance.
    pub fn add_instance(&mut self) {
        self.count_instance_time(Instant::now());
        self.instances.push(Slot {
            instance: (self.spawn)(self.instances.len()),
            in_flight: 0,
            used: Used::default(),
            retired: false,
            idle_since: Some(Instant::now()),
        });
        self.scaling.peak = self.scaling.peak.max(self.current().count());
    }

    /// Whether its instances can change (`replicas: a..b`).
    pub fn scales(&self) -> bool {
        self.replicas.0 < self.replicas.1
    }

    /// Instances not scaled down.
    pub fn current(&self) -> impl Iterator<Item = &Slot> {
        self.instances.iter().filter(|s| !s.retired)
    }

    /// Instances taking tasks now.
    pub fn live(&self) -> usize {
        self.current()
            .filter(|s| s.instance.health() == Health::Live)
            .count()
    }

    /// Whether some instance is live or coming back.
    pub fn alive(&self) -> bool {
        self.current().any(|s| s.instance.health() != Health::Dead)
    }

    /// Tasks in flight over all instances.
    pub fn in_flight(&self) -> u32 {
        self.instances.iter().map(|s| s.in_flight).sum()
    }

    /// `concurrency` × live instances, saturating for unlimited members.
    pub fn capacity_slots(&self) -> u64 {
        u64::from(self.concurrency).saturating_mul(self.live() as u64)
    }

    /// Tasks in flight over all instances, those of other runs included.
    pub fn busy(&self) -> u64 {
        let elsewhere: u64 = self.elsewhere.iter().map(|h| u64::from(h.tasks)).sum();
        u64::from(self.in_flight()) + elsewhere
    }

    /// Fraction of the member's capacity in use (by this run and, in distributed mode, by
    /// the other runs its workers serve), 0.0 for an unlimited member.
    pub fn load(&self) -> f64 {
        let cap = self.capacity_slots();
        if cap == 0 {
            return f64::INFINITY;
        }
        self.busy() as f64 / cap as f64
    }

    /// What other runs hold on instance `slot`.
    fn held(&self, slot: usize) -> Held {
        self.elsewhere.get(slot).copied().unwrap_or_default()
    }

    /// Tasks running on instance `slot`, other runs' included.
    fn taken(&self, slot: usize) -> u32 {
        self.instances[slot]
            .in_flight
            .saturating_add(self.held(slot).tasks)
    }

    /// Resources taken on instance `slot`, other runs' included.
    fn used(&self, slot: usize) -> Used {
        let mut used = self.instances[slot].used;
        let held = self.held(slot).used;
        used.cpu += held.cpu;
        used.memory = used.memory.saturating_add(held.memory);
        used.tokens = used.tokens.saturating_add(held.tokens);
        used
    }

    /// The live instance with a free slot and room for `demand` that is least loaded.
    pub fn free_slot(&self, demand: &Resources) -> Option<usize> {
        (0..self.instances.len())
            .filter(|&i| {
                let s = &self.instances[i];
                !s.retired
                    && self.taken(i) < self.concurrency
                    && self.fits(&self.used(i), demand)
                    && s.instance.health() == Health::Live
            })
            .min_by_key(|&i| self.taken(i))
    }

    /// Whether `demand` fits on an idle instance.
    pub fn could_fit(&self, demand: &Resources) -> bool {
        self.fits(&Used::default(), demand)
    }

    /// Whether `demand` fits on an instance that already has `used` taken.
    fn fits(&self, used: &Used, demand: &Resources) -> bool {
        fits(&self.capacity, used, demand)
    }

    /// The smallest fraction of any limited resource left free on instance `slot` after
    /// placing `demand` there; 1.0 when nothing is limited.
    pub fn headroom(&self, slot: usize, demand: &Resources) -> f64 {
        let used = &self.used(slot);
        let cap = &self.capacity;
        let mut left: f64 = 1.0;
        if let Some(c) = cap.cpu.filter(|c| *c > 0.0) {
            left = left.min((c - used.cpu - demand.cpu.unwrap_or(0.0)) / c);
        }
        if let Some(c) = cap.memory.filter(|c| *c > 0) {
            let after = c.saturating_sub(used.memory + demand.memory.unwrap_or(0));
            left = left.min(after as f64 / c as f64);
        }
        if let Some(c) = cap.tokens.filter(|c| *c > 0) {
            let after = c.saturating_sub(used.tokens + demand.tokens.unwrap_or(0));
            left = left.min(after as f64 / c as f64);
        }
        left
    }

    /// Expected time until a new task would finish here: the mean latency scaled by the
    /// queue in front of it, divided by the success rate. Unmeasured members are tried first.
    pub fn expected_ms(&self) -> f64 {
        let Some(latency) = self.latency_ms else {
            return 0.0;
        };
        let cap = self.capacity_slots().clamp(1, 1 << 20) as f64;
        let waiting = self.busy() as f64 / cap;
        latency * (1.0 + waiting) / self.success.max(0.01)
    }

    /// Records an attempt cancelled after `elapsed_us`: its time counts as busy, but it says
    /// nothing about the member's latency or success.
    pub fn cancelled(&mut self, elapsed_us: u64) {
        self.stats.cancelled += 1;
        self.stats.busy_us += elapsed_us;
    }

    /// Records a finished attempt.
    pub fn observe(&mut self, elapsed_us: u64, ok: bool, retry: bool) {
        self.stats.tasks += 1;
        self.stats.busy_us += elapsed_us;
        self.stats.latencies_us.push(elapsed_us);
        if retry {
            self.stats.retries += 1;
        }
        let ms = elapsed_us as f64 / 1_000.0;
        if ok {
            self.latency_ms = Some(match self.latency_ms {
                Some(mean) => mean + EWMA * (ms - mean),
                None => ms,
            });
        } else {
            self.stats.failures += 1;
            // A failure costs what it took, and counts against the success rate.
            self.latency_ms = Some(self.latency_ms.map_or(ms, |m| m.max(ms)));
        }
        let sample = if ok { 1.0 } else { 0.0 };
        self.success += EWMA * (sample - self.success);
    }
}
