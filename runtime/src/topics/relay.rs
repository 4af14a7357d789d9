//! The topics of a distributed run, in Redis: one stream per run holds every message of its
//! topics in the order published (see `remote::keys`), shared by the coordinator, every
//! worker and `hivec publish`.
//!
//! Invariant: a message is numbered, deduplicated and appended by one Lua script
//! (`lua/publish.lua`), so every process sees one sequence; a process that reads messages
//! copies them from the stream into its board (`Board::take`) and nothing else fills it.

use super::board::Message;
use crate::remote::keys::Keys;
use crate::remote::script::Script;
use crate::remote::{Link, RemoteError};
use hive_plan::Plan;
use redis::streams::{StreamId, StreamReadReply};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How long one read of the stream waits for a message before it asks again.
pub const BLOCK: Duration = Duration::from_secs(1);

/// Where one run's messages are published and read, in Redis.
pub struct Relay {
    link: Arc<Link>,
    keys: Keys,
    run: String,
    publish: Script,
    /// The longest `retain` of the plan's topics in ms; 0 when one keeps its messages for
    /// the whole run (then nothing is trimmed).
    longest_retain: u64,
}

impl Relay {
    /// The topics of run `run` of `plan` through `link`, under namespace `keys`.
    pub fn new(plan: &Plan, link: Arc<Link>, keys: Keys, run: &str) -> Relay {
        let retains: Option<Vec<u64>> = plan.topics.values().map(|t| t.retain_ms).collect();
        Relay {
            link,
            keys,
            run: run.to_string(),
            publish: Script::new(include_str!("lua/publish.lua")),
            longest_retain: retains.and_then(|r| r.into_iter().max()).unwrap_or(0),
        }
    }

    /// The Redis this relay speaks to, for errors.
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// The stream of the run's messages.
    pub fn stream(&self) -> String {
        self.keys.topics(&self.run)
    }

    /// Publishes `payload`, already checked against the topic's type; a `key` published to
    /// the topic within `dedupe_ms` publishes nothing and answers the earlier message's id.
    pub async fn publish(
        &self,
        topic: &str,
        payload: &Value,
        key: Option<&str>,
        dedupe_ms: Option<u64>,
    ) -> Result<String, String> {
        let marker = match (key, dedupe_ms) {
            (Some(k), Some(w)) if w > 0 => self.keys.topic_key(&self.run, topic, k),
            _ => String::new(),
        };
        let keys = [self.stream(), self.keys.topics_seq(&self.run), marker];
        let args = [
            topic.to_string(),
            payload.to_string(),
            key.unwrap_or_default().to_string(),
            dedupe_ms.unwrap_or(0).to_string(),
            self.longest_retain.to_string(),
        ];
        let (_, id): (u8, String) = self
            .publish
            .call(&self.link, &keys, &args)
            .await
            .map_err(|e| e.0)?;
        Ok(id)
    }

    /// Messages of the stream after entry `last` ("0-0": from the start), waiting up to
    /// [`BLOCK`] for one; the entry id to read after next time.
    pub async fn read(
        &self,
        reader: &mut crate::remote::link::Reader,
        last: &str,
    ) -> Result<(Vec<Message>, Option<String>), RemoteError> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1024)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(self.stream())
            .arg(last);
        let reply: Option<StreamReadReply> = reader.query(&cmd).await?;
        let entries: Vec<StreamId> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect();
        let next = entries.last().map(|e| e.id.clone());
        Ok((entries.iter().filter_map(parse).collect(), next))
    }
}

/// A message from its stream entry; `None` for an entry this version cannot read.
pub fn parse(entry: &StreamId) -> Option<Message> {
    let text = |f: &str| entry.get::<String>(f);
    Some(Message {
        seq: text("seq")?.parse().ok()?,
        topic: text("topic")?,
        id: text("id")?,
        payload: serde_json::from_str(&text("payload")?).ok()?,
        at_ms: text("at")?.parse().ok()?,
    })
}
