//! Distributed mode with real components: a `redis-server` of its own per test on a free
//! port of 127.0.0.1, real `hivec worker` and `hivec run --redis` processes, real exec agents,
//! and faults injected with signals (SIGKILL, SIGSTOP, a killed redis-server).

#[path = "common/redis.rs"]
mod redis;

#[path = "common/cluster.rs"]
mod cluster;

use cluster::*;
use redis::Redis;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn two_workers_share_a_run_and_leave_no_entries_behind() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("share", 0.0, "1s");
    let workers = [worker(&dir, &redis, &[]), worker(&dir, &redis, &[])];
    await_workers(&redis, 2);
    let out = finish(
        coordinator(&dir, &redis, 2000, &[]),
        Duration::from_secs(60),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.starts_with("run id: "), "{stderr}");
    assert_eq!(text(&out.stdout).trim(), sum_of_squares(2000).to_string());
    let runs = executed(&dir);
    assert_eq!(runs.len(), 2000, "each element once");
    let pids: std::collections::BTreeSet<u32> = runs.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        pids.len(),
        4,
        "both workers' two instances took tasks: {pids:?}"
    );
    assert_eq!(stream_entries(&redis), Vec::<String>::new());
    assert_eq!(redis.cli(&["HLEN", "hive:default:runs"]), "0");
    // The journal stays for --keep (7 days by default), to be read or resumed.
    let id = stderr
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("run id: "));
    let journal = format!("hive:default:run:{}:journal", id.unwrap_or_default());
    let ttl: u64 = redis.cli(&["TTL", &journal]).parse().unwrap_or(0);
    assert!(
        (7 * 86_400 - 60..=7 * 86_400).contains(&ttl),
        "{journal} ttl {ttl}"
    );
    for w in workers {
        stop(w);
    }
}

#[test]
fn a_killed_worker_loses_nothing_and_only_its_tasks_run_again() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("kill", 0.1, "300ms");
    let doomed = worker(&dir, &redis, &[]);
    let survivor = worker(&dir, &redis, &[]);
    await_workers(&redis, 2);
    let run = coordinator(&dir, &redis, 120, &[]);
    // Killed once the run is under way, with tasks in the doomed worker's hands.
    let start = Instant::now();
    while executed(&dir).len() < 12 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&doomed, "-KILL");
    let out = finish(run, Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout).trim(), sum_of_squares(120).to_string());
    assert!(stderr.contains("deliveries reclaimed"), "{stderr}");
    let runs = executed(&dir);
    let mut seen = std::collections::BTreeMap::new();
    for (_, n) in &runs {
        *seen.entry(*n).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 120, "every element executed");
    // Only what the dead worker held runs twice: at most its four slots.
    let again = seen.values().filter(|&&c| c > 1).count();
    assert!(again <= 4, "{again} elements ran twice");
    stop(doomed);
    stop(survivor);
}

/// A coordinator killed mid-run is continued by another process from the run's journal in
/// Redis: the output is exact and every element ran exactly once — finished ones are not
/// run again, and those in flight at the kill are taken over, not sent again.
#[test]
fn a_killed_coordinator_is_resumed_from_redis_and_runs_nothing_twice() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("resume", 0.4, "1s");
    let w = worker(&dir, &redis, &[]);
    await_workers(&redis, 1);
    let run = coordinator(&dir, &redis, 16, &[]);
    let start = Instant::now();
    while executed(&dir).len() < 5 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = stop(run);
    let id = killed
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("run id: "))
        .unwrap_or_else(|| panic!("no run id: {killed}"))
        .to_string();
    let before = executed(&dir).len();
    assert!(before < 16, "the run was over before the kill");
    let resumed = finish(
        hivec(&dir)
            .args(["run", "main.hive", "--resume", &id, "--redis", &redis.url()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run --resume"),
        Duration::from_secs(60),
    );
    let stderr = text(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert_eq!(text(&resumed.stdout).trim(), sum_of_squares(16).to_string());
    assert!(stderr.contains(&format!("run id: {id}")), "{stderr}");
    assert!(
        stderr.contains("of the killed coordinator taken over"),
        "{stderr}"
    );
    let mut seen = std::collections::BTreeMap::new();
    for (_, n) in executed(&dir) {
        *seen.entry(n).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 16, "every element executed: {seen:?}");
    assert!(seen.values().all(|&c| c == 1), "ran twice: {seen:?}");
    // Of the run, only its journal is left, until --keep.
    let keys = redis.cli(&["KEYS", &format!("hive:default:run:{id}:*")]);
    assert_eq!(keys, format!("hive:default:run:{id}:journal"));
    stop(w);

    let unknown = finish(
        hivec(&dir)
            .args([
                "run",
                "main.hive",
                "--resume",
                "no-such-run",
                "--redis",
                &redis.url(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run --resume"),
        Duration::from_secs(30),
    );
    let stderr = text(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("has no journal of run `no-such-run`"),
        "{stderr}"
    );
}

#[test]
fn a_paused_worker_past_its_lease_has_its_tasks_placed_again() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    // Tasks of 1 s are within the agent's three heartbeats of silence (1.5 s); the pause of
    // 3 s is past the worker's lease (also three heartbeats).
    let dir = project("pause", 1.0, "500ms");
    let paused = worker(&dir, &redis, &["--id", "paused"]);
    let other = worker(&dir, &redis, &[]);
    await_workers(&redis, 2);
    let run = coordinator(&dir, &redis, 8, &[]);
    // Paused once it holds deliveries.
    let start = Instant::now();
    loop {
        let held = redis
            .cli(&["--scan", "--pattern", "hive:default:run:*:tasks:squarer:*"])
            .lines()
            .any(|k| {
                !redis
                    .cli(&["XPENDING", k, "workers", "-", "+", "10", "paused"])
                    .is_empty()
            });
        if held {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the worker took no task"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&paused, "-STOP");
    std::thread::sleep(Duration::from_millis(3000));
    signal(&paused, "-CONT");
    let out = finish(run, Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout).trim(), sum_of_squares(8).to_string());
    assert!(stderr.contains("deliveries reclaimed"), "{stderr}");
    stop(paused);
    stop(other);
}

#[test]
fn sigterm_drains_a_worker_and_it_exits_zero() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("drain", 0.3, "1s");
    let w = worker(&dir, &redis, &[]);
    await_workers(&redis, 1);
    let run = coordinator(&dir, &redis, 4, &[]);
    std::thread::sleep(Duration::from_millis(700));
    signal(&w, "-TERM");
    let drained = finish(w, Duration::from_secs(20));
    assert!(drained.status.success(), "{}", text(&drained.stderr));
    assert_eq!(redis.cli(&["SCARD", "hive:default:workers"]), "0");
    // The run goes on with another worker.
    let w2 = worker(&dir, &redis, &[]);
    let out = finish(run, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), sum_of_squares(4).to_string());
    stop(w2);
}

#[test]
fn a_live_worker_id_cannot_be_taken() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("id", 0.0, "1s");
    let first = worker(&dir, &redis, &["--id", "gpu-1"]);
    await_workers(&redis, 1);
    let second = finish(
        worker(&dir, &redis, &["--id", "gpu-1"]),
        Duration::from_secs(20),
    );
    assert_eq!(second.status.code(), Some(1));
    assert!(
        text(&second.stderr).contains("a live worker already has id `gpu-1`"),
        "{}",
        text(&second.stderr)
    );
    stop(first);
}

#[test]
fn a_worker_with_other_sources_takes_no_task() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("hash", 0.0, "1s");
    let other = project("hash-other", 0.0, "1s");
    let changed = std::fs::read_to_string(other.join("main.hive")).unwrap() + "\n// changed\n";
    std::fs::write(other.join("main.hive"), changed).unwrap();
    let stranger = worker(&other, &redis, &[]);
    await_workers(&redis, 1);
    let run = coordinator(&dir, &redis, 3, &[]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(executed(&other).is_empty(), "the stranger ran a task");
    let good = worker(&dir, &redis, &[]);
    let out = finish(run, Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("runs other sources"), "{stderr}");
    assert_eq!(text(&out.stdout).trim(), sum_of_squares(3).to_string());
    stop(good);
    stop(stranger);
}

#[test]
fn a_wrong_password_is_a_clear_error_without_the_password() {
    let _serial = serial();
    let redis = Redis::start(&["--requirepass", "right-horse-battery"]);
    let dir = project("auth", 0.0, "1s");
    let url = format!("redis://:wrong-staple-42@127.0.0.1:{}", redis.port);
    let out = finish(
        hivec(&dir)
            .args(["run", "main.hive", "--redis", &url, "--input", "count=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run"),
        Duration::from_secs(30),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(stderr.contains(":***@127.0.0.1"), "{stderr}");
    assert!(!stderr.contains("wrong-staple-42"), "{stderr}");
}

/// A run over TLS with a password: worker and coordinator trust the server through
/// `--redis-ca`, and the password shows nowhere. Without the authority the certificate is
/// refused at once, not retried for the timeout.
#[test]
fn a_run_over_tls_trusts_the_given_authority_and_shows_no_password() {
    let _serial = serial();
    let redis = Redis::start_tls(&["--requirepass", "tls-horse-77"]);
    let ca = redis
        .ca
        .clone()
        .expect("a TLS server")
        .display()
        .to_string();
    let dir = project("tls", 0.0, "1s");
    let url = format!("rediss://:tls-horse-77@127.0.0.1:{}", redis.port);
    let w = hivec(&dir)
        .args(["worker", "main.hive", "--redis", &url, "--redis-ca", &ca])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec worker");
    let start = Instant::now();
    while redis.cli(&[
        "--no-auth-warning",
        "-a",
        "tls-horse-77",
        "SCARD",
        "hive:default:workers",
    ]) != "1"
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the worker did not register"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = |extra: &[&str]| {
        hivec(&dir)
            .args(["run", "main.hive", "--redis", &url, "--input", "count=6"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hivec run")
    };
    let out = finish(run(&["--redis-ca", &ca]), Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout).trim(), "55");
    assert!(!stderr.contains("tls-horse-77"), "{stderr}");

    let started = Instant::now();
    let out = finish(run(&["--redis-timeout", "20s"]), Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("its certificate is not trusted"),
        "{stderr}"
    );
    assert!(stderr.contains("--redis-ca"), "{stderr}");
    assert!(stderr.contains(":***@127.0.0.1"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "retried: {stderr}"
    );
    let worker_log = stop(w);
    assert!(!worker_log.contains("tls-horse-77"), "{worker_log}");
}

#[test]
fn redis_killed_mid_run_is_a_clear_error_within_the_timeout() {
    let _serial = serial();
    let mut redis = Redis::start(&[]);
    let dir = project("dead", 0.5, "1s");
    let w = worker(&dir, &redis, &[]);
    await_workers(&redis, 1);
    let run = coordinator(&dir, &redis, 40, &["--redis-timeout", "2s"]);
    std::thread::sleep(Duration::from_millis(800));
    kill_redis_and_expect_the_run_to_end(&mut redis, run);
    stop(w);
}

/// Kills `redis` under coordinator `run` (started with `--redis-timeout 2s`): the run fails
/// saying Redis was unreachable, well within the test's limits.
fn kill_redis_and_expect_the_run_to_end(redis: &mut Redis, run: std::process::Child) {
    let _ = redis.child.kill();
    let _ = redis.child.wait();
    let killed = Instant::now();
    let out = finish(run, Duration::from_secs(30));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("Redis at {} was unreachable for 2s", redis.url())),
        "{stderr}"
    );
    assert!(
        killed.elapsed() < Duration::from_secs(15),
        "{:?}",
        killed.elapsed()
    );
}

/// Tasks queued for a worker that never comes: Redis dying fails them too, within the
/// timeout, rather than leaving them waiting for ever.
#[test]
fn redis_killed_while_tasks_wait_for_a_worker_ends_the_run_within_the_timeout() {
    let _serial = serial();
    let mut redis = Redis::start(&[]);
    let dir = project("dead-queued", 0.0, "1s");
    let run = coordinator(&dir, &redis, 3, &["--redis-timeout", "2s"]);
    // Announced: the run is registered in Redis, its tasks waiting for a worker.
    let start = Instant::now();
    while redis.cli(&["HLEN", "hive:default:runs"]) != "1" {
        assert!(start.elapsed() < Duration::from_secs(20), "never announced");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_redis_and_expect_the_run_to_end(&mut redis, run);
}

#[test]
fn a_poison_task_is_dead_lettered_and_the_run_fails_naming_it() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("poison", 0.0, "1s");
    poison(&dir);
    let workers = [worker(&dir, &redis, &[]), worker(&dir, &redis, &[])];
    await_workers(&redis, 2);
    let out = finish(coordinator(&dir, &redis, 20, &[]), Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("step `main.xs` failed"), "{stderr}");
    assert!(stderr.contains("dead-lettered as "), "{stderr}");
    assert!(
        stderr.contains("after 2 deliveries without an answer"),
        "{stderr}"
    );
    let id = stderr
        .split("dead-lettered as ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("an id")
        .to_string();
    let dlq = |args: &[&str]| {
        let out = hivec(&dir)
            .args(["dlq", "--redis", &redis.url()])
            .args(args)
            .output()
            .expect("hivec dlq");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, listed, _) = dlq(&["list"]);
    assert_eq!(code, Some(0));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with(&id) && listed.contains("squarer  square  2 deliveries"),
        "{listed}"
    );
    let (code, shown, _) = dlq(&["show", &id]);
    assert_eq!(code, Some(0));
    let shown: serde_json::Value = serde_json::from_str(&shown).expect("JSON");
    assert_eq!(shown["input"], serde_json::json!({"n": 13}));
    assert_eq!(shown["agent"], "squarer");
    let (code, _, err) = dlq(&["show", "1-1"]);
    assert_eq!(code, Some(1), "{err}");

    // A dead letter stays dead when its run is resumed, until it is requeued.
    let run = stderr
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("run id: "))
        .expect("a run id")
        .to_string();
    let resume = || {
        finish(
            hivec(&dir)
                .args([
                    "run",
                    "main.hive",
                    "--resume",
                    &run,
                    "--redis",
                    &redis.url(),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("hivec run --resume"),
            Duration::from_secs(60),
        )
    };
    let again = resume();
    let err = text(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("still dead-lettered as {id}")),
        "{err}"
    );
    std::fs::remove_file(dir.join("poison")).expect("cure");
    let (code, _, requeued) = dlq(&["requeue", &id]);
    assert_eq!(code, Some(0), "{requeued}");
    assert!(requeued.contains(&format!("--resume {run}")), "{requeued}");
    assert_eq!(dlq(&["list"]).1, "");
    let healed = resume();
    let err = text(&healed.stderr);
    assert_eq!(healed.status.code(), Some(0), "{err}");
    assert_eq!(text(&healed.stdout).trim(), sum_of_squares(20).to_string());
    let (code, _, err) = dlq(&["requeue", &id]);
    assert_eq!(code, Some(1), "{err}");

    // Purge: a letter written as the coordinator writes them.
    redis.cli(&[
        "XADD",
        "hive:default:dlq",
        "*",
        "run",
        "r",
        "agent",
        "squarer",
    ]);
    let (code, _, purged) = dlq(&["purge"]);
    assert_eq!(code, Some(0));
    assert!(purged.contains("purged 1 dead letters"), "{purged}");
    assert_eq!(dlq(&["list"]).1, "");
    for w in workers {
        stop(w);
    }
}

#[test]
fn a_killed_coordinators_run_is_gone_from_redis_after_keep() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("keep", 0.5, "1s");
    let w = worker(&dir, &redis, &[]);
    await_workers(&redis, 1);
    let mut run = coordinator(&dir, &redis, 40, &["--keep", "2s"]);
    let start = Instant::now();
    while executed(&dir).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "no task ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let keys = redis.cli(&["--scan", "--pattern", "hive:default:run:*"]);
    assert!(!keys.is_empty(), "the run has streams");
    signal(&run, "-KILL");
    let _ = run.wait();
    assert_eq!(redis.cli(&["HLEN", "hive:default:runs"]), "1");
    // Past `keep`, Redis has deleted the streams and the worker has dropped the run.
    let start = Instant::now();
    while !redis
        .cli(&["--scan", "--pattern", "hive:default:run:*"])
        .is_empty()
        || redis.cli(&["HLEN", "hive:default:runs"]) != "0"
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "left behind: {} and {} runs",
            redis.cli(&["--scan", "--pattern", "hive:default:run:*"]),
            redis.cli(&["HLEN", "hive:default:runs"])
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "deleted before keep passed"
    );
    stop(w);
}

/// Deliveries written straight into a run's streams, as a coordinator writes them: a worker
/// reads the most urgent level first, and a delivery as one level higher for every 30 s it
/// has waited, ahead of that level's own.
#[test]
fn a_worker_reads_the_most_urgent_deliveries_first_and_ages_the_rest() {
    let _serial = serial();
    let redis = Redis::start(&[]);
    let dir = project("levels", 0.05, "1s");
    let source = std::fs::read_to_string(dir.join("main.hive")).expect("source");
    let source = source
        .replace("replicas: 2", "replicas: 1")
        .replace("concurrency: 2", "concurrency: 1");
    std::fs::write(dir.join("main.hive"), source).expect("source");
    let plan = hivec(&dir)
        .args(["plan", "main.hive", "--format", "json"])
        .output()
        .expect("hivec plan");
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("plan");
    let hash = plan["source_hash"].as_str().expect("hash").to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let run = serde_json::json!({
        "hash": hash, "agents": ["squarer"], "seen_ms": now, "keep_ms": 600_000
    });
    redis.cli(&["HSET", "hive:default:runs", "r1", &run.to_string()]);
    redis.cli(&[
        "XGROUP",
        "CREATE",
        "hive:default:run:r1:results",
        "c",
        "$",
        "MKSTREAM",
    ]);
    let stream = |level: u8| format!("hive:default:run:r1:tasks:squarer:{level}");
    for level in 0..=4 {
        redis.cli(&[
            "XGROUP",
            "CREATE",
            &stream(level),
            "workers",
            "0",
            "MKSTREAM",
        ]);
    }
    let deliver = |level: u8, id: &str, n: u64| {
        let input = format!("{{\"n\": {n}}}");
        let token = n.to_string();
        redis.cli(&[
            "XADD",
            &stream(level),
            id,
            "token",
            &token,
            "capability",
            "square",
            "attempt",
            "1",
            "input",
            &input,
        ]);
    };
    // `low` (0), written 100 s ago; `high` (2), 40 s ago; `urgent` (3) and `critical` (4), now.
    deliver(0, &format!("{}-0", now - 100_000), 1);
    deliver(2, &format!("{}-0", now - 40_000), 5);
    deliver(3, "*", 10);
    deliver(3, "*", 11);
    deliver(4, "*", 20);
    let w = worker(&dir, &redis, &[]);
    let start = Instant::now();
    while executed(&dir).len() < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            executed(&dir)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let order: Vec<u64> = executed(&dir).iter().map(|(_, n)| *n).collect();
    assert_eq!(order, [20, 1, 5, 10, 11]);
    assert_eq!(redis.cli(&["XLEN", "hive:default:run:r1:results"]), "5");
    stop(w);
}
