//! `hive-bench serve`: runs submitted to a `hivec serve` process over HTTP as fast as a
//! client with `connections` keep-alive connections can: runs per second, the latency of each
//! submit (median, p99), the time until the server has finished them all, and its peak
//! memory (read from `wait4` once it has stopped).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SOURCE: &str = r#"
workflow echo(n: int) -> int {
  step e = std.echo(value: n)
  output e
}
"#;

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(port: u16) -> Result<Connection, String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Connection {
            reader: BufReader::new(stream),
        })
    }

    /// Sends a request and reads its response: the status and the body.
    fn call(&mut self, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let stream = self.reader.get_mut();
        stream
            .write_all(head.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP response: {line:?}"))?;
        let mut length = 0;
        loop {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().map_err(|_| "bad content-length")?;
            }
        }
        let mut body = vec![0; length];
        self.reader
            .read_exact(&mut body)
            .map_err(|e| e.to_string())?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// Submits `runs` runs of `echo` over `connections` connections to a server it starts from
/// `hivec`, waits until every run has finished, and reports.
pub fn run(hivec: &Path, runs: usize, connections: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("hive-bench-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("echo.hive"), SOURCE).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(hivec)
        .args(["serve", "echo.hive", "--listen", &listen, "--data", "data"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start hivec serve: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let measured = measure(port, runs, connections);
    // Stopped by SIGTERM, then reaped for its peak memory.
    // SAFETY: `pid` is our own child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped; both pointers are valid for writes.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let _ = std::fs::remove_dir_all(&dir);
    let (submitted, all_done, mut latencies) = measured?;
    if reaped != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    latencies.sort();
    let at = |q: usize| latencies[(latencies.len() * q).div_ceil(100).saturating_sub(1)];
    println!("serve: {runs} runs of a one-step std.echo workflow over {connections} connections");
    println!(
        "  submitted in {:.2} s: {:.0} runs/s; submit latency median {:.2} ms, p99 {:.2} ms",
        submitted.as_secs_f64(),
        runs as f64 / submitted.as_secs_f64(),
        at(50).as_secs_f64() * 1e3,
        at(99).as_secs_f64() * 1e3
    );
    println!(
        "  all finished {:.2} s after the first submit; server peak memory {:.1} MB",
        all_done.as_secs_f64(),
        usage.ru_maxrss as f64 / 1024.0
    );
    Ok(())
}

/// The time to submit them all, the time until all had finished, and each submit's latency.
fn measure(
    port: u16,
    runs: usize,
    connections: usize,
) -> Result<(Duration, Duration, Vec<Duration>), String> {
    let started = Instant::now();
    while Connection::open(port)
        .and_then(|mut c| c.call("GET", "/healthz", ""))
        .is_err()
    {
        if started.elapsed() > Duration::from_secs(30) {
            return Err("hivec serve did not answer /healthz".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut conns = (0..connections)
        .map(|_| Connection::open(port))
        .collect::<Result<Vec<_>, _>>()?;
    let first = Instant::now();
    let per = runs.div_ceil(connections.max(1));
    let results: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = conns
            .iter_mut()
            .enumerate()
            .map(|(c, conn)| {
                s.spawn(move || {
                    let mut latencies = Vec::new();
                    for n in (c * per)..((c + 1) * per).min(runs) {
                        let body =
                            format!("{{\"workflow\": \"echo\", \"inputs\": {{\"n\": {n}}}}}");
                        let sent = Instant::now();
                        let (status, answer) = conn.call("POST", "/v1/runs", &body)?;
                        latencies.push(sent.elapsed());
                        if status != 201 {
                            return Err(format!("submit answered {status}: {answer}"));
                        }
                    }
                    Ok(latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a client panicked".into())))
            .collect()
    });
    let submitted = first.elapsed();
    let mut latencies = Vec::new();
    for r in results {
        latencies.extend(r?);
    }
    let conn = &mut conns[0];
    loop {
        let (_, page) = conn.call("GET", "/v1/runs?status=running&limit=1", "")?;
        if page.contains("\"runs\":[]") {
            break;
        }
        if first.elapsed() > Duration::from_secs(300) {
            return Err("the runs did not finish in 5 minutes".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let all_done = first.elapsed();
    let (_, page) = conn.call("GET", "/v1/runs?status=succeeded&limit=1000", "")?;
    let succeeded = page.matches("\"status\":\"succeeded\"").count();
    if succeeded != runs.min(1000) {
        return Err(format!("{succeeded} of {runs} runs succeeded"));
    }
    Ok((submitted, all_done, latencies))
}
