//! The state store of a run on a real plan: merges do not depend on the order of the writes,
//! refused writes count for nothing, and reads of `state.name` see the cells.

mod common;

use common::{simulate, write};
use hive_runtime::state::{Put, Store};
use hive_tests::plan_of;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::Arc;

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

fn store() -> Store {
    let plan = plan_of(&write("state-cells", CELLS));
    Store::new(Arc::new(plan), None).expect("store")
}

fn put(store: &Store, key: &str, value: Value) -> bool {
    let put = Put {
        key: key.to_string(),
        value,
        expect: None,
        token: None,
    };
    store.put(Some("w"), put).is_ok()
}

/// Applies every writer's writes, the writers interleaved as `order` says (an index of the
/// next writer to go, taken modulo the writers left), and returns the accepted numbers in
/// the order they were accepted.
fn apply(store: &Store, writers: &[Vec<Write>], order: &[usize]) -> Vec<i64> {
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random interleavings of writers give the fold of the accepted writes: the same value
    /// for `sum`, `max`, `min` and `union` whatever the order, the accepted writes in their
    /// order for `append`, the last accepted for `last_writer`.
    #[test]
    fn merges_are_the_fold_of_the_accepted_writes_in_any_order(
        writers in prop::collection::vec(prop::collection::vec(write_strategy(), 0..8), 1..5),
        first in prop::collection::vec(0usize..8, 1..16),
        second in prop::collection::vec(0usize..8, 1..16),
    ) {
        let (a, b) = (store(), store());
        let accepted_a = apply(&a, &writers, &first);
        let accepted_b = apply(&b, &writers, &second);
        let mut sorted_a = accepted_a.clone();
        let mut sorted_b = accepted_b.clone();
        sorted_a.sort_unstable();
        sorted_b.sort_unstable();
        prop_assert_eq!(&sorted_a, &sorted_b);
        for (store, accepted) in [(&a, &accepted_a), (&b, &accepted_b)] {
            prop_assert_eq!(store.value("total"), Some(json!(accepted.iter().sum::<i64>())));
            prop_assert_eq!(store.value("top"), Some(accepted.iter().max().map_or(Value::Null, |m| json!(m))));
            let mut low = serde_json::Map::new();
            for n in accepted {
                let k = format!("k{}", n.rem_euclid(3));
                let m = low.get(&k).and_then(Value::as_i64).map_or(*n, |m| m.min(*n));
                low.insert(k, json!(m));
            }
            prop_assert_eq!(store.value("low"), Some(Value::Object(low)));
            prop_assert_eq!(store.value("log"), Some(json!(accepted)));
            let mut tags: Vec<String> = accepted.iter().map(|n| format!("t{}", n.rem_euclid(5))).collect();
            tags.sort();
            tags.dedup();
            prop_assert_eq!(store.value("tags"), Some(json!(tags)));
            prop_assert_eq!(store.value("last"), Some(accepted.last().map_or(Value::Null, |n| json!(n))));
        }
        for cell in ["total", "top", "low", "tags"] {
            prop_assert_eq!(a.value(cell), b.value(cell), "{} depends on the order", cell);
        }
    }
}

#[test]
fn a_versioned_write_is_a_compare_and_set() {
    let store = store();
    let at = |version| Put {
        key: "last".into(),
        value: json!(version),
        expect: Some(version),
        token: None,
    };
    assert_eq!(store.put(Some("w"), at(0)), Ok(1));
    let refused = store.put(Some("w"), at(0)).expect_err("stale version");
    assert_eq!((refused.version, refused.value), (1, json!(0)));
    assert_eq!(store.put(Some("w"), at(1)), Ok(2));
    assert_eq!(store.get(None, "last").map(|v| v.version), Ok(2));
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
