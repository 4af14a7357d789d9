//! Distributed runs with real processes: project directories with a squaring exec agent,
//! `hivec worker` and `hivec run --redis` started against a test's own `redis-server`, and
//! what they left in Redis.

#![allow(dead_code)]

use crate::redis::Redis;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The tests start many processes each; run one at a time so that their timings (leases of
/// a few hundred milliseconds) hold on a loaded two-core machine.
pub static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An agent that squares `n` after `delay` seconds and logs `pid n` to `executed.log`.
pub const SQUARER: &str = r#"import json, os, sys, time
delay = float(sys.argv[1])
log = open("executed.log", "a")
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["square"]}), flush=True)
    elif msg["type"] == "task":
        n = msg["input"]["n"]
        time.sleep(delay)
        log.write(f"{os.getpid()} {n}\n")
        log.flush()
        print(json.dumps({"type": "result", "id": msg["id"], "output": n * n}), flush=True)
    elif msg["type"] == "shutdown":
        break
"#;

/// A project directory with the squaring workflow, its agent taking `delay` seconds a task.
pub fn project(tag: &str, delay: f64, heartbeat: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-distributed-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("square.py"), SQUARER).expect("agent");
    let source = format!(
        r#"capability square(n: int) -> int
agent squarer {{
  provides: [square]
  exec: "python3 square.py {delay}"
  replicas: 2
  concurrency: 2
  heartbeat: {heartbeat}
}}
workflow main(count: int) -> int {{
  step xs = for i in range(0, count) {{ square(n: i) }}
  output sum(xs)
}}
"#
    );
    std::fs::write(dir.join("main.hive"), source).expect("source");
    dir
}

/// A child process killed and reaped when dropped, so that a test leaves none behind on
/// any exit path.
pub struct Reaped(Option<Child>);

impl Reaped {
    pub fn new(child: Child) -> Reaped {
        Reaped(Some(child))
    }

    /// The process, which the caller now waits for (see [`finish`]).
    pub fn take(&mut self) -> Child {
        self.0.take().expect("a process")
    }

    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("a process")
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A process a test stopped with SIGSTOP: continued and killed when dropped, unless the
/// test continued it itself.
pub struct Stopped(pub Option<u32>);

impl Stopped {
    pub fn stop(pid: u32) -> Stopped {
        kill_pid(pid, "-STOP");
        Stopped(Some(pid))
    }

    pub fn resume(&mut self) {
        if let Some(pid) = self.0.take() {
            kill_pid(pid, "-CONT");
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            kill_pid(pid, "-CONT");
            kill_pid(pid, "-KILL");
        }
    }
}

/// Sends `sig` to process `pid`; whether it was delivered.
pub fn kill_pid(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// The run id a coordinator printed first on stderr; waits for it.
pub fn run_id(child: &mut Child) -> String {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr piped");
    let mut first = String::new();
    let mut reader = std::io::BufReader::new(stderr);
    reader.read_line(&mut first).expect("stderr");
    // The rest is drained so that the coordinator never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    first
        .trim()
        .strip_prefix("run id: ")
        .unwrap_or_else(|| panic!("no run id: {first}"))
        .to_string()
}

/// Makes the agent of `dir` (a [`project`] with a 1 s heartbeat) die whenever it is given 13
/// while the file `poison` is there, and its tasks dead letters after two deliveries.
pub fn poison(dir: &Path) {
    let poisoned = SQUARER.replace(
        "        n = msg[\"input\"][\"n\"]\n",
        "        n = msg[\"input\"][\"n\"]\n        if n == 13 and os.path.exists(\"poison\"):\n            os._exit(3)\n",
    );
    std::fs::write(dir.join("poison"), "").expect("poison");
    std::fs::write(dir.join("square.py"), poisoned).expect("agent");
    let source = std::fs::read_to_string(dir.join("main.hive")).expect("source");
    let source = source.replace(
        "  heartbeat: 1s\n",
        "  heartbeat: 1s\n  max_deliveries: 2\n",
    );
    std::fs::write(dir.join("main.hive"), source).expect("source");
}

/// `hivec` in `dir`. The process never outlives the test that starts it: it is killed when
/// the test's thread ends, a failed assertion included, so that no coordinator or worker is
/// left running (and holding the machine) after a failed test.
pub fn hivec(dir: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hivec"));
    cmd.current_dir(dir).env("NO_COLOR", "1");
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

pub fn worker(dir: &Path, redis: &Redis, extra: &[&str]) -> Child {
    hivec(dir)
        .args(["worker", "main.hive", "--redis", &redis.url()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec worker")
}

/// Waits until `n` workers are registered.
pub fn await_workers(redis: &Redis, n: usize) {
    let start = Instant::now();
    while redis.cli(&["SCARD", "hive:default:workers"]) != n.to_string() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "workers did not register"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn coordinator(dir: &Path, redis: &Redis, count: u32, extra: &[&str]) -> Child {
    hivec(dir)
        .args(["run", "main.hive", "--redis", &redis.url()])
        .args(["--input", &format!("count={count}")])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hivec run")
}

/// Waits for `child` at most `limit`; a hang fails the test instead of blocking it.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "still running after {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    err
}

pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig}");
}

/// Elements executed, as the agents logged them: (pid, n).
pub fn executed(dir: &Path) -> Vec<(u32, u64)> {
    std::fs::read_to_string(dir.join("executed.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (pid, n) = l.split_once(' ')?;
            Some((pid.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

pub fn sum_of_squares(count: u64) -> u64 {
    (0..count).map(|n| n * n).sum()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Keys of the namespace holding task or result streams with entries.
/// Streams of runs with entries, but for journals: those are kept, expiring, by design.
pub fn stream_entries(redis: &Redis) -> Vec<String> {
    redis
        .cli(&["--scan", "--pattern", "hive:default:run:*"])
        .lines()
        .filter(|k| !k.ends_with(":journal") && redis.cli(&["XLEN", k]) != "0")
        .map(str::to_string)
        .collect()
}
