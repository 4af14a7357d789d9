//! Shared state through the agent protocol, with real exec agents: every refusal is answered
//! with its reason and changes nothing, the run goes on, locks fence stale holders, the final
//! state is written with `--state-out` and restored by `--resume`.

#[path = "common/probe.rs"]
mod probe;
#[path = "common/project.rs"]
mod project;

use probe::{HIVE, PROBE};
use project::{dir, hivec};
use serde_json::{Value, json};

fn run(name: &str, workflow: &str, inputs: &[(&str, Value)]) -> (Value, Value, String) {
    let project = dir(name, &[("main.hive", HIVE), ("probe.py", PROBE)]);
    let mut args = vec![
        "run".to_string(),
        "main.hive".into(),
        "--workflow".into(),
        workflow.into(),
        "--state-out".into(),
        "state.json".into(),
    ];
    for (k, v) in inputs {
        args.push("--input".into());
        args.push(format!("{k}={v}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = hivec(&project, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let output = serde_json::from_slice(&out.stdout).expect("output is JSON");
    let state = std::fs::read_to_string(project.join("state.json")).expect("state written");
    (
        output,
        serde_json::from_str(&state).expect("state is JSON"),
        stderr,
    )
}

#[test]
fn refused_writes_change_nothing_and_the_run_goes_on() {
    let (workflow, inputs) = probe::refusals();
    let (output, state, _) = run("state-refusals", workflow, &inputs);
    probe::check_refusals(&output, &state);
}

#[test]
fn a_lock_is_waited_for_until_its_lease_ends_and_fences_the_cell() {
    let (workflow, inputs) = probe::lease();
    let (output, state, _) = run("state-lease", workflow, &inputs);
    probe::check_lease(&output, &state);
}

/// A holder paused past its lease (it sleeps 300 ms on a 100 ms lease) is refused when it
/// writes with its old token.
#[test]
fn a_stale_token_is_refused() {
    let (workflow, inputs) = probe::stale();
    let (output, state, _) = run("state-stale", workflow, &inputs);
    probe::check_stale(&output, &state);
}

#[test]
fn a_resumed_run_starts_from_the_journaled_state() {
    let project = dir("state-resume", &[("main.hive", HIVE), ("probe.py", PROBE)]);
    let requests = json!([{"type": "put", "key": "notes", "value": ["kept"]}]);
    let input = format!("requests={requests}");
    let out = hivec(
        &project,
        &[
            "run",
            "main.hive",
            "--input",
            &input,
            "--journal",
            "run.jsonl",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journal = std::fs::read_to_string(project.join("run.jsonl")).expect("journal");
    assert!(
        journal.contains(r#""event":"state""#) && journal.contains(r#""kept""#),
        "{journal}"
    );
    // Cut the journal after its state event: the step's result and the end are lost, as if
    // the run had been killed right after the write.
    let cut: Vec<&str> = journal
        .lines()
        .take_while(|l| !l.contains(r#""event":"done""#))
        .collect();
    std::fs::write(project.join("run.jsonl"), cut.join("\n") + "\n").expect("cut");
    let out = hivec(
        &project,
        &[
            "run",
            "--resume",
            "run.jsonl",
            "main.hive",
            "--state-out",
            "state.json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("state.json")).expect("state"))
            .expect("JSON");
    // The write before the kill, and the same write again by the step run once more.
    assert_eq!(state["notes"], json!(["kept", "kept"]));
}
