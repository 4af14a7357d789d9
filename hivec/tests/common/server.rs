//! A real `hivec serve` on a free loopback port for one test, spoken to over HTTP/1.1: plain
//! requests, and a run's server-sent events read as they come.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An exec agent providing `slow_echo(text: string, ms: int) -> string`: it answers each task
/// after `ms` milliseconds, several at once, and logs `echoing TEXT` to stderr as it starts.
pub const SLOW_ECHO: &str = r#"import json, sys, threading, time
lock = threading.Lock()
def send(obj):
    with lock:
        print(json.dumps(obj), flush=True)
def answer(msg):
    with lock:
        sys.stderr.write("echoing " + msg["input"]["text"] + "\n")
        sys.stderr.flush()
    time.sleep(msg["input"]["ms"] / 1000)
    send({"type": "result", "id": msg["id"], "output": msg["input"]["text"]})
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        send({"type": "ready", "capabilities": ["slow_echo"]})
    elif msg["type"] == "task":
        threading.Thread(target=answer, args=(msg,), daemon=True).start()
    elif msg["type"] == "shutdown":
        break
"#;

/// A `hivec serve` process, killed when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The directory it serves from.
    pub dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Starts `hivec serve main.hive extra…` in `dir` (which holds `main.hive`) and waits for
/// `/healthz`. Without `--data` the runs are kept under `dir`, never in the user's own data
/// directory.
pub fn serve(dir: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "main.hive", "--listen", &listen];
    args.extend_from_slice(extra);
    let child = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(&args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("XDG_DATA_HOME", dir.join("xdg"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr"))
        .spawn()
        .expect("start hivec serve");
    let mut server = Server {
        child,
        port,
        dir: dir.to_path_buf(),
    };
    let started = Instant::now();
    while request(&server, "GET", "/healthz", None, None).0 != 200 {
        let exited = server.child.try_wait().ok().flatten();
        assert!(
            exited.is_none() && started.elapsed() < Duration::from_secs(30),
            "the server never answered /healthz: {}",
            std::fs::read_to_string(server.dir.join("stderr")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// A request's head and body as sent.
fn head(method: &str, path: &str, headers: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn connect(server: &Server, method: &str, path: &str, headers: &str, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .write_all(head(method, path, headers, body).as_bytes())
        .expect("send");
    stream
}

fn auth(token: Option<&str>) -> String {
    token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"))
}

/// One request; its status and JSON body (status 0 when nothing listens yet, or the
/// connection was cut before an answer, as while a server is starting).
pub fn request(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", server.port)) else {
        return (0, Value::Null);
    };
    let mut response = String::new();
    let sent = stream
        .write_all(head(method, path, &auth(token), &body).as_bytes())
        .and_then(|()| stream.read_to_string(&mut response));
    if sent.is_err() {
        return (0, Value::Null);
    }
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Submits a run; returns its id.
pub fn submit(server: &Server, body: &Value, token: Option<&str>) -> String {
    let (status, run) = request(server, "POST", "/v1/runs", Some(body), token);
    assert_eq!(status, 201, "{run}");
    run["id"].as_str().expect("id").to_string()
}

/// Polls run `id` until it is no longer running.
pub fn finished(server: &Server, id: &str, token: Option<&str>) -> Value {
    let started = Instant::now();
    loop {
        let (status, run) = request(server, "GET", &format!("/v1/runs/{id}"), None, token);
        assert_eq!(status, 200, "{run}");
        if run["status"] != "running" {
            return run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "run never finished: {run}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One server-sent event: its id, name and JSON data.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: u64,
    pub name: String,
    pub data: Value,
}

/// The events of run `id` after `last` (all without it), read until the server ends the
/// stream or `limit` have come; the HTTP status and the events.
pub fn events(
    server: &Server,
    id: &str,
    last: Option<u64>,
    limit: usize,
    token: Option<&str>,
) -> (u16, Vec<Event>) {
    let mut headers = auth(token);
    if let Some(last) = last {
        headers.push_str(&format!("Last-Event-ID: {last}\r\n"));
    }
    let stream = connect(
        server,
        "GET",
        &format!("/v1/runs/{id}/events"),
        &headers,
        "",
    );
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    lines.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut chunked = false;
    loop {
        line.clear();
        lines.read_line(&mut line).expect("header");
        if line.trim().is_empty() {
            break;
        }
        chunked |= line
            .to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked");
    }
    if status != 200 {
        return (status, Vec::new());
    }
    assert!(chunked, "an event stream is sent in chunks");
    // The body de-chunked, read only as far as needed, so that events are seen as they come.
    let mut body = String::new();
    let mut found = Vec::new();
    while found.len() < limit {
        line.clear();
        if lines.read_line(&mut line).expect("chunk size") == 0 {
            break;
        }
        let size = usize::from_str_radix(line.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        let mut chunk = vec![0; size + 2];
        lines.read_exact(&mut chunk).expect("chunk");
        body.push_str(std::str::from_utf8(&chunk[..size]).expect("utf-8"));
        while let Some(end) = body.find("\n\n") {
            let block: String = body.drain(..end + 2).collect();
            let (mut id, mut name, mut data) = (None, String::from("message"), String::new());
            for l in block.lines() {
                if let Some(v) = l.strip_prefix("id:") {
                    id = Some(v.trim().parse().expect("event id"));
                } else if let Some(v) = l.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = l.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if let Some(id) = id {
                let data = serde_json::from_str(&data).expect("event data is JSON");
                found.push(Event { id, name, data });
            }
        }
    }
    found.truncate(limit);
    (status, found)
}
