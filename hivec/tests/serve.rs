//! `hivec serve` as a client sees it: a real server on a free loopback port, spoken to over
//! HTTP/1.1; runs submitted, polled and cancelled, tokens required, bad requests refused.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `slow` never answers a task by itself: it records its pid at `hello`, a file `cancelled`
/// when a task is cancelled, and exits at `shutdown`.
const SLOW_AGENT: &str = r#"import json, os, sys
def send(obj):
    print(json.dumps(obj), flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        open("slow.pid", "w").write(str(os.getpid()))
        send({"type": "ready", "capabilities": ["wait"]})
    elif msg["type"] == "cancel":
        open("cancelled", "w").write(str(msg["id"]))
    elif msg["type"] == "shutdown":
        break
"#;

const SOURCE: &str = r#"
type Greeting {
  name: string
  times: int
}

capability wait() -> string
agent slow { provides: [wait], exec: "python3 slow.py" }

workflow greet(who: Greeting) -> string {
  step hello = std.echo(value: "hello ${who.name}")
  output "${hello} x${who.times}"
}

workflow broken() -> json {
  step boom = std.fail(message: "no luck", retryable: false)
  output boom
}

workflow stall() -> string {
  step w = wait()
  output w
}
"#;

/// A `hivec serve` process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), SOURCE).expect("write");
    std::fs::write(dir.join("slow.py"), SLOW_AGENT).expect("write");
    dir
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn hivec(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
    cmd
}

/// Starts a server on `main.hive` in a fresh directory and waits for `/healthz`.
fn serve(tag: &str, extra: &[&str]) -> Server {
    let dir = dir(tag);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "main.hive", "--listen", &listen];
    args.extend_from_slice(extra);
    let child = hivec(&dir, &args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr"))
        .spawn()
        .expect("start hivec serve");
    let mut server = Server { child, port, dir };
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

/// One HTTP/1.1 request; its status and JSON body (status 0 when nothing listens yet).
fn request(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", server.port)) else {
        return (0, Value::Null);
    };
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Polls run `id` until it is no longer running.
fn finished(server: &Server, id: &str, token: Option<&str>) -> Value {
    let started = Instant::now();
    loop {
        let (status, run) = request(server, "GET", &format!("/v1/runs/{id}"), None, token);
        assert_eq!(status, 200, "{run}");
        if run["status"] != "running" {
            return run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "run never finished: {run}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn submit(server: &Server, body: Value, token: Option<&str>) -> (u16, Value) {
    request(server, "POST", "/v1/runs", Some(&body), token)
}

#[test]
fn a_submitted_run_is_polled_until_it_has_its_output() {
    let server = serve("submit", &[]);
    let (status, run) = submit(
        &server,
        json!({"workflow": "greet", "inputs": {"who": {"name": "Ada", "times": 2}}}),
        None,
    );
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().expect("id").to_string();
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], "hello Ada x2");
    assert_eq!(run["steps"][0]["step"], "hello", "{run}");
    assert_eq!(run["steps"][0]["state"], "succeeded");
    assert_eq!(run["steps"][0]["attempts"][0]["agent"], "std#0");

    let (status, list) = request(&server, "GET", "/v1/runs?status=succeeded", None, None);
    assert_eq!(status, 200);
    assert_eq!(list["runs"][0]["id"], id.as_str(), "{list}");
    let (_, list) = request(&server, "GET", "/v1/runs?status=failed", None, None);
    assert_eq!(list["runs"], json!([]));
    let (status, run) = submit(&server, json!({"workflow": "broken"}), None);
    assert_eq!(status, 201, "{run}");
    let run = finished(&server, run["id"].as_str().expect("id"), None);
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["step"], "broken.boom", "{run}");
    assert!(
        run["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no luck")),
        "{run}"
    );
    assert_eq!(run["steps"][0]["state"], "failed", "{run}");
    let (status, error) = request(&server, "GET", "/v1/runs?status=done", None, None);
    assert_eq!(status, 400);
    assert_eq!(error["error"]["code"], "bad-request");
}

#[test]
fn inputs_that_do_not_match_the_workflow_are_refused_with_their_path() {
    let server = serve("inputs", &[]);
    let (status, error) = submit(
        &server,
        json!({"workflow": "greet", "inputs": {"who": {"name": "Ada", "times": "two"}}}),
        None,
    );
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "invalid-input");
    assert_eq!(error["error"]["path"], "$.inputs.who.times");
    let (status, error) = submit(&server, json!({"workflow": "greet"}), None);
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["path"], "$.inputs.who");
    let (status, error) = submit(&server, json!({"workflow": "nope"}), None);
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "unknown-workflow");
    let (status, error) = submit(&server, json!(["greet"]), None);
    assert_eq!(status, 400, "{error}");
    // Nothing was run.
    let (_, list) = request(&server, "GET", "/v1/runs", None, None);
    assert_eq!(list["runs"], json!([]));
}

#[test]
fn an_unknown_run_or_endpoint_is_not_found() {
    let server = serve("unknown", &[]);
    let (status, error) = request(&server, "GET", "/v1/runs/r999", None, None);
    assert_eq!(status, 404);
    assert_eq!(error["error"]["code"], "unknown-run");
    let (status, _) = request(&server, "POST", "/v1/runs/r999/cancel", None, None);
    assert_eq!(status, 404);
    let (status, error) = request(&server, "GET", "/v2/runs", None, None);
    assert_eq!(status, 404);
    assert_eq!(error["error"]["code"], "not-found");
}

#[test]
fn with_tokens_every_endpoint_but_healthz_needs_one() {
    let dir = dir("tokens-file");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "# who may run\nci s3cret-token-ci\n").expect("write");
    let tokens = tokens.display().to_string();
    let server = serve("tokens", &["--tokens", &tokens]);
    let (status, error) = request(&server, "GET", "/v1/runs", None, None);
    assert_eq!(status, 401);
    assert_eq!(error["error"]["code"], "unauthorized");
    let (status, _) = request(&server, "GET", "/v1/runs", None, Some("s3cret-token-cj"));
    assert_eq!(status, 401);
    let (status, _) = submit(&server, json!({"workflow": "greet"}), Some("wrong"));
    assert_eq!(status, 401);
    let body = json!({"workflow": "greet", "inputs": {"who": {"name": "Bo", "times": 1}}});
    let (status, run) = submit(&server, body, Some("s3cret-token-ci"));
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().expect("id");
    let run = finished(&server, id, Some("s3cret-token-ci"));
    assert_eq!(run["output"], "hello Bo x1");
    let log = std::fs::read_to_string(server.dir.join("stderr")).expect("log");
    assert!(log.contains("by ci"), "{log}");
    assert!(!log.contains("s3cret"), "{log}");
}

#[test]
fn a_cancelled_run_sends_cancel_to_its_task_and_stops_its_agent() {
    let server = serve("cancel", &[]);
    let (status, run) = submit(&server, json!({"workflow": "stall"}), None);
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().expect("id").to_string();
    // Wait until the task is on the agent.
    let started = Instant::now();
    loop {
        let (_, run) = request(&server, "GET", &format!("/v1/runs/{id}"), None, None);
        if run["progress"]["running"] == 1 && server.dir.join("slow.pid").exists() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never started: {run}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Another run goes on meanwhile, and finishes first.
    let body = json!({"workflow": "greet", "inputs": {"who": {"name": "Cy", "times": 3}}});
    let (_, other) = submit(&server, body, None);
    let other = finished(&server, other["id"].as_str().expect("id"), None);
    assert_eq!(other["output"], "hello Cy x3", "{other}");
    let (_, running) = request(&server, "GET", "/v1/runs?status=running", None, None);
    assert_eq!(running["runs"][0]["id"], id.as_str(), "{running}");
    let (status, answer) = request(
        &server,
        "POST",
        &format!("/v1/runs/{id}/cancel"),
        None,
        None,
    );
    assert_eq!(status, 202, "{answer}");
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "cancelled", "{run}");
    assert!(
        server.dir.join("cancelled").exists(),
        "the agent got no cancel"
    );
    let pid = std::fs::read_to_string(server.dir.join("slow.pid")).expect("pid");
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the agent outlived its run"
    );
    let (status, error) = request(
        &server,
        "POST",
        &format!("/v1/runs/{id}/cancel"),
        None,
        None,
    );
    assert_eq!(status, 409, "{error}");
    let (_, list) = request(&server, "GET", "/v1/runs?status=cancelled", None, None);
    assert_eq!(list["runs"][0]["id"], id.as_str());
}

#[test]
fn without_tokens_only_loopback_is_served() {
    let dir = dir("loopback");
    let out = hivec(&dir, &["serve", "main.hive", "--listen", "0.0.0.0:7878"])
        .output()
        .expect("run hivec");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only on a loopback address"), "{stderr}");
}

#[test]
fn a_file_that_does_not_check_is_not_served() {
    let dir = dir("broken");
    std::fs::write(
        dir.join("main.hive"),
        "workflow main() -> int { output nope }\n",
    )
    .expect("write");
    let out = hivec(&dir, &["serve", "main.hive", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run hivec");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nope"), "{stderr}");
    assert!(stderr.contains("not serving"), "{stderr}");
}

#[test]
fn sigterm_cancels_the_runs_in_flight_and_stops_the_server() {
    let mut server = serve("sigterm", &[]);
    let (status, run) = submit(&server, json!({"workflow": "stall"}), None);
    assert_eq!(status, 201, "{run}");
    let started = Instant::now();
    while !server.dir.join("slow.pid").exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exited = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exited.success(), "{exited}");
    let log = std::fs::read_to_string(server.dir.join("stderr")).expect("log");
    assert!(log.contains("1 run cancelled"), "{log}");
    assert!(
        server.dir.join("cancelled").exists(),
        "the agent got no cancel"
    );
    let pid = std::fs::read_to_string(server.dir.join("slow.pid")).expect("pid");
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the agent outlived the server"
    );
}
