//! What travels through the streams: a delivery of one attempt to a worker, and the worker's
//! answer. Every delivery carries its run (the stream), task, attempt and fencing token; the
//! coordinator takes the first answer bearing a token it is waiting for and refuses every
//! other.

use crate::agent::{Task, TaskError};
use redis::streams::StreamId;
use serde_json::{Value, json};
use std::sync::Arc;

/// One attempt as a worker reads it from its agent's stream.
pub struct Delivery {
    /// The fencing token: unique per delivery in its run.
    pub token: u64,
    /// The attempt to run.
    pub task: Task,
    /// The attempt's [`identity`], which its answer carries back.
    pub identity: String,
}

/// What a resumed coordinator knows an attempt by, the same in every coordinator of the run:
/// its capability, attempt and input. Equal attempts (the replicas of a consensus) are
/// interchangeable, so one may take the other's answer.
pub fn identity(task: &Task) -> String {
    identity_of(&task.capability, task.attempt, &task.input)
}

/// The [`identity`] of attempt `attempt` of `capability` on `input`.
pub fn identity_of(capability: &str, attempt: u32, input: &Value) -> String {
    let text = format!("{capability}\0{attempt}\0{input}");
    format!("{:016x}", crate::strategy::stable_hash(&text))
}

impl Delivery {
    /// The stream entry's fields.
    pub fn fields(token: u64, task: &Task) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("token", token.to_string()),
            ("capability", task.capability.clone()),
            ("attempt", task.attempt.to_string()),
            ("input", task.input.to_string()),
        ];
        if let Some(ms) = task.deadline_ms {
            fields.push(("deadline_ms", ms.to_string()));
        }
        if let Some(cp) = &task.checkpoint {
            fields.push(("checkpoint", cp.to_string()));
        }
        if !task.demand.is_empty() {
            let demand = serde_json::to_string(&task.demand).unwrap_or_default();
            fields.push(("demand", demand));
        }
        fields
    }

    /// Reads an entry; `None` for one this version did not write.
    pub fn parse(entry: &StreamId) -> Option<Delivery> {
        let text = |k: &str| entry.get::<String>(k);
        let json = |k: &str| text(k).and_then(|t| serde_json::from_str::<Value>(&t).ok());
        let task = Task {
            capability: text("capability")?,
            input: Arc::new(json("input")?),
            attempt: text("attempt")?.parse().ok()?,
            urgency: 0,
            deadline_ms: text("deadline_ms").and_then(|t| t.parse().ok()),
            checkpoint: json("checkpoint"),
            lost: (0, None),
            demand: json("demand")
                .and_then(|d| serde_json::from_value(d).ok())
                .unwrap_or_default(),
            state: None,
            topics: None,
        };
        Some(Delivery {
            token: text("token")?.parse().ok()?,
            identity: identity(&task),
            task,
        })
    }
}

/// A worker's answer to one delivery.
pub struct Answer {
    /// The delivery's token.
    pub token: u64,
    /// The delivery's [`identity`].
    pub identity: String,
    /// Who ran it: `agent#instance@worker`.
    pub by: String,
    /// The output or the failure.
    pub result: Result<Value, TaskError>,
}

impl Answer {
    /// The result stream entry's fields.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let outcome = match &self.result {
            Ok(v) => json!({ "output": v }),
            Err(e) => json!({ "error": {
                "message": e.message,
                "retryable": e.retryable,
                "lost": e.lost,
                "checkpoint": e.checkpoint,
            }}),
        };
        vec![
            ("token", self.token.to_string()),
            ("task", self.identity.clone()),
            ("by", self.by.clone()),
            ("outcome", outcome.to_string()),
        ]
    }

    /// Reads an entry; `None` for one this version did not write.
    pub fn parse(entry: &StreamId) -> Option<Answer> {
        let outcome: Value = serde_json::from_str(&entry.get::<String>("outcome")?).ok()?;
        let result = match (outcome.get("output"), outcome.get("error")) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(e)) => Err(TaskError {
                message: e.get("message")?.as_str()?.to_string(),
                retryable: e.get("retryable").and_then(Value::as_bool).unwrap_or(true),
                lost: e.get("lost").and_then(Value::as_bool).unwrap_or(false),
                checkpoint: e.get("checkpoint").filter(|c| !c.is_null()).cloned(),
            }),
            (None, None) => return None,
        };
        Some(Answer {
            token: entry.get::<String>("token")?.parse().ok()?,
            identity: entry.get::<String>("task").unwrap_or_default(),
            by: entry.get::<String>("by").unwrap_or_default(),
            result,
        })
    }
}
