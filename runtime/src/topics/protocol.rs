//! The topic messages of the agent protocol: `publish {topic, payload, key?, ref?}` from an agent,
//! answered with `published {topic, id}` or `publish_refused {topic, reason}`, and
//! `event {topic, id, payload}` to the agents that subscribe to a topic.
//!
//! Invariant: every `publish` is answered, whatever it holds; each message reaches every
//! subscribing agent once (one of its instances), in the order messages were published.

use super::board::Board;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// What an exec agent's instances share to speak of topics: the board, and for a subscribing
/// agent the topics it subscribes to with the last message it was sent.
#[derive(Clone, Debug)]
pub struct Topics {
    /// The run's topics.
    pub board: Arc<Board>,
    /// The topics the agent subscribes to.
    pub subscribes: Vec<String>,
    /// The sequence number of the last message sent to one of the agent's instances.
    pub cursor: Arc<Mutex<u64>>,
}

impl Topics {
    /// The `event` lines of the messages not yet sent to the agent, marked as sent.
    pub fn events(&self) -> Vec<String> {
        if self.subscribes.is_empty() {
            return Vec::new();
        }
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let topics: Vec<&str> = self.subscribes.iter().map(String::as_str).collect();
        let messages = self.board.since(&topics, *cursor);
        if let Some(last) = messages.last() {
            *cursor = last.seq;
        }
        messages
            .into_iter()
            .map(|m| {
                json!({"type": "event", "topic": m.topic, "id": m.id, "payload": m.payload})
                    .to_string()
            })
            .collect()
    }
}

/// Answers `publish` message `msg` from an agent; the answer carries the request's `ref`
/// back when it has one, so an agent can tell its answers apart.
pub async fn answer(board: &Board, msg: &Value) -> String {
    let topic = msg.get("topic").and_then(Value::as_str).unwrap_or_default();
    let key = match msg.get("key") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(k)) => Ok(Some(k.as_str())),
        Some(_) => Err("`key` must be a string".to_string()),
    };
    let result = match (topic, msg.get("payload"), key) {
        ("", _, _) => Err("`publish` names no `topic`".to_string()),
        (_, None, _) => Err("`publish` has no `payload`".to_string()),
        (_, _, Err(e)) => Err(e),
        (_, Some(payload), Ok(key)) => board
            .publish(topic, payload.clone(), key)
            .await
            .map_err(|r| r.reason),
    };
    let mut answer = match result {
        Ok(id) => json!({"type": "published", "topic": topic, "id": id}),
        Err(reason) => json!({"type": "publish_refused", "topic": topic, "reason": reason}),
    };
    if let Some(r) = msg.get("ref") {
        answer["ref"] = r.clone();
    }
    answer.to_string()
}
