//! A project whose exec agent sends the state requests a test gives it and returns every
//! answer: for shared state in one process and through Redis.

#![allow(dead_code)]

use serde_json::{Value, json};

/// An agent whose `probe` and `bump` tasks send the `put`/`get`/`lock`/`unlock` requests of
/// their input one by one (each with the task's id), sleeping `pause_ms` before a request
/// that has it, and return every answer they got. A `hold` request is not sent: the first
/// time its `file` is missing, the agent writes its pid there and sleeps `sleep_ms` (a
/// holder a test can signal). `scribble(n)` writes `n` to `latest` and adds 1 to `tally`.
pub const PROBE: &str = r#"import json, os, sys, time
def read():
    return json.loads(sys.stdin.readline())
def send(m):
    print(json.dumps(m), flush=True)
def hold(r):
    if os.path.exists(r["file"]):
        return
    with open(r["file"] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(r["file"] + ".tmp", r["file"])
    time.sleep(r.get("sleep_ms", 0) / 1000)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    msg = json.loads(line)
    if msg["type"] == "hello":
        send({"type": "ready", "capabilities": ["probe", "bump", "scribble"]})
    elif msg["type"] == "task" and msg["capability"] == "scribble":
        n = msg["input"]["n"]
        answers = []
        for r in ({"type": "put", "key": "latest", "value": n}, {"type": "put", "key": "tally", "value": 1}):
            r["id"] = msg["id"]
            send(r)
            answers.append(read()["type"])
        send({"type": "result", "id": msg["id"], "output": {"pid": os.getpid(), "answers": answers}})
    elif msg["type"] == "task":
        answers = []
        requests = msg["input"].get("requests", [])
        tokens = {}
        for r in requests:
            r = dict(r)
            if r["type"] == "hold":
                hold(r)
                continue
            if "pause_ms" in r:
                time.sleep(r.pop("pause_ms") / 1000)
            if r.pop("use_token", None) is not None:
                r["token"] = tokens[r.get("key", r.get("name"))]
            r["id"] = msg["id"]
            send(r)
            if r["type"] == "unlock":
                continue
            a = read()
            if a["type"] == "locked":
                tokens[a["name"]] = a["token"]
            a.pop("id", None)
            answers.append(a)
        send({"type": "result", "id": msg["id"], "output": answers})
    elif msg["type"] == "shutdown":
        break
"#;

/// The plan: cells of every policy, capabilities that write them, and workflows of one
/// step, two in a row, two side by side and many side by side.
pub const HIVE: &str = r#"
type Item { name: string, qty: int }

state notes: list<string> = [] { merge: append }
state owner: string? { conflict: first_writer }
state stock: list<Item> = []  { conflict: last_writer }
state total: int = 0 { merge: sum }
state secret: string? { conflict: last_writer }
state latest: int? { conflict: last_writer }
state tally: int = 0 { merge: sum }

capability probe(requests: json) -> json writes [notes, owner, stock, total]
capability bump(requests: json) -> json reads [total] writes [total]
capability scribble(n: int) -> json writes [latest, tally]

agent prober {
  provides: [probe, bump, scribble]
  exec: "python3 probe.py"
  concurrency: 1
  heartbeat: 10s
}

workflow main(requests: json) -> json {
  step answers = probe(requests: requests)
  output { answers: answers, notes: state.notes, owner: state.owner, total: state.total }
}

workflow twice(first: json, second: json) -> json {
  step a = probe(requests: first)
  step b = bump(requests: second) with { after: [a] }
  output [a, b]
}

workflow rivals(first: json, second: json) -> json {
  step a = probe(requests: first)
  step b = bump(requests: second)
  output [a, b]
}

workflow many(count: int) -> json {
  step xs = for i in range(0, count) { scribble(n: i) }
  output { tally: state.tally, runs: xs }
}
"#;

/// `kind: reason` of each answer, `kind` alone for one without a reason.
pub fn reasons(answers: &Value) -> Vec<String> {
    answers
        .as_array()
        .expect("answers")
        .iter()
        .map(|a| {
            let kind = a["type"].as_str().unwrap_or_default();
            match a["reason"].as_str() {
                Some(r) => format!("{kind}: {r}"),
                None => kind.to_string(),
            }
        })
        .collect()
}

/// The workflow and inputs of the `refusals` case.
pub fn refusals() -> (&'static str, Vec<(&'static str, Value)>) {
    let requests = json!([
        {"type": "put", "key": "notes", "value": ["a"]},
        {"type": "put", "key": "notes", "value": ["b", "c"]},
        {"type": "put", "key": "notes", "value": "not a list"},
        {"type": "put", "key": "secret", "value": "x"},
        {"type": "put", "key": "nothing", "value": 1},
        {"type": "put", "key": "owner", "value": "ada"},
        {"type": "put", "key": "owner", "value": "bob"},
        {"type": "put", "key": "total", "value": 2, "expect": 0},
        {"type": "put", "key": "total", "value": 3, "expect": 0},
        {"type": "put", "key": "stock", "value": [{"name": "nut", "qty": "many"}]},
        {"type": "get", "key": "secret"},
        {"type": "get", "key": "owner"},
    ]);
    ("main", vec![("requests", requests)])
}

/// What the `refusals` case must give: its output and final state.
pub fn check_refusals(output: &Value, state: &Value) {
    let answers = &output["answers"];
    let got = reasons(answers);
    assert_eq!(got[0], "put_ok");
    assert_eq!(got[1], "put_ok");
    assert!(
        got[2].starts_with("put_refused: the value is not of the cell's type `list<string>`"),
        "{}",
        got[2]
    );
    assert_eq!(
        got[3],
        "put_refused: capability `probe` does not declare `secret` in `writes`"
    );
    assert_eq!(got[4], "put_refused: there is no state cell `nothing`");
    assert_eq!(got[5], "put_ok");
    assert_eq!(
        got[6],
        "put_refused: `owner` is `first_writer` and was set by write 1"
    );
    assert_eq!(got[7], "put_ok");
    assert_eq!(
        got[8],
        "put_refused: expected version 0, and the cell is at version 1"
    );
    assert!(
        got[9].contains("$[0].qty"),
        "the path inside the value: {}",
        got[9]
    );
    assert_eq!(
        got[10],
        "get_refused: capability `probe` does not declare `secret` in `reads` or `writes`"
    );
    assert_eq!(answers[11]["value"], json!("ada"));
    assert_eq!(answers[11]["version"], json!(1));
    // A refusal carries the cell as it is.
    assert_eq!(answers[6]["value"], json!("ada"));
    assert_eq!(answers[2]["value"], json!(["a", "b", "c"]));
    assert_eq!(answers[1]["version"], json!(2));
    // Expressions read the cells at the end of the run; --state-out has them all.
    assert_eq!(output["notes"], json!(["a", "b", "c"]));
    assert_eq!(output["owner"], json!("ada"));
    assert_eq!(output["total"], json!(2));
    assert_eq!(
        state,
        &json!({"latest": null, "notes": ["a", "b", "c"], "owner": "ada", "secret": null, "stock": [], "tally": 0, "total": 2})
    );
}

/// The workflow and inputs of the `lease` case.
pub fn lease() -> (&'static str, Vec<(&'static str, Value)>) {
    // The first task locks `total` for 200 ms, writes with its token and ends without
    // unlocking; the second waits for that lease to end, gets a larger token, and only a
    // write with it is accepted until it unlocks.
    let first = json!([
        {"type": "lock", "name": "total", "ttl": 200},
        {"type": "put", "key": "total", "value": 1, "use_token": true},
    ]);
    let second = json!([
        {"type": "lock", "name": "total", "ttl": 5000},
        {"type": "put", "key": "total", "value": 10},
        {"type": "put", "key": "total", "value": 10, "use_token": true},
        {"type": "unlock", "name": "total", "use_token": true},
        {"type": "put", "key": "total", "value": 100},
    ]);
    ("twice", vec![("first", first), ("second", second)])
}

/// What the `lease` case must give: its output and final state.
pub fn check_lease(output: &Value, state: &Value) {
    let a = reasons(&output[0]);
    let b = reasons(&output[1]);
    assert_eq!(a, ["locked", "put_ok"]);
    assert_eq!(b[0], "locked");
    assert!(output[1][0]["token"].as_u64() > output[0][0]["token"].as_u64());
    assert_eq!(
        b[1],
        "put_refused: `total` is locked by another holder: write with its token"
    );
    assert_eq!(b[2], "put_ok");
    assert_eq!(b[3], "put_ok");
    assert_eq!(state["total"], json!(111));
}

/// The workflow and inputs of the `stale` case.
pub fn stale() -> (&'static str, Vec<(&'static str, Value)>) {
    let requests = json!([
        {"type": "lock", "name": "total", "ttl": 100},
        {"type": "put", "key": "total", "value": 5, "use_token": true, "pause_ms": 300},
        {"type": "put", "key": "total", "value": 7},
    ]);
    ("main", vec![("requests", requests)])
}

/// What the `stale` case must give: its output and final state.
pub fn check_stale(output: &Value, state: &Value) {
    let got = reasons(&output["answers"]);
    assert_eq!(got[0], "locked");
    assert!(
        got[1].starts_with("put_refused: lock token 1 of `total` is stale"),
        "{}",
        got[1]
    );
    assert_eq!(got[2], "put_ok");
    assert_eq!(state["total"], json!(7));
}
