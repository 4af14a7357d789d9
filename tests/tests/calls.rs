//! Options of a sub-workflow call: `timeout` bounds each run of the called workflow (its
//! tasks are cancelled when it passes), then `retry` runs it again and `fallback` stands in.

mod common;

use common::{messages, plan_in, recording_agent, run_plan};
use serde_json::json;
use std::time::{Duration, Instant};

/// `work(n)` takes `n` seconds on its first task and answers `n` at once after that.
const SLOW_THEN_FAST: &str = r#"    first = "seen" not in state
    state["seen"] = True
    if first:
        time.sleep(msg["input"]["n"])
    return msg["input"]["n"]"#;

fn call(tag: &str, options: &str) -> (serde_json::Value, Vec<serde_json::Value>, Duration) {
    let source = format!(
        r#"
capability work(n: int) -> int
agent a {{ provides: [work], exec: "python3 agent.py", concurrency: 4 }}
workflow slow() -> bool {{
  step w = work(n: 30)
  output w > 0
}}
workflow main() -> bool {{
  step b = slow() with {{ {options} }}
  output b
}}
"#
    );
    let agent = recording_agent(&["work"], SLOW_THEN_FAST);
    let (plan, dir) = plan_in(tag, &[("main.hive", &source), ("agent.py", &agent)]);
    let started = Instant::now();
    let report = run_plan(plan, json!({})).expect("run");
    (report.output, messages(&dir, "a"), started.elapsed())
}

fn of_type<'m>(received: &'m [serde_json::Value], kind: &str) -> Vec<&'m serde_json::Value> {
    received.iter().filter(|m| m["type"] == kind).collect()
}

#[test]
fn a_timeout_on_a_workflow_call_cancels_it_and_takes_the_fallback() {
    let (output, received, took) = call("call-timeout", "timeout: 500ms, fallback: false");
    assert_eq!(output, json!(false));
    // Well before the 30 s task would have answered.
    assert!(took < Duration::from_secs(20), "{took:?}");
    let tasks = of_type(&received, "task");
    let cancels = of_type(&received, "cancel");
    assert_eq!(tasks.len(), 1, "{received:?}");
    assert_eq!(cancels.len(), 1, "{received:?}");
    assert_eq!(cancels[0]["id"], tasks[0]["id"]);
}

#[test]
fn a_timed_out_workflow_call_is_retried() {
    let (output, received, _) = call("call-retry", "timeout: 500ms, retry: 1");
    assert_eq!(output, json!(true));
    let tasks = of_type(&received, "task");
    assert_eq!(tasks.len(), 2, "{received:?}");
    // The first run's task was cancelled when its run timed out.
    assert_eq!(of_type(&received, "cancel")[0]["id"], tasks[0]["id"]);
}

#[test]
fn a_workflow_call_that_keeps_timing_out_says_which_attempt() {
    let source = r#"
workflow slow() -> bool {
  step s = std.sleep(duration: 30s)
  output s
}
workflow main() -> bool {
  step b = slow() with { timeout: 200ms, retry: 1, backoff: fixed(10ms) }
  output b
}
"#;
    let (plan, _) = plan_in("call-fails", &[("main.hive", source)]);
    let err = run_plan(plan, json!({})).expect_err("times out twice");
    assert_eq!(err.step.as_deref(), Some("main.b"));
    assert_eq!(err.attempt, Some((2, 2)));
    assert_eq!(
        err.cause,
        "in workflow `slow`: timed out after 200ms; its tasks still running were cancelled"
    );
}

#[test]
fn a_failed_workflow_call_takes_the_fallback_but_a_fatal_one_is_not_retried() {
    let source = r#"
workflow failing(retryable: bool) -> string {
  step f = std.fail(message: "broken", retryable: retryable)
  output "${f}"
}
workflow main() -> json {
  step a = failing(retryable: true) with { fallback: "instead" }
  step b = failing(retryable: false) with { retry: 3 }
  output { a: a, b: b }
}
"#;
    let (plan, _) = plan_in("call-fallback", &[("main.hive", source)]);
    let err = run_plan(plan, json!({})).expect_err("b fails");
    assert_eq!(err.step.as_deref(), Some("main.b"));
    // One run: the failure inside it said no other attempt would fix it.
    assert_eq!(err.attempt, Some((1, 4)));

    let (plan, _) = plan_in(
        "call-fallback-ok",
        &[(
            "main.hive",
            &source.replace(" with { retry: 3 }", " with { fallback: \"b\" }"),
        )],
    );
    let report = run_plan(plan, json!({})).expect("both fall back");
    assert_eq!(report.output, json!({"a": "instead", "b": "b"}));
}
