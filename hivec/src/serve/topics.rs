//! `POST /v1/topics/{topic}`: a message published from outside (a person approving, another
//! system) to the runs in flight that declare the topic, or to one of them.
//!
//! Invariant: a message is checked against the topic's type and journaled by each run before
//! any step or agent of it sees it, as if a step had published it.

use super::api::{ApiError, State, json_object, unknown_run};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State as Shared};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::Arc;

/// Longest a message waits for runs still starting.
const STARTING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The endpoint of this file, to go under the API's authentication.
pub fn routes() -> Router<Arc<State>> {
    Router::new().route("/v1/topics/{topic}", post(publish))
}

/// `{"payload": …, "key"?: "…", "run"?: "ID"}`: 201 with the message's id in each run that
/// took it; 404 when no run in flight (or not run `run`) declares the topic; 422 with the
/// reasons when every run refused it.
async fn publish(
    Shared(state): Shared<Arc<State>>,
    Path(topic): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message);
    let mut body = json_object(body, "{\"payload\": …, \"key\": \"…\", \"run\": \"ID\"}")?;
    let payload = body
        .remove("payload")
        .ok_or_else(|| bad("the body holds the message as `payload`".into()))?;
    let text = |value: Option<Value>, field: &str| match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("`{field}` is a string"))),
    };
    let key = text(body.remove("key"), "key")?;
    let run = text(body.remove("run"), "run")?;
    if let Some(field) = body.keys().next() {
        return Err(bad(format!(
            "the body has no field `{field}`; its fields are `payload`, `key` and `run`"
        )));
    }
    // A run accepted a moment ago may still be starting: it is in flight, so the message
    // waits for it a little rather than miss it.
    let waited = tokio::time::Instant::now();
    while waited.elapsed() < STARTING_WAIT
        && state
            .runs
            .starting()
            .iter()
            .any(|r| run.as_ref().is_none_or(|x| x == r))
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let live = state.runs.live();
    if let Some(id) = &run
        && !live.iter().any(|(r, _)| r == id)
    {
        return Err(match state.runs.view(id) {
            Some(_) => ApiError::new(
                StatusCode::CONFLICT,
                "run-finished",
                format!("run `{id}` has ended: no step of it can receive a message"),
            ),
            None => unknown_run(id),
        });
    }
    let mut published = Vec::new();
    let mut refused = Vec::new();
    for (id, runtime) in &live {
        if run.as_ref().is_some_and(|r| r != id) || !runtime.plan().topics.contains_key(&topic) {
            continue;
        }
        match runtime
            .publish(&topic, payload.clone(), key.as_deref())
            .await
        {
            Ok(message) => published.push(json!({"run": id, "id": message})),
            Err(refusal) => refused.push(json!({"run": id, "reason": refusal.reason})),
        }
    }
    if published.is_empty() && refused.is_empty() {
        let whose = run.map_or("no run in flight".to_string(), |r| format!("run `{r}`"));
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-topic",
            format!("{whose} has a topic `{topic}`"),
        ));
    }
    if published.is_empty() {
        let reasons: Vec<&str> = refused
            .iter()
            .filter_map(|r| r["reason"].as_str())
            .collect();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            format!("the message was refused: {}", reasons.join("; ")),
        )
        .with("refused", Value::Array(refused)));
    }
    tracing::info!(
        "a message published to `{topic}` in {} runs",
        published.len()
    );
    let answer = json!({"topic": topic, "published": published, "refused": refused});
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}
