//! `GET /v1/runs/{id}/events` against a real `hivec serve`: a run's events arrive as it runs,
//! in order, numbered, agree with the run's final record, and a client that reconnects with
//! `Last-Event-ID` gets exactly what it missed.

#[path = "common/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Event, events, finished, request, serve, submit};
use std::collections::BTreeSet;

const SOURCE: &str = r#"
capability slow_echo(text: string, ms: int) -> string
agent slow { provides: [slow_echo], exec: "python3 slow.py", concurrency: 4 }

workflow diamond(ms: int) -> string {
  step a = slow_echo(text: "a", ms: ms)
  step b = slow_echo(text: "${a}b", ms: ms)
  step c = slow_echo(text: "${a}c", ms: ms)
  step d = std.echo(value: "${b}+${c}")
  output d
}

/// Never comes up: it exits before answering `hello`.
agent gone { provides: [slow_echo], exec: "exit 3", heartbeat: 1s }

workflow fanout() -> map<string> {
  step fanned = slow_echo(text: "x", ms: 10) with { on: [slow, gone], broadcast: true }
  output fanned
}

workflow broken() -> json {
  step first = slow_echo(text: "x", ms: 10)
  step boom = std.fail(message: "no luck ${first}", retryable: false)
  output boom
}
"#;

fn project(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-events-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), SOURCE).expect("write");
    std::fs::write(dir.join("slow.py"), server::SLOW_ECHO).expect("write");
    dir
}

/// The position of the first event of step `step` in state `state`.
fn position(events: &[Event], step: &str, state: &str) -> usize {
    events
        .iter()
        .position(|e| e.name == "step" && e.data["step"] == step && e.data["state"] == state)
        .unwrap_or_else(|| panic!("no `{state}` event of step {step}: {events:#?}"))
}

/// An attempt as both the events and the record name it.
fn attempt_key(step: &Value, a: &Value) -> (String, String, u64, String, u64, u64) {
    (
        step.as_str().unwrap_or_default().to_string(),
        a["agent"].as_str().unwrap_or_default().to_string(),
        a["attempt"].as_u64().unwrap_or_default(),
        a["outcome"]
            .as_str()
            .or(a["state"].as_str())
            .unwrap_or_default()
            .to_string(),
        a["started_us"].as_u64().unwrap_or_default(),
        a["duration_us"].as_u64().unwrap_or_default(),
    )
}

#[test]
fn a_runs_events_arrive_in_order_and_agree_with_its_record() {
    let server = serve(&project("order"), &[]);
    let id = submit(
        &server,
        &json!({"workflow": "diamond", "inputs": {"ms": 300}}),
        None,
    );
    // Read while it runs: the stream ends by itself once the run has finished.
    let (status, all) = events(&server, &id, None, usize::MAX, None);
    assert_eq!(status, 200);
    let ids: Vec<u64> = all.iter().map(|e| e.id).collect();
    let expected: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(ids, expected, "events are numbered from 1 without gaps");

    let last = all.last().expect("events");
    assert_eq!(last.name, "run");
    let record = finished(&server, &id, None);
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(last.data["status"], record["status"]);
    assert_eq!(last.data["output"], record["output"]);
    assert_eq!(last.data["output"], "ab+ac");
    assert_eq!(all.iter().filter(|e| e.name == "run").count(), 1, "one end");

    // Each step runs, then succeeds; a step starts only after the steps it waits for.
    for step in ["a", "b", "c", "d"] {
        assert!(position(&all, step, "running") < position(&all, step, "succeeded"));
    }
    for (before, after) in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")] {
        assert!(position(&all, before, "succeeded") < position(&all, after, "running"));
    }
    let d = &all[position(&all, "d", "succeeded")];
    assert_eq!(d.data["output"], record["output"]);
    // b and c ran side by side: both started before either finished.
    assert!(position(&all, "c", "running") < position(&all, "b", "succeeded"));

    // Every attempt starts before it finishes, on the instance that finishes it, with its
    // input; the finished ones are exactly the record's attempts.
    let mut from_events = BTreeSet::new();
    for (i, e) in all.iter().enumerate().filter(|(_, e)| e.name == "attempt") {
        if e.data["state"] == "started" {
            assert!(e.data["input"].is_object(), "{e:?}");
            continue;
        }
        let started = all[..i].iter().any(|s| {
            s.name == "attempt"
                && s.data["state"] == "started"
                && s.data["step"] == e.data["step"]
                && s.data["agent"] == e.data["agent"]
                && s.data["started_us"] == e.data["started_us"]
        });
        assert!(started, "attempt finished before it started: {e:?}");
        from_events.insert(attempt_key(&e.data["step"], &e.data));
    }
    let mut from_record = BTreeSet::new();
    for step in record["steps"].as_array().expect("steps") {
        for a in step["attempts"].as_array().expect("attempts") {
            from_record.insert(attempt_key(&step["step"], a));
        }
    }
    assert_eq!(from_events, from_record);
    assert_eq!(from_events.len(), 4, "{from_events:?}");
    let b = all
        .iter()
        .find(|e| e.name == "attempt" && e.data["step"] == "b" && e.data["state"] == "started")
        .expect("b started");
    assert_eq!(b.data["agent"].as_str().map(|a| &a[..5]), Some("slow#"));
    assert_eq!(b.data["input"], json!({"text": "ab", "ms": 300}));

    // The agent's stderr lines, each from the instance that ran the task, after it started.
    let logged = all
        .iter()
        .position(|e| e.name == "log" && e.data["line"] == "echoing ab")
        .expect("b's log line");
    assert_eq!(all[logged].data["agent"], b.data["agent"]);
    assert!(all.iter().position(|e| e == b) < Some(logged));

    // A client that saw up to event 3 gets the rest, the same, and nothing more.
    let (_, first) = events(&server, &id, None, 3, None);
    assert_eq!(first, all[..3]);
    let (status, rest) = events(&server, &id, Some(3), usize::MAX, None);
    assert_eq!(status, 200);
    assert_eq!(rest, all[3..]);
    let (_, none) = events(&server, &id, Some(all.len() as u64), usize::MAX, None);
    assert_eq!(none, []);
}

#[test]
fn a_failed_step_and_its_run_say_why() {
    let server = serve(&project("failed"), &[]);
    let id = submit(&server, &json!({"workflow": "broken"}), None);
    let (_, all) = events(&server, &id, None, usize::MAX, None);
    let boom = &all[position(&all, "boom", "failed")];
    assert!(
        boom.data["error"]
            .as_str()
            .is_some_and(|e| e.contains("no luck x")),
        "{boom:?}"
    );
    let last = all.last().expect("events");
    assert_eq!(last.name, "run");
    assert_eq!(last.data["status"], "failed");
    assert_eq!(last.data["error"], finished(&server, &id, None)["error"]);
}

#[test]
fn a_broadcast_member_that_gives_no_answer_has_an_event() {
    let server = serve(&project("absent"), &[]);
    let id = submit(&server, &json!({"workflow": "fanout"}), None);
    let (_, all) = events(&server, &id, None, usize::MAX, None);
    let absent: Vec<&Event> = all.iter().filter(|e| e.name == "absent").collect();
    assert_eq!(absent.len(), 1, "{all:#?}");
    assert_eq!(absent[0].data["step"], "fanned");
    assert_eq!(absent[0].data["agent"], "gone");
    assert!(
        absent[0].data["error"]
            .as_str()
            .is_some_and(|e| e.contains("no live instance") || e.contains("no instance of it")),
        "{:?}",
        absent[0]
    );
    // Before its step finished, with the members that answered.
    assert!(all.iter().position(|e| e == absent[0]) < Some(position(&all, "fanned", "succeeded")));
    let record = finished(&server, &id, None);
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(record["output"], json!({"slow": "x"}));
}

#[test]
fn events_need_a_token_and_a_known_run() {
    let dir = project("auth");
    std::fs::write(dir.join("tokens"), "ci s3cret-token\n").expect("write");
    let server = serve(&dir, &["--tokens", "tokens"]);
    let token = Some("s3cret-token");
    let id = submit(
        &server,
        &json!({"workflow": "diamond", "inputs": {"ms": 1}}),
        token,
    );
    assert_eq!(events(&server, &id, None, 1, None).0, 401);
    assert_eq!(events(&server, &id, None, 1, Some("wrong")).0, 401);
    let (status, got) = events(&server, &id, None, usize::MAX, token);
    assert_eq!(status, 200);
    assert_eq!(got.last().map(|e| e.name.as_str()), Some("run"));
    assert_eq!(events(&server, "r-nope", None, 1, token).0, 404);
    let (status, error) = request(&server, "GET", "/v1/runs/r-nope/events", None, token);
    assert_eq!(status, 404);
    assert_eq!(error["error"]["code"], "unknown-run");
}
