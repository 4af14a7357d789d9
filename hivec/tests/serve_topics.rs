//! `POST /v1/topics/{topic}` of a real `hivec serve`: a person's decision delivered from
//! outside to the run waiting for it on a topic, checked against the topic's type.

#[path = "common/server.rs"]
mod server;

use serde_json::json;
use server::{finished, request, serve, submit};
use std::time::Duration;

const SOURCE: &str = r#"
type Approval {
  ticket: string
  approved: bool
}

topic approvals: Approval { retain: 1h }

workflow approve(ticket: string) -> bool {
  step decision = receive approvals(where: it.ticket == ticket) with { timeout: 60s }
  output decision.approved
}
"#;

#[test]
fn a_decision_published_from_outside_reaches_the_run_waiting_for_it() {
    let dir = std::env::temp_dir().join(format!("hive-serve-topics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), SOURCE).expect("write");
    let server = serve(&dir, &[]);
    let id = submit(
        &server,
        &json!({"workflow": "approve", "inputs": {"ticket": "T-1"}}),
        None,
    );
    let publish = |body: serde_json::Value| {
        request(&server, "POST", "/v1/topics/approvals", Some(&body), None)
    };

    // Another ticket's decision is taken by the run, and does not end its wait.
    let (status, answer) = publish(json!({"payload": {"ticket": "T-2", "approved": false}}));
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["published"][0]["run"], id.as_str(), "{answer}");
    std::thread::sleep(Duration::from_millis(300));
    let (_, run) = request(&server, "GET", &format!("/v1/runs/{id}"), None, None);
    assert_eq!(run["status"], "running", "{run}");

    // A payload that is not an Approval is refused with the reason, and changes nothing.
    let (status, refused) = publish(json!({"payload": {"ticket": "T-1"}}));
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "refused", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("approved"),
        "{refused}"
    );
    let (status, unknown) = request(
        &server,
        "POST",
        "/v1/topics/approval",
        Some(&json!({"payload": {}})),
        None,
    );
    assert_eq!(status, 404, "{unknown}");
    assert_eq!(unknown["error"]["code"], "unknown-topic", "{unknown}");
    let (status, bad) = publish(json!({"payload": {}, "colour": "red"}));
    assert_eq!(status, 400, "{bad}");

    // The decision on this ticket, sent to this run: the run ends with it.
    let (status, answer) =
        publish(json!({"payload": {"ticket": "T-1", "approved": true}, "run": id}));
    assert_eq!(status, 201, "{answer}");
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], true, "{run}");

    // The run has ended: nothing of it can receive a message any more.
    let (status, ended) =
        publish(json!({"payload": {"ticket": "T-1", "approved": true}, "run": id}));
    assert_eq!(status, 409, "{ended}");
    let (status, nobody) = publish(json!({"payload": {"ticket": "T-1", "approved": true}}));
    assert_eq!(status, 404, "{nobody}");
    let (status, _) =
        publish(json!({"payload": {"ticket": "T-1", "approved": true}, "run": "r999999-00000000"}));
    assert_eq!(status, 404);
}
