//! Consensus rounds on real exec agents: a round without agreement is a failed attempt,
//! retried with backoff and counted, and the route's fallback target gets its rounds too.

mod common;

use common::{messages, plan_in, recording_agent, run_plan};
use hive_runtime::{RunError, RunReport};
use serde_json::{Value, json};

/// Agents `a`, `b`, `c` in the pool `trio` and `d`, `e`, `f` in `others`, all running
/// `answer`; `vote` goes to `trio`, with `others` as its fallback target.
fn vote(
    tag: &str,
    answer: &str,
    options: &str,
) -> (Result<RunReport, RunError>, std::path::PathBuf) {
    let source = format!(
        r#"
capability vote() -> string
agent a {{ provides: [vote], exec: "python3 agent.py" }}
agent b {{ provides: [vote], exec: "python3 agent.py" }}
agent c {{ provides: [vote], exec: "python3 agent.py" }}
agent d {{ provides: [vote], exec: "python3 agent.py" }}
agent e {{ provides: [vote], exec: "python3 agent.py" }}
agent f {{ provides: [vote], exec: "python3 agent.py" }}
pool trio {{ members: [a, b, c] }}
pool others {{ members: [d, e, f] }}
route vote -> trio {{ fallback: others }}
workflow main() -> string {{
  step v = vote() with {{ replicas: 3, {options} }}
  output v
}}
"#
    );
    let agent = recording_agent(&["vote"], answer);
    let (plan, dir) = plan_in(tag, &[("main.hive", &source), ("agent.py", &agent)]);
    (run_plan(plan, json!({})), dir)
}

/// The `attempt` of every task `agent` received, in order.
fn attempts(dir: &std::path::Path, agent: &str) -> Vec<Value> {
    messages(dir, agent)
        .into_iter()
        .filter(|m| m["type"] == "task")
        .map(|m| m["attempt"].clone())
        .collect()
}

/// Each agent answers its own name on the trio; the others agree.
const DISAGREE: &str = r#"    return "yes" if me in "def" else me"#;

#[test]
fn a_round_without_agreement_is_retried_and_counted() {
    let (result, dir) = vote(
        "consensus-rounds",
        &DISAGREE.replace(r#"me in "def""#, "False"),
        "retry: 2, backoff: fixed(10ms)",
    );
    let err = result.expect_err("never agrees");
    assert_eq!(err.step.as_deref(), Some("main.v"));
    assert_eq!(err.attempt, Some((3, 3)));
    assert!(
        err.cause.starts_with(
            "no majority among 3 replicas in 6 rounds; the last had 3 distinct outputs (agreeing 1, 1, 1), 0 failed"
        ),
        "{err}"
    );
    // Three rounds on the trio, then three on the fallback target.
    for agent in ["a", "b", "c", "d", "e", "f"] {
        assert_eq!(
            attempts(&dir, agent),
            [json!(1), json!(2), json!(3)],
            "{agent}"
        );
    }
}

#[test]
fn a_second_round_may_agree() {
    let (result, dir) = vote(
        "consensus-second",
        r#"    return "yes" if msg["attempt"] > 1 else me"#,
        "retry: 1",
    );
    assert_eq!(result.expect("agrees in round 2").output, json!("yes"));
    assert_eq!(attempts(&dir, "a"), [json!(1), json!(2)]);
    assert!(attempts(&dir, "d").is_empty());
}

#[test]
fn the_fallback_target_gets_its_rounds() {
    let (result, dir) = vote("consensus-fallback", DISAGREE, "consensus: unanimous");
    assert_eq!(result.expect("the others agree").output, json!("yes"));
    // Two different answers decide the trio's round: its third replica may be cancelled
    // before it is sent.
    let trio: Vec<Vec<Value>> = ["a", "b", "c"].iter().map(|a| attempts(&dir, a)).collect();
    assert!(
        trio.iter()
            .all(|t| t.len() <= 1 && t.iter().all(|n| *n == json!(1))),
        "{trio:?}"
    );
    assert!(
        trio.iter().filter(|t| !t.is_empty()).count() >= 2,
        "{trio:?}"
    );
    for agent in ["d", "e", "f"] {
        assert_eq!(attempts(&dir, agent), [json!(1)], "{agent}");
    }
}

#[test]
fn replicas_that_fail_for_good_end_the_rounds() {
    // Two of three fail with `retryable: false` on each target: no later round there could
    // reach a majority.
    let (result, dir) = vote(
        "consensus-fatal",
        r#"    if me in "abde":
        raise Exception("refused")
    return "yes""#,
        "retry: 3",
    );
    let err = result.expect_err("no majority");
    assert_eq!(err.attempt, Some((1, 4)));
    assert!(err.cause.contains("in 2 rounds"), "{err}");
    // A target's round is decided by its two failures, each after one attempt (not retried);
    // its third replica may be cancelled before it is sent, as on a loaded machine.
    for agent in ["a", "b", "d", "e"] {
        assert_eq!(attempts(&dir, agent), [json!(1)], "{agent}");
    }
    for agent in ["c", "f"] {
        let third = attempts(&dir, agent);
        assert!(
            third.len() <= 1 && third.iter().all(|n| *n == json!(1)),
            "{agent}: {third:?}"
        );
    }
}
