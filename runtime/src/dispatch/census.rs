//! The dispatcher's state now, for gauges and the service's agents page: tasks waiting per
//! target, and every current instance with its health and tasks in flight.

use super::Dispatcher;
use crate::agent::Health;

/// Tasks waiting for one dispatcher group now.
#[derive(Clone, Debug)]
pub struct TargetDepth {
    /// The group (an index into the dispatcher's groups).
    pub group: usize,
    /// Tasks in its queue.
    pub waiting: usize,
}

/// One current (not scaled-down) instance.
#[derive(Clone, Debug)]
pub struct InstanceCensus {
    /// Its agent.
    pub agent: String,
    /// Its instance number.
    pub instance: usize,
    /// Whether it takes tasks.
    pub health: Health,
    /// Tasks running on it.
    pub in_flight: u32,
    /// Tasks it may run at once; `None` for unlimited.
    pub slots: Option<u32>,
    /// How long ago its agent process was last heard from; `None` without a process.
    pub silent_for: Option<std::time::Duration>,
    /// Its agent's busy time so far over all instances, in microseconds.
    pub agent_busy_us: u64,
}

impl Dispatcher {
    /// Tasks waiting for each group now.
    pub fn depths(&self) -> Vec<TargetDepth> {
        self.read(|s| {
            s.groups
                .iter()
                .enumerate()
                .map(|(group, g)| TargetDepth {
                    group,
                    waiting: g.queue.len(),
                })
                .collect()
        })
    }

    /// Every current instance of every member now.
    pub fn census(&self) -> Vec<InstanceCensus> {
        self.read(|s| {
            s.fleet
                .iter()
                .flat_map(|m| {
                    m.instances
                        .iter()
                        .enumerate()
                        .filter(|(_, slot)| !slot.retired)
                        .map(|(instance, slot)| InstanceCensus {
                            agent: m.name.clone(),
                            instance,
                            health: slot.instance.health(),
                            in_flight: slot.in_flight,
                            slots: (m.concurrency != u32::MAX).then_some(m.concurrency),
                            silent_for: slot.instance.silent_for(),
                            agent_busy_us: m.stats.busy_us,
                        })
                })
                .collect()
        })
    }
}
