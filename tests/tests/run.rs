//! The runtime on real plans: strategies, failure handling and step options, with agents
//! built on the in-process `std` agent.

mod common;

use common::{plan_in, run_plan, tasks_of, write};
use hive_runtime::{RunError, RunReport};
use hive_tests::plan_of;
use serde_json::{Value, json};

fn run(name: &str, source: &str, inputs: Value) -> Result<RunReport, RunError> {
    run_plan(plan_of(&write(name, source)), inputs)
}

/// Agents `a`, `b`, `c` built on `std`, in a pool with `strategy`.
fn pool_of_three(strategy: &str, weights: [u32; 3]) -> String {
    format!(
        r#"
agent a {{ provides: [std.echo, std.sleep], builtin: "std", weight: {} }}
agent b {{ provides: [std.echo, std.sleep], builtin: "std", weight: {} }}
agent c {{ provides: [std.echo, std.sleep], builtin: "std", weight: {} }}
pool trio {{ members: [a, b, c], strategy: {strategy} }}
route std.echo -> trio
"#,
        weights[0], weights[1], weights[2]
    )
}

#[test]
fn a_chain_of_steps_passes_values_along() {
    let report = run(
        "chain",
        r#"
workflow main(name: string) -> string {
  step a = std.echo(value: "hello")
  step b = std.echo(value: "${a}, ${name}")
  output "${b}!"
}
"#,
        json!({"name": "hive"}),
    )
    .expect("run");
    assert_eq!(report.output, json!("hello, hive!"));
    assert_eq!(tasks_of(&report, "std"), 2);
}

#[test]
fn weighted_gives_one_to_three() {
    let source = pool_of_three("weighted", [1, 3, 0]).replace("weight: 0", "weight: 1")
        + r#"
pool pair { members: [a, b], strategy: weighted }
route std.sleep -> pair
workflow main() -> int {
  step xs = for i in range(0, 400) { std.echo(value: i) }
  output len(xs)
}
"#;
    // Only a and b: make c unreachable by giving the echo route to the pair.
    let source = source.replace("route std.echo -> trio", "route std.echo -> pair");
    let report = run("weighted", &source, json!({})).expect("run");
    assert_eq!(report.output, json!(400));
    assert_eq!((tasks_of(&report, "a"), tasks_of(&report, "b")), (100, 300));
}

#[test]
fn round_robin_takes_turns() {
    let source = pool_of_three("round_robin", [1, 1, 1])
        + r#"
workflow main() -> int {
  step xs = for i in range(0, 300) { std.echo(value: i) }
  output len(xs)
}
"#;
    let report = run("round_robin", &source, json!({})).expect("run");
    let counts = ["a", "b", "c"].map(|n| tasks_of(&report, n));
    assert_eq!(counts, [100, 100, 100]);
}

#[test]
fn hash_keeps_equal_keys_on_one_member() {
    let source = pool_of_three("hash(key: input.value.user)", [1, 1, 1])
        + r#"
workflow main(users: list<string>) -> int {
  step xs = for u in users { std.echo(value: { user: u }) }
  output len(xs)
}
"#;
    let same: Vec<&str> = vec!["ada"; 60];
    let report = run("hash_same", &source, json!({ "users": same })).expect("run");
    let counts = ["a", "b", "c"].map(|n| tasks_of(&report, n));
    assert_eq!(counts.iter().filter(|&&c| c > 0).count(), 1, "{counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), 60);

    let many: Vec<String> = (0..60).map(|i| format!("user{i}")).collect();
    let report = run("hash_many", &source, json!({ "users": many })).expect("run");
    let counts = ["a", "b", "c"].map(|n| tasks_of(&report, n));
    assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
}

#[test]
fn resource_aware_never_exceeds_capacity() {
    // Two agents with 2 CPUs each, tasks of 1 CPU: at most four sleep at once, so twelve
    // 40 ms sleeps take at least three rounds.
    let report = run(
        "resources",
        r#"
agent a { provides: [std.sleep], builtin: "std", resources: { cpu: 2 } }
agent b { provides: [std.sleep], builtin: "std", resources: { cpu: 2 } }
pool p { members: [a, b], strategy: resource_aware }
route std.sleep -> p
workflow main() -> int {
  step xs = for i in range(0, 12) { std.sleep(duration: 40ms) } with { resources: { cpu: 1 } }
  output len(xs)
}
"#,
        json!({}),
    )
    .expect("run");
    assert_eq!(report.output, json!(12));
    assert!(
        report.elapsed_us >= 120_000,
        "took {} µs",
        report.elapsed_us
    );
    assert_eq!(tasks_of(&report, "a") + tasks_of(&report, "b"), 12);
}

#[test]
fn retries_then_names_step_agent_and_attempt() {
    let err = run(
        "retry",
        r#"
workflow main() -> json {
  step boom = std.fail(message: "disk full") with { retry: 2, backoff: fixed(10ms) }
  output boom
}
"#,
        json!({}),
    )
    .expect_err("must fail");
    assert_eq!(err.step.as_deref(), Some("main.boom"));
    assert_eq!(err.attempt, Some((3, 3)));
    assert_eq!(err.agent.as_deref(), Some("std#0"));
    assert_eq!(err.cause, "disk full");
    let text = err.to_string();
    assert!(text.contains("retry.hive:3:8"), "{text}");
}

#[test]
fn a_failure_that_is_not_retryable_is_not_retried() {
    let err = run(
        "fatal",
        r#"
workflow main() -> json {
  step boom = std.fail(message: "bad request", retryable: false) with { retry: 5 }
  output boom
}
"#,
        json!({}),
    )
    .expect_err("must fail");
    assert_eq!(err.attempt, Some((1, 6)));
}

#[test]
fn fallback_value_when_and_timeouts() {
    let report = run(
        "options",
        r#"
workflow main(go: bool) -> json {
  step slow = std.sleep(duration: 10s) with { timeout: 30ms, fallback: false }
  step skipped = std.echo(value: 1) with { when: go }
  step failed = std.fail(message: "no") with { fallback: "recovered" }
  output { slow: slow, skipped: skipped, failed: failed }
}
"#,
        json!({"go": false}),
    )
    .expect("run");
    assert_eq!(
        report.output,
        json!({"slow": false, "skipped": null, "failed": "recovered"})
    );
}

#[test]
fn a_map_s_fallback_stands_in_for_each_failed_element() {
    let source = r#"
capability work(n: int) -> int
agent odd_fails { provides: [work], exec: "python3 agent.py" }
workflow main() -> list<int> {
  step xs = for i in range(0, 4) { work(n: i) } with { fallback: 0 }
  output xs
}
"#;
    let agent = common::recording_agent(
        &["work"],
        r#"    if msg["input"]["n"] % 2:
        raise Exception("odd")
    return msg["input"]["n"] + 100"#,
    );
    let (plan, _) = plan_in(
        "map-fallback",
        &[("main.hive", source), ("agent.py", &agent)],
    );
    let report = run_plan(plan, json!({})).expect("run");
    assert_eq!(report.output, json!([100, 0, 102, 0]));
}

#[test]
fn an_attempt_timeout_is_an_error_naming_it() {
    let err = run(
        "timeout",
        r#"
workflow main() -> bool {
  step slow = std.sleep(duration: 10s) with { timeout: 20ms }
  output slow
}
"#,
        json!({}),
    )
    .expect_err("must time out");
    assert!(err.cause.contains("timed out after 20ms"), "{err}");
}

#[test]
fn the_workflow_timeout_cancels_the_run() {
    let started = std::time::Instant::now();
    let err = run(
        "wf_timeout",
        r#"
workflow main() -> bool {
  timeout: 50ms
  step slow = std.sleep(duration: 10s)
  output slow
}
"#,
        json!({}),
    )
    .expect_err("must time out");
    assert!(err.cause.contains("timed out after 50ms"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn consensus_runs_replicas_on_distinct_agents() {
    let source = pool_of_three("least_busy", [1, 1, 1])
        + r#"
workflow main() -> json {
  step vote = std.echo(value: "yes") with { replicas: 3, consensus: unanimous }
  output vote
}
"#;
    let report = run("consensus", &source, json!({})).expect("run");
    assert_eq!(report.output, json!("yes"));
    assert_eq!(["a", "b", "c"].map(|n| tasks_of(&report, n)), [1, 1, 1]);
}

#[test]
fn sub_workflows_and_missing_inputs() {
    let source = r#"
workflow double(x: int) -> int {
  step e = std.echo(value: x * 2)
  output e
}
workflow main(n: int) -> json {
  step d = double(x: n)
  output d
}
"#;
    let report = run("sub", source, json!({"n": 21})).expect("run");
    assert_eq!(report.output, json!(42));
    let err = run("sub_missing", source, json!({})).expect_err("missing input");
    assert!(err.cause.contains("needs input `n: int`"), "{err}");
}

#[test]
fn a_builtin_agent_without_the_capability_is_a_clear_error() {
    let err = run(
        "wrong_type",
        r#"
type Pair { left: int, right: int }
capability pair(x: int) -> Pair
agent echoer { provides: [pair], builtin: "std" }
workflow main() -> Pair {
  step p = pair(x: 1)
  output p
}
"#,
        json!({}),
    );
    // The std agent has no `pair` capability: a clear error, not a hang.
    let err = err.expect_err("must fail");
    assert!(err.cause.contains("no capability `pair`"), "{err}");
}

#[test]
fn the_coordinator_example_runs_on_its_exec_agents() {
    let mut plan = plan_of(&hive_tests::repo().join("examples/coordinator.hive"));
    plan.base = hive_tests::repo().join("examples").display().to_string();
    let report = run_plan(
        plan,
        json!({"version": "1.4.0", "head": "abc123", "commits": ["fix: crash", "feat: retries"]}),
    )
    .expect("run");
    assert_eq!(report.output["version"], json!("1.4.0"));
    let builds = report.output["builds"].as_array().expect("builds");
    assert!(!builds.is_empty());
    assert!(
        builds.iter().all(|b| b["passed"] == json!(true)),
        "{builds:?}"
    );
    assert_eq!(tasks_of(&report, "builder"), builds.len() as u64);
}

#[test]
fn a_crashed_instance_hands_its_task_on_without_using_a_retry() {
    let marker = std::env::temp_dir().join(format!("hive-crashed-once-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    // Dies on its first task, then behaves.
    let script = format!(
        r#"import json, os, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({{"type": "ready", "capabilities": ["work"]}}), flush=True)
    elif msg["type"] == "task":
        if not os.path.exists({marker:?}):
            open({marker:?}, "w").close()
            os._exit(3)
        print(json.dumps({{"type": "result", "id": msg["id"], "output": msg["input"]["n"] + 1}}), flush=True)
    elif msg["type"] == "shutdown":
        break
"#,
        marker = marker.display().to_string()
    );
    let source = r#"
capability work(n: int) -> int
agent flaky { provides: [work], exec: "python3 flaky.py" }
workflow main() -> int {
  step w = work(n: 41)
  output w
}
"#;
    let (plan, _) = plan_in("crash", &[("main.hive", source), ("flaky.py", &script)]);
    let report = run_plan(plan, json!({})).expect("handed off");
    assert_eq!(report.output, json!(42));
    assert!(marker.exists());
    let flaky = report
        .members
        .iter()
        .find(|m| m.name == "flaky")
        .expect("flaky");
    assert_eq!(flaky.stats.retries, 0);
}

#[test]
fn an_agent_that_never_gets_ready_is_an_error_not_a_hang() {
    let source = r#"
capability work(n: int) -> int
agent garbage { provides: [work], exec: "echo this is not the protocol" }
workflow main() -> int {
  step w = work(n: 1)
  output w
}
"#;
    let (plan, _) = plan_in("garbage", &[("main.hive", source)]);
    let err = run_plan(plan, json!({})).expect_err("no agent");
    assert_eq!(err.step.as_deref(), Some("main.w"));
    assert!(err.cause.contains("no live member"), "{err}");
}

/// An agent in Python that answers `work(n)` with `output(n)` (a Python expression) and runs
/// `on_shutdown` when told to stop.
fn python_agent(output: &str, on_shutdown: &str) -> String {
    format!(
        r#"import json, os, sys, time
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({{"type": "ready", "capabilities": ["work"]}}), flush=True)
    elif msg["type"] == "task":
        n = msg["input"]["n"]
        print(json.dumps({{"type": "result", "id": msg["id"], "output": {output}}}), flush=True)
    elif msg["type"] == "shutdown":
{on_shutdown}
"#
    )
}

#[test]
fn an_output_of_the_wrong_type_names_the_agent_and_the_path() {
    let source = r#"
type Review { score: int, notes: list<string> }
capability work(n: int) -> Review
agent liar { provides: [work], exec: "python3 liar.py" }
workflow main() -> int {
  step w = work(n: 1) with { retry: 1 }
  output w.score
}
"#;
    let script = python_agent(r#"{"score": n, "notes": ["fine", 7]}"#, "        break");
    let (plan, _) = plan_in("liar", &[("main.hive", source), ("liar.py", &script)]);
    let err = run_plan(plan, json!({})).expect_err("wrong type");
    assert_eq!(err.step.as_deref(), Some("main.w"));
    assert_eq!(err.agent.as_deref(), Some("liar#0"));
    assert_eq!(err.attempt, Some((2, 2)));
    assert!(
        err.cause.contains("does not match its type `Review`") && err.cause.contains("notes[1]"),
        "{err}"
    );
}

#[test]
fn exec_agents_are_sent_shutdown_when_the_run_ends() {
    let dir = std::env::temp_dir().join(format!("hive-shutdown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // `polite` exits when told; `stubborn` ignores both `shutdown` and the end of its input
    // and must be killed after the grace period.
    let polite = python_agent(
        "n + 1",
        "        open('polite.said', 'w').write('shutdown')\n        break",
    );
    let stubborn = python_agent(
        "n + 2",
        "        open('stubborn.pid', 'w').write(str(os.getpid()))\n        time.sleep(60)",
    );
    let source = r#"
capability work(n: int) -> int
agent polite { provides: [work], exec: "python3 polite.py" }
agent stubborn { provides: [work], exec: "python3 stubborn.py" }
pool both { members: [polite, stubborn], strategy: round_robin }
route work -> both
workflow main() -> int {
  step xs = for i in range(0, 4) { work(n: i) }
  output len(xs)
}
"#;
    let (plan, dir) = plan_in(
        "shutdown",
        &[
            ("main.hive", source),
            ("polite.py", &polite),
            ("stubborn.py", &stubborn),
        ],
    );
    let started = std::time::Instant::now();
    let report = run_plan(plan, json!({})).expect("run");
    assert_eq!(report.output, json!(4));
    assert_eq!(
        std::fs::read_to_string(dir.join("polite.said"))
            .ok()
            .as_deref(),
        Some("shutdown")
    );
    let pid = std::fs::read_to_string(dir.join("stubborn.pid")).expect("stubborn was told");
    // SIGKILL went to its process group; its teardown may take a moment.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
    };
    for _ in 0..100 {
        if !running() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !running(),
        "the stubborn agent (pid {pid}) is still running"
    );
    // Killed after the grace period, not left for its minute of sleep.
    let took = started.elapsed();
    assert!(
        took >= hive_runtime::agent::exec::SHUTDOWN_GRACE && took.as_secs() < 30,
        "{took:?}"
    );
}

#[test]
fn durations_and_sizes_read_as_written_in_text() {
    let report = run(
        "units",
        r#"
const wait: duration = 1500ms
workflow main(limit: size) -> string {
  step a = std.echo(value: "waited ${wait}, then ${2s * 1.5}, for ${limit}")
  step b = std.sleep(duration: 10ms * 1.5)
  output "${a} (${b})"
}
"#,
        json!({"limit": 2097152}),
    )
    .expect("run");
    assert_eq!(report.output, json!("waited 1.5s, then 3s, for 2mb (true)"));
}

#[test]
fn a_broadcast_gives_each_member_the_task_once() {
    let source = pool_of_three("round_robin", [1, 1, 1])
        + r#"
workflow main(xs: list<int>) -> map<json> {
  step all = std.echo(value: xs) with { on: trio, broadcast: true }
  output all
}
"#;
    let report = run("broadcast_echo", &source, json!({"xs": [1, 2]})).expect("run");
    assert_eq!(
        report.output,
        json!({"a": [1, 2], "b": [1, 2], "c": [1, 2]})
    );
    assert_eq!(["a", "b", "c"].map(|n| tasks_of(&report, n)), [1, 1, 1]);
}

#[test]
fn a_broadcast_none_of_whose_members_answered_takes_its_fallback() {
    let source = r#"
agent a { provides: [std.fail], builtin: "std" }
agent b { provides: [std.fail], builtin: "std" }
workflow main() -> map<json> {
  step all = std.fail(message: "down") with { on: [a, b], broadcast: true, retry: 2, fallback: { a: "stale" } }
  output all
}
"#;
    let report = run("broadcast_fallback", source, json!({})).expect("run");
    assert_eq!(report.output, json!({"a": "stale"}));
    // `std.fail` is retryable by default: three attempts on each member.
    assert_eq!((tasks_of(&report, "a"), tasks_of(&report, "b")), (3, 3));
    let failing = source.replace(", fallback: { a: \"stale\" }", "");
    let err = run("broadcast_fails", &failing, json!({})).expect_err("no member answered");
    assert!(
        err.cause.contains("no member of the broadcast answered")
            && err.cause.contains("`a`")
            && err.cause.contains("`b`")
            && err.cause.contains("down"),
        "{err}"
    );
}
