//! `--trace-out`: a run's attempts in the Chrome trace event format, which Perfetto and
//! `chrome://tracing` open as a timeline.

use crate::dispatch::{Span, SpanOutcome};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Lanes an instance may need: one per task it runs at once.
const LANES: usize = 1 << 16;

/// The lanes of each instance (by member and instance): when each is free again. An
/// attempt takes the first lane free at its start, so a lane's attempts never overlap, in
/// whatever order they come.
#[derive(Default)]
struct Lanes {
    ends: BTreeMap<(usize, usize), Vec<u64>>,
    /// Every (member, instance, lane) used, for the names of the threads.
    threads: BTreeSet<(usize, usize, usize)>,
}

impl Lanes {
    /// The thread id of the lane `s` goes to.
    fn place(&mut self, s: &Span) -> usize {
        let ends = self.ends.entry((s.member, s.instance)).or_default();
        let lane = match ends.iter().position(|&end| end <= s.start_us) {
            Some(lane) => lane,
            None => {
                ends.push(0);
                ends.len() - 1
            }
        };
        let end = s.start_us + s.duration_us;
        ends[lane] = ends[lane].max(end);
        self.threads.insert((s.member, s.instance, lane));
        s.instance * LANES + lane
    }

    /// The events that name each agent's process and each instance's lanes.
    fn names(&self, names: &[String]) -> Vec<Value> {
        let agent = |m: usize| names.get(m).map_or("?", String::as_str);
        let mut meta = Vec::new();
        for m in self.threads.iter().map(|t| t.0).collect::<BTreeSet<_>>() {
            meta.push(json!({
                "ph": "M", "name": "process_name", "pid": m + 1, "tid": 0,
                "args": {"name": agent(m)},
            }));
        }
        for &(m, i, lane) in &self.threads {
            let name = match lane {
                0 => format!("{}#{i}", agent(m)),
                _ => format!("{}#{i} ({})", agent(m), lane + 1),
            };
            meta.push(json!({
                "ph": "M", "name": "thread_name", "pid": m + 1, "tid": i * LANES + lane,
                "args": {"name": name},
            }));
        }
        meta
    }
}

/// The complete event of one attempt on thread `tid`.
fn event(s: &Span, tid: usize) -> Value {
    let mut args = json!({"capability": s.capability, "attempt": s.attempt});
    if let SpanOutcome::Failed(e) = &s.outcome {
        args["error"] = Value::String(e.clone());
    }
    json!({
        "ph": "X",
        "name": s.step,
        "cat": s.outcome.category(),
        "ts": s.start_us,
        "dur": s.duration_us,
        "pid": s.member + 1,
        "tid": tid,
        "args": args,
    })
}

/// The trace of `spans`; `names` are the agents by fleet index. Each agent is a process and
/// each of its instances a thread, split into lanes when the instance runs several tasks at
/// once (a thread's events may not overlap), so the timeline shows every attempt.
pub fn chrome(spans: &[Span], names: &[String]) -> Value {
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by_key(|s| (s.start_us, s.member, s.instance));
    let mut lanes = Lanes::default();
    let events: Vec<Value> = order
        .into_iter()
        .map(|s| event(s, lanes.place(s)))
        .collect();
    let mut all = lanes.names(names);
    all.extend(events);
    json!({"traceEvents": all, "displayTimeUnit": "ms"})
}

/// A trace written to its file as the attempts finish, so that a long run's trace costs
/// the memory of a buffer, not of the whole trace. The file is the same JSON object as
/// [`chrome`] makes, with the events in the order the attempts finished.
pub struct Stream {
    out: BufWriter<File>,
    path: PathBuf,
    lanes: Lanes,
    events: u64,
    /// The first write that failed: the trace stops there.
    failed: Option<String>,
}

impl Stream {
    /// Creates the file at `path`.
    pub fn create(path: &Path) -> Result<Stream, String> {
        let file = File::create(path)
            .map_err(|e| format!("cannot write the trace {}: {e}", path.display()))?;
        let mut stream = Stream {
            out: BufWriter::new(file),
            path: path.to_path_buf(),
            lanes: Lanes::default(),
            events: 0,
            failed: None,
        };
        stream.write(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
        Ok(stream)
    }

    /// Writes the event of one finished attempt, with the values read by `env()` masked.
    pub fn push(&mut self, s: &Span) {
        let mut e = event(s, self.lanes.place(s));
        crate::secrets::mask_value(&mut e);
        self.write_event(&e);
    }

    /// Writes the names of the processes and threads (`names`: the agents by fleet index)
    /// and closes the JSON object.
    pub fn finish(mut self, names: &[String]) -> Result<(), String> {
        for e in self.lanes.names(names) {
            self.write_event(&e);
        }
        self.write(b"\n]}\n");
        if self.failed.is_none()
            && let Err(e) = self.out.flush()
        {
            self.failed = Some(e.to_string());
        }
        match self.failed {
            None => Ok(()),
            Some(e) => Err(format!(
                "cannot write the trace {}: {e}",
                self.path.display()
            )),
        }
    }

    fn write_event(&mut self, e: &Value) {
        if self.events > 0 {
            self.write(b",\n");
        }
        self.events += 1;
        if self.failed.is_none()
            && let Err(err) = serde_json::to_writer(&mut self.out, e)
        {
            self.failed = Some(err.to_string());
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.failed.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.failed = Some(e.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(instance: usize, start_us: u64, duration_us: u64) -> Span {
        Span {
            member: 0,
            instance,
            step: "s".into(),
            capability: "c".into(),
            attempt: 1,
            start_us,
            duration_us,
            outcome: SpanOutcome::Ok,
        }
    }

    #[test]
    fn overlapping_attempts_of_one_instance_get_their_own_lanes() {
        let spans = [
            span(0, 0, 10),
            span(0, 5, 10),
            span(0, 10, 5),
            span(1, 0, 10),
        ];
        let trace = chrome(&spans, &["a".to_string()]);
        let tids: Vec<u64> = trace["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["ph"] == "X")
            .map(|e| e["tid"].as_u64().expect("tid"))
            .collect();
        let lanes = LANES as u64;
        // Sorted by start: (0,0) lane 0, (1,0) lane 0 of instance 1, (0,5) lane 1, (0,10)
        // back on lane 0.
        assert_eq!(tids, [0, lanes, 1, 0]);
    }

    #[test]
    fn each_attempt_is_categorised_by_its_outcome() {
        let outcomes = [
            SpanOutcome::Ok,
            SpanOutcome::Failed("no".into()),
            SpanOutcome::Cancelled,
        ];
        let spans: Vec<Span> = outcomes
            .into_iter()
            .enumerate()
            .map(|(i, outcome)| Span {
                outcome,
                ..span(0, 10 * i as u64, 5)
            })
            .collect();
        let trace = chrome(&spans, &["a".to_string()]);
        let events: Vec<&Value> = trace["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["ph"] == "X")
            .collect();
        let cats: Vec<&str> = events.iter().filter_map(|e| e["cat"].as_str()).collect();
        assert_eq!(cats, ["ok", "failed", "cancelled"]);
        assert_eq!(events[1]["args"]["error"], "no");
        assert!(events[2]["args"].get("error").is_none());
    }

    #[test]
    fn a_streamed_trace_is_the_trace_of_the_same_attempts() {
        let path = std::env::temp_dir().join(format!("hive-trace-{}.json", std::process::id()));
        // In the order they finish: a lane is reused only once every attempt on it ended.
        let spans = [
            span(0, 5, 10),
            span(0, 0, 20),
            span(0, 16, 2),
            span(1, 0, 10),
        ];
        let mut stream = Stream::create(&path).expect("create");
        for s in &spans {
            stream.push(s);
        }
        stream.finish(&["a".to_string()]).expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        let streamed: Value = serde_json::from_str(&text).expect("JSON");
        let events = streamed["traceEvents"].as_array().expect("events");
        let tids: Vec<u64> = events
            .iter()
            .filter(|e| e["ph"] == "X")
            .map(|e| e["tid"].as_u64().expect("tid"))
            .collect();
        let lanes = LANES as u64;
        // (0,5) lane 0 till 15; (0,0) overlaps it: lane 1 till 20; (0,16) after 15: lane 0.
        assert_eq!(tids, [0, 1, 0, lanes]);
        let names = events.iter().filter(|e| e["ph"] == "M").count();
        assert_eq!(names, 1 + 3, "one process, three threads");
        let _ = std::fs::remove_file(&path);
    }
}
