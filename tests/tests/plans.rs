//! Lowering: every example's plan is snapshotted (text and JSON), plans are deterministic and
//! round-trip through JSON, and the lowering does what the language says.

use hive_plan::{Backoff, Callee, Consensus, Expr, Plan, Strategy, Target, Type};
use hive_tests::{hive_files, plan_of, repo};
use std::path::PathBuf;

fn example(name: &str) -> Plan {
    plan_of(&repo().join("examples").join(name))
}

#[test]
fn every_example_has_a_plan_snapshot() {
    let examples = hive_files(&repo().join("examples"));
    assert!(examples.len() >= 8);
    for path in examples {
        let plan = plan_of(&path);
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let json = serde_json::to_string_pretty(&plan).expect("plans serialize");
        insta::with_settings!({
            snapshot_path => "snapshots/plans",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{name}.txt"), hive_plan::text(&plan));
            insta::assert_snapshot!(format!("{name}.json"), json);
        });
    }
}

#[test]
fn plans_are_deterministic_and_round_trip() {
    for path in hive_files(&repo().join("examples")) {
        let a = serde_json::to_string(&plan_of(&path)).expect("serializes");
        let b = serde_json::to_string(&plan_of(&path)).expect("serializes");
        assert_eq!(a, b, "{} lowers differently twice", path.display());
        let back: Plan = serde_json::from_str(&a).expect("deserializes");
        assert_eq!(
            back,
            plan_of(&path),
            "{} does not round-trip",
            path.display()
        );
        assert_eq!(back.format, hive_plan::FORMAT);
        assert_eq!(back.source_hash.len(), 64);
    }
}

/// What `hivec run` holds a saved plan to, the compiler's plans meet.
#[test]
fn every_example_plan_passes_validation() {
    for path in hive_files(&repo().join("examples")) {
        let problems = hive_plan::validate(&plan_of(&path));
        assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
    }
}

#[test]
fn code_review_steps_options_and_bounds() {
    let plan = example("code_review.hive");
    let (_, wf) = plan.entry(None).expect("main");
    let names: Vec<&str> = wf.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["patch", "security", "reviews", "tests"]);

    let patch = &wf.steps[0];
    assert_eq!(patch.call, Callee::Capability("generate".into()));
    // The capability's default is filled in; the workflow's parameter flows in by name.
    assert_eq!(patch.args["temperature"], Expr::value(0.2));
    assert_eq!(
        patch.args["language"],
        Expr::Param {
            name: "language".into()
        }
    );
    assert_eq!(patch.options.retry, 1);
    assert_eq!(patch.options.backoff, Backoff::Fixed { delay_ms: 10_000 });
    assert_eq!(patch.options.resources.tokens, Some(24_000));
    assert_eq!(patch.options.priority, hive_plan::Priority::High);

    let security = &wf.steps[1];
    assert_eq!(security.deps, [0]);
    assert_eq!(security.options.replicas, 3);
    assert_eq!(security.options.consensus, Some(Consensus::Majority));
    assert_eq!(security.args["focus"], Expr::value("security"));
    assert_eq!(
        security.routing[0].target,
        Target::Pool {
            pool: "reviewers".into()
        }
    );

    let tests = &wf.steps[3];
    assert_eq!(tests.deps, [0, 1]);
    assert!(tests.options.when.is_some());
    assert_eq!(tests.ty.to_string(), "TestRun?");

    // 3m × 2 + 10s, then 90s × 3 + 2s + 4s, then 10m.
    assert_eq!(wf.bounds.worst_case_ms, Some(370_000 + 276_000 + 600_000));
    assert_eq!(wf.bounds.critical_path, ["patch", "security", "tests"]);
    assert_eq!(wf.bounds.tokens, 24_000);
}

#[test]
fn conditional_routes_come_first_with_their_fallbacks() {
    let plan = example("incident_response.hive");
    let (_, wf) = plan.entry(None).expect("one workflow");
    let diagnosis = wf
        .steps
        .iter()
        .find(|s| s.name == "diagnosis")
        .expect("step");
    assert_eq!(diagnosis.routing.len(), 2);
    let first = &diagnosis.routing[0];
    assert!(first.when.is_some());
    assert_eq!(
        first.target,
        Target::Agent {
            agent: "senior_sre".into()
        }
    );
    let fallback = first.fallback.as_ref().expect("fallback");
    assert_eq!(fallback.strategy, Strategy::Performance);
    assert!(diagnosis.routing[1].when.is_none());

    // `priority == critical` compares urgencies: critical is 4.
    let paged = wf.steps.iter().find(|s| s.name == "paged").expect("step");
    let when = paged.routing[0].when.as_ref().expect("condition");
    assert_eq!(
        serde_json::to_value(when).expect("json")["right"]["value"],
        serde_json::json!(4)
    );
}

#[test]
fn step_targets_and_strategies() {
    let plan = example("strategy_comparison.hive");
    let (_, wf) = plan.entry(None).expect("main");
    let turns = &wf.steps[0];
    assert_eq!(
        turns.routing,
        vec![hive_plan::Routing {
            id: turns.routing[0].id,
            when: None,
            target: Target::Pool {
                pool: "by_turn".into()
            },
            strategy: Strategy::RoundRobin,
            fallback: None,
            route: None,
        }]
    );
    assert!(turns.map.is_some());
    let Strategy::Hash { key } = &plan.pools["by_user"].strategy else {
        panic!("by_user hashes");
    };
    assert_eq!(
        *key,
        Expr::Field {
            of: Box::new(Expr::Local {
                name: "input".into()
            }),
            field: "user".into()
        }
    );
    assert_eq!(
        plan.pools["by_dice"].strategy,
        Strategy::Random { two_choices: true }
    );
}

/// Writes `files` into a fresh directory named after the test.
fn scratch(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-plan-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    dir
}

#[test]
fn a_workflow_call_s_timeout_and_retry_bound_its_duration() {
    let dir = scratch(
        "call-bounds",
        &[(
            "calls.hive",
            r#"workflow untimed() -> bool {
  step s = std.sleep(duration: 1h)
  output s
}
workflow long() -> bool {
  step s = std.sleep(duration: 1h) with { timeout: 10m }
  output s
}
workflow main() -> bool {
  step a = untimed() with { timeout: 1s, retry: 2, backoff: fixed(100ms) }
  step b = long() with { timeout: 1s }
  step c = long() with { after: [a, b] }
  output c
}
"#,
        )],
    );
    let plan = plan_of(&dir.join("calls.hive"));
    let (_, wf) = plan.entry(None).expect("main");
    // `a`: three runs of at most 1 s and two backoffs; `b`: cut at 1 s; `c`: the callee's
    // own 10 minutes. `a` and `b` run side by side, then `c`.
    assert!(wf.bounds.untimed_steps.is_empty(), "{:?}", wf.bounds);
    assert_eq!(wf.bounds.worst_case_ms, Some(3_000 + 200 + 600_000));
    assert_eq!(wf.bounds.critical_path, ["a", "c"]);
}

#[test]
fn steps_are_ordered_by_dependencies_then_source_order() {
    let dir = scratch(
        "order",
        &[(
            "order.hive",
            r#"workflow main(x: string) -> json {
  step last = std.echo(value: [first, middle]) with { timeout: 1s }
  step first = std.echo(value: x) with { timeout: 1s }
  step middle = std.echo(value: first) with { timeout: 1s }
  step lone = std.echo(value: 1) with { timeout: 1s }
  output last
}
"#,
        )],
    );
    let plan = plan_of(&dir.join("order.hive"));
    let (_, wf) = plan.entry(None).expect("main");
    let names: Vec<&str> = wf.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["first", "middle", "last", "lone"]);
    assert_eq!(wf.steps[2].deps, [0, 1]);
    assert_eq!(wf.output, Expr::Step { step: 2 });
    // Every dependency points backwards.
    for (i, s) in wf.steps.iter().enumerate() {
        assert!(s.deps.iter().all(|d| *d < i));
    }
}

#[test]
fn names_from_different_files_stay_apart() {
    let dir = scratch(
        "names",
        &[
            (
                "root.hive",
                r#"import "lib.hive" as lib
capability work(n: int) -> int
agent worker { provides: [work], exec: "./w" }
workflow main() -> int {
  step a = work(n: lib.base) with { timeout: 1s }
  step b = lib.double(n: a)
  output b
}
"#,
            ),
            (
                "lib.hive",
                r#"const base: int = 20 + 1
capability work(n: int) -> int
agent worker { provides: [work], exec: "./lib-worker" }
workflow double(n: int) -> int {
  step d = work(n: n * 2) with { timeout: 1s }
  output d
}
"#,
            ),
        ],
    );
    let plan = plan_of(&dir.join("root.hive"));
    assert!(plan.agents.contains_key("worker"));
    assert!(plan.agents.contains_key("worker@lib.hive"));
    assert_eq!(plan.sources[..2], ["root.hive", "lib.hive"]);
    let main = &plan.workflows["main"];
    // The imported constant is inlined as its value, computed in its own file.
    assert_eq!(
        main.steps[0].args["n"].as_value(),
        Some(&serde_json::json!(21))
    );
    assert_eq!(main.steps[1].call, Callee::Workflow("double".into()));
    // The library's workflow calls the library's capability, on the library's agent.
    let double = &plan.workflows["double"];
    assert_eq!(
        double.steps[0].call,
        Callee::Capability("work@lib.hive".into())
    );
    assert_eq!(
        double.steps[0].routing[0].target,
        Target::Providers {
            agents: vec!["worker@lib.hive".into()]
        }
    );
}

#[test]
fn retain_workflow_keeps_what_it_calls() {
    let mut plan = example("coordinator.hive");
    let mut all: Vec<String> = plan.workflows.keys().cloned().collect();
    all.sort();
    assert_eq!(all, ["build_target", "main", "write_notes"]);
    let mut only = plan.clone();
    only.retain_workflow("build_target").expect("exists");
    assert_eq!(only.workflows.len(), 1);
    plan.retain_workflow("main").expect("exists");
    assert_eq!(plan.workflows.len(), 3);
    let err = plan.retain_workflow("nope").expect_err("unknown");
    assert!(err.contains("`build_target`"), "{err}");
}

#[test]
fn a_broadcast_lists_its_members_and_counts_each_ones_tokens() {
    let dir = scratch(
        "broadcast",
        &[(
            "broadcast.hive",
            r#"capability warm(prefix: string) -> int
agent a { provides: [warm], simulate: { latency: 1ms } }
agent b { provides: [warm], simulate: { latency: 1ms } }
agent c { provides: [warm], simulate: { latency: 1ms } }
agent lone { provides: [warm], simulate: { latency: 1ms } }
pool ab { members: [a, b] }
route warm -> ab { fallback: lone }
workflow main(p: string) -> int {
  step routed = warm(prefix: p) with { broadcast: true, timeout: 1s, retry: 1, resources: { tokens: 10 } }
  step listed = warm(prefix: p) with { on: [ab, c, b], broadcast: true, timeout: 3s, resources: { tokens: 100 }, after: [routed] }
  step single = warm(prefix: p) with { on: lone, broadcast: true, timeout: 1s, after: [listed] }
  output len(routed) + len(listed) + len(single)
}
"#,
        )],
    );
    let plan = plan_of(&dir.join("broadcast.hive"));
    let (_, wf) = plan.entry(None).expect("main");
    let members = |i: usize| -> Vec<&str> {
        let b = wf.steps[i].broadcast.as_ref().expect("a broadcast");
        assert!(wf.steps[i].routing.is_empty());
        b.agents().collect()
    };
    // The route's target, not its fallback; each agent of a multicast once, in order.
    assert_eq!(members(0), ["a", "b"]);
    assert_eq!(members(1), ["a", "b", "c"]);
    assert_eq!(members(2), ["lone"]);
    let over = &wf.steps[1].broadcast.as_ref().expect("a broadcast").over;
    assert_eq!(over.len(), 3);
    assert_eq!(wf.steps[0].ty, Type::Map(Box::new(Type::Int)));
    // Every member is a routing of its own, numbered like the others.
    let ids: std::collections::BTreeSet<u32> = plan.routings().map(|r| r.id).collect();
    assert_eq!(ids.len(), 6);
    // Tokens: 10 for each of 2 members, 100 for each of 3. Duration: one member's attempts,
    // since the members run side by side.
    assert_eq!(wf.bounds.tokens, 2 * 10 + 3 * 100);
    assert_eq!(wf.bounds.worst_case_ms, Some(2 * 1_000 + 3_000 + 1_000));
}
