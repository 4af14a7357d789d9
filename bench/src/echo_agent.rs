//! `hive-echo-agent`: the fastest honest exec agent, for the protocol benchmark. It speaks
//! the agent protocol over stdin/stdout and answers every `task` with its input's `value`.
//!
//! Answers are flushed when no more input is waiting, so a burst of tasks costs one write.

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
            Some("task") => json!({
                "type": "result",
                "id": msg["id"],
                "output": msg["input"].get("value").cloned().unwrap_or(Value::Null),
            }),
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
