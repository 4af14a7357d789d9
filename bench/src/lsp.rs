//! `hive-bench lsp`: how long `hivec lsp` takes to publish diagnostics again after a one-line
//! edit of a large file, measured from the client's side of stdio. The edit is sent as its
//! range, or (`--full`) as the whole new text, as clients without incremental sync send it.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

/// Opens a generated file of `lines` lines, then makes `edits` one-line edits that alternately
/// introduce and remove a type error, each sent as a range or, with `full`, as the whole text;
/// prints the time to the next diagnostics of each.
pub fn run(hivec: &Path, lines: usize, edits: usize, full: bool) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("hive-bench-lsp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("big.hive");
    let text = crate::generate::single_file(lines);
    std::fs::write(&path, &text).map_err(|e| e.to_string())?;
    let uri = format!("file://{}", path.display());
    // The edited line: a step option in the middle of the file.
    let middle = text.len() / 2;
    let at = middle
        + text[middle..]
            .find("timeout: 10s")
            .ok_or("no line to edit")?;
    let good = text.clone();
    let bad = format!("{}\"10s\"{}", &text[..at + 9], &text[at + 12..]);
    // The edit as an editor sends it: the range of `10s` on its line, and the new text.
    let line = text[..at].matches('\n').count();
    let col = at + "timeout: ".len() - text[..at].rfind('\n').map_or(0, |i| i + 1);
    let range = |len: usize| json!({"start": {"line": line, "character": col}, "end": {"line": line, "character": col + len}});

    let mut child = Command::new(hivec)
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", hivec.display()))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let (tx, rx) = channel::<Value>();
    std::thread::spawn(move || {
        loop {
            let mut len = 0;
            loop {
                let mut line = String::new();
                if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line.trim_end().is_empty() {
                    break;
                }
                if let Some(n) = line.trim_end().strip_prefix("Content-Length: ") {
                    len = n.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if stdout.read_exact(&mut body).is_err() {
                return;
            }
            let Ok(v) = serde_json::from_slice(&body) else {
                return;
            };
            if tx.send(v).is_err() {
                return;
            }
        }
    });
    let mut send = |v: Value| -> Result<(), String> {
        let body = v.to_string();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len())
            .and_then(|_| stdin.flush())
            .map_err(|e| e.to_string())
    };
    let wait = |what: &dyn Fn(&Value) -> bool| -> Result<Value, String> {
        loop {
            let v = rx
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| "no answer from hivec lsp within 60 s".to_string())?;
            if what(&v) {
                return Ok(v);
            }
        }
    };
    let diagnostics_for = |v: &Value| {
        v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == uri.as_str()
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": null, "capabilities": {}}}),
    )?;
    wait(&|v| v["id"] == 1)?;
    send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}))?;
    let start = Instant::now();
    send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "hive", "version": 1, "text": good}}}),
    )?;
    let first = wait(&diagnostics_for)?;
    let open = start.elapsed();
    let baseline = first["params"]["diagnostics"]
        .as_array()
        .map_or(0, Vec::len);

    let mut times = Vec::with_capacity(edits);
    for i in 0..edits {
        // Alternately `10s` → `"10s"` (a type error) and back.
        let (change, expect) = match (i % 2 == 0, full) {
            (true, false) => (json!({"range": range(3), "text": "\"10s\""}), baseline + 1),
            (false, false) => (json!({"range": range(5), "text": "10s"}), baseline),
            (true, true) => (json!({"text": bad}), baseline + 1),
            (false, true) => (json!({"text": good}), baseline),
        };
        let start = Instant::now();
        send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": i + 2}, "contentChanges": [change]}}),
        )?;
        let v = wait(&diagnostics_for)?;
        times.push(start.elapsed());
        let got = v["params"]["diagnostics"].as_array().map_or(0, Vec::len);
        if got != expect {
            return Err(format!(
                "edit {i}: expected {expect} diagnostics, got {got}"
            ));
        }
    }
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null}))?;
    wait(&|v| v["id"] == 2)?;
    send(json!({"jsonrpc": "2.0", "method": "exit", "params": null}))?;
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "hivec lsp, {} lines ({} bytes): open → diagnostics {:.0} ms",
        text.lines().count(),
        text.len(),
        ms(open)
    );
    println!(
        "one-line edit ({}) → diagnostics republished, {} edits: median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        if full { "the whole text" } else { "its range" },
        times.len(),
        ms(pick(0.5)),
        ms(pick(0.95)),
        ms(times[times.len() - 1])
    );
    Ok(())
}
