//! A worker's subscribing agents hear a distributed run's topic messages: each agent reads
//! the run's message stream through a consumer group of its own, so that each message reaches
//! one of its instances across all workers.
//!
//! Invariant: an entry is acknowledged only once an instance has taken its `event` line, or
//! when it is of a topic the agent does not subscribe to; entries a dead worker read and
//! never acknowledged are claimed once they have been idle for a worker's lease.

use super::keys::Keys;
use super::{Link, RemoteError};
use crate::agent::exec::ExecInstance;
use crate::topics::Board;
use crate::topics::relay::{BLOCK, parse};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// One subscribing agent of one run, on this worker.
pub struct Listener {
    /// Where the run's keys are.
    pub link: Arc<Link>,
    /// The namespace's keys.
    pub keys: Keys,
    /// The run.
    pub run: String,
    /// The agent.
    pub agent: String,
    /// The topics it subscribes to.
    pub subscribes: Vec<String>,
    /// Its instances on this worker.
    pub instances: Vec<Arc<ExecInstance>>,
    /// The run's topics, which the agent's `publish` answers go to.
    pub board: Arc<Board>,
    /// This worker's id: its name in the consumer group.
    pub consumer: String,
    /// How long an entry read and not acknowledged stays with its reader before another
    /// worker claims it.
    pub lease: Duration,
}

impl Listener {
    /// Hands the run's messages to the agent's instances until the task is stopped.
    pub async fn listen(self) -> Result<(), RemoteError> {
        let stream = self.keys.topics(&self.run);
        let group = Keys::subscriber(&self.agent);
        let mut create = redis::cmd("XGROUP");
        create
            .arg("CREATE")
            .arg(&stream)
            .arg(&group)
            .arg("0")
            .arg("MKSTREAM");
        match self.link.query::<()>(&create).await {
            Err(e) if !e.0.contains("BUSYGROUP") => return Err(e),
            _ => {}
        }
        let mut reader = self.link.reader(BLOCK).await?;
        let mut next = 0;
        loop {
            let mut claim = redis::cmd("XAUTOCLAIM");
            claim
                .arg(&stream)
                .arg(&group)
                .arg(&self.consumer)
                .arg(self.lease.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(256);
            let claimed: StreamAutoClaimReply = self.link.query(&claim).await?;
            let mut read = redis::cmd("XREADGROUP");
            read.arg("GROUP")
                .arg(&group)
                .arg(&self.consumer)
                .arg("COUNT")
                .arg(256)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&stream)
                .arg(">");
            let fresh: Option<StreamReadReply> = reader.query(&read).await?;
            let entries: Vec<StreamId> = claimed
                .claimed
                .into_iter()
                .chain(fresh.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids))
                .collect();
            let mut done = Vec::new();
            for entry in &entries {
                if self.hand_over(entry, &mut next) {
                    done.push(entry.id.clone());
                }
            }
            if !done.is_empty() {
                let mut ack = redis::cmd("XACK");
                ack.arg(&stream).arg(&group).arg(&done);
                self.link.query::<u64>(&ack).await?;
            }
        }
    }

    /// Gives an entry's message to the next instance that takes it; whether it is done with.
    fn hand_over(&self, entry: &StreamId, next: &mut usize) -> bool {
        let Some(m) = parse(entry) else {
            tracing::warn!(entry = %entry.id, "ignored a malformed topic message");
            return true;
        };
        if !self.subscribes.contains(&m.topic) {
            return true;
        }
        let line = json!({"type": "event", "topic": m.topic, "id": m.id, "payload": m.payload})
            .to_string();
        for _ in 0..self.instances.len() {
            let instance = &self.instances[*next % self.instances.len()];
            *next = next.wrapping_add(1);
            if instance.hear(line.clone(), &self.board) {
                return true;
            }
        }
        false
    }
}
