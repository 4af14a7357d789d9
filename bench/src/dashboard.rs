//! `hive-bench dashboard`: how long the dashboard's run page takes to render a finished run of
//! many steps in headless Chromium: from the start of navigation until every step is drawn in
//! its final state (the page's `data-ready` mark, set the frame after the run's last event
//! was drawn). The run is `--steps` `std.echo` steps in layers of 100 on a real `hivec serve`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `hivec serve` process, killed when dropped.
struct Serve {
    child: Child,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `steps` echo steps in layers of 100, each taking the value of the step above it.
fn source(steps: usize) -> String {
    let mut out = String::from("workflow wide() -> json {\n");
    for i in 0..steps {
        if i < 100 {
            out.push_str(&format!("  step s{i} = std.echo(value: {i})\n"));
        } else {
            out.push_str(&format!("  step s{i} = std.echo(value: s{})\n", i - 100));
        }
    }
    out.push_str("  output 1\n}\n");
    out
}

fn http(port: u16, method: &str, path: &str, body: &str) -> Result<String, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    Ok(response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string()))
}

fn field(json: &str, name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.get(name)?.as_str().map(str::to_string)
}

/// Starts the server on the generated file and runs it once to its end; the run's id.
fn finished_run(hivec: &Path, dir: &Path, steps: usize) -> Result<(Serve, String), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("wide.hive"), source(steps)).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let child = Command::new(hivec)
        .args([
            "serve",
            "wide.hive",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", hivec.display()))?;
    let serve = Serve { child, port };
    let started = Instant::now();
    while http(port, "GET", "/healthz", "").is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            return Err("hivec serve did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = http(port, "POST", "/v1/runs", r#"{"workflow": "wide"}"#)?;
    let id = field(&run, "id").ok_or_else(|| format!("the run was refused: {run}"))?;
    loop {
        let run = http(port, "GET", &format!("/v1/runs/{id}"), "")?;
        match field(&run, "status").as_deref() {
            Some("running") => std::thread::sleep(Duration::from_millis(50)),
            Some("succeeded") => return Ok((serve, id)),
            _ => return Err(format!("the run did not succeed: {run}")),
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err("the run did not finish in 5 minutes".into());
        }
    }
}

/// Loads the run page `loads` times in one headless Chromium and prints each render time.
pub fn run(hivec: &Path, steps: usize, loads: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("hive-bench-dashboard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (serve, id) = finished_run(hivec, &dir, steps)?;
    let options = crate::chromium::options("/usr/bin/chromium".into(), dir.join("profile"))?;
    let browser = headless_chrome::Browser::new(options)
        .map_err(|e| format!("cannot start chromium (apt-get install chromium): {e}"))?;
    let tab = browser.new_tab().map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{}/runs/{id}", serve.port);
    let mut times = Vec::new();
    for load in 0..=loads {
        tab.navigate_to(&url)
            .and_then(|t| t.wait_until_navigated())
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let ready = loop {
            let mark = tab
                .evaluate(
                    "[document.body.dataset.ready, document.querySelectorAll('#graph .node.succeeded').length].join(' ')",
                    false,
                )
                .map_err(|e| e.to_string())?;
            let text = mark.value.and_then(|v| v.as_str().map(str::to_string));
            if let Some((ms, drawn)) = text.as_deref().and_then(|t| t.split_once(' '))
                && let (Ok(ms), Ok(drawn)) = (ms.parse::<f64>(), drawn.parse::<usize>())
            {
                if drawn != steps {
                    return Err(format!("{drawn} of {steps} steps drawn as succeeded"));
                }
                break ms;
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err("the run page never finished rendering".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // The first load also warms the browser's caches: reported, not counted.
        if load == 0 {
            println!("dashboard run page, {steps} steps: first load {ready:.0} ms");
        } else {
            times.push(ready);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "dashboard run page, {steps} steps: median {median:.0} ms, max {max:.0} ms over {loads} loads"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
