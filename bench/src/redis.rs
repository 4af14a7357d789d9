//! `hive-bench redis`: the whole `hivec run` process as coordinator of a distributed run, with
//! two `hivec worker` processes hosting the echo agent (concurrency 64), through a
//! `redis-server` started for the measurement; next to the same file run in one process.
//! With `--state`, the echo agent's tasks write one shared state cell instead, and every run's
//! final state is checked to hold every write.

use super::{Sample, measure};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a free port, stopped when dropped.
pub struct Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
}

impl Server {
    /// Starts one, without persistence.
    pub fn start() -> Result<Server, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start redis-server (apt-get install redis-server): {e}")
            })?;
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Server { port, child })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Workers stopped (SIGTERM, then waited for) when dropped.
pub struct Workers(pub Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &w.id().to_string()])
                .status();
            let _ = w.wait();
        }
    }
}

/// Measures `tasks` echo tasks (with `state`: state writes) over Redis `runs` times, and
/// once more in one process each run.
pub fn run(hivec: &Path, tasks: usize, state: bool, runs: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("hive-bench-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let agent = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("hive-echo-agent");
    let file = dir.join("echo.hive");
    let source = if state {
        // Two instances on each worker, so that both workers' writes meet in the one cell.
        format!(
            r#"state hits: int = 0 {{ merge: sum }}
capability bump(puts: int) -> int writes [hits]
agent writer {{ provides: [bump], exec: "{}", replicas: 2 }}
workflow main() -> int {{
  step xs = for i in range(0, 10) {{ bump(puts: {}) }}
  output state.hits
}}
"#,
            agent.display(),
            tasks / 10
        )
    } else {
        format!(
            r#"capability echo(value: int) -> int
agent echoer {{ provides: [echo], exec: "{}", concurrency: 64 }}
workflow main(n: int) -> int {{
  step xs = for i in range(0, n) {{ echo(value: i) }}
  output len(xs)
}}
"#,
            agent.display()
        )
    };
    let tasks = if state { tasks / 10 * 10 } else { tasks };
    std::fs::write(&file, source).map_err(|e| e.to_string())?;
    let server = Server::start()?;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let workers = Workers(
        (0..2)
            .map(|_| {
                Command::new(hivec)
                    .args(["worker", &file.display().to_string(), "--redis", &url])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("cannot start hivec worker: {e}"))
            })
            .collect::<Result<_, _>>()?,
    );
    await_workers(server.port, 2)?;
    println!("hivec: {}", hivec.display());
    let what = if state {
        println!(
            "{tasks} state writes (10 tasks of {} puts, one merge: sum cell), two workers with two instances each, redis-server on loopback",
            tasks / 10
        );
        "writes"
    } else {
        println!("{tasks} echo tasks, two workers (concurrency 64 each), redis-server on loopback");
        "tasks"
    };
    let input = format!("n={tasks}");
    let written = dir.join("state.json");
    let mut remote = Vec::new();
    let mut local = Vec::new();
    for _ in 0..runs {
        for (samples, redis) in [(&mut remote, Some(&url)), (&mut local, None)] {
            let mut cmd = Command::new(hivec);
            cmd.arg("run").arg(&file);
            if !state {
                cmd.args(["--input", &input]);
            }
            if let Some(url) = redis {
                cmd.args(["--redis", url]);
            }
            if state {
                cmd.arg("--state-out").arg(&written);
            }
            samples.push(measure(&mut cmd)?);
            if state {
                check_hits(&written, tasks)?;
            }
        }
    }
    print_line("through Redis", what, tasks, &remote);
    print_line("in one process", what, tasks, &local);
    drop(workers);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Waits until `n` workers are registered with the Redis on `port`.
pub fn await_workers(port: u16, n: usize) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "SCARD", "hive:default:workers"])
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        if String::from_utf8_lossy(&out.stdout).trim() == n.to_string() {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err("the workers did not register".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The run's final state holds every write: `hits` is `writes`.
fn check_hits(path: &Path, writes: usize) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let state: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if state["hits"].as_u64() != Some(writes as u64) {
        return Err(format!(
            "the state cell took {} writes of {writes}",
            state["hits"]
        ));
    }
    Ok(())
}

fn print_line(what: &str, unit: &str, tasks: usize, samples: &[Sample]) {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    let median = walls[walls.len() / 2];
    let peak = samples.iter().map(|s| s.peak_rss_kb).max().unwrap_or(0);
    let cpu = samples.iter().map(|s| s.cpu.as_secs_f64()).sum::<f64>() / samples.len() as f64;
    println!(
        "  {what}: median {:.3} s over {} runs, {:.0} {unit}/s (whole coordinator process), peak {:.1} MB, coordinator CPU {:.2} s",
        median.as_secs_f64(),
        samples.len(),
        tasks as f64 / median.as_secs_f64(),
        peak as f64 / 1024.0,
        cpu
    );
}
