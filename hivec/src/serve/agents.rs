//! `GET /v1/agents`: the agents of the runs in flight, with their instances, and the tasks
//! waiting per target.

use hive_runtime::Runtime;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Each agent of the runs `live` (id and runtime), with its instances (the run, the state,
/// tasks in flight, slots, and how long ago its process was last heard from), tasks in flight over them, their slots (`null` when unlimited)
/// and the share of the slots in use now.
pub fn view(live: &[(String, Arc<Runtime>)]) -> Value {
    let mut agents: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (run, runtime) in live {
        for i in runtime.instances() {
            agents.entry(i.agent.clone()).or_default().push(json!({
                "run": run,
                "instance": i.instance,
                "state": crate::metrics::state_of(&i),
                "in_flight": i.in_flight,
                "slots": i.slots,
                "heartbeat_age_ms": i.silent_for.map(|d| d.as_millis() as u64),
            }));
        }
    }
    let agents: Vec<Value> = agents
        .into_iter()
        .map(|(name, instances)| {
            let in_flight: u64 = instances
                .iter()
                .filter_map(|i| i["in_flight"].as_u64())
                .sum();
            // An unlimited instance has no slots to fill.
            let limited = instances.iter().all(|i| i["slots"].is_u64());
            let slots: u64 = instances.iter().filter_map(|i| i["slots"].as_u64()).sum();
            json!({
                "name": name,
                "instances": instances,
                "in_flight": in_flight,
                "slots": limited.then_some(slots),
                "utilisation": (limited && slots > 0).then(|| in_flight as f64 / slots as f64),
            })
        })
        .collect();
    // Tasks waiting per target, over the runs.
    let mut queues: BTreeMap<String, usize> = BTreeMap::new();
    for (_, runtime) in live {
        for (target, waiting) in runtime.queue_depths() {
            *queues.entry(target).or_default() += waiting;
        }
    }
    json!({ "agents": agents, "queues": queues })
}
