//! `hive-echo-agent`: the fastest honest exec agent, for the protocol benchmark. It speaks
//! the agent protocol over stdin/stdout and answers every `task` with its input's `value`.
//!
//! Answers are flushed when no more input is waiting, so a burst of tasks costs one write.
//!
//! A task whose input has `puts: n` instead writes the state cell `hits` n times (`put` of 1,
//! all sent before the answers are read) and answers with the number of writes accepted.
//!
//! A task whose input has `pings: n` publishes n messages `{i}` to the topic `pings`, to which
//! the agent subscribes, one at a time: each is timed from the write of its `publish` to the
//! read of its `event`. It answers with `{n, p50_us, p99_us, max_us}`.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, BufWriter, Write};

fn main() {
    let stdin = std::io::stdin();
    let mut input = BufReader::with_capacity(1 << 16, stdin.lock());
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            eprintln!(
                "hive-echo-agent: not a protocol message: {}",
                line.trim_end()
            );
            continue;
        };
        let reply = match msg.get("type").and_then(Value::as_str) {
            Some("hello") => json!({"type": "ready", "capabilities": ["echo"]}),
            Some("task") if msg["input"].get("pings").is_some() => {
                let n = msg["input"]["pings"].as_u64().unwrap_or(0);
                let Some(latency) = pings(n, &mut input, &mut out) else {
                    break;
                };
                json!({"type": "result", "id": msg["id"], "output": latency})
            }
            Some("task") => match msg["input"].get("puts").and_then(Value::as_u64) {
                Some(n) => {
                    let Some(accepted) = puts(&msg["id"], n, &mut input, &mut out) else {
                        break;
                    };
                    json!({"type": "result", "id": msg["id"], "output": accepted})
                }
                None => json!({
                    "type": "result",
                    "id": msg["id"],
                    "output": msg["input"].get("value").cloned().unwrap_or(Value::Null),
                }),
            },
            Some("shutdown") => break,
            _ => continue,
        };
        if serde_json::to_writer(&mut out, &reply).is_err() || out.write_all(b"\n").is_err() {
            break;
        }
        // Flush only when the burst is over: the next read would block.
        if input.buffer().is_empty() && out.flush().is_err() {
            break;
        }
    }
    let _ = out.flush();
}

/// Sends `n` writes of 1 to the cell `hits` for task `id`, then reads their `n` answers;
/// returns how many were accepted, or `None` when the runtime went away.
fn puts(id: &Value, n: u64, input: &mut impl BufRead, out: &mut impl Write) -> Option<u64> {
    let put = json!({"type": "put", "id": id, "key": "hits", "value": 1}).to_string();
    for _ in 0..n {
        out.write_all(put.as_bytes()).ok()?;
        out.write_all(b"\n").ok()?;
    }
    out.flush().ok()?;
    let (mut answered, mut accepted) = (0, 0);
    let mut line = String::new();
    while answered < n {
        line.clear();
        if input.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let msg: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        match msg.get("type").and_then(Value::as_str) {
            Some("put_ok") => accepted += 1,
            Some("put_refused") => eprintln!("hive-echo-agent: refused: {}", msg["reason"]),
            _ => continue,
        }
        answered += 1;
    }
    Some(accepted)
}

/// Publishes `n` messages to `pings` one at a time, each timed until its `event` is read;
/// the latency percentiles in microseconds, or `None` when the runtime went away.
fn pings(n: u64, input: &mut impl BufRead, out: &mut impl Write) -> Option<Value> {
    let mut micros = Vec::with_capacity(n as usize);
    let mut line = String::new();
    for i in 0..n {
        let publish = json!({"type": "publish", "topic": "pings", "payload": {"i": i}});
        let start = std::time::Instant::now();
        out.write_all(publish.to_string().as_bytes()).ok()?;
        out.write_all(b"\n").ok()?;
        out.flush().ok()?;
        loop {
            line.clear();
            if input.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let msg: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            match msg.get("type").and_then(Value::as_str) {
                Some("event") if msg["payload"]["i"] == i => break,
                Some("publish_refused") => {
                    eprintln!("hive-echo-agent: refused: {}", msg["reason"]);
                    return None;
                }
                _ => {}
            }
        }
        micros.push(start.elapsed().as_micros() as u64);
    }
    micros.sort_unstable();
    let at = |q: f64| {
        micros
            .get(((micros.len() as f64 - 1.0) * q).round() as usize)
            .copied()
    };
    Some(json!({"n": n, "p50_us": at(0.5), "p99_us": at(0.99), "max_us": micros.last()}))
}
