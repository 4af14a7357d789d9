//! Idempotency keys of a run: the value of every key completed (in this run, or in the
//! journal it resumes), and the task running for each key in flight, which a later task with
//! the same key waits for instead of running too.
//!
//! Invariant: at most one task runs for a key at a time, and a key's value, once recorded,
//! never changes.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;

enum Entry {
    /// Completed with this value.
    Done(Value),
    /// A task runs for it; the channel closes when that task ends, however it ends.
    Running(watch::Receiver<()>),
}

/// The keys of one run.
pub struct Keys {
    entries: Mutex<HashMap<String, Entry>>,
}

/// What a task with a key does.
pub enum Claim<'k> {
    /// Takes the key's value: its task has completed.
    Done(Value),
    /// Runs, holding the key until the ticket is finished or dropped.
    Run(Ticket<'k>),
}

/// The right to run the task of a key. Dropped without [`Ticket::finish`] (the task failed,
/// or its step was cancelled), it frees the key, and the first of the tasks waiting for it
/// runs in its place.
pub struct Ticket<'k> {
    keys: &'k Keys,
    key: String,
    finished: bool,
    /// Closes the channel the waiting tasks watch when the ticket goes.
    _running: watch::Sender<()>,
}

impl Keys {
    /// Keys completed before the run started (from the journal it resumes).
    pub fn new(done: HashMap<String, Value>) -> Keys {
        let entries = done.into_iter().map(|(k, v)| (k, Entry::Done(v))).collect();
        Keys {
            entries: Mutex::new(entries),
        }
    }

    /// The value of `key` if it has completed; else, once no other task runs for it, the
    /// ticket to run it.
    pub async fn claim(&self, key: &str) -> Claim<'_> {
        loop {
            let mut ended = {
                let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
                match entries.get(key) {
                    Some(Entry::Done(value)) => return Claim::Done(value.clone()),
                    Some(Entry::Running(ended)) => ended.clone(),
                    None => {
                        let (running, ended) = watch::channel(());
                        entries.insert(key.to_string(), Entry::Running(ended));
                        return Claim::Run(Ticket {
                            keys: self,
                            key: key.to_string(),
                            finished: false,
                            _running: running,
                        });
                    }
                }
            };
            // Nothing is ever sent: this returns when the running task's ticket is gone.
            let _ = ended.changed().await;
        }
    }
}

impl Ticket<'_> {
    /// The key itself.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The task succeeded with `value`: the key is completed, and the waiting tasks take it.
    pub fn finish(mut self, value: Value) {
        let mut entries = self.keys.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(std::mem::take(&mut self.key), Entry::Done(value));
        self.finished = true;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let mut entries = self.keys.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.remove(&self.key);
        }
    }
}
