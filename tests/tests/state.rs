//! The state store of a run on a real plan, in memory and in a real `redis-server`: merges do
//! not depend on the order of the writes, refused writes count for nothing, and reads of
//! `state.name` see the cells.

mod common;
#[path = "../../hivec/tests/common/redis.rs"]
mod redis;

use common::{simulate, write};
use hive_runtime::remote::keys::Keys;
use hive_runtime::remote::{Link, RemoteOptions};
use hive_runtime::state::locks::Mode;
use hive_runtime::state::redis::Cells;
use hive_runtime::state::{Put, Store};
use hive_tests::plan_of;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

const CELLS: &str = r#"
state total: int = 0 { merge: sum }
state top: int? { merge: max }
state low: map<int> = {} { merge: min }
state log: list<int> = [] { merge: append }
state tags: list<string> = [] { merge: union }
state last: int? { conflict: last_writer }
capability w() -> bool writes [total, top, low, log, tags, last]
agent a { provides: [w], simulate: { latency: 1ms } }
workflow main() -> int {
  step x = w()
  output state.total
}
"#;

/// One writer's write: a number, or something no cell of these types takes.
#[derive(Clone, Debug)]
enum Write {
    Number(i64),
    Junk,
}

/// The runtime the stores' futures run on, one thread.
static TOKIO: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio")
});

/// A `redis-server` of the test's own (stopped when the test ends, however it ends) and the
/// link to it.
fn redis() -> (redis::Redis, Arc<Link>) {
    let server = redis::Redis::start(&[]);
    let options = RemoteOptions {
        url: server.url(),
        ca: None,
        cert: None,
        key: None,
        namespace: "state-tests".to_string(),
        timeout: Duration::from_secs(5),
        keep: Duration::from_secs(60),
    };
    let link = TOKIO.block_on(Link::open(&options)).expect("redis");
    (server, Arc::new(link))
}

/// The plan of `CELLS`, lowered once: tests run side by side, and each writing the same file
/// while another reads it would hand one a truncated file.
fn plan() -> Arc<hive_plan::Plan> {
    static PLAN: LazyLock<Arc<hive_plan::Plan>> =
        LazyLock::new(|| Arc::new(plan_of(&write("state-cells", CELLS))));
    PLAN.clone()
}

fn store() -> Store {
    Store::new(plan(), None).expect("store")
}

/// A run's store in Redis as two processes see it (each with the cells as it last saw them),
/// in a run no other store uses.
fn redis_stores(link: &Arc<Link>) -> (Store, Store) {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let run = format!(
        "{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let plan = plan();
    let cells = || Cells::new(plan.clone(), link.clone(), Keys::new("state-tests"), &run);
    (
        Store::Redis(Box::new(cells().expect("cells"))),
        Store::Redis(Box::new(cells().expect("cells"))),
    )
}

fn write_to(store: &Store, put: Put) -> Result<u64, hive_runtime::state::Refused> {
    TOKIO.block_on(store.put(Some("w"), put))
}

fn put(store: &Store, key: &str, value: Value) -> bool {
    let put = Put {
        key: key.to_string(),
        value,
        expect: None,
        token: None,
    };
    write_to(store, put).is_ok()
}

/// Applies every writer's writes, the writers interleaved as `order` says (an index of the
/// next writer to go, taken modulo the writers left), writer `i` writing through
/// `stores[i % len]`, and returns the accepted numbers in the order they were accepted.
fn apply(stores: &[&Store], writers: &[Vec<Write>], order: &[usize]) -> Vec<i64> {
    let mut queues: Vec<std::collections::VecDeque<&Write>> =
        writers.iter().map(|w| w.iter().collect()).collect();
    let mut accepted = Vec::new();
    let mut turn = order.iter().cycle();
    while queues.iter().any(|q| !q.is_empty()) {
        let live: Vec<usize> = (0..queues.len())
            .filter(|i| !queues[*i].is_empty())
            .collect();
        let pick = live[turn.next().copied().unwrap_or(0) % live.len()];
        let write = queues[pick].pop_front().expect("a write");
        let store = stores[pick % stores.len()];
        let (n, valid) = match write {
            Write::Number(n) => (*n, true),
            Write::Junk => (0, false),
        };
        let value = |v: Value| if valid { v } else { json!("junk") };
        let results = [
            put(store, "total", value(json!(n))),
            put(store, "top", value(json!(n))),
            put(
                store,
                "low",
                value(json!({ format!("k{}", n.rem_euclid(3)): n })),
            ),
            put(store, "log", value(json!([n]))),
            put(
                store,
                "tags",
                value(json!([format!("t{}", n.rem_euclid(5))])),
            ),
            put(store, "last", value(json!(n))),
        ];
        assert!(
            results.iter().all(|r| *r == valid),
            "{write:?}: {results:?}"
        );
        if valid {
            accepted.push(n);
        }
    }
    accepted
}

fn write_strategy() -> impl Strategy<Value = Write> {
    prop_oneof![
        6 => (-1_000i64..1_000).prop_map(Write::Number),
        1 => Just(Write::Junk),
    ]
}

/// Random interleavings of writers give the fold of the accepted writes: the same value for
/// `sum`, `max`, `min` and `union` whatever the order, the accepted writes in their order for
/// `append`, the last accepted for `last_writer`; in Redis too, through two processes' views.
#[test]
fn merges_are_the_fold_of_the_accepted_writes_in_any_order() {
    let (_server, link) = redis();
    let cases = (
        prop::collection::vec(prop::collection::vec(write_strategy(), 0..8), 1..5),
        prop::collection::vec(0usize..8, 1..16),
        prop::collection::vec(0usize..8, 1..16),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let outcome = runner.run(&cases, |(writers, first, second)| {
        let (a, b) = (store(), store());
        let (c, other) = redis_stores(&link);
        let accepted_a = apply(&[&a], &writers, &first);
        let accepted_b = apply(&[&b], &writers, &second);
        let accepted_c = apply(&[&c, &other], &writers, &second);
        prop_assert_eq!(&accepted_b, &accepted_c, "Redis accepts what memory does");
        let mut sorted_a = accepted_a.clone();
        let mut sorted_b = accepted_b.clone();
        sorted_a.sort_unstable();
        sorted_b.sort_unstable();
        prop_assert_eq!(&sorted_a, &sorted_b);
        for (store, accepted) in [(&a, &accepted_a), (&b, &accepted_b), (&c, &accepted_c)] {
            prop_assert_eq!(
                store.value("total"),
                Some(json!(accepted.iter().sum::<i64>()))
            );
            prop_assert_eq!(
                store.value("top"),
                Some(accepted.iter().max().map_or(Value::Null, |m| json!(m)))
            );
            let mut low = serde_json::Map::new();
            for n in accepted {
                let k = format!("k{}", n.rem_euclid(3));
                let m = low
                    .get(&k)
                    .and_then(Value::as_i64)
                    .map_or(*n, |m| m.min(*n));
                low.insert(k, json!(m));
            }
            prop_assert_eq!(store.value("low"), Some(Value::Object(low)));
            prop_assert_eq!(store.value("log"), Some(json!(accepted)));
            let mut tags: Vec<String> = accepted
                .iter()
                .map(|n| format!("t{}", n.rem_euclid(5)))
                .collect();
            tags.sort();
            tags.dedup();
            prop_assert_eq!(store.value("tags"), Some(json!(tags)));
            prop_assert_eq!(
                store.value("last"),
                Some(accepted.last().map_or(Value::Null, |n| json!(n)))
            );
        }
        for cell in ["total", "top", "low", "tags"] {
            prop_assert_eq!(
                a.value(cell),
                b.value(cell),
                "{} depends on the order",
                cell
            );
        }
        prop_assert_eq!(b.snapshot(), c.snapshot(), "Redis keeps what memory does");
        prop_assert_eq!(
            c.snapshot(),
            other.snapshot(),
            "both processes see one state"
        );
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

#[test]
fn a_versioned_write_is_a_compare_and_set() {
    let (_server, link) = redis();
    for store in [store(), redis_stores(&link).0] {
        versioned_writes(&store);
    }
}

fn versioned_writes(store: &Store) {
    let at = |version| Put {
        key: "last".into(),
        value: json!(version),
        expect: Some(version),
        token: None,
    };
    assert_eq!(write_to(store, at(0)), Ok(1));
    let refused = write_to(store, at(0)).expect_err("stale version");
    assert_eq!((refused.version, refused.value), (1, json!(0)));
    assert_eq!(write_to(store, at(1)), Ok(2));
    let read = TOKIO.block_on(store.get(None, "last"));
    assert_eq!(read.map(|v| v.version), Ok(2));
}

#[test]
fn a_workflow_reads_its_cells_at_their_defaults_under_simulation() {
    let source = CELLS.replace(
        "output state.total",
        "output state.total + len(state.log) + 7",
    );
    let report = simulate("state-read", &source, json!({}), 1);
    // Simulated agents write nothing: the cells keep their defaults.
    assert_eq!(report.map(|r| r.output).ok(), Some(json!(7)));
}

/// Writes sent together are applied by Redis in one script, each accepted or refused as it
/// would be alone, as in memory: a write fenced by the lock in the middle of them stops
/// nothing after it but itself.
#[test]
fn a_batch_of_writes_is_answered_as_the_writes_one_by_one() {
    let (_server, link) = redis();
    let outcomes = [store(), redis_stores(&link).0].map(|store| {
        let lock = store.lock("total", Mode::Exclusive, Duration::from_secs(30));
        let token = TOKIO.block_on(lock).expect("locked");
        let put = |value: Value, token: Option<u64>, expect: Option<u64>| {
            let put = Put {
                key: "total".into(),
                value,
                expect,
                token,
            };
            (Some("w".to_string()), put)
        };
        let writes = vec![
            put(json!(1), Some(token), None),
            put(json!(2), None, None),
            put(json!("junk"), Some(token), None),
            put(json!(3), Some(token), Some(1)),
            put(json!(4), Some(token + 7), None),
            put(json!(5), Some(token), Some(1)),
            put(json!(6), Some(token), None),
        ];
        let results = TOKIO.block_on(store.put_batch(writes));
        let shown: Vec<String> = results
            .into_iter()
            .map(|r| match r {
                Ok(v) => format!("ok {v}"),
                Err(r) => format!("refused at {} ({}): {}", r.version, r.value, r.reason),
            })
            .collect();
        (shown, store.value("total"))
    });
    assert_eq!(outcomes[0], outcomes[1]);
    let (shown, total) = &outcomes[0];
    assert_eq!(shown[0], "ok 1");
    assert!(
        shown[1].contains("is locked by another holder"),
        "{shown:?}"
    );
    assert!(shown[4].contains("was never given out"), "{shown:?}");
    assert_eq!(
        shown[5],
        "refused at 2 (4): expected version 1, and the cell is at version 2"
    );
    assert_eq!(shown[6], "ok 3");
    assert_eq!(total, &Some(json!(10)));
}

/// The password of the Redis URL is in no refusal and no error of the state in Redis, when
/// Redis goes away under a run.
#[test]
fn a_redis_password_appears_in_no_state_error() {
    let password = "s3cr3t-state-pw";
    let server = redis::Redis::start(&["--requirepass", password]);
    let options = RemoteOptions {
        url: format!("redis://:{password}@127.0.0.1:{}", server.port),
        ca: None,
        cert: None,
        key: None,
        namespace: "state-secrets".to_string(),
        timeout: Duration::from_millis(500),
        keep: Duration::from_secs(60),
    };
    let link = Arc::new(TOKIO.block_on(Link::open(&options)).expect("redis"));
    let cells = Cells::new(plan(), link.clone(), Keys::new("state-secrets"), "run");
    let store = Store::Redis(Box::new(cells.expect("cells")));
    let put = |value: i64| Put {
        key: "total".into(),
        value: json!(value),
        expect: None,
        token: None,
    };
    assert_eq!(write_to(&store, put(2)), Ok(1));
    assert_eq!(
        store.value("total"),
        Some(json!(2)),
        "read with the password"
    );
    drop(server);
    let refused = write_to(&store, put(3)).expect_err("Redis is gone");
    assert!(refused.reason.contains("Redis at"), "{}", refused.reason);
    let error = link.blocking().map(|_| ()).expect_err("Redis is gone");
    for text in [&refused.reason, &error.0] {
        assert!(!text.contains(password), "{text}");
        assert!(text.contains("***"), "the URL is shown masked: {text}");
    }
}
