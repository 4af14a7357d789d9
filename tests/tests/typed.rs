//! `json` values where they enter a typed place at run time: a capability's arguments, a
//! step's `fallback` value and its `when` are checked against their types, with the path of a
//! mismatch, before anything is sent.

mod common;

use common::{kinds, plan_in, recording_agent, run_plan};
use serde_json::json;

/// A workflow whose step `n` passes `arg` (an expression over the `json` step `b`, which
/// echoes the input `extra`) to `call`, on an agent that records what it receives.
fn source(call: &str, options: &str) -> String {
    format!(
        r#"
type Review {{ score: int, notes: list<string> }}
capability num(n: int) -> int
capability rate(r: Review) -> int
agent a {{ provides: [num, rate], exec: "python3 agent.py" }}
workflow main(extra: json) -> int? {{
  step b = std.echo(value: extra)
  step n = {call} with {{ retry: 2{options} }}
  output n
}}
"#
    )
}

fn run_in(
    tag: &str,
    source: &str,
    answer: &str,
    extra: serde_json::Value,
) -> (
    Result<hive_runtime::RunReport, hive_runtime::RunError>,
    std::path::PathBuf,
) {
    let agent = recording_agent(&["num", "rate"], answer);
    let (plan, dir) = plan_in(tag, &[("main.hive", source), ("agent.py", &agent)]);
    (run_plan(plan, json!({ "extra": extra })), dir)
}

#[test]
fn a_json_value_of_the_wrong_type_is_refused_before_the_task_is_sent() {
    let (result, dir) = run_in(
        "typed-arg",
        &source("num(n: b.s)", ""),
        "    return msg['input']['n']",
        json!({"s": "high"}),
    );
    let err = result.expect_err("a string is not an int");
    assert_eq!(err.step.as_deref(), Some("main.n"));
    // Not an attempt: nothing was sent, so nothing was retried.
    assert_eq!(err.attempt, None);
    assert_eq!(
        err.cause,
        r#"argument `n` of `num` does not match its type `int` at $: expected int, found string "high""#
    );
    assert!(
        !kinds(&dir, "a").contains(&"task".to_string()),
        "{:?}",
        kinds(&dir, "a")
    );
}

#[test]
fn a_mismatch_inside_a_record_argument_names_its_path() {
    let (result, dir) = run_in(
        "typed-record",
        &source("rate(r: b)", ""),
        "    return msg['input']['r']['score']",
        json!({"score": "high", "notes": []}),
    );
    let err = result.expect_err("a string score");
    assert!(
        err.cause
            .ends_with(r#"at $.score: expected int, found string "high""#),
        "{err}"
    );
    assert!(!kinds(&dir, "a").contains(&"task".to_string()));
}

#[test]
fn a_json_value_of_the_right_type_goes_through() {
    let (result, _) = run_in(
        "typed-ok",
        &source("num(n: b.s)", ""),
        "    return msg['input']['n'] + 1",
        json!({"s": 41}),
    );
    assert_eq!(result.expect("an int is an int").output, json!(42));
}

#[test]
fn a_fallback_value_is_checked_against_the_call_s_type() {
    let (result, _) = run_in(
        "typed-fallback",
        &source("num(n: 1)", ", fallback: b.s"),
        "    raise Exception('broken')",
        json!({"s": "high"}),
    );
    let err = result.expect_err("the fallback is a string");
    assert_eq!(err.step.as_deref(), Some("main.n"));
    assert_eq!(
        err.cause,
        r#"`fallback` does not match the type `int` at $: expected int, found string "high""#
    );
}

#[test]
fn a_when_that_is_not_a_bool_is_an_error_not_a_skip() {
    let (result, dir) = run_in(
        "typed-when",
        &source("num(n: 1)", ", when: b.go"),
        "    return 1",
        json!({"go": "yes"}),
    );
    let err = result.expect_err("`yes` is not a bool");
    assert_eq!(
        err.cause,
        r#"`when` is not a bool at $: expected bool, found string "yes""#
    );
    assert!(!kinds(&dir, "a").contains(&"task".to_string()));
}

#[test]
fn a_workflow_call_s_arguments_are_checked_before_it_starts() {
    let source = r#"
capability num(n: int) -> int
agent a { provides: [num], exec: "python3 agent.py" }
workflow inner(n: int) -> int {
  step m = num(n: n)
  output m
}
workflow main(extra: json) -> int {
  step b = std.echo(value: extra)
  step c = inner(n: b.s) with { fallback: 0 }
  output c
}
"#;
    let (result, dir) = run_in("typed-call", source, "    return 1", json!({"s": "high"}));
    let err = result.expect_err("a string is not an int");
    assert_eq!(err.step.as_deref(), Some("main.c"));
    assert_eq!(
        err.cause,
        r#"in workflow `inner`: input `n` at $: expected int, found string "high""#
    );
    assert!(!kinds(&dir, "a").contains(&"task".to_string()));
}
