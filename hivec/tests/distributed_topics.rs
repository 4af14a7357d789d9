//! Topics in distributed mode, with real components: a `redis-server` of each test's own,
//! `hivec worker` processes hosting the listeners, `hivec run --redis` coordinators waiting on
//! `receive`, and `hivec publish` delivering a person's message from another process.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/redis.rs"]
mod redis;
#[path = "common/topics.rs"]
mod topics;

use cluster::{Reaped, await_workers, finish, hivec, run_id, serial, text, worker};
use redis::Redis;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// A project directory `hive-dtopics-{tag}-{pid}` holding `files`.
fn project(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-dtopics-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, body) in files {
        std::fs::write(dir.join(name), body).expect("file");
    }
    dir
}

/// `hivec run main.hive --redis … --workflow W --input I…`, started.
fn coordinator(dir: &Path, redis: &Redis, workflow: &str, inputs: &[&str]) -> Reaped {
    Reaped::new(
        hivec(dir)
            .args(["run", "main.hive", "--redis", &redis.url()])
            .args(["--workflow", workflow])
            .args(inputs.iter().flat_map(|i| ["--input", i]))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run"),
    )
}

/// `hivec publish main.hive TOPIC JSON --redis … ARGS…` run to its end.
fn publish(
    dir: &Path,
    redis: Option<&Redis>,
    topic: &str,
    payload: &Value,
    args: &[&str],
) -> Output {
    let mut cmd = hivec(dir);
    cmd.args(["publish", "main.hive", topic, &payload.to_string()]);
    if let Some(redis) = redis {
        cmd.args(["--redis", &redis.url()]);
    }
    cmd.args(args).output().expect("hivec publish")
}

/// `hivec publish` ended with `code`, saying `why` on stderr.
fn refused(out: &std::process::Output, code: i32, why: &str) {
    assert_eq!(out.status.code(), Some(code));
    assert!(text(&out.stderr).contains(why), "{}", text(&out.stderr));
}

/// A redis-server and workers hosting the agents of `dir/main.hive`.
struct Cluster {
    dir: PathBuf,
    // Dropped first: the workers go before their Redis.
    _workers: Vec<Reaped>,
    redis: Redis,
}

/// A project of `files` with `workers` workers registered.
fn cluster(tag: &str, files: &[(&str, &str)], workers: usize) -> Cluster {
    let dir = project(tag, files);
    let redis = Redis::start(&[]);
    let workers = (0..workers)
        .map(|_| Reaped::new(worker(&dir, &redis, &[])))
        .collect::<Vec<_>>();
    await_workers(&redis, workers.len());
    Cluster {
        dir,
        _workers: workers,
        redis,
    }
}

/// The shared topics plan and its listener, with `workers` workers.
fn topics_cluster(tag: &str, workers: usize) -> Cluster {
    cluster(
        tag,
        &[
            ("main.hive", topics::HIVE),
            ("listener.py", topics::LISTENER),
        ],
        workers,
    )
}

fn output_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("output is JSON")
}

#[test]
fn a_listener_on_a_worker_hears_the_request_and_the_coordinator_receives_its_approval() {
    let _serial = serial();
    let Cluster {
        dir,
        redis,
        _workers,
    } = topics_cluster("listener", 2);
    let mut run = coordinator(&dir, &redis, "main", &["ticket=T-1"]);
    let out = finish(run.take(), Duration::from_secs(60));
    assert_eq!(output_of(&out), json!({"ticket": "T-1", "answers": []}));
    assert!(
        dir.join("quiet").exists(),
        "a listener on a worker heard the request"
    );
}

#[test]
fn every_refused_publish_from_a_worker_is_answered_with_its_reason() {
    let _serial = serial();
    let Cluster {
        dir,
        redis,
        _workers,
    } = topics_cluster("refusals", 1);
    let attempts = json!([
        {"topic": "nope", "payload": {}},
        {"topic": "approvals", "payload": {"ticket": 7, "answers": []}},
        {"topic": "approvals"},
    ]);
    let mut run = Reaped::new(
        hivec(&dir)
            .args([
                "run",
                "main.hive",
                "--redis",
                &redis.url(),
                "--input",
                "ticket=T-2",
            ])
            .arg("--input")
            .arg(format!("attempts={attempts}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run"),
    );
    let output = output_of(&finish(run.take(), Duration::from_secs(60)));
    let answers = output["answers"].as_array().expect("answers").clone();
    assert_eq!(answers.len(), 3, "{output}");
    assert!(
        answers.iter().all(|a| a["type"] == "publish_refused"),
        "{output}"
    );
    let reasons: Vec<&str> = answers
        .iter()
        .filter_map(|a| a["reason"].as_str())
        .collect();
    assert!(
        reasons[0].contains("`nope` is not a topic of the plan"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("does not match `Approval`"),
        "{reasons:?}"
    );
    assert!(reasons[2].contains("no `payload`"), "{reasons:?}");
}

#[test]
fn a_person_approves_a_waiting_run_with_hivec_publish() {
    let _serial = serial();
    let Cluster {
        dir,
        redis,
        _workers,
    } = topics_cluster("person", 1);
    let mut run = coordinator(&dir, &redis, "person", &["ticket=T-9"]);
    let id = run_id(run.child());

    // Without --redis there is nothing to reach: a usage error that says where to go.
    let out = publish(&dir, None, "approvals", &json!({}), &[]);
    refused(&out, 2, "needs --redis URL");
    // A run that is not in progress, a topic the file lacks, a payload of the wrong type.
    let out = publish(
        &dir,
        Some(&redis),
        "approvals",
        &json!({"ticket": "T-9", "answers": 1}),
        &["--run", "nosuch"],
    );
    refused(&out, 1, "run `nosuch` is not in progress");
    let out = publish(&dir, Some(&redis), "approval", &json!({}), &["--run", &id]);
    refused(&out, 2, "no topic `approval`");
    let out = publish(
        &dir,
        Some(&redis),
        "approvals",
        &json!({"ticket": 9}),
        &["--run", &id],
    );
    refused(&out, 1, "does not match `Approval`");

    // Another ticket's decision is taken and does not end the wait; sent again under its
    // key, to the runs of the file (this one), it is the same message.
    let other = json!({"ticket": "T-1", "answers": 0});
    let first = publish(
        &dir,
        Some(&redis),
        "approvals",
        &other,
        &["--run", &id, "--key", "T-1"],
    );
    let again = publish(&dir, Some(&redis), "approvals", &other, &["--key", "T-1"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let (first, again) = (text(&first.stdout), text(&again.stdout));
    assert!(first.starts_with(&format!("{id} approvals:")), "{first}");
    assert_eq!(
        first, again,
        "a key within the dedupe window publishes once"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        run.child().try_wait().expect("wait").is_none(),
        "the run waits on"
    );
    let decision = json!({"ticket": "T-9", "answers": "by hand"});
    let sent = publish(&dir, Some(&redis), "approvals", &decision, &["--run", &id]);
    assert!(sent.status.success(), "{}", text(&sent.stderr));
    let out = finish(run.take(), Duration::from_secs(30));
    assert_eq!(output_of(&out), decision);
    // The run is over: nothing to publish to any more.
    let late = publish(&dir, Some(&redis), "approvals", &decision, &["--run", &id]);
    assert_eq!(late.status.code(), Some(1), "{}", text(&late.stdout));
}

/// A talker publishes `n` notes from its task; a tally listener logs each note it hears
/// with its process id.
const TALKER: &str = r#"import json, sys
def send(m):
    print(json.dumps(m), flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        send({"type": "ready", "capabilities": ["speak"]})
    elif msg["type"] == "task":
        n = msg["input"]["n"]
        for i in range(1, n + 1):
            send({"type": "publish", "topic": "notes", "payload": i, "id": msg["id"], "ref": i})
        got = 0
        while got < n:
            if json.loads(sys.stdin.readline())["type"] == "published":
                got += 1
        send({"type": "result", "id": msg["id"], "output": n})
    elif msg["type"] == "shutdown":
        break
"#;

const TALLY: &str = r#"import json, os, sys
log = open("heard.log", "a")
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": []}), flush=True)
    elif msg["type"] == "event":
        log.write(f"{os.getpid()} {msg['id']} {msg['payload']}\n")
        log.flush()
    elif msg["type"] == "shutdown":
        break
"#;

const TALK: &str = r#"
capability speak(n: int) -> int
topic notes: int { retain: 1h }

agent talker { provides: [speak], exec: "python3 talker.py" }
agent tally { provides: [], subscribes: [notes], exec: "python3 tally.py", replicas: 2 }

workflow main(n: int) -> int {
  step first = publish notes(0)
  step said = speak(n: n) with { after: [first] }
  step nap = std.sleep(duration: 1500ms) with { after: [said] }
  output said
}
"#;

#[test]
fn each_message_reaches_one_instance_of_a_subscribing_agent_across_workers() {
    let _serial = serial();
    let Cluster {
        dir,
        redis,
        _workers,
    } = cluster(
        "tally",
        &[
            ("main.hive", TALK),
            ("talker.py", TALKER),
            ("tally.py", TALLY),
        ],
        2,
    );
    let mut run = coordinator(&dir, &redis, "main", &["n=40"]);
    let out = finish(run.take(), Duration::from_secs(60));
    assert_eq!(output_of(&out), json!(40));
    let start = Instant::now();
    let heard = loop {
        let log = std::fs::read_to_string(dir.join("heard.log")).unwrap_or_default();
        if log.lines().count() >= 41 || start.elapsed() > Duration::from_secs(10) {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut times: BTreeMap<i64, usize> = BTreeMap::new();
    for line in heard.lines() {
        let payload: i64 = line
            .rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("line");
        *times.entry(payload).or_default() += 1;
    }
    let expected: BTreeMap<i64, usize> = (0..=40).map(|i| (i, 1)).collect();
    assert_eq!(times, expected, "every note heard once:\n{heard}");
}

#[test]
fn redis_killed_while_a_receive_waits_ends_the_run_within_the_timeout() {
    let _serial = serial();
    let dir = project(
        "dead",
        &[
            ("main.hive", topics::HIVE),
            ("listener.py", topics::LISTENER),
        ],
    );
    let mut redis = Redis::start(&[]);
    let mut run = Reaped::new(
        hivec(&dir)
            .args([
                "run",
                "main.hive",
                "--redis",
                &redis.url(),
                "--redis-timeout",
                "2s",
            ])
            .args(["--workflow", "person", "--input", "ticket=T-3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run"),
    );
    let id = run_id(run.child());
    // Waiting: the run's message stream is being read.
    let start = Instant::now();
    while redis.cli(&["EXISTS", &format!("hive:default:run:{id}:coordinator")]) != "1" {
        assert!(start.elapsed() < Duration::from_secs(20), "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = redis.child.kill();
    let _ = redis.child.wait();
    let killed = Instant::now();
    let mut child = run.take();
    // The run id was read from stderr; what follows is drained by `run_id`, so the exit
    // status and the time tell: a failure, well before the receive's 60 s.
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the run hangs");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1));
    assert!(
        killed.elapsed() < Duration::from_secs(15),
        "{:?}",
        killed.elapsed()
    );
}

/// The shipped ticket example, distributed: a risky ticket waits for a person, who approves
/// it from another process with `hivec publish`, and the fix ships.
#[test]
fn the_ticket_example_is_approved_from_another_shell() {
    let _serial = serial();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let redis = Redis::start(&[]);
    let _worker = Reaped::new(
        hivec(&examples)
            .args(["worker", "ticket_approval.hive", "--redis", &redis.url()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("hivec worker"),
    );
    await_workers(&redis, 1);
    let ticket = json!({"id": "T-7", "title": "Refund the March invoice", "severity": "high", "customer": "Acme Heating"});
    let mut run = Reaped::new(
        hivec(&examples)
            .args(["run", "ticket_approval.hive", "--redis", &redis.url()])
            .arg("--input")
            .arg(format!("ticket={ticket}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run"),
    );
    let id = run_id(run.child());
    // The request was published (and the approver left it to a person).
    let stream = format!("hive:default:run:{id}:topics");
    let start = Instant::now();
    while redis.cli(&["XLEN", &stream]) != "1" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no approval request"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let approval = json!({"ticket": "T-7", "approved": true, "by": "ada"});
    let mut publish = hivec(&examples);
    publish
        .args([
            "publish",
            "ticket_approval.hive",
            "approvals",
            &approval.to_string(),
        ])
        .args(["--redis", &redis.url(), "--run", &id]);
    let sent = publish.output().expect("hivec publish");
    assert!(sent.status.success(), "{}", text(&sent.stderr));
    assert_eq!(text(&sent.stdout), format!("{id} approvals:2\n"));
    let out = finish(run.take(), Duration::from_secs(60));
    let output = output_of(&out);
    assert_eq!(output["shipped"], json!(true), "{output}");
    assert_eq!(output["approved_by"], json!("ada"), "{output}");
}

/// A tally that writes its pid to `tally.pid` when it starts and, while the file `slow`
/// exists, takes 2 s to be ready (and removes it): a restarted listener that is not ready
/// yet cannot take its messages.
const SLOW_TALLY: &str = r#"import json, os, sys, time
log = open("heard.log", "a")
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        if os.path.exists("slow"):
            time.sleep(2)
            os.remove("slow")
        open("tally.pid", "w").write(str(os.getpid()))
        print(json.dumps({"type": "ready", "capabilities": []}), flush=True)
    elif msg["type"] == "event":
        log.write(f"{os.getpid()} {msg['id']} {msg['payload']}\n")
        log.flush()
    elif msg["type"] == "shutdown":
        break
"#;

const WAIT: &str = r#"
topic notes: int { retain: 1h }
topic done: bool { retain: 1h }

agent tally { provides: [], subscribes: [notes], exec: "python3 tally.py", heartbeat: 300ms }

workflow main() -> bool {
  step first = publish notes(0)
  step end = receive done() with { after: [first], timeout: 60s }
  output end
}
"#;

/// Messages a listener's worker read while the listener was down stay unacknowledged, and
/// are claimed and handed over once it is back, each once.
#[test]
fn messages_read_while_the_listener_is_down_reach_it_when_it_is_back() {
    let _serial = serial();
    let Cluster {
        dir,
        redis,
        _workers,
    } = cluster("down", &[("main.hive", WAIT), ("tally.py", SLOW_TALLY)], 1);
    let mut run = coordinator(&dir, &redis, "main", &[]);
    let id = run_id(run.child());
    let heard = |n: usize| {
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(dir.join("heard.log")).unwrap_or_default();
            if log.lines().count() >= n || start.elapsed() > Duration::from_secs(20) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let log = heard(1);
    let first: u32 = log
        .split(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a pid");
    std::fs::write(dir.join("slow"), "").expect("slow");
    assert!(cluster::kill_pid(first, "-KILL"));
    let notes: Vec<String> = (1..=5)
        .map(|i| {
            let out = publish(&dir, Some(&redis), "notes", &json!(i), &["--run", &id]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout)
        })
        .collect();
    assert_eq!(notes.len(), 5);
    let log = heard(6);
    let lines: Vec<(u32, i64)> = log
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(' ');
            Some((parts.next()?.parse().ok()?, parts.nth(1)?.parse().ok()?))
        })
        .collect();
    let payloads: Vec<i64> = lines.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        payloads,
        vec![0, 1, 2, 3, 4, 5],
        "each note once, in order:\n{log}"
    );
    assert!(
        lines[1..].iter().all(|(pid, _)| *pid != first),
        "heard by the restarted listener:\n{log}"
    );
    assert!(
        !dir.join("slow").exists(),
        "the listener was restarted slowly"
    );
    let out = publish(&dir, Some(&redis), "done", &json!(true), &["--run", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        output_of(&finish(run.take(), Duration::from_secs(30))),
        json!(true)
    );
}
