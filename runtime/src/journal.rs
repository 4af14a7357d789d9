//! The run journal (`--journal run.jsonl`): one JSON object per line, appended and written
//! through to the file as each event happens, so that a run killed at any moment can be
//! resumed (`--resume run.jsonl`) without redoing what had finished.
//!
//! Invariant: a value is recorded only after it is final, and a resumed run takes a
//! recorded value instead of running its step, element or keyed task again.
//!
//! Events: `run` (first line: plan hash, workflow, inputs), `done` (a step's or a map
//! element's value, by its key such as `review` or `chunks[3]`, with `/` between a step and
//! the steps of the workflow it calls, and `invalidate@cache_eu` for one member's answer to a
//! broadcast step), `key` (an idempotency key's value), `resumed`,
//! `finished` (the output), `failed` (the error), `interrupted` (the signal that stopped
//! the run) and `state` (a state cell's value and version after an accepted write; the last
//! of a cell is its value when the run is resumed) and `message` (a message published to a
//! topic: topic, id, sequence number, payload, time and key; restored when resumed).

use crate::conform::conform;
use hive_plan::{Callee, Plan, Type};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a journal was started for: a resumed run must match it.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The plan's `source_hash`.
    pub plan: String,
    /// The workflow run.
    pub workflow: String,
    /// Its inputs as given.
    pub inputs: Map<String, Value>,
}

/// Where a journal's events go: a file, or in distributed mode the run's stream in Redis.
pub trait Sink: Send + Sync {
    /// Appends one event (a JSON object, without a newline), in order.
    fn append(&self, line: String) -> Result<(), String>;
}

/// A journal file, written through to the operating system event by event.
struct FileSink {
    path: PathBuf,
    file: Mutex<File>,
}

impl Sink for FileSink {
    /// Hands the line to the operating system at once, so a killed process loses nothing
    /// it recorded.
    fn append(&self, mut line: String) -> Result<(), String> {
        line.push('\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| "the journal's lock was poisoned".to_string())?;
        file.write_all(line.as_bytes())
            .map_err(|e| format!("cannot write the journal {}: {e}", self.path.display()))
    }
}

/// What a journal holds: the run it was started for and what finished.
pub struct Record {
    /// The run it was started for.
    pub header: Header,
    done: HashMap<String, Value>,
    keys: HashMap<String, Value>,
    state: HashMap<String, (Value, u64)>,
    messages: Vec<Recorded>,
}

/// A topic message as a journal recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The message.
    pub message: crate::topics::Message,
    /// The key it was published with, for the dedupe window.
    pub key: Option<String>,
}

impl Recorded {
    fn read(event: &Value) -> Recorded {
        Recorded {
            message: crate::topics::Message {
                seq: event.get("seq").and_then(Value::as_u64).unwrap_or(0),
                topic: text_of(event, "topic"),
                id: text_of(event, "id"),
                payload: event.get("payload").cloned().unwrap_or(Value::Null),
                at_ms: event.get("at_ms").and_then(Value::as_u64).unwrap_or(0),
            },
            key: event.get("key").and_then(Value::as_str).map(str::to_string),
        }
    }
}

impl Record {
    /// Reads the events of a journal, `origin` naming it in errors. When the last write was
    /// not `complete` (a kill in the middle of it), a last event that does not parse is
    /// ignored: it did not happen.
    pub fn read<'a>(
        lines: impl IntoIterator<Item = &'a str>,
        complete: bool,
        origin: &str,
    ) -> Result<Record, String> {
        let mut header = None;
        let mut done = HashMap::new();
        let mut keys = HashMap::new();
        let mut state = HashMap::new();
        let mut messages = Vec::new();
        let mut lines = lines.into_iter().enumerate().peekable();
        while let Some((n, line)) = lines.next() {
            let last = lines.peek().is_none();
            let event: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(_) if last && !complete => break,
                Err(e) => return Err(format!("{origin}:{}: not a journal event: {e}", n + 1)),
            };
            match event.get("event").and_then(Value::as_str) {
                Some("run") if n == 0 => {
                    header = Some(Header {
                        plan: text_of(&event, "plan"),
                        workflow: text_of(&event, "workflow"),
                        inputs: event
                            .get("inputs")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default(),
                    });
                }
                Some("done") => {
                    done.insert(text_of(&event, "key"), value_of(&event));
                }
                Some("key") => {
                    keys.insert(text_of(&event, "key"), value_of(&event));
                }
                Some("state") => {
                    let version = event.get("version").and_then(Value::as_u64).unwrap_or(0);
                    state.insert(text_of(&event, "key"), (value_of(&event), version));
                }
                Some("message") => messages.push(Recorded::read(&event)),
                _ => {}
            }
        }
        let header = header.ok_or_else(|| {
            format!("{origin} is not a run journal: its first event is not a `run` event")
        })?;
        Ok(Record {
            header,
            done,
            keys,
            state,
            messages,
        })
    }
}

impl Record {
    /// Checks every recorded step and element value against the type of its step in `plan`
    /// (run from workflow `entry`): a resumed run takes these values as they are, so one that
    /// was edited, or names no step, is refused before anything starts.
    pub fn check(&self, plan: &Plan, entry: &str) -> Result<(), String> {
        // In key order, so that the first problem reported does not depend on hashing.
        let mut done: Vec<(&String, &Value)> = self.done.iter().collect();
        done.sort_unstable_by_key(|(k, _)| *k);
        for (key, value) in done {
            check_done(plan, entry, key, value).map_err(|e| {
                format!("{e}; the journal was changed after its run, so it cannot be resumed")
            })?;
        }
        Ok(())
    }
}

/// An open journal and what it already holds.
pub struct Journal {
    sink: Box<dyn Sink>,
    done: HashMap<String, Value>,
    keys: HashMap<String, Value>,
    state: HashMap<String, (Value, u64)>,
    messages: Vec<Recorded>,
}

impl Journal {
    /// Starts a new journal at `path`, replacing any file there.
    pub fn create(path: &Path, header: &Header) -> Result<Journal, String> {
        // The journal holds outputs, which may hold secrets: its owner alone may read it.
        let file = {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path);
            file.and_then(|f| {
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                Ok(f)
            })
        }
        .map_err(|e| format!("cannot create the journal {}: {e}", path.display()))?;
        let sink = FileSink {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        };
        Journal::start(Box::new(sink), header)
    }

    /// Starts a new journal that writes to `sink`.
    pub fn start(sink: Box<dyn Sink>, header: &Header) -> Result<Journal, String> {
        let journal = Journal {
            sink,
            done: HashMap::new(),
            keys: HashMap::new(),
            state: HashMap::new(),
            messages: Vec::new(),
        };
        journal.append(&json!({
            "event": "run",
            "plan": header.plan,
            "workflow": header.workflow,
            "inputs": header.inputs,
        }))?;
        Ok(journal)
    }

    /// Opens the journal at `path` to continue its run: reads what finished, and appends
    /// from here on. A last line cut short by a kill is ignored.
    pub fn resume(path: &Path) -> Result<(Journal, Header), String> {
        let (sink, record) = Journal::reopen(path)?;
        let header = record.header.clone();
        Ok((Journal::continued(sink, record)?, header))
    }

    /// Reads the journal at `path` and opens it for appending, without appending yet.
    pub fn reopen(path: &Path) -> Result<(Box<dyn Sink>, Record), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the journal {}: {e}", path.display()))?;
        let complete = text.ends_with('\n');
        let record = Record::read(text.lines(), complete, &path.display().to_string())?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot append to the journal {}: {e}", path.display()))?;
        if !complete {
            // Drop the cut line, so that the journal stays readable after this run too.
            let keep = text.rfind('\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64)
                .map_err(|e| format!("cannot repair the journal {}: {e}", path.display()))?;
        }
        let sink = FileSink {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        };
        Ok((Box::new(sink), record))
    }

    /// Continues the run of `record`, appending to `sink` from here on.
    pub fn continued(sink: Box<dyn Sink>, record: Record) -> Result<Journal, String> {
        let journal = Journal {
            sink,
            done: record.done,
            keys: record.keys,
            state: record.state,
            messages: record.messages,
        };
        journal.append(&json!({"event": "resumed", "done": journal.done.len()}))?;
        Ok(journal)
    }

    /// The recorded value of a step or element, if it finished before.
    pub fn done(&self, key: &str) -> Option<&Value> {
        self.done.get(key)
    }

    /// Idempotency keys recorded as finished.
    pub fn keys(&self) -> &HashMap<String, Value> {
        &self.keys
    }

    /// State cells as the journal last recorded them: value and version, by cell.
    pub fn state(&self) -> &HashMap<String, (Value, u64)> {
        &self.state
    }

    /// The topic messages the journal recorded, in the order they were published.
    pub fn messages(&self) -> &[Recorded] {
        &self.messages
    }

    /// Records a message published to a topic.
    pub fn record_message(
        &self,
        message: &crate::topics::Message,
        key: Option<&str>,
    ) -> Result<(), String> {
        self.append(&crate::topics::board::event(message, key))
    }

    /// Records a state cell's value after an accepted write.
    pub fn record_state(&self, key: &str, value: &Value, version: u64) -> Result<(), String> {
        self.append(&json!({"event": "state", "key": key, "value": value, "version": version}))
    }

    /// Records that the step or element `key` finished with `value`.
    pub fn record_done(&self, key: &str, value: &Value) -> Result<(), String> {
        self.append(&json!({"event": "done", "key": key, "value": value}))
    }

    /// Records an idempotency key's value.
    pub fn record_key(&self, key: &str, value: &Value) -> Result<(), String> {
        self.append(&json!({"event": "key", "key": key, "value": value}))
    }

    /// Records how the run ended: its output, or the error that failed it.
    pub fn record_end<E: std::fmt::Display>(&self, end: Result<&Value, E>) -> Result<(), String> {
        self.append(&match end {
            Ok(output) => json!({"event": "finished", "output": output}),
            Err(e) => json!({"event": "failed", "error": e.to_string()}),
        })
    }

    /// Records that a signal stopped the run (`SIGINT`): it may be resumed.
    pub fn record_interrupted(&self, signal: &str) -> Result<(), String> {
        self.append(&json!({"event": "interrupted", "signal": signal}))
    }

    fn append(&self, event: &Value) -> Result<(), String> {
        self.sink.append(event.to_string())
    }
}

/// Checks the value recorded for journal key `key` (`review`, `chunks[3]`, `call/inner`)
/// against what its step returns.
fn check_done(plan: &Plan, entry: &str, key: &str, value: &Value) -> Result<(), String> {
    let mut workflow = entry;
    let segments: Vec<&str> = key.split('/').collect();
    for (n, segment) in segments.iter().enumerate() {
        // `step@agent`: one member's answer to a broadcast step.
        let (segment, member) = match segment.split_once('@') {
            Some((s, m)) if n + 1 == segments.len() => (s, Some(m)),
            Some(_) => return Err(format!("`{key}` is not the key of a step")),
            None => (*segment, None),
        };
        let (name, element) = match segment.split_once('[') {
            Some((name, rest)) => match rest.strip_suffix(']').map(str::parse::<usize>) {
                Some(Ok(k)) => (name, Some(k)),
                _ => return Err(format!("`{key}` is not the key of a step")),
            },
            None => (segment, None),
        };
        let wf = plan
            .workflows
            .get(workflow)
            .ok_or_else(|| format!("step `{key}` belongs to no workflow of the plan"))?;
        let step = wf.steps.iter().find(|s| s.name == name).ok_or_else(|| {
            format!("it records step `{key}`, and workflow `{workflow}` has no step `{name}`")
        })?;
        if let Some(agent) = member
            && !step
                .broadcast
                .as_ref()
                .is_some_and(|b| b.agents().any(|a| a == agent))
        {
            return Err(format!(
                "it records `{key}`, and `{agent}` is not a member of a broadcast of step `{name}`"
            ));
        }
        if element.is_some() && step.map.is_none() {
            return Err(format!(
                "it records element `{key}` of step `{name}`, which is not a `for` step"
            ));
        }
        let (returns, callee) = match &step.call {
            Callee::Capability(c) => (plan.capabilities.get(c).map(|c| &c.returns), None),
            Callee::Workflow(w) => (plan.workflows.get(w).map(|w| &w.returns), Some(w)),
            Callee::Publish(_) => (Some(&Type::String), None),
            Callee::Receive(t) => (plan.topics.get(t).map(|t| &t.ty), None),
        };
        if n + 1 < segments.len() {
            workflow = callee.ok_or_else(|| {
                format!("it records `{key}` inside step `{name}`, which calls no workflow")
            })?;
            continue;
        }
        let Some(returns) = returns else {
            return Err(format!(
                "step `{key}` calls `{}`, which the plan has not",
                step.call.name()
            ));
        };
        // A skipped step's value is `none`.
        if value.is_null() && element.is_none() && member.is_none() && step.options.when.is_some() {
            return Ok(());
        }
        let ty = match (&step.map, element) {
            (Some(_), None) => Type::List(Box::new(returns.clone())),
            (None, None) if step.broadcast.is_some() && member.is_none() => {
                Type::Map(Box::new(returns.clone()))
            }
            _ => returns.clone(),
        };
        return conform(value.clone(), &ty, &plan.types)
            .map(|_| ())
            .map_err(|m| format!("the value it records for step `{key}` does not match the step's type `{ty}` {m}"));
    }
    Err(format!("`{key}` is not the key of a step"))
}

fn text_of(event: &Value, field: &str) -> String {
    event
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn value_of(event: &Value) -> Value {
    event.get("value").cloned().unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("hive-journal-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_resumed_journal_knows_what_finished_and_skips_a_cut_line() {
        let path = temp("cut");
        let header = Header {
            plan: "abc".into(),
            workflow: "main".into(),
            inputs: Map::new(),
        };
        let j = Journal::create(&path, &header).expect("create");
        j.record_done("a", &json!(1)).expect("write");
        j.record_key("k", &json!("v")).expect("write");
        drop(j);
        // A kill in the middle of writing an event.
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(br#"{"event":"done","key":"b","val"#)
            .expect("write");
        drop(f);
        let (j, read) = Journal::resume(&path).expect("resume");
        assert_eq!(read, header);
        assert_eq!(j.done("a"), Some(&json!(1)));
        assert_eq!(j.done("b"), None);
        assert_eq!(j.keys().get("k"), Some(&json!("v")));
        j.record_done("b", &json!(2)).expect("write");
        drop(j);
        let (j, _) = Journal::resume(&path).expect("resume again");
        assert_eq!(j.done("b"), Some(&json!(2)));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_refused() {
        let path = temp("bad");
        std::fs::write(&path, "{\"event\":\"done\",\"key\":\"a\"}\n").expect("write");
        let err = Journal::resume(&path).err().expect("refused");
        assert!(err.contains("not a run journal"), "{err}");
        std::fs::write(&path, "hello\n{}\n").expect("write");
        let err = Journal::resume(&path).err().expect("refused");
        assert!(err.contains(":1: not a journal event"), "{err}");
        let _ = std::fs::remove_file(&path);
    }
}
