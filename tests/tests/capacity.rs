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

/// 200 tasks of 100 ms through one agent with one slot per instance and `replicas`, then
/// `rest` of nothing to do.
fn scaled(replicas: &str, rest: &str) -> String {
    format!(
        r#"
capability work(n: int) -> int
agent w {{ provides: [work], replicas: {replicas}, concurrency: 1, simulate: {{ latency: 100ms, output: 1 }} }}
workflow main() -> int {{
  step xs = for i in range(0, 200) {{ work(n: i) }}
  step rest = std.sleep(duration: {rest}) with {{ after: [xs] }}
  output len(xs)
}}
"#
    )
}

fn member<'r>(
    report: &'r hive_runtime::RunReport,
    name: &str,
) -> &'r hive_runtime::dispatch::MemberReport {
    report
        .members
        .iter()
        .find(|m| m.name == name)
        .expect("member")
}

#[test]
fn replicas_range_adds_instances_under_load_and_removes_idle_ones() {
    let fixed = simulate("fixed", &scaled("1", "1ms"), json!({}), 1).expect("run");
    let grows = simulate("grows", &scaled("1..4", "1ms"), json!({}), 1).expect("run");
    let w = member(&grows, "w");
    assert_eq!((w.scaling.peak, w.scaling.added), (4, 3));
    // One instance takes 20 s; four, added one by one after a second of waiting and two
    // seconds apart, take well under half of that.
    assert!(fixed.elapsed_us >= 20_000_000, "{}", fixed.elapsed_us);
    assert!(grows.elapsed_us < 9_000_000, "{}", grows.elapsed_us);
    assert_eq!(member(&fixed, "w").scaling.added, 0);

    // Thirty idle seconds later it is back to one instance, one removal at a time.
    let shrinks = simulate("shrinks", &scaled("1..4", "30s"), json!({}), 1).expect("run");
    let w = member(&shrinks, "w");
    assert_eq!((w.scaling.peak, w.scaling.removed, w.instances), (4, 3, 1));
}

#[test]
fn a_real_exec_agent_gains_an_instance_under_load() {
    // Each task takes 300 ms and answers with the number of the instance that ran it.
    let script = r#"import json, sys, time
instance = None
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        instance = msg["instance"]
        print(json.dumps({"type": "ready", "capabilities": ["work"]}), flush=True)
    elif msg["type"] == "task":
        time.sleep(0.3)
        print(json.dumps({"type": "result", "id": msg["id"], "output": instance}), flush=True)
    elif msg["type"] == "shutdown":
        break
"#;
    let source = r#"
capability work(n: int) -> int
agent w { provides: [work], exec: "python3 w.py", replicas: 1..2, concurrency: 1 }
workflow main() -> list<int> {
  step xs = for i in range(0, 12) { work(n: i) }
  output xs
}
"#;
    let (plan, _) = common::plan_in("scale", &[("main.hive", source), ("w.py", script)]);
    let report = common::run_plan(plan, json!({})).expect("run");
    let w = member(&report, "w");
    assert_eq!((w.scaling.added, w.instances), (1, 2));
    let ran_on: Vec<u64> = report
        .output
        .as_array()
        .expect("list")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert_eq!(ran_on.len(), 12);
    assert!(ran_on.contains(&0) && ran_on.contains(&1), "{ran_on:?}");
}
