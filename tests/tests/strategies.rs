//! The property that sets each balancing strategy apart, shown on simulated agents (virtual
//! clock, fixed seed) and, for `auction`, on real bidding agent processes.

mod common;

use common::{plan_in, run_plan, simulate, tasks_of};
use serde_json::json;

/// `agents` (already declared) in a pool with `strategy`, and a workflow sending `tasks`
/// `work` tasks through it at once.
fn through_pool(
    agents: &str,
    members: &str,
    strategy: &str,
    tasks: u32,
    window: u32,
    retry: u32,
) -> String {
    format!(
        r#"
capability work(n: int) -> int
{agents}
pool p {{ members: [{members}], strategy: {strategy} }}
route work -> p
workflow main() -> int {{
  step xs = for i in range(0, {tasks}) {{ work(n: i) }} with {{ concurrency: {window}, retry: {retry} }}
  output len(xs)
}}
"#
    )
}

const FAST_AND_SLOW: &str = r#"
agent fast { provides: [work], concurrency: 8, simulate: { latency: 10ms, output: 1 } }
agent slow { provides: [work], concurrency: 8, simulate: { latency: 200ms, output: 1 } }
agent flaky { provides: [work], concurrency: 8, simulate: { latency: 10ms, failure_rate: 0.5, output: 1 } }
"#;

/// Runs 400 tasks, 8 at a time, through `fast`, `slow` and `flaky` (half its attempts fail)
/// with `strategy`, and returns each one's attempts.
fn three_kinds(strategy: &str) -> [u64; 3] {
    let src = through_pool(FAST_AND_SLOW, "fast, slow, flaky", strategy, 400, 8, 8);
    let report = simulate("three_kinds", &src, json!({}), 1).expect("run");
    assert_eq!(report.output, json!(400));
    ["fast", "slow", "flaky"].map(|n| tasks_of(&report, n))
}

#[test]
fn round_robin_feeds_every_member_alike() {
    let [fast, slow, flaky] = three_kinds("round_robin");
    assert!(
        fast.abs_diff(slow) <= 2 && slow.abs_diff(flaky) <= 2,
        "{fast} {slow} {flaky}"
    );
}

#[test]
fn least_busy_starves_a_slow_member() {
    let [fast, slow, _] = three_kinds("least_busy");
    // The slow member stays busy, so new tasks go elsewhere: under 5% reach it, where
    // round robin gives it a third.
    assert!(slow * 20 < 400, "slow got {slow}");
    assert!(fast > 10 * slow, "fast {fast}, slow {slow}");
}

#[test]
fn performance_moves_load_away_from_slow_and_failing_members() {
    let [fast, slow, flaky] = three_kinds("performance");
    // least_busy cannot see failures; performance learns them from the success rate.
    let [_, _, flaky_by_load] = three_kinds("least_busy");
    assert!(fast > 360, "fast got {fast}");
    assert!(slow < 20 && flaky < 20, "slow {slow}, flaky {flaky}");
    assert!(
        flaky * 5 < flaky_by_load,
        "flaky {flaky} vs {flaky_by_load} under least_busy"
    );
}

#[test]
fn auction_gives_simulated_agents_work_by_their_bid() {
    // A simulated agent bids its latency: the slow one never wins while a cheaper one is
    // free.
    let [fast, slow, _] = three_kinds("auction");
    assert!(fast > 200, "fast got {fast}");
    assert_eq!(slow, 0);
}

/// 1,000 tasks placed at once on ten identical members; returns the largest minus the
/// smallest count, over three seeds.
fn spread(strategy: &str) -> Vec<u64> {
    let agents: String = (0..10)
        .map(|i| format!("agent m{i} {{ provides: [work], concurrency: 1000, simulate: {{ latency: 1s, output: 1 }} }}\n"))
        .collect();
    let names: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let src = through_pool(&agents, &names.join(", "), strategy, 1000, 1000, 0);
    (0..3)
        .map(|seed| {
            let report = simulate("spread", &src, json!({}), seed).expect("run");
            let counts: Vec<u64> = names.iter().map(|n| tasks_of(&report, n)).collect();
            assert_eq!(counts.iter().sum::<u64>(), 1000);
            counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0)
        })
        .collect()
}

#[test]
fn two_choices_balance_better_than_one() {
    let one = spread("random");
    let two = spread("random(two_choices: true)");
    // Plain random leaves tens of tasks between the busiest and the idlest member;
    // the better of two random members keeps them within a few.
    assert!(one.iter().all(|&s| s >= 15), "random: {one:?}");
    assert!(two.iter().all(|&s| s <= 5), "two choices: {two:?}");
}

/// A bidding agent: answers `bid` with the cost in its argument, and runs `work`.
const BIDDER: &str = r#"
import json, sys
cost = float(sys.argv[1])
def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        send({"type": "ready", "capabilities": ["work"]})
    elif msg["type"] == "bid":
        send({"type": "bid", "id": msg["id"], "cost": cost})
    elif msg["type"] == "task":
        send({"type": "result", "id": msg["id"], "output": msg["input"]["n"]})
    elif msg["type"] == "shutdown":
        break
"#;

#[test]
fn auction_gives_each_task_to_the_lowest_bidder() {
    let agents = r#"
agent dear  { provides: [work], exec: "python3 bidder.py 5" }
agent cheap { provides: [work], exec: "python3 bidder.py 1" }
agent fair  { provides: [work], exec: "python3 bidder.py 3" }
"#;
    // One task at a time: the cheapest bidder is always free, so it takes every one.
    let one_by_one = through_pool(agents, "dear, cheap, fair", "auction", 12, 1, 0);
    let (plan, _) = plan_in(
        "auction1",
        &[("main.hive", &one_by_one), ("bidder.py", BIDDER)],
    );
    let report = run_plan(plan, json!({})).expect("run");
    assert_eq!(report.output, json!(12));
    let counts = ["dear", "cheap", "fair"].map(|n| tasks_of(&report, n));
    assert_eq!(counts, [0, 12, 0]);
    // Two at a time: the second task goes to the next cheapest, never to the dearest.
    let two_at_once = through_pool(agents, "dear, cheap, fair", "auction", 12, 2, 0);
    let (plan, _) = plan_in(
        "auction2",
        &[("main.hive", &two_at_once), ("bidder.py", BIDDER)],
    );
    let report = run_plan(plan, json!({})).expect("run");
    let counts = ["dear", "cheap", "fair"].map(|n| tasks_of(&report, n));
    assert_eq!(counts[0], 0, "{counts:?}");
    assert_eq!(counts[1] + counts[2], 12, "{counts:?}");
}
