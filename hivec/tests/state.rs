//! Shared state through the agent protocol, with real exec agents: every refusal is answered
//! with its reason and changes nothing, the run goes on, locks fence stale holders, the final
//! state is written with `--state-out` and restored by `--resume`.

#[path = "common/project.rs"]
mod project;
#[path = "common/redis.rs"]
mod redis;

use project::{dir, hivec};
use serde_json::{Value, json};

/// An agent whose `probe` task sends the `put`/`get`/`lock` requests of its input one by one
/// (each with the task's id), sleeping `pause_ms` before a request that has it, and returns
/// every answer it got.
const PROBE: &str = r#"import json, sys, time
pending = []
def read():
    return json.loads(sys.stdin.readline())
def send(m):
    print(json.dumps(m), flush=True)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    msg = json.loads(line)
    if msg["type"] == "hello":
        send({"type": "ready", "capabilities": ["probe", "bump"]})
    elif msg["type"] == "task":
        answers = []
        requests = msg["input"].get("requests", [])
        tokens = {}
        for r in requests:
            r = dict(r)
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

const HIVE: &str = r#"
type Item { name: string, qty: int }

state notes: list<string> = [] { merge: append }
state owner: string? { conflict: first_writer }
state stock: list<Item> = []  { conflict: last_writer }
state total: int = 0 { merge: sum }
state secret: string? { conflict: last_writer }

capability probe(requests: json) -> json writes [notes, owner, stock, total]
capability bump(requests: json) -> json reads [total] writes [total]

agent prober { provides: [probe, bump], exec: "python3 probe.py" }

workflow main(requests: json) -> json {
  step answers = probe(requests: requests)
  output { answers: answers, notes: state.notes, owner: state.owner, total: state.total }
}

workflow twice(first: json, second: json) -> json {
  step a = probe(requests: first)
  step b = bump(requests: second) with { after: [a] }
  output [a, b]
}
"#;

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

fn reasons(answers: &Value) -> Vec<String> {
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

#[test]
fn refused_writes_change_nothing_and_the_run_goes_on() {
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
    let (output, state, _) = run("state-refusals", "main", &[("requests", requests)]);
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
        json!({"notes": ["a", "b", "c"], "owner": "ada", "secret": null, "stock": [], "total": 2})
    );
}

#[test]
fn a_lock_is_waited_for_until_its_lease_ends_and_fences_the_cell() {
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
    let (output, state, _) = run(
        "state-lease",
        "twice",
        &[("first", first), ("second", second)],
    );
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

/// A holder paused past its lease (it sleeps 300 ms on a 100 ms lease) is refused when it
/// writes with its old token.
#[test]
fn a_stale_token_is_refused() {
    let requests = json!([
        {"type": "lock", "name": "total", "ttl": 100},
        {"type": "put", "key": "total", "value": 5, "use_token": true, "pause_ms": 300},
        {"type": "put", "key": "total", "value": 7},
    ]);
    let (output, state, _) = run("state-stale", "main", &[("requests", requests)]);
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

#[test]
fn state_cells_are_refused_in_distributed_mode_with_a_clear_message() {
    let project = dir("state-redis", &[("main.hive", HIVE), ("probe.py", PROBE)]);
    let redis = redis::Redis::start(&[]);
    let url = redis.url();
    let out = hivec(
        &project,
        &[
            "run",
            "main.hive",
            "--input",
            "requests=[]",
            "--redis",
            &url,
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("state cells are kept in one process: a plan with `state` items cannot run with --redis yet"),
        "{stderr}"
    );
}
