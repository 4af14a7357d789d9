//! The coordinator of a distributed run with real processes: its lease on the run (a second
//! live coordinator is refused), signals (as in one process, and resumable), and client
//! certificates for a Redis that asks for them.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/redis.rs"]
mod redis;

use cluster::*;
use redis::Redis;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn resume(dir: &std::path::Path, redis: &Redis, id: &str) -> Child {
    hivec(dir)
        .args(["run", "main.hive", "--resume", id, "--redis", &redis.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec run --resume")
}

/// Waits until `n` elements were executed.
fn await_executed(dir: &std::path::Path, n: usize) {
    let start = Instant::now();
    while executed(dir).len() < n {
        assert!(start.elapsed() < Duration::from_secs(20), "no task ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A second coordinator of a run whose coordinator is alive is refused, naming the run;
/// the live one is not disturbed, and gives its lease up when it ends.
#[test]
fn a_resume_of_a_run_whose_coordinator_is_alive_is_refused() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("lease", 0.5, "1s");
    let w = worker(&dir, &redis, &[]);
    await_workers(&redis, 1);
    let mut live = coordinator(&dir, &redis, 40, &[]);
    let id = run_id(&mut live);
    await_executed(&dir, 1);
    let lease = format!("hive:default:run:{id}:coordinator");
    assert!(
        redis.cli(&["GET", &lease]).contains("\"pid\""),
        "{}",
        redis.cli(&["GET", &lease])
    );
    let started = Instant::now();
    let refused = finish(resume(&dir, &redis, &id), Duration::from_secs(30));
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("run {id} is still coordinated")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("process {}", live.id())),
        "{stderr}"
    );
    assert!(
        stderr.contains("its lease expires 6s after it stops"),
        "{stderr}"
    );
    // Told within a renewal or two, not after the lease.
    assert!(started.elapsed() < Duration::from_secs(5), "{stderr}");
    let out = finish(live, Duration::from_secs(60));
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), sum_of_squares(40).to_string());
    let mut seen = std::collections::BTreeMap::new();
    for (_, n) in executed(&dir) {
        *seen.entry(n).or_insert(0) += 1;
    }
    assert!(seen.values().all(|&c| c == 1), "ran twice: {seen:?}");
    assert_eq!(redis.cli(&["EXISTS", &lease]), "0");
    stop(w);
}

/// SIGTERM and SIGINT stop a distributed coordinator as they stop a run in one process
/// (exit 143 and 130, `interrupted` last in the journal); the deliveries it had sent are
/// withdrawn, so no task stream is left holding them, and a resume finishes the run exactly.
#[test]
fn a_signalled_coordinator_exits_as_in_one_process_and_resumes() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("signal", 0.5, "300ms");
    let w = worker(&dir, &redis, &[]);
    await_workers(&redis, 1);
    for (sig, code, name) in [("-TERM", 143, "SIGTERM"), ("-INT", 130, "SIGINT")] {
        // Emptied, not removed: the agents keep it open.
        std::fs::write(dir.join("executed.log"), "").expect("log");
        let mut run = coordinator(&dir, &redis, 24, &[]);
        let id = run_id(&mut run);
        await_executed(&dir, 2);
        signal(&run, sig);
        let out = finish(run, Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(code), "{name}");
        let journal = format!("hive:default:run:{id}:journal");
        let last = redis.cli(&["XREVRANGE", &journal, "+", "-", "COUNT", "1"]);
        let event = last.lines().last().unwrap_or_default();
        let event: serde_json::Value = serde_json::from_str(event).expect(&last);
        assert_eq!(event["event"], "interrupted", "{last}");
        assert_eq!(event["signal"], name, "{last}");
        // What it had sent is gone from the task streams, and stays gone: the worker
        // cancels what it ran, and answers nothing into a finished run's streams.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(stream_entries(&redis), Vec::<String>::new(), "{name}");
        assert_eq!(redis.cli(&["HLEN", "hive:default:runs"]), "0", "{name}");
        let ran = executed(&dir).len();
        assert!(ran < 24, "the run was over before the {name}");
        std::thread::sleep(Duration::from_millis(1000));
        assert_eq!(executed(&dir).len(), ran, "tasks went on after the {name}");
        let resumed = finish(resume(&dir, &redis, &id), Duration::from_secs(60));
        let stderr = text(&resumed.stderr);
        assert!(resumed.status.success(), "{stderr}");
        assert_eq!(text(&resumed.stdout).trim(), sum_of_squares(24).to_string());
        let mut seen = std::collections::BTreeSet::new();
        for (_, n) in executed(&dir) {
            seen.insert(n);
        }
        assert_eq!(seen.len(), 24, "every element executed: {seen:?}");
        assert_eq!(stream_entries(&redis), Vec::<String>::new());
    }
    stop(w);
}

/// A Redis that asks clients for certificates (`tls-auth-clients yes`): worker, coordinator
/// and `hivec dlq` show theirs with `--redis-cert` and `--redis-key`; without one, or with
/// one the server does not trust, the error names the flag, at once.
#[test]
fn client_certificates_are_shown_to_a_redis_that_asks_for_them() {
    let _serial = serial();
    let redis = Redis::start_mtls(&[]);
    let ca = redis.ca.clone().expect("TLS").display().to_string();
    let (cert, key) = redis.client.clone().expect("client certificate");
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let dir = project("mtls", 0.0, "1s");
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let tls = [
        "--redis-ca",
        &ca,
        "--redis-cert",
        &cert,
        "--redis-key",
        &key,
    ];
    let w = hivec(&dir)
        .args(["worker", "main.hive", "--redis", &url])
        .args(tls)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec worker");
    await_workers(&redis, 1);
    let run = |extra: &[&str]| {
        hivec(&dir)
            .args(["run", "main.hive", "--redis", &url, "--input", "count=6"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run")
    };
    let out = finish(run(&tls), Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout).trim(), "55");
    let listed = hivec(&dir)
        .args(["dlq", "--redis", &url])
        .args(tls)
        .arg("list")
        .output()
        .expect("hivec dlq");
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));

    // No certificate: the flag to give is named, and nothing is retried for the timeout.
    let started = Instant::now();
    let out = finish(
        run(&["--redis-ca", &ca, "--redis-timeout", "20s"]),
        Duration::from_secs(60),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--redis-cert FILE --redis-key FILE"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "retried: {stderr}"
    );

    // A certificate the server does not trust.
    let base = std::path::Path::new(&ca).parent().expect("dir");
    let stranger = base.join("stranger.crt").display().to_string();
    let stranger_key = base.join("stranger.key").display().to_string();
    let out = finish(
        run(&[
            "--redis-ca",
            &ca,
            "--redis-cert",
            &stranger,
            "--redis-key",
            &stranger_key,
            "--redis-timeout",
            "20s",
        ]),
        Duration::from_secs(60),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "refused the client certificate of --redis-cert {stranger}"
        )),
        "{stderr}"
    );

    // A certificate without its key, and a key that is not one.
    let out = finish(
        run(&["--redis-ca", &ca, "--redis-cert", &cert]),
        Duration::from_secs(30),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("give it with --redis-key FILE"), "{stderr}");
    let out = finish(
        run(&[
            "--redis-ca",
            &ca,
            "--redis-cert",
            &cert,
            "--redis-key",
            &cert,
        ]),
        Duration::from_secs(30),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--redis-key {cert}: not a PEM private key")),
        "{stderr}"
    );
    stop(w);
}
