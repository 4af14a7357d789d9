//! A saved plan or a journal that was edited is refused before anything starts: each kind of
//! tampering gets a message naming the field and exit 2, and the plan's exec agent, which
//! leaves a file behind when it starts, never starts.

use serde_json::Value;
use std::path::PathBuf;

#[path = "common/project.rs"]
mod project;

use project::{DOUBLE, hivec};

const WORKFLOW: &str = r#"capability double(n: int) -> int

agent doubler {
  provides: [double]
  exec: "touch started && python3 double.py"
  simulate: { latency: 10ms }
}

workflow main(n: int) -> int {
  step a = double(n: n) with { timeout: 10s }
  step b = double(n: a) with { timeout: 10s }
  step c = double(n: b) with { timeout: 10s }
  output c
}
"#;

/// A scratch directory with `main.hive`, its agent, and `plan.json` saved from it.
fn scratch(tag: &str) -> (PathBuf, Value) {
    scratch_of(tag, WORKFLOW)
}

/// [`scratch`] with `source` as `main.hive`.
fn scratch_of(tag: &str, source: &str) -> (PathBuf, Value) {
    let dir = std::env::temp_dir().join(format!("hive-tampered-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), source).expect("write");
    std::fs::write(dir.join("double.py"), DOUBLE).expect("write");
    let out = hivec(&dir, &["plan", "main.hive", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let plan = serde_json::from_slice(&out.stdout).expect("JSON");
    (dir, plan)
}

/// Saves `plan` as `plan.json` and runs it with `extra` arguments; asserts exit 2, that
/// stderr has `expected`, and that the agent never started.
fn refused(tag: &str, tamper: impl FnOnce(&mut Value), extra: &[&str], expected: &str) {
    refused_of(WORKFLOW, tag, tamper, extra, expected);
}

/// [`refused`] for a plan saved from `source`.
fn refused_of(
    source: &str,
    tag: &str,
    tamper: impl FnOnce(&mut Value),
    extra: &[&str],
    expected: &str,
) {
    let (dir, mut plan) = scratch_of(tag, source);
    tamper(&mut plan);
    std::fs::write(dir.join("plan.json"), plan.to_string()).expect("write");
    let mut args = vec!["run", "plan.json", "--input", "n=1"];
    args.extend(extra);
    let out = hivec(&dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("error: plan.json: {expected}")),
        "{stderr}"
    );
    assert!(!dir.join("started").exists(), "the agent started: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replicas_over_the_limit_are_refused() {
    refused(
        "replicas",
        |p| {
            p["agents"]["doubler"]["min_replicas"] = 4_294_967_295u32.into();
            p["agents"]["doubler"]["max_replicas"] = 4_294_967_295u32.into();
        },
        &[],
        "agents.doubler.min_replicas: 4294967295 is over the limit of 1000",
    );
}

#[test]
fn a_concurrency_of_zero_is_refused() {
    refused(
        "concurrency",
        |p| p["agents"]["doubler"]["concurrency"] = 0.into(),
        &[],
        "agents.doubler.concurrency: 0 is below the minimum of 1",
    );
}

#[test]
fn an_injected_dependency_cycle_is_refused_before_any_step_runs() {
    // `a` is outside the cycle: before validation it ran, with its side effects.
    refused(
        "cycle",
        |p| p["workflows"]["main"]["steps"][1]["deps"] = serde_json::json!([0, 2]),
        &[],
        "workflows.main.steps: the steps `b` → `c` → `b` wait for each other in a cycle",
    );
}

#[test]
fn a_step_calling_an_unknown_capability_is_refused() {
    refused(
        "capability",
        |p| p["workflows"]["main"]["steps"][0]["call"]["capability"] = "triple".into(),
        &[],
        "workflows.main.steps[0].call.capability: `triple` is not a capability of the plan",
    );
}

#[test]
fn a_routing_to_an_unknown_agent_is_refused() {
    refused(
        "target",
        |p| {
            p["workflows"]["main"]["steps"][2]["routing"][0]["target"] =
                serde_json::json!({"kind": "agent", "agent": "ghost"});
        },
        &[],
        "workflows.main.steps[2].routing[0].target.agent: `ghost` is not an agent of the plan",
    );
}

#[test]
fn an_expression_reading_a_step_it_does_not_wait_for_is_refused() {
    refused(
        "expr",
        |p| {
            p["workflows"]["main"]["steps"][1]["args"]["n"] =
                serde_json::json!({"op": "step", "step": 2});
        },
        &[],
        "workflows.main.steps[1].args.n: reads step 2, which is not among the steps it waits for (`deps`)",
    );
}

#[test]
fn a_malformed_source_hash_is_refused() {
    refused(
        "hash",
        |p| p["source_hash"] = "0123".into(),
        &[],
        "source_hash: \"0123\" is not a SHA-256 (64 lowercase hexadecimal digits)",
    );
}

#[test]
fn a_failure_rate_out_of_range_is_refused_under_simulate() {
    refused(
        "failure",
        |p| p["agents"]["doubler"]["simulate"]["failure_rate"] = 2.5.into(),
        &["--simulate"],
        "agents.doubler.simulate.failure_rate: 2.5 is not between 0 and 1",
    );
}

#[test]
fn a_worker_refuses_a_tampered_plan_before_it_connects() {
    let (dir, mut plan) = scratch("worker");
    plan["agents"]["doubler"]["max_replicas"] = 0.into();
    std::fs::write(dir.join("plan.json"), plan.to_string()).expect("write");
    // Nothing listens there: the plan is refused before any connection is tried.
    let out = hivec(
        &dir,
        &["worker", "--redis", "redis://127.0.0.1:1", "plan.json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: plan.json: agents.doubler.max_replicas: 0 is below min_replicas 1"),
        "{stderr}"
    );
    assert!(!dir.join("started").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A simulated jitter as long as a plan can hold neither panics nor overflows: the run ends,
/// on the virtual clock.
#[test]
fn the_longest_simulated_jitter_runs() {
    let (dir, mut plan) = scratch("jitter");
    plan["agents"]["doubler"]["simulate"]["jitter_ms"] = u64::MAX.into();
    plan["agents"]["doubler"]["simulate"]["latency_ms"] = u64::MAX.into();
    for step in plan["workflows"]["main"]["steps"]
        .as_array_mut()
        .expect("steps")
    {
        step["options"]
            .as_object_mut()
            .expect("options")
            .remove("timeout_ms");
    }
    std::fs::write(dir.join("plan.json"), plan.to_string()).expect("write");
    let out = hivec(&dir, &["run", "plan.json", "--input", "n=1", "--simulate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A journal whose recorded value was changed to another type is refused on `--resume`,
/// naming the step, and no step runs again.
#[test]
fn a_journal_value_of_the_wrong_type_is_refused_on_resume() {
    let (dir, _) = scratch("journal");
    let out = hivec(
        &dir,
        &[
            "run",
            "main.hive",
            "--input",
            "n=1",
            "--journal",
            "run.jsonl",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "8");
    let journal = std::fs::read_to_string(dir.join("run.jsonl")).expect("journal");
    let tampered: String = journal
        .lines()
        .filter(|l| !l.contains("\"finished\""))
        .map(|l| {
            let l = l.replace(r#""key":"b","value":4"#, r#""key":"b","value":"four""#);
            format!("{l}\n")
        })
        .collect();
    assert_ne!(tampered, journal, "the journal records step b: {journal}");
    std::fs::write(dir.join("run.jsonl"), tampered).expect("write");
    std::fs::remove_file(dir.join("started")).expect("the agent ran the first time");
    let out = hivec(&dir, &["run", "main.hive", "--resume", "run.jsonl"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "error: run.jsonl: the value it records for step `b` does not match the step's type `int` at $: expected int, found string \"four\""
        ),
        "{stderr}"
    );
    assert!(!dir.join("started").exists(), "a step ran: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value of an idempotency key in a resumed journal is checked against the type of the
/// step that takes it: a changed one fails that step instead of flowing on.
#[test]
fn a_journal_key_value_of_the_wrong_type_fails_the_step_that_takes_it() {
    let dir = std::env::temp_dir().join(format!("hive-tampered-key-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let hive = "workflow main() -> bool {\n  step a = std.sleep(duration: 1ms) with { key: \"nap\" }\n  output a\n}\n";
    std::fs::write(dir.join("main.hive"), hive).expect("write");
    let out = hivec(&dir, &["run", "main.hive", "--journal", "run.jsonl"]);
    assert!(out.status.success(), "{out:?}");
    let journal = std::fs::read_to_string(dir.join("run.jsonl")).expect("journal");
    assert!(journal.contains(r#""event":"key""#), "{journal}");
    // As if killed after the key was recorded and before the step was: only the key remains.
    let tampered: String = journal
        .lines()
        .filter(|l| !l.contains("\"finished\"") && !l.contains("\"done\""))
        .map(|l| format!("{}\n", l.replace(r#""value":true"#, r#""value":"yes""#)))
        .collect();
    std::fs::write(dir.join("run.jsonl"), tampered).expect("write");
    let out = hivec(&dir, &["run", "main.hive", "--resume", "run.jsonl"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("step `main.a`")
            && stderr.contains(
                "the value recorded for key `nap` does not match the type `bool` at $: expected bool, found string \"yes\""
            ),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_write_to_a_cell_the_plan_has_not_is_refused() {
    refused(
        "cell",
        |p| p["capabilities"]["double"]["writes"] = serde_json::json!(["ghost"]),
        &[],
        "capabilities.double.writes[0]: `ghost` is not a state cell of the plan",
    );
}

#[test]
fn a_reducer_that_does_not_fit_its_cell_is_refused() {
    refused(
        "reducer",
        |p| {
            p["states"] = serde_json::json!({"total": {
                "type": "string",
                "default": {"op": "value", "value": ""},
                "policy": {"kind": "merge", "rule": "sum"},
                "loc": {"file": 0, "line": 1, "column": 1},
            }});
        },
        &[],
        "states.total.policy: `merge: sum` combines numbers, not `string`",
    );
}

#[test]
fn reading_an_unknown_cell_is_refused() {
    refused(
        "read",
        |p| {
            p["workflows"]["main"]["output"] = serde_json::json!({"op": "state", "cell": "ghost"});
        },
        &[],
        "workflows.main.output: reads `ghost`, which is not a state cell of the plan",
    );
}

/// Two doublers in a pool and one outside it; the step broadcasts to the pool.
const BROADCAST: &str = r#"capability double(n: int) -> int

agent left {
  provides: [double]
  exec: "touch started && python3 double.py"
}

agent right {
  provides: [double]
  exec: "touch started && python3 double.py"
}

agent outsider {
  provides: [double]
  exec: "touch started && python3 double.py"
}

pool pair { members: [left, right] }

workflow main(n: int) -> map<int> {
  step a = double(n: n) with { on: outsider, timeout: 10s }
  step b = double(n: a) with { on: pair, broadcast: true, timeout: 10s }
  output b
}
"#;

#[test]
fn a_broadcast_member_outside_its_targets_is_refused() {
    refused_of(
        BROADCAST,
        "broadcast-outsider",
        |p| {
            p["workflows"]["main"]["steps"][1]["broadcast"]["members"][1]["target"]["agent"] =
                "outsider".into();
        },
        &[],
        "workflows.main.steps[1].broadcast.members[1].target.agent: `outsider` is not an agent of the broadcast's targets",
    );
}

#[test]
fn a_broadcast_member_listed_twice_is_refused() {
    refused_of(
        BROADCAST,
        "broadcast-twice",
        |p| {
            p["workflows"]["main"]["steps"][1]["broadcast"]["members"][1]["target"]["agent"] =
                "left".into();
        },
        &[],
        "workflows.main.steps[1].broadcast.members[1].target.agent: `left` is already a member of the broadcast",
    );
}

#[test]
fn a_broadcast_step_with_a_routing_or_replicas_is_refused() {
    refused_of(
        BROADCAST,
        "broadcast-routing",
        |p| {
            let step = &mut p["workflows"]["main"]["steps"][1];
            step["routing"] = serde_json::json!([step["broadcast"]["members"][0].clone()]);
        },
        &[],
        "workflows.main.steps[1].routing: a broadcast step has no routing of its own",
    );
    refused_of(
        BROADCAST,
        "broadcast-replicas",
        |p| p["workflows"]["main"]["steps"][1]["options"]["replicas"] = 2.into(),
        &[],
        "workflows.main.steps[1].options.replicas: a broadcast step runs once on every member",
    );
}

/// A journal's answer of one broadcast member is checked like a step's value: of the
/// capability's type, and for a member of the step's broadcast.
#[test]
fn a_journaled_broadcast_answer_that_does_not_fit_is_refused_on_resume() {
    let (dir, _) = scratch_of("broadcast-journal", BROADCAST);
    let out = hivec(
        &dir,
        &[
            "run",
            "main.hive",
            "--input",
            "n=1",
            "--journal",
            "run.jsonl",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let journal = std::fs::read_to_string(dir.join("run.jsonl")).expect("journal");
    assert!(journal.contains(r#""key":"b@left","value":4"#), "{journal}");
    // Without the step's and the run's end, so that the resumed run reads the answers.
    let kept: Vec<&str> = journal
        .lines()
        .filter(|l| !l.contains("\"finished\"") && !l.contains(r#""key":"b","#))
        .collect();
    for (tamper, expected) in [
        (
            r#""key":"b@left","value":"four""#,
            "the value it records for step `b@left` does not match the step's type `int` at $: expected int, found string \"four\"",
        ),
        (
            r#""key":"b@outsider","value":4"#,
            "it records `b@outsider`, and `outsider` is not a member of a broadcast of step `b`",
        ),
    ] {
        let tampered: String = kept
            .iter()
            .map(|l| format!("{}\n", l.replace(r#""key":"b@left","value":4"#, tamper)))
            .collect();
        std::fs::write(dir.join("run.jsonl"), tampered).expect("write");
        let _ = std::fs::remove_file(dir.join("started"));
        let out = hivec(&dir, &["run", "main.hive", "--resume", "run.jsonl"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("error: run.jsonl: {expected}")),
            "{stderr}"
        );
        assert!(!dir.join("started").exists(), "a step ran: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
