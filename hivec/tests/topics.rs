//! Topics through the agent protocol, with real exec agents: a listener is started for the
//! run and sent every message of its topics as an `event`; every refused `publish` is
//! answered with its reason and the run goes on; a `receive` sees retained messages, filters
//! with `where`, times out into its `fallback` or fails; keys are deduplicated; messages are
//! journaled so `--resume` finds them. The same plan in distributed mode is in
//! `distributed_topics.rs`.

#[path = "common/project.rs"]
mod project;
#[path = "common/topics.rs"]
mod topics;

use project::{dir, hivec};
use serde_json::{Value, json};
use topics::{HIVE, LISTENER};

fn project(name: &str) -> std::path::PathBuf {
    dir(name, &[("main.hive", HIVE), ("listener.py", LISTENER)])
}

fn run(project: &std::path::Path, args: &[&str]) -> (bool, Value, String) {
    let mut all = vec!["run", "main.hive"];
    all.extend_from_slice(args);
    let out = hivec(project, &all);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let output = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.success(), output, stderr)
}

#[test]
fn a_listener_is_started_sent_the_request_and_its_approval_is_received() {
    let p = project("topics-listener");
    let (ok, output, stderr) = run(&p, &["--input", "ticket=T-1"]);
    assert!(ok, "{stderr}");
    assert_eq!(output, json!({"ticket": "T-1", "answers": []}));
    assert!(p.join("quiet").exists(), "the listener ran");
}

#[test]
fn every_refused_publish_is_answered_with_its_reason_and_the_run_goes_on() {
    let p = project("topics-refusals");
    let attempts = json!([
        {"topic": "nope", "payload": {}},
        {"topic": "approvals", "payload": {"ticket": 7, "answers": []}},
        {"topic": "approvals", "payload": {"answers": []}},
        {"topic": "approvals", "payload": {"ticket": "T-2", "answers": 1}, "key": 5},
        {"topic": "approvals"},
        {"payload": {}},
        {"topic": "requests", "payload": {"ticket": "elsewhere", "attempts": []}},
    ]);
    let attempts = format!("attempts={attempts}");
    let (ok, output, stderr) = run(&p, &["--input", "ticket=T-2", "--input", &attempts]);
    assert!(ok, "{stderr}");
    let answers: Vec<String> = output["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .map(|a| {
            format!(
                "{}: {}",
                a["type"].as_str().unwrap_or(""),
                a["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    let expected = [
        "publish_refused: `nope` is not a topic of the plan (its topics: approvals, requests)",
        "publish_refused: the payload does not match `Approval`, the type of topic `approvals`, at $.ticket: expected string, found int 7",
        "publish_refused: the payload does not match `Approval`, the type of topic `approvals`, at $.ticket: expected string, found nothing: the field is missing",
        "publish_refused: `key` must be a string",
        "publish_refused: `publish` has no `payload`",
        "publish_refused: `publish` names no `topic`",
        // Published, and the run went on: the refusals changed nothing.
        "published: ",
    ];
    assert_eq!(answers, expected);
}

#[test]
fn a_receive_that_times_out_takes_its_fallback_or_fails_the_step() {
    let p = project("topics-timeout");
    let (ok, output, stderr) = run(&p, &["--workflow", "wait", "--input", "ticket=T-3"]);
    assert!(ok, "{stderr}");
    assert_eq!(output, json!({"ticket": "T-3", "answers": "none came"}));
    let (ok, _, stderr) = run(&p, &["--workflow", "strict", "--input", "ticket=T-3"]);
    assert!(!ok);
    assert!(
        stderr.contains("no message on topic `approvals` matched within 200ms"),
        "{stderr}"
    );
}

#[test]
fn a_receive_sees_messages_retained_from_before_it_started_and_filters_them() {
    let p = project("topics-retained");
    let (ok, output, stderr) = run(&p, &["--workflow", "retained", "--input", "ticket=T-4"]);
    assert!(ok, "{stderr}");
    assert_eq!(output, json!({"ticket": "T-4", "answers": "this one"}));
}

#[test]
fn a_key_repeated_within_the_dedupe_window_publishes_once() {
    let p = project("topics-dedupe");
    let (ok, output, stderr) = run(
        &p,
        &[
            "--workflow",
            "keyed",
            "--input",
            "ticket=T-5",
            "--journal",
            "run.jsonl",
        ],
    );
    assert!(ok, "{stderr}");
    let ids: Vec<&str> = output
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        ids[0], ids[1],
        "the repeated key gave the first message's id"
    );
    assert_ne!(ids[1], ids[2]);
    let journal = std::fs::read_to_string(p.join("run.jsonl")).expect("journal");
    let messages = journal
        .lines()
        .filter(|l| l.contains(r#""event":"message""#))
        .count();
    assert_eq!(messages, 2, "{journal}");
}

#[test]
fn a_resumed_run_finds_the_messages_published_before_the_kill() {
    let p = project("topics-resume");
    let (ok, first, stderr) = run(&p, &["--input", "ticket=T-6", "--journal", "run.jsonl"]);
    assert!(ok, "{stderr}");
    let journal = std::fs::read_to_string(p.join("run.jsonl")).expect("journal");
    // Cut after the approval's `message` event: the receive had not finished when the run
    // was killed. The listener stays quiet now, so only the journal has the approval.
    let lines: Vec<&str> = journal.lines().collect();
    let approval = lines
        .iter()
        .position(|l| l.contains(r#""event":"message""#) && l.contains(r#""topic":"approvals""#))
        .expect("the approval was journaled");
    assert!(
        !lines[..=approval]
            .iter()
            .any(|l| l.contains(r#""key":"decision""#)),
        "{journal}"
    );
    std::fs::write(p.join("run.jsonl"), lines[..=approval].join("\n") + "\n").expect("cut");
    let out = hivec(&p, &["run", "--resume", "run.jsonl", "main.hive"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let resumed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(resumed, first);
    // A receive satisfied before the kill is taken from the journal, not waited for.
    let out = hivec(&p, &["run", "--resume", "run.jsonl", "main.hive"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journal = std::fs::read_to_string(p.join("run.jsonl")).expect("journal");
    let done = journal
        .lines()
        .filter(|l| l.contains(r#""key":"decision""#))
        .count();
    assert_eq!(done, 1, "{journal}");
}
