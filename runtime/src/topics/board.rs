//! The messages of a run's topics, in memory.

use super::relay::Relay;
use crate::conform::conform;
use crate::journal::Journal;
use hive_plan::Plan;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// One published message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Its place in the run's sequence of messages, from 1.
    pub seq: u64,
    /// Its topic.
    pub topic: String,
    /// Its id, `topic:seq`: what `publish` answers and what the `publish` step's value is.
    pub id: String,
    /// The payload, of the topic's type.
    pub payload: Value,
    /// When it was published, in milliseconds since the Unix epoch (kept across `--resume`).
    pub at_ms: u64,
}

/// Why a message was not published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// What was wrong, for a person.
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

#[derive(Default)]
struct Log {
    /// Retained messages, oldest first.
    messages: VecDeque<Message>,
    /// The last sequence number given.
    last: u64,
    /// `(topic, key)` → the id and time of the message that carried it.
    keys: HashMap<(String, String), (String, u64)>,
    /// Why messages can no longer be read (distributed mode: Redis was lost).
    broken: Option<String>,
}

/// The topics of one run.
pub struct Board {
    plan: Arc<Plan>,
    log: Mutex<Log>,
    /// The last sequence number, for readers waiting for the next message.
    published: watch::Sender<u64>,
    journal: Option<Arc<Journal>>,
    /// In distributed mode, where messages are published and read.
    relay: Option<Arc<Relay>>,
    /// The task copying the relay's messages here, stopped with the board.
    tail: std::sync::OnceLock<tokio::task::AbortHandle>,
}

impl Drop for Board {
    fn drop(&mut self) {
        if let Some(t) = self.tail.get() {
            t.abort();
        }
    }
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Board").finish_non_exhaustive()
    }
}

impl Board {
    /// The topics of `plan`, with the messages its journal recorded when the run is resumed.
    pub fn new(plan: Arc<Plan>, journal: Option<Arc<Journal>>) -> Board {
        let mut log = Log::default();
        for m in journal.iter().flat_map(|j| j.messages()) {
            log.last = log.last.max(m.message.seq);
            if let Some(key) = &m.key {
                log.keys.insert(
                    (m.message.topic.clone(), key.clone()),
                    (m.message.id.clone(), m.message.at_ms),
                );
            }
            log.messages.push_back(m.message.clone());
        }
        let (published, _) = watch::channel(log.last);
        Board {
            plan,
            log: Mutex::new(log),
            published,
            journal,
            relay: None,
            tail: std::sync::OnceLock::new(),
        }
    }

    /// The topics of a distributed run, kept in Redis by `relay`. A board that `reads` copies
    /// every message of the run here as it comes, for `receive` steps and subscribers; one
    /// that does not only publishes.
    pub fn relayed(plan: Arc<Plan>, relay: Relay, reads: bool) -> Arc<Board> {
        let mut board = Board::new(plan, None);
        board.relay = Some(Arc::new(relay));
        let board = Arc::new(board);
        if reads {
            let tail = tokio::spawn(tail(Arc::downgrade(&board)));
            let _ = board.tail.set(tail.abort_handle());
        }
        board
    }

    /// Takes messages read from the relay, in order; those already here are skipped.
    fn take(&self, messages: Vec<Message>) {
        let mut log = self.lock();
        for m in messages {
            if m.seq > log.last {
                log.last = m.seq;
                log.messages.push_back(m);
            }
        }
        let last = log.last;
        prune(&mut log, &self.plan, now_ms());
        drop(log);
        self.published.send_replace(last);
    }

    /// Marks the board unreadable for `reason`, waking its readers.
    fn break_off(&self, reason: String) {
        self.lock().broken = Some(reason);
        self.published.send_modify(|_| {});
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why messages can no longer be read, if they cannot.
    pub fn broken(&self) -> Option<String> {
        self.lock().broken.clone()
    }

    /// Publishes `payload` to `topic`: checked against the topic's type, journaled, then
    /// visible to readers. A `key` already published to the topic within its `dedupe` window
    /// publishes nothing and answers the first message's id.
    pub async fn publish(
        &self,
        topic: &str,
        payload: Value,
        key: Option<&str>,
    ) -> Result<String, Refusal> {
        let refuse = |reason: String| Err(Refusal { reason });
        let Some(decl) = self.plan.topics.get(topic) else {
            let known: Vec<&str> = self.plan.topics.keys().map(String::as_str).collect();
            return refuse(format!(
                "`{topic}` is not a topic of the plan (its topics: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        let payload = match conform(payload, &decl.ty, &self.plan.types) {
            Ok(v) => v,
            Err(m) => {
                return refuse(format!(
                    "the payload does not match `{}`, the type of topic `{topic}`, {m}",
                    decl.ty
                ));
            }
        };
        if let Some(relay) = &self.relay {
            return relay
                .publish(topic, &payload, key, decl.dedupe_ms)
                .await
                .map_err(|reason| Refusal { reason });
        }
        let now = now_ms();
        let mut log = self.lock();
        prune(&mut log, &self.plan, now);
        if let (Some(key), Some(window)) = (key, decl.dedupe_ms)
            && let Some((id, at)) = log.keys.get(&(topic.to_string(), key.to_string()))
            && now.saturating_sub(*at) < window
        {
            return Ok(id.clone());
        }
        let seq = log.last + 1;
        let message = Message {
            seq,
            topic: topic.to_string(),
            id: format!("{topic}:{seq}"),
            payload,
            at_ms: now,
        };
        if let Some(j) = &self.journal {
            j.record_message(&message, key)
                .map_err(|e| Refusal { reason: e })?;
        }
        log.last = seq;
        if let Some(key) = key {
            log.keys.insert(
                (topic.to_string(), key.to_string()),
                (message.id.clone(), now),
            );
        }
        let id = message.id.clone();
        log.messages.push_back(message);
        drop(log);
        self.published.send_replace(seq);
        Ok(id)
    }

    /// The retained messages of `topics` after sequence number `after`, oldest first.
    pub fn since(&self, topics: &[&str], after: u64) -> Vec<Message> {
        let now = now_ms();
        let mut log = self.lock();
        prune(&mut log, &self.plan, now);
        let start = log.messages.partition_point(|m| m.seq <= after);
        log.messages
            .range(start..)
            .filter(|m| topics.contains(&m.topic.as_str()) && !expired(&self.plan, m, now))
            .cloned()
            .collect()
    }

    /// Tells when a message is published: its sequence number.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// Waits for the first message of `topic` for which `matches` holds (or errs), among
    /// those retained and those to come; `None` when `timeout` passes first.
    pub async fn receive(
        &self,
        topic: &str,
        timeout: Option<Duration>,
        mut matches: impl FnMut(&Message) -> Result<bool, String>,
    ) -> Result<Option<Message>, String> {
        let mut changed = self.watch();
        let wait = async {
            let mut after = 0;
            loop {
                // Marked seen before reading, so a message published meanwhile wakes us.
                changed.borrow_and_update();
                for m in self.since(&[topic], after) {
                    after = m.seq;
                    if matches(&m)? {
                        return Ok(Some(m));
                    }
                }
                if let Some(why) = self.broken() {
                    return Err(why);
                }
                if changed.changed().await.is_err() {
                    return Ok(None);
                }
            }
        };
        match timeout {
            None => wait.await,
            Some(t) => tokio::time::timeout(t, wait).await.unwrap_or(Ok(None)),
        }
    }
}

/// Copies the relay's messages into `board` while it lives.
async fn tail(board: std::sync::Weak<Board>) {
    let Some(relay) = board.upgrade().and_then(|b| b.relay.clone()) else {
        return;
    };
    let read = async {
        let mut reader = relay.link().reader(super::relay::BLOCK).await?;
        let mut last = "0-0".to_string();
        loop {
            let (messages, next) = relay.read(&mut reader, &last).await?;
            let Some(board) = board.upgrade() else {
                return Ok(());
            };
            if let Some(next) = next {
                last = next;
            }
            if !messages.is_empty() {
                board.take(messages);
            }
        }
    };
    let ended: Result<(), crate::remote::RemoteError> = read.await;
    if let (Err(e), Some(board)) = (ended, board.upgrade()) {
        board.break_off(format!("the run's messages cannot be read: {}", e.0));
    }
}

/// Whether a message is past its topic's `retain`.
fn expired(plan: &Plan, m: &Message, now: u64) -> bool {
    plan.topics
        .get(&m.topic)
        .and_then(|t| t.retain_ms)
        .is_some_and(|r| now.saturating_sub(m.at_ms) >= r)
}

/// Drops the expired messages at the front; those behind a live one are skipped by readers.
fn prune(log: &mut Log, plan: &Plan, now: u64) {
    while log.messages.front().is_some_and(|m| expired(plan, m, now)) {
        log.messages.pop_front();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A message as the journal records it.
pub fn event(m: &Message, key: Option<&str>) -> Value {
    let mut e = json!({
        "event": "message",
        "topic": m.topic,
        "id": m.id,
        "seq": m.seq,
        "payload": m.payload,
        "at_ms": m.at_ms,
    });
    if let Some(k) = key {
        e["key"] = json!(k);
    }
    e
}
