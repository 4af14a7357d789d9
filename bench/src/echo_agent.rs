//! `hive-echo-agent`: the fastest honest exec agent, for the protocol benchmark. It speaks
//! the agent protocol over stdin/stdout and answers every `task` with its input's `value`.
//!
//! Answers are flushed when no more input is waiting, so a burst of tasks costs one write.
//!
//! A task whose input has `puts: n` instead writes the state cell `hits` n times (`put` of 1,
//! all sent before the answers are read) and answers with the number of writes accepted.

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
