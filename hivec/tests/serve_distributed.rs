//! `hivec serve --redis` with real components: a `redis-server` of its own per test, real
//! `hivec worker` and `hivec serve` processes and exec agents, a server SIGKILLed with a run
//! in flight and a worker SIGSTOPped past its heartbeats.

#[path = "common/redis.rs"]
mod redis;

#[path = "common/cluster.rs"]
mod cluster;

#[path = "common/server.rs"]
mod server;

#[path = "common/browser.rs"]
mod browser;

#[path = "common/topics.rs"]
mod topics;

use cluster::*;
use redis::Redis;
use serde_json::{Value, json};
use server::{finished, request, serve, submit};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Polls `GET /v1/agents` until `ready` holds of its `workers`.
fn workers_until(server: &server::Server, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let (status, view) = request(server, "GET", "/v1/agents", None, None);
        assert_eq!(status, 200, "{view}");
        let workers = view["workers"].as_array().cloned().unwrap_or_default();
        if ready(&workers) {
            return workers;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "workers never as expected: {view}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn runs_go_to_the_workers_and_a_killed_servers_run_is_taken_over_running_nothing_twice() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("serve", 0.3, "1s");
    let data = dir.join("data");
    let data = data.to_str().expect("path");
    let url = redis.url();
    let first = serve(&dir, &["--redis", &url, "--data", data]);

    // With no worker, nothing runs: the server hosts no exec agent of its own.
    let id = submit(
        &first,
        &json!({"workflow": "main", "inputs": {"count": 12}}),
        None,
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(executed(&dir).is_empty(), "a task ran without a worker");
    let (_, run) = request(&first, "GET", &format!("/v1/runs/{id}"), None, None);
    assert_eq!(run["status"], "running", "{run}");

    let w = worker(&dir, &redis, &[]);
    let workers = workers_until(&first, |w| w.len() == 1);
    assert_eq!(
        workers[0]["agents"]["squarer"]["instances"], 2,
        "{workers:?}"
    );
    assert_eq!(workers[0]["stale"], false, "{workers:?}");
    assert!(
        workers[0]["heartbeat_age_ms"]
            .as_u64()
            .is_some_and(|a| a < 3000),
        "{workers:?}"
    );

    // Killed mid-run: the next server on the same data takes the run over once the lease of
    // the killed one expires.
    let start = Instant::now();
    while executed(&dir).len() < 3 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(first);
    assert!(
        executed(&dir).len() < 12,
        "the run was over before the kill"
    );
    let second = serve(&dir, &["--redis", &url, "--data", data]);
    let log = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    assert!(log.contains("1 run in"), "{log}");
    assert!(log.contains("1 resumed"), "{log}");
    let run = finished(&second, &id, None);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], json!(sum_of_squares(12)), "{run}");
    let mut seen = std::collections::BTreeMap::new();
    for (_, n) in executed(&dir) {
        *seen.entry(n).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 12, "every element executed: {seen:?}");
    assert!(seen.values().all(|&c| c == 1), "ran twice: {seen:?}");

    // A second run of the same server, start to end; then nothing of either is left in
    // Redis but their journals.
    let again = submit(
        &second,
        &json!({"workflow": "main", "inputs": {"count": 3}}),
        None,
    );
    let run = finished(&second, &again, None);
    assert_eq!(run["output"], json!(sum_of_squares(3)), "{run}");
    assert!(
        stream_entries(&redis).is_empty(),
        "{:?}",
        stream_entries(&redis)
    );
    let leases = redis.cli(&["--scan", "--pattern", "hive:default:run:*:coordinator"]);
    assert_eq!(leases, "", "a lease was left behind");
    // The journal is Redis's, so `hivec run --resume` reads the same run.
    let journal = redis.cli(&["XLEN", &format!("hive:default:run:{id}:journal")]);
    assert_ne!(journal, "0", "the run's journal is not in Redis");
    stop(w);
}

#[test]
fn a_paused_worker_shows_its_heartbeat_age_and_goes_stale() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("serve-stale", 0.0, "300ms");
    let data = dir.join("data");
    let server = serve(
        &dir,
        &[
            "--redis",
            &redis.url(),
            "--data",
            data.to_str().expect("path"),
        ],
    );
    let w = worker(&dir, &redis, &[]);
    workers_until(&server, |w| w.len() == 1 && w[0]["stale"] == false);
    // The dashboard's agents page shows the worker, what it hosts and its last heartbeat.
    if let Some(chromium) = browser::launch(&dir) {
        let tab = chromium.new_tab().expect("tab");
        browser::open(&tab, &format!("http://127.0.0.1:{}/agents", server.port));
        browser::wait_for(
            &tab,
            "!!document.querySelector('#workers tr[data-worker]')",
            Duration::from_secs(10),
        );
        let row = browser::eval(
            &tab,
            "document.querySelector('#workers tr[data-worker]').innerText",
        );
        let row = row.as_str().unwrap_or_default();
        assert!(row.contains("squarer ×2"), "{row}");
        assert!(row.contains("ago") && row.contains("live"), "{row}");
        let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
        browser::screenshot(&tab, &shots, "workers.png");
    }
    signal(&w, "-STOP");
    // Past two heartbeats, before the key expires at three.
    let workers = workers_until(&server, |w| w.len() == 1 && w[0]["stale"] == true);
    let age = workers[0]["heartbeat_age_ms"].as_u64().expect("age");
    assert!(age > 600, "{workers:?}");
    assert_eq!(workers[0]["heartbeat_ms"], 300, "{workers:?}");
    signal(&w, "-CONT");
    workers_until(&server, |w| w.len() == 1 && w[0]["stale"] == false);
    stop(w);
}

#[test]
fn a_dead_letter_is_listed_requeued_from_the_dashboard_and_its_run_retried() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("serve-dlq", 0.0, "1s");
    poison(&dir);
    let data = dir.join("data");
    let server = serve(
        &dir,
        &[
            "--redis",
            &redis.url(),
            "--data",
            data.to_str().expect("path"),
        ],
    );
    let workers = [worker(&dir, &redis, &[]), worker(&dir, &redis, &[])];
    await_workers(&redis, 2);
    let id = submit(
        &server,
        &json!({"workflow": "main", "inputs": {"count": 20}}),
        None,
    );
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "failed", "{run}");
    let message = run["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("dead-lettered as "), "{run}");
    let (status, letters) = request(&server, "GET", "/v1/dlq", None, None);
    assert_eq!(status, 200, "{letters}");
    let letter = letters["letters"][0].clone();
    assert_eq!(letter["run"], id.as_str(), "{letters}");
    assert_eq!(letter["agent"], "squarer", "{letters}");
    let letter_id = letter["id"].as_str().expect("an id").to_string();
    assert!(message.contains(&letter_id), "{run}");
    // A retry while it is dead-lettered fails again at once.
    std::fs::remove_file(dir.join("poison")).expect("cure");
    let retry = format!("/v1/runs/{id}/retry");
    assert_eq!(request(&server, "POST", &retry, None, None).0, 202);
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("still dead-lettered"),
        "{run}"
    );

    // Requeued with the dashboard's button (or the API, without a browser).
    match browser::launch(&dir) {
        Some(chromium) => {
            let tab = chromium.new_tab().expect("tab");
            browser::open(&tab, &format!("http://127.0.0.1:{}/agents", server.port));
            let row = format!("#letters tr[data-letter='{letter_id}'] button.requeue");
            browser::wait_for(
                &tab,
                &format!("!!document.querySelector(\"{row}\")"),
                Duration::from_secs(10),
            );
            browser::click(&tab, &row);
            browser::wait_for(
                &tab,
                "!document.querySelector('#letters tr[data-letter]')",
                Duration::from_secs(10),
            );
            let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
            browser::screenshot(&tab, &shots, "requeued.png");
        }
        None => {
            let (status, answer) = request(
                &server,
                "POST",
                &format!("/v1/dlq/{letter_id}/requeue"),
                None,
                None,
            );
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["run"], id.as_str(), "{answer}");
        }
    }
    let (_, letters) = request(&server, "GET", "/v1/dlq", None, None);
    assert_eq!(letters, json!({"letters": []}));
    let again = request(
        &server,
        "POST",
        &format!("/v1/dlq/{letter_id}/requeue"),
        None,
        None,
    );
    assert_eq!(again.0, 404, "{}", again.1);
    assert_eq!(request(&server, "POST", &retry, None, None).0, 202);
    let run = finished(&server, &id, None);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], json!(sum_of_squares(20)), "{run}");
    for w in workers {
        stop(w);
    }
}

#[test]
fn an_unreachable_redis_stops_the_server_before_it_listens_without_the_password() {
    let dir = project("serve-unreachable", 0.0, "1s");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let out = finish(
        hivec(&dir)
            .args(["serve", "main.hive", "--listen", "127.0.0.1:0"])
            .args(["--data", dir.join("data").to_str().expect("path")])
            .args(["--redis", &format!("redis://:s3cr3tPW@127.0.0.1:{port}")])
            .args(["--redis-timeout", "500ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec serve"),
        Duration::from_secs(20),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--redis"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(!stderr.contains("s3cr3tPW"), "{stderr}");
}

/// With `--redis`, a message published through the API goes through the run's stream in
/// Redis to the coordinated run waiting on `receive`, and a listener on a worker hears the
/// run's requests.
#[test]
fn a_message_published_through_the_api_reaches_a_distributed_run() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = std::env::temp_dir().join(format!("hive-serve-dtopics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("main.hive"), topics::HIVE).expect("source");
    std::fs::write(dir.join("listener.py"), topics::LISTENER).expect("listener");
    let url = redis.url();
    let server = serve(&dir, &["--redis", &url]);
    let w = worker(&dir, &redis, &[]);
    workers_until(&server, |w| w.len() == 1);
    // A listener on the worker approves the request the run publishes.
    let heard = submit(
        &server,
        &json!({"workflow": "main", "inputs": {"ticket": "T-1"}}),
        None,
    );
    let run = finished(&server, &heard, None);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["output"],
        json!({"ticket": "T-1", "answers": []}),
        "{run}"
    );
    // A person's decision, through the API.
    let waiting = submit(
        &server,
        &json!({"workflow": "person", "inputs": {"ticket": "T-9"}}),
        None,
    );
    let decision = json!({"ticket": "T-9", "answers": "by hand"});
    let start = Instant::now();
    loop {
        let (status, body) = request(
            &server,
            "POST",
            "/v1/topics/approvals",
            Some(&json!({"payload": decision, "run": waiting})),
            None,
        );
        if status == 201 {
            assert!(
                body["published"][0]["id"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("approvals:")),
                "{body}"
            );
            break;
        }
        // The run may not be in flight yet.
        assert!(start.elapsed() < Duration::from_secs(20), "{status} {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = finished(&server, &waiting, None);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], decision, "{run}");
    // The message went through Redis: the run's stream holds it.
    let stream = format!("hive:default:run:{waiting}:topics");
    assert_eq!(redis.cli(&["XLEN", &stream]), "1");
    stop(w);
}
