//! Capacity over time, on simulated agents (virtual clock, fixed seed): a pool's `max_queue`
//! holds tasks back at their steps, and `replicas: a..b` adds and removes instances.

mod common;

use common::simulate;
use serde_json::json;

/// 20 tasks of 100 ms at once through a pool of one agent with one slot.
fn burst(max_queue: &str) -> String {
    format!(
        r#"
capability work(n: int) -> int
agent one {{ provides: [work], concurrency: 1, simulate: {{ latency: 100ms, output: 1 }} }}
pool p {{ members: [one], strategy: round_robin{max_queue} }}
route work -> p
workflow main() -> int {{
  step xs = for i in range(0, 20) {{ work(n: i) }}
  output len(xs)
}}
"#
    )
}

#[test]
fn max_queue_bounds_the_tasks_waiting_for_a_pool() {
    let bounded = simulate("bounded", &burst(", max_queue: 3"), json!({}), 1).expect("run");
    assert_eq!(bounded.output, json!(20));
    assert_eq!(bounded.queues.len(), 1);
    assert_eq!(bounded.queues[0].max_queue, Some(3));
    // Full, and never more: the other tasks waited at their step.
    assert_eq!(bounded.queues[0].peak, 3);

    let unbounded = simulate("unbounded", &burst(""), json!({}), 1).expect("run");
    assert_eq!(unbounded.output, json!(20));
    assert_eq!(unbounded.queues[0].peak, 19);
    // Backpressure delays no work: one slot, 20 tasks of 100 ms either way.
    assert_eq!(bounded.elapsed_us, unbounded.elapsed_us);
}
