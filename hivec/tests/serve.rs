//! `hivec serve` as a client sees it: a real server on a free loopback port, spoken to over
//! HTTP/1.1; runs submitted, polled and cancelled, tokens required, bad requests refused.

#[path = "common/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Server, finished, request};
use std::path::{Path, PathBuf};
use std::process::Command;
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

workflow jam() -> string {
  step a = wait()
  step b = wait()
  output "${a} ${b}"
}
"#;

fn dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), SOURCE).expect("write");
    std::fs::write(dir.join("slow.py"), SLOW_AGENT).expect("write");
    dir
}

/// `hivec args…` in `dir`; a server keeps its runs under `dir` unless told otherwise, never
/// in the user's own data directory.
fn hivec(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("XDG_DATA_HOME", dir.join("xdg"));
    cmd
}

/// Starts a server on `main.hive` in a fresh directory, its runs kept in `data` there, and
/// waits for `/healthz`.
fn serve(tag: &str, extra: &[&str]) -> Server {
    start(dir(tag), extra)
}

/// Starts a server on `main.hive` of `dir`, its runs kept in `dir/data`.
fn start(dir: PathBuf, extra: &[&str]) -> Server {
    let mut args = vec!["--data", "data"];
    args.extend_from_slice(extra);
    server::serve(&dir, &args)
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

#[path = "common/metrics.rs"]
mod metrics;

/// Every attempt of `run`, per (agent without its instance, capability, outcome).
fn attempts_of(run: &Value) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for step in run["steps"].as_array().expect("steps") {
        for a in step["attempts"].as_array().expect("attempts") {
            let agent = a["agent"].as_str().expect("agent");
            let agent = agent.split_once('#').map_or(agent, |(name, _)| name);
            all.push((
                agent.to_string(),
                a["capability"].as_str().expect("capability").to_string(),
                a["outcome"].as_str().expect("outcome").to_string(),
            ));
        }
    }
    all
}

#[test]
fn metrics_count_the_attempts_and_runs_the_api_shows() {
    let dir = dir("metrics-tokens");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "prom s3cret-token-prom\n").expect("write");
    let tokens = tokens.display().to_string();
    let server = serve("metrics", &["--tokens", &tokens]);
    let token = Some("s3cret-token-prom");
    let mut attempts = Vec::new();
    let mut ids = Vec::new();
    for (n, body) in [
        json!({"workflow": "greet", "inputs": {"who": {"name": "Ada", "times": 1}}}),
        json!({"workflow": "greet", "inputs": {"who": {"name": "Bo", "times": 2}}}),
        json!({"workflow": "broken"}),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, run) = submit(&server, body, token);
        assert_eq!(status, 201, "{n}: {run}");
        let run = finished(&server, run["id"].as_str().expect("id"), token);
        ids.push(run["id"].as_str().expect("id").to_string());
        attempts.extend(attempts_of(&run));
    }
    // A run in flight, for the gauges: its task is on the agent.
    let (status, stalled) = submit(&server, json!({"workflow": "stall"}), token);
    assert_eq!(status, 201, "{stalled}");
    let started = Instant::now();
    while !server.dir.join("slow.pid").exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, _, _) = metrics::fetch(server.port, None);
    assert_eq!(status, 401, "/metrics needs a token like the rest");
    let (status, content_type, text) = metrics::fetch(server.port, token);
    assert_eq!(status, 200, "{text}");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let scrape = metrics::parse(&text);
    for family in [
        "hive_tasks",
        "hive_task_duration_seconds",
        "hive_queue_wait_seconds",
        "hive_queue_depth",
        "hive_instances",
        "hive_redeliveries",
        "hive_dead_letters",
        "hive_runs",
    ] {
        assert!(metrics::described(&text, family), "{family}:\n{text}");
    }
    // Every kind of attempt the runs show, counted as often as they show it.
    let mut kinds = attempts.clone();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), 2, "{attempts:?}");
    for (agent, capability, outcome) in &kinds {
        let shown = attempts
            .iter()
            .filter(|a| (&a.0, &a.1, &a.2) == (agent, capability, outcome))
            .count();
        let labels = [
            ("agent", agent.as_str()),
            ("capability", capability.as_str()),
            ("outcome", outcome.as_str()),
        ];
        assert_eq!(
            metrics::value(&scrape, "hive_tasks_total", &labels),
            shown as f64,
            "{labels:?}\n{text}"
        );
    }
    let echo = [("agent", "std"), ("capability", "std.echo")];
    assert_eq!(
        metrics::value(&scrape, "hive_task_duration_seconds_count", &echo),
        2.0,
        "{text}"
    );
    assert_eq!(
        metrics::value(&scrape, "hive_queue_wait_seconds_count", &[]),
        3.0,
        "{text}"
    );
    let greet = [("workflow", "greet"), ("outcome", "succeeded")];
    assert_eq!(
        metrics::value(&scrape, "hive_runs_total", &greet),
        2.0,
        "{text}"
    );
    let broken = [("workflow", "broken"), ("outcome", "failed")];
    assert_eq!(
        metrics::value(&scrape, "hive_runs_total", &broken),
        1.0,
        "{text}"
    );
    assert_eq!(
        metrics::value(&scrape, "hive_dead_letters_total", &[]),
        0.0,
        "{text}"
    );
    let busy = [("agent", "slow"), ("state", "busy")];
    assert_eq!(
        metrics::value(&scrape, "hive_instances", &busy),
        1.0,
        "{text}"
    );
    let slow = [("target", "slow")];
    assert_eq!(
        metrics::value(&scrape, "hive_queue_depth", &slow),
        0.0,
        "{text}"
    );
    assert!(
        text.contains("hive_queue_depth{target=\"slow\"} 0"),
        "{text}"
    );
    for id in &ids {
        assert!(!text.contains(id.as_str()), "a run id is a label:\n{text}");
    }
    assert!(!text.contains("s3cret"), "{text}");
}

/// `tally` appends the task's `name` to `executions` and answers it; `flaky` does too,
/// and fails the first time (non-retryable) while `flaky.failed` does not exist; `gate`
/// answers once a file `go` exists.
const TALLY_AGENT: &str = r#"import json, os, sys, time
def send(obj):
    print(json.dumps(obj), flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        send({"type": "ready", "capabilities": ["tally", "flaky", "gate"]})
    elif msg["type"] == "task":
        name = msg["input"].get("name", msg["capability"])
        open("executions", "a").write(name + "\n")
        if msg["capability"] == "flaky" and not os.path.exists("flaky.failed"):
            open("flaky.failed", "w").write("")
            send({"type": "error", "id": msg["id"], "message": "first time unlucky", "retryable": False})
            continue
        while msg["capability"] == "gate" and not os.path.exists("go"):
            time.sleep(0.02)
        send({"type": "result", "id": msg["id"], "output": name})
    elif msg["type"] == "shutdown":
        break
"#;

const TALLY_SOURCE: &str = r#"
capability tally(name: string) -> string
capability flaky(name: string) -> string
capability gate(name: string) -> string
agent counter { provides: [tally, flaky, gate], exec: "python3 tally.py", concurrency: 4 }

workflow gated() -> string {
  step first = tally(name: "first")
  step held = gate(name: "held") with { after: [first] }
  output "${first} ${held}"
}

workflow unlucky() -> string {
  step first = tally(name: "first")
  step second = flaky(name: "second") with { after: [first] }
  output "${first} ${second}"
}
"#;

/// A directory with the tallying agent and its workflows as `main.hive`.
fn tally_dir(tag: &str) -> PathBuf {
    let dir = dir(tag);
    std::fs::write(dir.join("main.hive"), TALLY_SOURCE).expect("write");
    std::fs::write(dir.join("tally.py"), TALLY_AGENT).expect("write");
    dir
}

fn executions(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("executions"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_run_in_flight_when_the_server_is_killed_goes_on_when_it_starts_again() {
    let dir = tally_dir("sigkill");
    let mut server = start(dir.clone(), &[]);
    let (status, done) = submit(&server, json!({"workflow": "unlucky"}), None);
    assert_eq!(status, 201, "{done}");
    let done = finished(&server, done["id"].as_str().expect("id"), None);
    assert_eq!(done["status"], "failed", "{done}");
    let (status, run) = submit(&server, json!({"workflow": "gated"}), None);
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().expect("id").to_string();
    // `first` is done and `held` waits at its gate when the server is killed.
    wait_for("held at the gate", || {
        executions(&dir).contains(&"held".to_string())
    });
    assert_eq!(executions(&dir), ["first", "second", "first", "held"]);
    // Long enough for the record to be written with the attempts so far.
    std::thread::sleep(Duration::from_millis(1300));
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("wait");
    // The agent of the killed server gives up once its stdin closes, at the gate too.
    std::fs::write(dir.join("go"), "").expect("open the gate");
    wait_for("the old agent answered", || executions(&dir).len() == 4);
    std::thread::sleep(Duration::from_millis(200));
    std::fs::remove_file(dir.join("go")).expect("close the gate");
    std::fs::remove_file(dir.join("executions")).expect("reset");

    let server = start(dir.clone(), &[]);
    let log = std::fs::read_to_string(dir.join("stderr")).expect("log");
    assert!(log.contains("2 runs in data; 1 resumed"), "{log}");
    let (_, list) = request(&server, "GET", "/v1/runs", None, None);
    let ids: Vec<&str> = list["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [done["id"].as_str().expect("id"), id.as_str()],
        "{list}"
    );
    assert_eq!(list["runs"][0]["status"], "failed");
    assert_eq!(list["runs"][1]["status"], "running", "{list}");
    // The run that ended under the killed server: its graph, and its end as its events.
    let old = done["id"].as_str().expect("id");
    let (status, graph) = request(&server, "GET", &format!("/v1/runs/{old}/graph"), None, None);
    assert_eq!(status, 200, "{graph}");
    assert_eq!(graph["steps"].as_array().map(Vec::len), Some(2), "{graph}");
    let (status, events) = server::events(&server, old, None, 10, None);
    assert_eq!(status, 200);
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["run"], "{events:?}");
    assert_eq!(events[0].data["status"], "failed", "{events:?}");
    wait_for("held again", || {
        executions(&dir).contains(&"held".to_string())
    });
    std::fs::write(dir.join("go"), "").expect("open the gate");
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], "first held");
    // `first` finished before the kill: it was not run again, and its attempt, recorded
    // before the kill, is still shown.
    assert_eq!(executions(&dir), ["held"]);
    let steps = run["steps"].as_array().expect("steps");
    let first = steps
        .iter()
        .find(|s| s["step"] == "first")
        .expect("first's attempt");
    assert_eq!(first["state"], "succeeded", "{run}");
    assert_eq!(first["attempts"].as_array().map(Vec::len), Some(1), "{run}");
    // A new run does not take an old run's id.
    let (status, next) = submit(&server, json!({"workflow": "gated"}), None);
    assert_eq!(status, 201, "{next}");
    assert!(
        next["id"].as_str().expect("id").starts_with("r000003-"),
        "{next}"
    );
}

#[test]
fn a_failed_run_is_retried_from_its_journal_without_its_finished_steps() {
    let dir = tally_dir("retry");
    let server = start(dir.clone(), &[]);
    let (status, run) = submit(&server, json!({"workflow": "unlucky"}), None);
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().expect("id").to_string();
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["step"], "unlucky.second", "{run}");
    assert_eq!(executions(&dir), ["first", "second"]);
    let retry = format!("/v1/runs/{id}/retry");
    let (status, answer) = request(&server, "POST", &retry, None, None);
    assert_eq!(status, 202, "{answer}");
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], "first second");
    // `first` ran once; `second` failed, then ran again and succeeded.
    assert_eq!(executions(&dir), ["first", "second", "second"]);
    let second = run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["step"] == "second")
        .expect("second");
    assert_eq!(second["state"], "succeeded", "{run}");
    assert_eq!(
        second["attempts"].as_array().map(Vec::len),
        Some(2),
        "{run}"
    );
    let (status, error) = request(&server, "POST", &retry, None, None);
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"]["code"], "not-failed");
    let (status, error) = request(&server, "POST", "/v1/runs/r999/retry", None, None);
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["error"]["code"], "unknown-run");
}

#[test]
fn the_list_of_runs_comes_a_page_at_a_time() {
    let server = serve("paging", &[]);
    let mut ids = Vec::new();
    for n in 0..5 {
        let body = json!({"workflow": "greet", "inputs": {"who": {"name": "P", "times": n}}});
        let (status, run) = submit(&server, body, None);
        assert_eq!(status, 201, "{run}");
        ids.push(run["id"].as_str().expect("id").to_string());
    }
    let (status, page) = request(&server, "GET", "/v1/runs?limit=2", None, None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["runs"][0]["id"], ids[0].as_str(), "{page}");
    assert_eq!(page["runs"][1]["id"], ids[1].as_str(), "{page}");
    assert_eq!(page["next"], ids[1].as_str(), "{page}");
    let (_, page) = request(
        &server,
        "GET",
        &format!("/v1/runs?limit=2&after={}", ids[3]),
        None,
        None,
    );
    assert_eq!(page["runs"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["runs"][0]["id"], ids[4].as_str(), "{page}");
    assert!(page.get("next").is_none(), "{page}");
    let (status, error) = request(&server, "GET", "/v1/runs?limit=0", None, None);
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "bad-request");
}

#[test]
fn a_reload_takes_new_workflows_and_refuses_files_that_do_not_check() {
    let server = serve("reload", &[]);
    let (status, error) = submit(&server, json!({"workflow": "later"}), None);
    assert_eq!(status, 422, "{error}");
    let grown = format!(
        "{SOURCE}\nworkflow later() -> string {{\n  step e = std.echo(value: \"new\")\n  output e\n}}\n"
    );
    std::fs::write(server.dir.join("main.hive"), &grown).expect("write");
    let (status, answer) = request(&server, "POST", "/v1/reload", None, None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["workflows"],
        json!(["broken", "greet", "jam", "later", "stall"])
    );
    let (status, run) = submit(&server, json!({"workflow": "later"}), None);
    assert_eq!(status, 201, "{run}");
    let run = finished(&server, run["id"].as_str().expect("id"), None);
    assert_eq!(run["output"], "new", "{run}");

    std::fs::write(
        server.dir.join("main.hive"),
        format!("{grown}\nworkflow worse() -> int {{ output nope }}\n"),
    )
    .expect("write");
    let (status, error) = request(&server, "POST", "/v1/reload", None, None);
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "not-checked", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 error in the files")),
        "{error}"
    );
    let diagnostics = error["error"]["diagnostics"]
        .as_array()
        .expect("diagnostics");
    assert!(
        diagnostics.iter().any(|d| d["severity"] == "error"
            && d["message"].as_str().is_some_and(|m| m.contains("nope"))),
        "{error}"
    );
    // The workflows checked before still serve.
    let (status, run) = submit(&server, json!({"workflow": "later"}), None);
    assert_eq!(status, 201, "{run}");
    let (status, error) = submit(&server, json!({"workflow": "worse"}), None);
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "unknown-workflow");
}

#[test]
fn agents_show_the_instances_of_the_runs_in_flight_and_dead_letters_are_listed() {
    let server = serve("agents", &[]);
    let (_, agents) = request(&server, "GET", "/v1/agents", None, None);
    assert_eq!(agents, json!({"agents": [], "queues": {}}));
    // Two tasks for one slot: one runs, the other waits in the agent's queue.
    let (status, run) = submit(&server, json!({"workflow": "jam"}), None);
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().expect("id").to_string();
    wait_for("the task on the agent", || {
        server.dir.join("slow.pid").exists()
    });
    let (status, agents) = request(&server, "GET", "/v1/agents", None, None);
    assert_eq!(status, 200, "{agents}");
    let slow = agents["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .find(|a| a["name"] == "slow")
        .expect("slow");
    assert_eq!(slow["in_flight"], 1, "{agents}");
    assert_eq!(slow["slots"], 1, "{agents}");
    assert_eq!(slow["utilisation"], 1.0, "{agents}");
    assert_eq!(slow["instances"][0]["run"], id.as_str(), "{agents}");
    assert_eq!(slow["instances"][0]["state"], "busy", "{agents}");
    assert_eq!(agents["queues"], json!({"slow": 1}), "{agents}");
    // Its process was heard from at its start; it sends no heartbeat, so the age grows.
    let age = |agents: &serde_json::Value| {
        let slow = agents["agents"]
            .as_array()?
            .iter()
            .find(|a| a["name"] == "slow")?;
        slow["instances"][0]["heartbeat_age_ms"].as_u64()
    };
    let first = age(&agents).expect("a heartbeat age");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (_, later) = request(&server, "GET", "/v1/agents", None, None);
    assert!(
        age(&later).expect("a heartbeat age") >= first + 300,
        "{agents} then {later}"
    );
    let (status, letters) = request(&server, "GET", "/v1/dlq", None, None);
    assert_eq!(status, 200, "{letters}");
    assert_eq!(letters, json!({"letters": []}));
    // In one process a dead letter's run is retried; there is nothing to requeue.
    let (status, refused) = request(&server, "POST", "/v1/dlq/1-0/requeue", None, None);
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "not-distributed", "{refused}");
}

/// Dies at every task it is given.
const CRASH_AGENT: &str = r#"import json, os, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["crash"]}), flush=True)
    elif msg["type"] == "task":
        os._exit(1)
"#;

#[test]
fn a_task_whose_every_delivery_is_lost_is_a_dead_letter() {
    let dir = dir("dlq");
    std::fs::write(dir.join("crash.py"), CRASH_AGENT).expect("write");
    std::fs::write(
        dir.join("main.hive"),
        "capability crash(n: int) -> int\nagent crashy { provides: [crash], exec: \"python3 crash.py\" }\n\
         workflow doomed() -> int {\n  step c = crash(n: 7)\n  output c\n}\n",
    )
    .expect("write");
    let server = start(dir, &[]);
    let (status, run) = submit(&server, json!({"workflow": "doomed"}), None);
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().expect("id").to_string();
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "failed", "{run}");
    let (status, letters) = request(&server, "GET", "/v1/dlq", None, None);
    assert_eq!(status, 200, "{letters}");
    let letters = letters["letters"].as_array().expect("letters");
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["run"], id.as_str(), "{letter}");
    assert_eq!(letter["step"], "c", "{letter}");
    assert_eq!(letter["capability"], "crash", "{letter}");
    assert_eq!(letter["input"], json!({"n": 7}), "{letter}");
    let deliveries = letter["deliveries"].as_f64().expect("deliveries");
    let (_, _, text) = metrics::fetch(server.port, None);
    let scrape = metrics::parse(&text);
    assert_eq!(
        metrics::value(&scrape, "hive_dead_letters_total", &[]),
        1.0,
        "{text}"
    );
    assert_eq!(
        metrics::value(&scrape, "hive_redeliveries_total", &[]),
        deliveries - 1.0,
        "{text}"
    );
    let lost = [
        ("agent", "crashy"),
        ("capability", "crash"),
        ("outcome", "failed"),
    ];
    assert_eq!(
        metrics::value(&scrape, "hive_tasks_total", &lost),
        deliveries,
        "{text}"
    );
}
