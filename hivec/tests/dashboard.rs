//! The dashboard of `hivec serve` in a real headless Chromium: the runs page, a run whose
//! steps are seen changing state live while it runs, a run cancelled with its button, the
//! agents page; with a token given once in a link. Screenshots go to
//! `target/tmp/dashboard/`.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/server.rs"]
mod server;

use browser::{click, eval, launch, open, screenshot, wait_for};
use serde_json::json;
use server::{finished, request, serve, submit};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SOURCE: &str = r#"
capability slow_echo(text: string, ms: int) -> string
agent slow { provides: [slow_echo], exec: "python3 slow.py", concurrency: 4 }

workflow watch(ms: int) -> string {
  step fetch = slow_echo(text: "page", ms: ms)
  step summarise = slow_echo(text: "sum of ${fetch}", ms: ms)
  step tag = slow_echo(text: "tags of ${fetch}", ms: ms)
  step publish = slow_echo(text: "${summarise} / ${tag}", ms: ms)
  output publish
}

workflow stall() -> string {
  step wait = slow_echo(text: "never", ms: 600000)
  output wait
}
"#;

const TOKEN: &str = "dash-token-1234";
const STEPS: [&str; 4] = ["fetch", "summarise", "tag", "publish"];

/// Each step's states in the order the page showed them, repeats left out.
type Seen = BTreeMap<String, Vec<String>>;

fn look(tab: &headless_chrome::Tab, seen: &mut Seen) {
    let nodes = eval(
        tab,
        "[...document.querySelectorAll('#graph .node')].map(n => [n.dataset.step, n.dataset.state])",
    );
    for node in nodes.as_array().into_iter().flatten() {
        let (step, state) = (
            node[0].as_str().unwrap_or(""),
            node[1].as_str().unwrap_or(""),
        );
        let states = seen.entry(step.to_string()).or_default();
        if states.last().map(String::as_str) != Some(state) {
            states.push(state.to_string());
        }
    }
}

#[test]
fn the_dashboard_shows_runs_live_and_cancels_one() {
    let dir = std::env::temp_dir().join(format!("hive-dashboard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let Some(browser) = launch(&dir) else {
        return;
    };
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::write(dir.join("main.hive"), format!("{SOURCE}{}", wide(1_000))).expect("write");
    std::fs::write(dir.join("slow.py"), server::SLOW_ECHO).expect("write");
    std::fs::write(dir.join("tokens"), format!("browser {TOKEN}\n")).expect("write");
    let server = serve(&dir, &["--tokens", "tokens"]);
    let token = Some(TOKEN);
    let base = format!("http://127.0.0.1:{}", server.port);
    let stalled = submit(&server, &json!({"workflow": "stall"}), token);

    let tab = browser.new_tab().expect("tab");
    tab.set_default_timeout(Duration::from_secs(30));
    // Without a token the page asks for one.
    open(&tab, &format!("{base}/"));
    wait_for(
        &tab,
        "!document.getElementById('login').hidden",
        Duration::from_secs(10),
    );
    screenshot(&tab, &shots, "login.png");

    // Given once in a link, the token is kept for the tab and taken out of the address.
    open(&tab, &format!("{base}/?token={TOKEN}"));
    wait_for(
        &tab,
        &format!("!!document.querySelector(\"#runs tr[data-run='{stalled}']\")"),
        Duration::from_secs(10),
    );
    assert_eq!(eval(&tab, "location.search"), json!(""));
    // A run submitted now appears in the list without reloading it.
    let watched = submit(
        &server,
        &json!({"workflow": "watch", "inputs": {"ms": 2500}}),
        token,
    );
    wait_for(
        &tab,
        &format!(
            "!!document.querySelector(\"#runs tr[data-run='{watched}'] [data-status=running]\")"
        ),
        Duration::from_secs(10),
    );
    screenshot(&tab, &shots, "runs.png");

    // Open the run from the list and watch it.
    click(&tab, &format!("#runs tr[data-run='{watched}'] a"));
    tab.wait_until_navigated().expect("run page");
    wait_for(
        &tab,
        "document.querySelectorAll('#graph .node').length === 4",
        Duration::from_secs(10),
    );
    eval(&tab, "window.sameDocument = true");
    let mut seen = Seen::new();
    let started = Instant::now();
    let mut shot_running = false;
    loop {
        look(&tab, &mut seen);
        let status = eval(
            &tab,
            "document.querySelector('#run-status [data-status]')?.dataset.status",
        );
        if !shot_running
            && seen
                .values()
                .any(|s| s.last().is_some_and(|l| l == "running"))
        {
            screenshot(&tab, &shots, "run-running.png");
            shot_running = true;
        }
        if status == "succeeded" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never showed as succeeded: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    look(&tab, &mut seen);
    assert_eq!(
        eval(&tab, "window.sameDocument"),
        json!(true),
        "the page was not reloaded"
    );
    // The run page was opened while `fetch` ran: every later step was seen waiting, then
    // running, then succeeded; `fetch` at least running, then succeeded.
    for step in STEPS {
        let states = &seen[step];
        let expected: &[&str] = if step == "fetch" {
            &["running", "succeeded"]
        } else {
            &["waiting", "running", "succeeded"]
        };
        assert!(
            states.ends_with(&expected.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            "{step}: {states:?}"
        );
    }
    let record = finished(&server, &watched, token);
    assert_eq!(
        eval(&tab, "document.getElementById('run-output').textContent"),
        json!(serde_json::to_string_pretty(&record["output"]).expect("json"))
    );
    // The timeline has a bar per attempt, each on its instance's lane.
    wait_for(
        &tab,
        "document.querySelectorAll('#timeline .track b.ok').length === 4",
        Duration::from_secs(5),
    );
    let lanes = eval(
        &tab,
        "[...document.querySelectorAll('#timeline .who')].map(w => w.textContent).filter(w => w)",
    );
    assert!(
        lanes.as_array().is_some_and(|l| l
            .iter()
            .all(|w| w.as_str().is_some_and(|w| w.starts_with("slow#")))),
        "{lanes}"
    );
    // Bars are placed by time: `publish` ran after `fetch` had ended.
    let (fetch, publish) = (
        eval(
            &tab,
            "(b => b.offsetLeft + b.offsetWidth)(document.querySelector(\"#timeline b[data-step=fetch]\"))",
        ),
        eval(
            &tab,
            "document.querySelector(\"#timeline b[data-step=publish]\").offsetLeft",
        ),
    );
    assert!(
        fetch
            .as_f64()
            .zip(publish.as_f64())
            .is_some_and(|(f, p)| f > 0.0 && f <= p + 1.0),
        "fetch ends at {fetch}, publish starts at {publish}"
    );
    // A step's details: its input, its output, its attempt on its instance.
    click(&tab, "#graph .node[data-step='summarise']");
    wait_for(
        &tab,
        "document.getElementById('details').textContent.includes('sum of page')",
        Duration::from_secs(5),
    );
    let details = eval(&tab, "document.getElementById('details').innerText");
    let details = details.as_str().unwrap_or("");
    assert!(details.contains("\"ms\": 2500"), "{details}");
    assert!(details.contains("slow#"), "{details}");
    assert!(
        details.contains("echoing sum of page"),
        "the agent's log: {details}"
    );
    screenshot(&tab, &shots, "run-finished.png");

    // The other run, opened by its link with the token kept from before: cancelled with
    // its button.
    open(&tab, &format!("{base}/runs/{stalled}"));
    wait_for(
        &tab,
        "document.querySelector('#graph .node[data-step=wait]')?.dataset.state === 'running' && !document.getElementById('cancel').disabled",
        Duration::from_secs(10),
    );
    click(&tab, "#cancel");
    wait_for(
        &tab,
        "document.querySelector('#run-status [data-status]')?.dataset.status === 'cancelled'",
        Duration::from_secs(10),
    );
    assert_eq!(
        eval(
            &tab,
            "document.querySelector('#graph .node[data-step=wait]').dataset.state"
        ),
        json!("cancelled")
    );
    assert_eq!(finished(&server, &stalled, token)["status"], "cancelled");
    screenshot(&tab, &shots, "run-cancelled.png");
    // The list filtered by status.
    open(&tab, &format!("{base}/?status=cancelled"));
    wait_for(
        &tab,
        &format!("!!document.querySelector(\"#runs tr[data-run='{stalled}']\")"),
        Duration::from_secs(10),
    );
    assert_eq!(
        eval(&tab, "document.querySelectorAll('#runs tbody tr').length"),
        json!(1)
    );

    // Retry goes on from the run's journal: the cancelled run runs again.
    open(&tab, &format!("{base}/runs/{stalled}"));
    wait_for(
        &tab,
        "!!document.getElementById('retry') && !document.getElementById('retry').disabled",
        Duration::from_secs(10),
    );
    click(&tab, "#retry");
    let started = Instant::now();
    while request(&server, "GET", &format!("/v1/runs/{stalled}"), None, token).1["status"]
        != "running"
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the retried run never ran again"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A run of 1,000 steps fits the window: the graph pans inside its box.
    let wide_run = submit(&server, &json!({"workflow": "wide"}), token);
    finished(&server, &wide_run, token);
    open(&tab, &format!("{base}/runs/{wide_run}"));
    wait_for(
        &tab,
        "document.querySelectorAll('#graph .node.succeeded').length === 1000",
        Duration::from_secs(20),
    );
    assert_eq!(
        eval(
            &tab,
            "document.documentElement.scrollWidth <= window.innerWidth && document.getElementById('graph').getBoundingClientRect().height <= window.innerHeight"
        ),
        json!(true),
        "the page overflows"
    );
    screenshot(&tab, &shots, "run-1000-steps.png");

    // The agents page.
    open(&tab, &format!("{base}/agents"));
    wait_for(
        &tab,
        "!!document.querySelector(\"#agents tr[data-agent=slow]\")",
        Duration::from_secs(10),
    );
    let slow = eval(
        &tab,
        "document.querySelector(\"#agents tr[data-agent=slow]\").innerText",
    );
    // Declared by the plans, and busy now: the retried run holds one of its instances.
    assert!(
        slow.as_str()
            .is_some_and(|s| s.contains("slow_echo") && s.contains("busy")),
        "{slow}"
    );
    screenshot(&tab, &shots, "agents.png");
}

/// Workflow `wide`: `n` echo steps in layers of 100, each taking the value of the one above.
fn wide(n: usize) -> String {
    let mut out = String::from("\nworkflow wide() -> json {\n");
    for i in 0..n {
        let value = if i < 100 {
            i.to_string()
        } else {
            format!("s{}", i - 100)
        };
        out.push_str(&format!("  step s{i} = std.echo(value: {value})\n"));
    }
    out + "  output 1\n}\n"
}
