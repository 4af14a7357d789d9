//! Tasks still running when a run ends are cancelled: a real exec agent records every message
//! it receives, and a task abandoned by a failed or timed-out run gets `cancel` before the
//! agent gets `shutdown`.

mod common;

use common::{kinds, messages, plan_in, recording_agent, run_plan};
use serde_json::json;

/// `work` sleeps for a minute; `started` answers once a `work` task is running.
const ANSWER: &str = r#"    if msg["capability"] == "work":
        state["working"] = True
        time.sleep(60)
        return 0
    while not state.get("working"):
        time.sleep(0.01)
    return 1"#;

/// Runs `workflow` on the agent `a` and returns the messages it received.
fn abandoned(tag: &str, workflow: &str) -> Vec<serde_json::Value> {
    let source = format!(
        r#"
capability work() -> int
capability started() -> int
agent a {{ provides: [work, started], exec: "python3 agent.py", concurrency: 2 }}
{workflow}
"#
    );
    let agent = recording_agent(&["work", "started"], ANSWER);
    let (plan, dir) = plan_in(tag, &[("main.hive", &source), ("agent.py", &agent)]);
    run_plan(plan, json!({})).expect_err("the run fails");
    assert_eq!(
        kinds(&dir, "a"),
        ["hello", "task", "task", "cancel", "shutdown"],
        "{:?}",
        messages(&dir, "a")
    );
    messages(&dir, "a")
}

/// The id of the `work` task, and the id the `cancel` names.
fn work_and_cancelled(received: &[serde_json::Value]) -> (serde_json::Value, serde_json::Value) {
    let work = received
        .iter()
        .find(|m| m["type"] == "task" && m["capability"] == "work")
        .expect("a work task");
    let cancel = received
        .iter()
        .find(|m| m["type"] == "cancel")
        .expect("a cancel");
    (work["id"].clone(), cancel["id"].clone())
}

#[test]
fn a_failed_run_cancels_its_running_tasks_before_shutdown() {
    let received = abandoned(
        "cancel-failed",
        r#"
workflow main() -> int {
  step w = work()
  step s = started()
  step f = std.fail(message: "stop", retryable: false) with { after: [s] }
  output w
}
"#,
    );
    let (work, cancelled) = work_and_cancelled(&received);
    assert_eq!(work, cancelled);
}

#[test]
fn a_timed_out_run_cancels_its_running_tasks_before_shutdown() {
    let received = abandoned(
        "cancel-timeout",
        r#"
workflow main() -> int {
  timeout: 2s
  step w = work()
  step s = started()
  output w + s
}
"#,
    );
    let (work, cancelled) = work_and_cancelled(&received);
    assert_eq!(work, cancelled);
}
