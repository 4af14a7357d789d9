//! Dead letters: tasks delivered `max_deliveries` times without an answer (their worker or
//! instance died under each delivery), kept in the namespace's `dlq` stream with what is
//! needed to look into them. A dead letter stays dead: a resumed run fails its step again
//! at once, until `hivec dlq requeue` takes the letter out.

use super::keys::Keys;
use super::link::{Link, RemoteError};
use crate::agent::Task;
use redis::streams::StreamRangeReply;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Most dead letters kept: older ones are trimmed.
const KEPT: usize = 10_000;

/// Why a task was dead-lettered.
pub struct Letter {
    /// The run it belonged to.
    pub run: String,
    /// The agent it was sent to.
    pub agent: String,
    /// Deliveries that went unanswered.
    pub deliveries: u32,
    /// The last one's cause.
    pub error: String,
}

/// Adds `task` to the dead letters; returns the entry's id.
pub async fn add(
    link: &Link,
    keys: &Keys,
    letter: &Letter,
    task: &Task,
) -> Result<String, RemoteError> {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(keys.dlq())
        .arg("MAXLEN")
        .arg("~")
        .arg(KEPT)
        .arg("*")
        .arg("run")
        .arg(&letter.run)
        .arg("agent")
        .arg(&letter.agent)
        .arg("capability")
        .arg(&task.capability)
        .arg("attempt")
        .arg(task.attempt)
        .arg("deliveries")
        .arg(letter.deliveries)
        .arg("error")
        .arg(&letter.error)
        .arg("input")
        .arg(task.input.to_string());
    if let Some(cp) = &task.checkpoint {
        cmd.arg("checkpoint").arg(cp.to_string());
    }
    link.query(&cmd).await
}

/// The dead letters, oldest first, each as its id and fields (`input` and `checkpoint` as
/// JSON).
pub async fn list(
    link: &Link,
    keys: &Keys,
) -> Result<Vec<(String, Map<String, Value>)>, RemoteError> {
    range(link, keys, "-", "+").await
}

/// The dead letter `id`, if there is one.
pub async fn show(
    link: &Link,
    keys: &Keys,
    id: &str,
) -> Result<Option<Map<String, Value>>, RemoteError> {
    Ok(range(link, keys, id, id)
        .await?
        .into_iter()
        .next()
        .map(|(_, f)| f))
}

/// The dead letters of `run`: their id by the [`identity`](super::wire::identity) of the
/// attempt each holds.
pub async fn of_run(
    link: &Link,
    keys: &Keys,
    run: &str,
) -> Result<HashMap<String, String>, RemoteError> {
    Ok(list(link, keys)
        .await?
        .into_iter()
        .filter(|(_, f)| f.get("run").and_then(Value::as_str) == Some(run))
        .filter_map(|(id, f)| {
            let capability = f.get("capability")?.as_str()?;
            let attempt = u32::try_from(f.get("attempt")?.as_u64()?).ok()?;
            let input = f.get("input")?;
            Some((super::wire::identity_of(capability, attempt, input), id))
        })
        .collect())
}

/// Takes dead letter `id` out, so that its task is sent again when its run is resumed;
/// `false` if there was no such letter.
pub async fn requeue(link: &Link, keys: &Keys, id: &str) -> Result<bool, RemoteError> {
    let deleted: u64 = link
        .query(redis::cmd("XDEL").arg(keys.dlq()).arg(id))
        .await?;
    Ok(deleted > 0)
}

/// Deletes every dead letter; returns how many there were.
pub async fn purge(link: &Link, keys: &Keys) -> Result<u64, RemoteError> {
    let count: u64 = link.query(redis::cmd("XLEN").arg(keys.dlq())).await?;
    link.query::<u64>(redis::cmd("DEL").arg(keys.dlq())).await?;
    Ok(count)
}

async fn range(
    link: &Link,
    keys: &Keys,
    from: &str,
    to: &str,
) -> Result<Vec<(String, Map<String, Value>)>, RemoteError> {
    let mut cmd = redis::cmd("XRANGE");
    cmd.arg(keys.dlq()).arg(from).arg(to);
    let reply: StreamRangeReply = link.query(&cmd).await.map_err(|e| {
        if e.0.contains("Invalid stream ID") {
            RemoteError(format!(
                "`{from}` is not a dead letter's id (they look like 1764581234567-0)"
            ))
        } else {
            e
        }
    })?;
    Ok(reply
        .ids
        .into_iter()
        .map(|entry| {
            let mut fields = Map::new();
            for key in [
                "run",
                "agent",
                "capability",
                "attempt",
                "deliveries",
                "error",
                "input",
                "checkpoint",
            ] {
                let Some(text) = entry.get::<String>(key) else {
                    continue;
                };
                let value = match key {
                    "input" | "checkpoint" => {
                        serde_json::from_str(&text).unwrap_or(Value::String(text))
                    }
                    "attempt" | "deliveries" => {
                        text.parse::<u64>().map_or(Value::String(text), Value::from)
                    }
                    _ => Value::String(text),
                };
                fields.insert(key.to_string(), value);
            }
            (entry.id, fields)
        })
        .collect())
}
