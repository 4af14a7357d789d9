//! Idempotency keys in flight: a task whose key another task is running waits for it and
//! takes its value, or runs itself if that task fails.

mod common;

use common::{messages, plan_in, recording_agent, run_plan};
use serde_json::json;

/// Two elements with the key `same`, on an agent that could run both at once; `work(n)`
/// answers `n + 100` after 300 ms, except as `answer` says.
fn keyed(tag: &str, answer: &str, options: &str) -> (serde_json::Value, usize) {
    let source = format!(
        r#"
capability work(n: int) -> int
agent a {{ provides: [work], exec: "python3 agent.py", concurrency: 2 }}
workflow main() -> list<int> {{
  step xs = for i in range(0, 2) {{ work(n: i) }} with {{ key: "same"{options} }}
  output xs
}}
"#
    );
    let agent = recording_agent(&["work"], answer);
    let (plan, dir) = plan_in(tag, &[("main.hive", &source), ("agent.py", &agent)]);
    let report = run_plan(plan, json!({})).expect("run");
    let tasks = messages(&dir, "a")
        .iter()
        .filter(|m| m["type"] == "task")
        .count();
    (report.output, tasks)
}

#[test]
fn a_task_waits_for_the_task_running_its_key_and_takes_its_value() {
    let (output, tasks) = keyed(
        "key-in-flight",
        "    time.sleep(0.3)\n    return msg['input']['n'] + 100",
        "",
    );
    assert_eq!(tasks, 1);
    assert_eq!(output, json!([100, 100]));
}

#[test]
fn when_the_task_running_a_key_fails_the_waiting_one_runs_itself() {
    // Two steps with the key `same`; the first task the agent gets fails.
    let source = r#"
capability work(n: int) -> int
agent a { provides: [work], exec: "python3 agent.py", concurrency: 2 }
workflow main() -> list<int> {
  step x = work(n: 0) with { key: "same", fallback: -1 }
  step y = work(n: 1) with { key: "same", fallback: -1 }
  output [x, y]
}
"#;
    // A task that starts while another runs answers -999.
    let answer = r#"    with lock:
        state["running"] = state.get("running", 0) + 1
        overlap = state["running"] > 1
        first = "seen" not in state
        state["seen"] = True
    time.sleep(0.3)
    with lock:
        state["running"] -= 1
    if overlap:
        return -999
    if first:
        raise Exception("the first fails")
    return msg["input"]["n"] + 100"#;
    let agent = recording_agent(&["work"], answer);
    let (plan, dir) = plan_in("key-failed", &[("main.hive", source), ("agent.py", &agent)]);
    let output = run_plan(plan, json!({})).expect("run").output;
    let tasks: Vec<serde_json::Value> = messages(&dir, "a")
        .into_iter()
        .filter(|m| m["type"] == "task")
        .collect();
    assert_eq!(tasks.len(), 2);
    let first = tasks[0]["input"]["n"].as_i64().expect("n");
    let second = tasks[1]["input"]["n"].as_i64().expect("n");
    assert_ne!(first, second);
    // The failed one took its fallback (the key has no value yet), the other its own.
    let mut expected = [0, 0];
    expected[first as usize] = -1;
    expected[second as usize] = second + 100;
    assert_eq!(output, json!(expected));
}
