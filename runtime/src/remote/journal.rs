//! A distributed run's journal: the events of [`crate::journal`] in the run's `journal`
//! stream, each entry the events appended since the last one, so that `hivec run --resume ID --redis URL` continues a run whose
//! coordinator was killed.
//!
//! Invariant: events reach the stream in the order they were appended; after
//! [`Writer::flush`] every event appended before it is in Redis.

use super::keys::Keys;
use super::link::{Link, RemoteError};
use crate::journal::{Record, Sink};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

enum Write {
    Event(String),
    Flush(oneshot::Sender<Result<(), RemoteError>>),
}

/// The journal's end that the run appends to: events queue for the writer, which never
/// blocks the run.
struct StreamSink {
    queue: mpsc::UnboundedSender<Write>,
}

impl Sink for StreamSink {
    fn append(&self, line: String) -> Result<(), String> {
        self.queue
            .send(Write::Event(line))
            .map_err(|_| "the journal's writer stopped: Redis failed".to_string())
    }
}

/// The task that writes a run's journal to its stream.
pub struct Writer {
    queue: mpsc::UnboundedSender<Write>,
}

impl Writer {
    /// Starts writing to stream `key`, which expires `keep` after the last write; the sink
    /// is the journal's end.
    pub fn start(link: Arc<Link>, key: String, keep: Duration) -> (Writer, Box<dyn Sink>) {
        let (queue, events) = mpsc::unbounded_channel();
        tokio::spawn(write(link, key, keep, events));
        let sink = StreamSink {
            queue: queue.clone(),
        };
        (Writer { queue }, Box::new(sink))
    }

    /// Waits until every event appended so far is in Redis.
    pub async fn flush(&self) -> Result<(), RemoteError> {
        let (done, written) = oneshot::channel();
        self.queue
            .send(Write::Flush(done))
            .map_err(|_| RemoteError("the journal's writer stopped".to_string()))?;
        written
            .await
            .unwrap_or_else(|_| Err(RemoteError("the journal's writer stopped".to_string())))
    }
}

/// Writes the queued events, as many as are waiting in one pipeline.
async fn write(
    link: Arc<Link>,
    key: String,
    keep: Duration,
    mut events: mpsc::UnboundedReceiver<Write>,
) {
    let mut failed: Option<RemoteError> = None;
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while let Ok(next) = events.try_recv() {
            batch.push(next);
        }
        // The waiting events go as one entry of JSON lines (a line holds no newline), so
        // that the writer keeps up with a run of many short tasks.
        let mut lines = String::new();
        let mut flushes = Vec::new();
        for w in batch {
            match w {
                Write::Event(line) => {
                    if !lines.is_empty() {
                        lines.push('\n');
                    }
                    lines.push_str(&line);
                }
                Write::Flush(done) => flushes.push(done),
            }
        }
        let mut pipe = redis::pipe();
        if !lines.is_empty() {
            pipe.cmd("XADD")
                .arg(&key)
                .arg("*")
                .arg("events")
                .arg(lines)
                .ignore();
        }
        // Each write renews the expiry, so that a killed coordinator's journal goes with
        // the rest of its run.
        pipe.pexpire(&key, keep.as_millis() as i64).ignore();
        if failed.is_none()
            && let Err(e) = link.pipe::<()>(&pipe).await
        {
            failed = Some(e);
        }
        for done in flushes {
            let _ = done.send(failed.clone().map_or(Ok(()), Err));
        }
    }
}

/// The journal of `run`, to resume it: read from `namespace` through `link`.
pub async fn recorded(link: &Link, namespace: &str, run: &str) -> Result<Record, RemoteError> {
    let key = Keys::new(namespace).journal(run);
    let events = read(link, &key).await?.ok_or_else(|| {
        RemoteError(format!(
            "Redis at {} has no journal of run `{run}` in namespace `{}`: the run never started there, or it ended more than its --keep ago",
            link.shown(),
            namespace
        ))
    })?;
    let origin = format!("the journal of run {run}");
    // Each entry is written whole or not at all.
    Record::read(events.iter().map(String::as_str), true, &origin).map_err(RemoteError)
}

/// Every event of the journal in stream `key`, in order; `None` when there is none.
async fn read(link: &Link, key: &str) -> Result<Option<Vec<String>>, RemoteError> {
    let mut events = Vec::new();
    for entry in link.range(key).await? {
        let lines = entry.get::<String>("events").unwrap_or_default();
        events.extend(lines.lines().map(str::to_string));
    }
    Ok((!events.is_empty()).then_some(events))
}
