//! `--trace-out`: a run's attempts in the Chrome trace event format, which Perfetto and
//! `chrome://tracing` open as a timeline.

use crate::dispatch::{Span, SpanOutcome};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Lanes an instance may need: one per task it runs at once.
const LANES: usize = 1 << 16;

/// The trace of `spans`; `names` are the agents by fleet index. Each agent is a process and
/// each of its instances a thread, split into lanes when the instance runs several tasks at
/// once (a thread's events may not overlap), so the timeline shows every attempt.
pub fn chrome(spans: &[Span], names: &[String]) -> Value {
    let agent = |m: usize| names.get(m).map_or("?", String::as_str);
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by_key(|s| (s.start_us, s.member, s.instance));
    // Per instance, when each lane is free again.
    let mut lanes: BTreeMap<(usize, usize), Vec<u64>> = BTreeMap::new();
    let mut threads = BTreeSet::new();
    let mut events = Vec::with_capacity(spans.len() + 2 * names.len());
    for s in order {
        let ends = lanes.entry((s.member, s.instance)).or_default();
        let lane = match ends.iter().position(|&end| end <= s.start_us) {
            Some(lane) => lane,
            None => {
                ends.push(0);
                ends.len() - 1
            }
        };
        ends[lane] = s.start_us + s.duration_us;
        let tid = s.instance * LANES + lane;
        threads.insert((s.member, s.instance, lane));
        let mut args = json!({"capability": s.capability, "attempt": s.attempt});
        if let SpanOutcome::Failed(e) = &s.outcome {
            args["error"] = Value::String(e.clone());
        }
        events.push(json!({
            "ph": "X",
            "name": s.step,
            "cat": s.outcome.category(),
            "ts": s.start_us,
            "dur": s.duration_us,
            "pid": s.member + 1,
            "tid": tid,
            "args": args,
        }));
    }
    let mut meta = Vec::new();
    for m in threads.iter().map(|t| t.0).collect::<BTreeSet<_>>() {
        meta.push(json!({
            "ph": "M", "name": "process_name", "pid": m + 1, "tid": 0,
            "args": {"name": agent(m)},
        }));
    }
    for &(m, i, lane) in &threads {
        let name = match lane {
            0 => format!("{}#{i}", agent(m)),
            _ => format!("{}#{i} ({})", agent(m), lane + 1),
        };
        meta.push(json!({
            "ph": "M", "name": "thread_name", "pid": m + 1, "tid": i * LANES + lane,
            "args": {"name": name},
        }));
    }
    meta.extend(events);
    json!({"traceEvents": meta, "displayTimeUnit": "ms"})
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
}
