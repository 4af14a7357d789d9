//! What a running run's dispatcher holds now, named for people: tasks waiting per target
//! and the agents' current instances (for gauges and the service's agents page).

use crate::Runtime;
use crate::dispatch::InstanceCensus;
use std::collections::BTreeMap;

impl Runtime {
    /// Tasks waiting now, per target (`agent`, `pool NAME`, `any of a, b`), summed over
    /// the dispatcher groups of each.
    pub fn queue_depths(&self) -> BTreeMap<String, usize> {
        let mut names: BTreeMap<usize, String> = BTreeMap::new();
        for routing in self.plan.routings() {
            if let Some(&group) = self.groups.get(&routing.id) {
                names
                    .entry(group)
                    .or_insert_with(|| routing.target.describe());
            }
        }
        let mut depths = BTreeMap::new();
        for d in self.dispatcher.depths() {
            if let Some(name) = names.get(&d.group) {
                *depths.entry(name.clone()).or_insert(0) += d.waiting;
            }
        }
        depths
    }

    /// Every current instance of every agent, with its health and tasks in flight.
    pub fn instances(&self) -> Vec<InstanceCensus> {
        self.dispatcher.census()
    }
}
