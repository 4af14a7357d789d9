//! Exec agents: a process per instance, spoken to in JSON lines (the agent protocol).
//!
//! Invariant: nothing an agent process does — garbage on stdout, unknown ids, silence, a crash
//! — panics or hangs the runtime: each becomes an error naming the agent and the instance, and
//! a task whose instance died is handed to another member without using a retry.

use super::stderr::Tail;
use super::{Attempt, Bid, Health, Instance, Task, TaskError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How to start one instance.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The agent's name.
    pub agent: String,
    /// The instance's number.
    pub instance: usize,
    /// The command line, run with `sh -c`.
    pub command: String,
    /// Its working directory.
    pub dir: std::path::PathBuf,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Three silent intervals with tasks in flight kill the instance.
    pub heartbeat: Duration,
    /// The capabilities the plan says it provides.
    pub provides: Vec<String>,
    /// Told of every line its stderr has, besides the log.
    pub logs: crate::observe::Logs,
    /// The run's shared state, which the agent reads and writes with `get` and `put`.
    pub state: Option<Arc<crate::state::Store>>,
    /// The run's topics, which the agent publishes to and, if it subscribes, is sent.
    pub topics: Option<crate::topics::protocol::Topics>,
}

impl Spec {
    /// ` in DIR`, the directory the command runs in, for messages.
    fn place(&self) -> String {
        let dir = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
        format!(" in {}", dir.display())
    }

    /// What the life's stderr ended with, for an error, once the process has ended: its
    /// stderr is read to the end first (briefly: a child it left running may hold it open).
    async fn stderr(&self, tail: &Tail, forwarding: &mut tokio::task::JoinHandle<()>) -> String {
        let _ = tokio::time::timeout(STDERR_DRAIN, forwarding).await;
        let secrets: Vec<&str> = self.env.iter().map(|(_, v)| v.as_str()).collect();
        tail.describe(&secrets)
    }
}

/// Time an instance has to answer `hello` with `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Time an agent has to answer a `bid`; a later answer loses the auction.
const BID_TIMEOUT: Duration = Duration::from_secs(1);
/// Starts that fail in a row before an instance is given up.
const MAX_FAILED_STARTS: u32 = 5;
/// Time the rest of a dead process's stderr has to arrive before its error is made.
const STDERR_DRAIN: Duration = Duration::from_millis(500);
/// Time an agent has to exit after `shutdown` (and the end of its input) before it is killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Cancelled and answered tasks remembered per instance for later answers (the oldest are
/// forgotten).
const CANCELLED_KEPT: usize = 4_096;

/// One instance of an exec agent, restarted with backoff when its process dies.
pub struct ExecInstance {
    spec: Arc<Spec>,
    conn: Arc<Mutex<Conn>>,
    /// Becomes true when the first start has succeeded or failed.
    started: tokio::sync::watch::Receiver<bool>,
    /// Becomes true when the supervisor has ended for good.
    gone: tokio::sync::watch::Receiver<bool>,
    /// Kills the running process (after a shutdown's grace period).
    kill: Arc<tokio::sync::Notify>,
}

/// What a task in flight brings: its capability, and the state and topics its agent's
/// requests go to when they are not the instance's own.
struct InFlight {
    capability: String,
    state: Option<Arc<crate::state::Store>>,
    topics: Option<Arc<crate::topics::Board>>,
}

#[derive(Default)]
struct Conn {
    health: Option<Health>,
    writer: Option<mpsc::UnboundedSender<String>>,
    pending: HashMap<u64, oneshot::Sender<Result<Value, TaskError>>>,
    /// The capability of each task in flight, whose `reads` and `writes` its state requests
    /// are checked against, and the state they go to when the task brings its own.
    capabilities: HashMap<u64, InFlight>,
    /// The order the agent's state requests are applied in.
    lane: crate::state::protocol::Lane,
    checkpoints: HashMap<u64, Value>,
    /// Bids asked for and not answered yet; ids are shared with tasks.
    bids: HashMap<u64, oneshot::Sender<Option<f64>>>,
    /// Tasks cancelled and not answered since: their late answers are expected.
    cancelled: std::collections::BTreeSet<u64>,
    /// Tasks answered (the latest of them): a second answer breaks the protocol.
    answered: std::collections::BTreeSet<u64>,
    next_id: u64,
    last_seen: Option<Instant>,
    /// Shut down: the process is not started again.
    stopping: bool,
    /// Why the instance was given up, for the error of a task nothing else can take.
    failure: Option<String>,
    /// The topics of the last `event` it was sent from outside its spec (in distributed
    /// mode, a run's topics in Redis): where a listener's `publish` without a task goes.
    heard_from: Option<Arc<crate::topics::Board>>,
}

impl ExecInstance {
    /// Sends the agent an `event` line of `board`'s topics, if it is running: whether it
    /// was taken. Its `publish` messages outside a task then go to `board`.
    pub fn hear(&self, line: String, board: &Arc<crate::topics::Board>) -> bool {
        let Ok(mut c) = self.conn.lock() else {
            return false;
        };
        if c.health != Some(Health::Live) {
            return false;
        }
        let Some(writer) = c.writer.clone() else {
            return false;
        };
        c.heard_from = Some(board.clone());
        writer.send(line).is_ok()
    }

    /// Starts the instance's supervisor; `wake` is called whenever its health changes.
    pub fn start(spec: Spec, wake: Arc<dyn Fn() + Send + Sync>) -> ExecInstance {
        let spec = Arc::new(spec);
        let conn = Arc::new(Mutex::new(Conn {
            health: Some(Health::Starting),
            ..Conn::default()
        }));
        let (settled, started) = tokio::sync::watch::channel(false);
        let (ended, gone) = tokio::sync::watch::channel(false);
        let kill = Arc::new(tokio::sync::Notify::new());
        let life = Life {
            wake,
            settled,
            kill: kill.clone(),
        };
        let supervisor = supervise(spec.clone(), conn.clone(), life);
        tokio::spawn(async move {
            supervisor.await;
            ended.send_replace(true);
        });
        ExecInstance {
            spec,
            conn,
            started,
            gone,
            kill,
        }
    }

    fn who(&self) -> String {
        format!("{}#{}", self.spec.agent, self.spec.instance)
    }
}

/// What the lives of one instance's process share.
struct Life {
    /// Called whenever the instance's health changes.
    wake: Arc<dyn Fn() + Send + Sync>,
    /// Set once the first start has succeeded or failed.
    settled: tokio::sync::watch::Sender<bool>,
    /// Ends the current life at once.
    kill: Arc<tokio::sync::Notify>,
}

fn stopping(conn: &Mutex<Conn>) -> bool {
    conn.lock().map_or(true, |c| c.stopping)
}

/// Why a start failed: what happened, and the end of the process's stderr.
struct FailedStart {
    why: String,
    last_words: String,
    /// It ran but never answered `hello`: starting it again would only wait as long again.
    silent: bool,
}

/// Starts the process, serves it until it dies, and starts it again after a growing pause;
/// after [`MAX_FAILED_STARTS`] failed starts in a row, a first start that got no `ready`
/// in time, or a shutdown, the instance is dead for good.
async fn supervise(spec: Arc<Spec>, conn: Arc<Mutex<Conn>>, life: Life) {
    let wake = &life.wake;
    let mut failed_starts = 0;
    let mut ever_ready = false;
    let mut pause = Duration::from_millis(100);
    while !stopping(&conn) {
        let lived = serve(&spec, &conn, &life).await;
        life.settled.send_replace(true);
        if stopping(&conn) {
            break;
        }
        let mut given_up = None;
        match lived {
            Ok(()) => {
                ever_ready = true;
                failed_starts = 0;
                pause = Duration::from_millis(100);
            }
            Err(failed) => {
                let FailedStart {
                    why,
                    last_words,
                    silent,
                } = failed;
                failed_starts += 1;
                tracing::warn!(agent = %spec.agent, instance = spec.instance, "{why}{last_words}");
                if silent && !ever_ready {
                    given_up = Some(format!("{why}{last_words}"));
                } else if failed_starts >= MAX_FAILED_STARTS {
                    given_up = Some(format!(
                        "{why}; given up after {MAX_FAILED_STARTS} failed starts in a row{last_words}"
                    ));
                }
            }
        }
        if let Some(failure) = given_up {
            if let Ok(mut c) = conn.lock() {
                c.health = Some(Health::Dead);
                c.failure = Some(failure);
            }
            tracing::error!(agent = %spec.agent, instance = spec.instance, "given up after {failed_starts} failed start(s)");
            wake();
            return;
        }
        set_health(&conn, Health::Starting);
        wake();
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = life.kill.notified() => {}
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
    set_health(&conn, Health::Dead);
    life.settled.send_replace(true);
    wake();
}

fn set_health(conn: &Mutex<Conn>, health: Health) {
    if let Ok(mut c) = conn.lock() {
        c.health = Some(health);
    }
}

/// One life of the process: `Ok` once it was ready and then ended, `Err` if it never got ready.
async fn serve(spec: &Spec, conn: &Arc<Mutex<Conn>>, life: &Life) -> Result<(), FailedStart> {
    let failed = |why: String| FailedStart {
        why,
        last_words: String::new(),
        silent: false,
    };
    let (wake, settled) = (&life.wake, &life.settled);
    let who = format!("{}#{}", spec.agent, spec.instance);
    let mut child: Child = Command::new("sh")
        .arg("-c")
        .arg(shell_line(&spec.command).as_ref())
        .current_dir(&spec.dir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        // Its own process group: `sh -c` may run the agent as its child, and killing the
        // shell alone would leave the agent running.
        .process_group(0)
        .spawn()
        .map_err(|e| {
            failed(format!(
                "agent {who}: cannot start `{}`{}: {e}",
                spec.command,
                spec.place()
            ))
        })?;
    let group = ProcessGroup(child.id());
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(failed(format!("agent {who}: no pipes to the process")));
    };
    let tail = Tail::default();
    let mut forwarding = tail.forward(stderr, spec.agent.clone(), spec.instance, spec.logs.clone());
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if stdin.write_all(line.as_bytes()).await.is_err()
                || stdin.write_all(b"\n").await.is_err()
                || stdin.flush().await.is_err()
            {
                break;
            }
        }
    });
    let hello =
        json!({"type": "hello", "protocol": 1, "agent": spec.agent, "instance": spec.instance});
    let _ = tx.send(hello.to_string());
    let mut lines = BufReader::new(stdout).lines();
    let kill = life.kill.clone();
    let ready = tokio::time::timeout(READY_TIMEOUT, async {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    if let Ok(v) = serde_json::from_str::<Value>(&line)
                        && v.get("type").and_then(Value::as_str) == Some("ready")
                    {
                        return Ok(v);
                    }
                    tracing::warn!(agent = %spec.agent, instance = spec.instance, "before `ready`: {line}");
                }
                Ok(None) => return Err(None),
                Err(e) => return Err(Some(format!("wrote output that cannot be read ({e})"))),
            }
        }
    });
    let ready = tokio::select! {
        r = ready => r,
        () = kill.notified() => {
            group.kill();
            let _ = child.wait().await;
            return Ok(());
        }
    };
    let ready = match ready {
        Ok(Ok(ready)) => ready,
        Ok(Err(unreadable)) => {
            // The end of its output: its exit status says why, if it has exited.
            let status = tokio::time::timeout(STDERR_DRAIN, child.wait()).await;
            let what = match (unreadable, status) {
                (Some(e), _) => e,
                (None, Ok(Ok(status))) => ended(status),
                (None, _) => "closed its output".to_string(),
            };
            return Err(FailedStart {
                why: format!(
                    "agent {who} {what} before answering `hello` with `ready` (`{}`{})",
                    spec.command,
                    spec.place(),
                ),
                last_words: spec.stderr(&tail, &mut forwarding).await,
                silent: false,
            });
        }
        Err(_) => {
            return Err(FailedStart {
                why: format!(
                    "agent {who} did not answer `hello` with `ready` within {}s (`{}`{}); an agent \
                     must write each message as one line and flush it at once (in Python, \
                     `print(..., flush=True)`)",
                    READY_TIMEOUT.as_secs(),
                    spec.command,
                    spec.place(),
                ),
                last_words: spec.stderr(&tail, &mut forwarding).await,
                silent: true,
            });
        }
    };
    if let Some(caps) = ready.get("capabilities").and_then(Value::as_array) {
        let missing: Vec<&String> = spec
            .provides
            .iter()
            .filter(|p| !caps.iter().any(|c| c.as_str() == Some(p.as_str())))
            .collect();
        if !missing.is_empty() {
            tracing::warn!(agent = %spec.agent, instance = spec.instance, "`ready` does not list {missing:?}");
        }
    }
    // The connection holds the only sender, so that taking it at shutdown ends the input.
    let shut_down = match conn.lock() {
        Ok(mut c) if !c.stopping => {
            c.writer = Some(tx);
            c.health = Some(Health::Live);
            c.last_seen = Some(Instant::now());
            false
        }
        _ => true,
    };
    if shut_down {
        // Shut down while starting: its input has ended, so it should exit.
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, child.wait()).await;
        group.kill();
        return Ok(());
    }
    settled.send_replace(true);
    wake();
    let mut published = spec
        .topics
        .as_ref()
        .filter(|t| !t.subscribes.is_empty())
        .map(|t| t.board.watch());
    // Messages retained from before it started come first.
    send_events(spec, conn);
    let watchdog = tokio::time::interval(spec.heartbeat.max(Duration::from_millis(10)));
    tokio::pin!(watchdog);
    let end = loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => on_line(&who, conn, &line, spec),
                // No answer can come any more: a crash, whether or not the process lives on.
                Ok(None) => break "exited".to_string(),
                Err(e) => break format!("output unreadable: {e}"),
            },
            _ = watchdog.tick() => {
                let silent = conn.lock().ok().and_then(|c| {
                    let busy = !c.pending.is_empty();
                    c.last_seen.map(|t| busy && t.elapsed() > spec.heartbeat.saturating_mul(3))
                });
                if silent == Some(true) {
                    group.kill();
                    break format!("was silent for {} with tasks in flight (no heartbeat)", hive_plan::duration(u64::try_from(spec.heartbeat.saturating_mul(3).as_millis()).unwrap_or(u64::MAX)));
                }
            }
            () = kill.notified() => {
                group.kill();
                break "was killed: it did not exit after `shutdown`".to_string();
            }
            Ok(()) = async {
                match published.as_mut() {
                    Some(rx) => rx.changed().await,
                    None => std::future::pending().await,
                }
            } => send_events(spec, conn),
        }
    };
    // A process that closed its output but lives on is killed after a moment (after the
    // grace period when it was shut down: it may be cleaning up).
    let linger = if stopping(conn) {
        SHUTDOWN_GRACE
    } else {
        STDERR_DRAIN
    };
    let exited = tokio::select! {
        status = tokio::time::timeout(linger, child.wait()) => status.ok(),
        () = kill.notified() => None,
    };
    let status = match exited {
        Some(status) => status.ok(),
        None => {
            group.kill();
            let _ = child.wait().await;
            None
        }
    };
    let why = match status {
        Some(status) if end == "exited" => format!("agent {who} {}", ended(status)),
        None if end == "exited" => format!("agent {who} closed its output and was killed"),
        _ => format!("agent {who} {end}"),
    };
    let last_words = spec.stderr(&tail, &mut forwarding).await;
    // Every task in flight moves elsewhere, with its last checkpoint.
    if let Ok(mut c) = conn.lock() {
        c.writer = None;
        c.health = Some(Health::Starting);
        // Unanswered bids lose: dropping their senders answers them with nothing.
        c.bids.clear();
        c.capabilities.clear();
        let pending: Vec<_> = c.pending.drain().collect();
        for (id, reply) in pending {
            let checkpoint = c.checkpoints.remove(&id);
            let _ = reply.send(Err(TaskError {
                message: format!("{why} while running the task{last_words}"),
                retryable: true,
                lost: true,
                checkpoint,
            }));
        }
    }
    if stopping(conn) {
        tracing::debug!(agent = %spec.agent, instance = spec.instance, "shut down: {why}");
    } else {
        tracing::warn!(agent = %spec.agent, instance = spec.instance, "{why}");
    }
    Ok(())
}

/// What `sh -c` runs for `command`: a simple command is run with `exec`, so that the agent
/// is the only holder of its stdout and the runtime sees the end of it when the agent closes
/// it (`sh` would hold it open while it waits). Lists, pipelines, compound commands, leading
/// assignments and shell builtins (which `exec` cannot run: `exit 3`) are left to the shell
/// as written.
fn shell_line(command: &str) -> std::borrow::Cow<'_, str> {
    let first = command.split_whitespace().next().unwrap_or("");
    let compound = command.contains([';', '&', '|', '(', ')', '{', '}', '`', '\n']);
    if compound || first.contains('=') || SHELL_WORDS.contains(&first) {
        command.into()
    } else {
        format!("exec {command}").into()
    }
}

/// Reserved words and builtins of `sh` that are not programs `exec` could run instead.
const SHELL_WORDS: &[&str] = &[
    "", "!", "[[", ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue", "do",
    "done", "elif", "else", "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for",
    "function", "getopts", "hash", "if", "jobs", "local", "read", "readonly", "return", "select",
    "set", "shift", "source", "then", "time", "times", "trap", "type", "ulimit", "umask",
    "unalias", "unset", "until", "wait", "while",
];

/// How a process ended, for messages: `exited with code 3`, `was killed by signal 9`.
fn ended(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "exited".to_string(),
    }
}

/// The process group of one life of an agent; killed when that life ends in any way,
/// including the runtime itself being dropped.
struct ProcessGroup(Option<u32>);

impl ProcessGroup {
    fn kill(&self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals the group; no memory is touched.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends a subscribing agent the `event` messages it has not been sent yet.
fn send_events(spec: &Spec, conn: &Mutex<Conn>) {
    let Some(topics) = &spec.topics else { return };
    let Some(writer) = conn.lock().ok().and_then(|c| c.writer.clone()) else {
        return;
    };
    for line in topics.events() {
        let _ = writer.send(line);
    }
}

/// One line from the agent.
fn on_line(who: &str, conn: &Mutex<Conn>, line: &str, spec: &Spec) {
    let state = spec.state.as_ref();
    let Ok(mut c) = conn.lock() else { return };
    c.last_seen = Some(Instant::now());
    let msg: Value = match serde_json::from_str(line) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let why = format!(
                "agent {who} wrote a line that is not a protocol message: {}",
                shorten(line)
            );
            c.protocol_error(&why);
            return;
        }
    };
    let id = msg.get("id").and_then(Value::as_u64);
    let kind = msg.get("type").and_then(Value::as_str);
    if let Some(kind) = kind.filter(|k| crate::state::protocol::REQUESTS.contains(k)) {
        c.state_request(who, kind, id, &msg, state);
        return;
    }
    if kind == Some("publish") {
        let Some(writer) = c.writer.clone() else {
            return;
        };
        let board = c
            .board_of(id)
            .or_else(|| spec.topics.as_ref().map(|t| t.board.clone()));
        // Publishing may wait for Redis: the answer comes when it is done, with its `ref`.
        tokio::spawn(async move {
            let answer = match board {
                Some(board) => crate::topics::protocol::answer(&board, &msg).await,
                None => json!({"type": "publish_refused", "topic": msg.get("topic"), "reason": "this run keeps no topics"}).to_string(),
            };
            let _ = writer.send(answer);
        });
        return;
    }
    // An answer to a bid: its cost, or a refusal (`error`).
    if let Some(reply) = id.and_then(|id| c.bids.remove(&id)) {
        let cost = match kind {
            Some("bid") => msg.get("cost").and_then(Value::as_f64),
            _ => None,
        };
        if kind == Some("bid") && cost.is_none() {
            tracing::warn!("agent {who} sent a bid without a numeric `cost`");
        }
        let _ = reply.send(cost.filter(|c| c.is_finite()));
        return;
    }
    match kind {
        Some("bid") => match id.filter(|id| c.cancelled.remove(id)) {
            Some(id) => tracing::debug!("agent {who} bid {id} too late"),
            None => tracing::warn!("agent {who} answered an unknown bid"),
        },
        Some("result") | Some("error") => {
            let Some(reply) = id.and_then(|id| c.pending.remove(&id)) else {
                // A task cancelled while its answer was on the way (a consensus decided
                // without it, a timeout): expected. An id never sent breaks the protocol.
                if let Some(id) = id.filter(|id| c.cancelled.remove(id)) {
                    tracing::debug!("agent {who} answered task {id} after it was cancelled");
                    return;
                }
                let shown = msg.get("id").map_or("(none)".to_string(), Value::to_string);
                let why = match id {
                    Some(id) if c.answered.contains(&id) => {
                        format!("agent {who} answered task {id} a second time")
                    }
                    Some(id) if (1..=c.next_id).contains(&id) => {
                        format!("agent {who} answered task {id}, which is not in flight")
                    }
                    _ => format!("agent {who} answered task id {shown}, which it was never sent"),
                };
                c.protocol_error(&why);
                return;
            };
            if let Some(id) = id {
                c.checkpoints.remove(&id);
                c.capabilities.remove(&id);
                c.remember(id, Remembered::Answered);
            }
            let result = if msg["type"] == "result" {
                match msg.get("output") {
                    Some(output) => Ok(output.clone()),
                    None => Err(TaskError::retryable(format!(
                        "agent {who}: `result` without `output`"
                    ))),
                }
            } else {
                Err(TaskError {
                    message: format!(
                        "agent {who}: {}",
                        msg.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("failed")
                    ),
                    retryable: msg
                        .get("retryable")
                        .and_then(Value::as_bool)
                        .unwrap_or(true),
                    lost: false,
                    checkpoint: None,
                })
            };
            let _ = reply.send(result);
        }
        Some("checkpoint") => {
            if let (Some(id), Some(state)) = (id, msg.get("state"))
                && c.pending.contains_key(&id)
            {
                c.checkpoints.insert(id, state.clone());
            }
        }
        Some("heartbeat") => {}
        Some("log") => {
            let text = msg.get("message").and_then(Value::as_str).unwrap_or("");
            tracing::info!("agent {who}: {text}");
        }
        other => tracing::warn!("agent {who} sent an unknown message type {other:?}"),
    }
}

fn shorten(line: &str) -> String {
    let mut s: String = line.chars().take(60).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    format!("`{s}`")
}

/// Which ids an instance keeps for the answers that may still come.
enum Remembered {
    /// Cancelled: a late answer is expected.
    Cancelled,
    /// Answered: another answer is a protocol error.
    Answered,
}

impl Conn {
    /// The topics a `publish` of task `id` goes to when its task brought its own: that
    /// task's, or without an id those of the tasks in flight when they all bring the same.
    fn board_of(&self, id: Option<u64>) -> Option<Arc<crate::topics::Board>> {
        if let Some(t) = id.and_then(|id| self.capabilities.get(&id)) {
            return t.topics.clone();
        }
        let mut boards = self.capabilities.values().filter_map(|t| t.topics.as_ref());
        let Some(first) = boards.next() else {
            return self.heard_from.clone();
        };
        boards.all(|b| Arc::ptr_eq(b, first)).then(|| first.clone())
    }

    /// Answers a state message (`get`, `put`, `lock`, `unlock`) of task `id`, or of the one
    /// task in flight when it names none.
    fn state_request(
        &self,
        who: &str,
        kind: &str,
        id: Option<u64>,
        msg: &Value,
        state: Option<&Arc<crate::state::Store>>,
    ) {
        let Some(writer) = self.writer.clone() else {
            return;
        };
        let task = match id {
            Some(id) => self
                .capabilities
                .get(&id)
                .ok_or_else(|| format!("task {id} is not in flight on agent {who}")),
            None if self.capabilities.len() == 1 => {
                self.capabilities.values().next().ok_or_else(String::new)
            }
            None => Err(format!(
                "`{kind}` names no task (`id`), and agent {who} has {} tasks in flight",
                self.capabilities.len()
            )),
        };
        let own = task.as_ref().ok().and_then(|t| t.state.as_ref());
        let Some(store) = own.or(state) else {
            tracing::warn!("agent {who} sent `{kind}`, and this run keeps no state");
            return;
        };
        let capability = task.map(|t| t.capability.as_str());
        crate::state::protocol::answer(store, capability, msg, &self.lane, move |line| {
            let _ = writer.send(line);
        });
    }

    /// Task `id` was cancelled: an answer to it may still come.
    fn remember_cancelled(&mut self, id: u64) {
        self.remember(id, Remembered::Cancelled);
    }

    /// Keeps `id` among the ids `what`, forgetting the oldest beyond [`CANCELLED_KEPT`].
    fn remember(&mut self, id: u64, what: Remembered) {
        let set = match what {
            Remembered::Cancelled => &mut self.cancelled,
            Remembered::Answered => &mut self.answered,
        };
        set.insert(id);
        if set.len() > CANCELLED_KEPT {
            set.pop_first();
        }
    }

    /// The instance broke the protocol: its stream can no longer be trusted for the tasks
    /// in flight, which fail (retryable) with `why`.
    fn protocol_error(&mut self, why: &str) {
        tracing::warn!("{why}");
        self.checkpoints.clear();
        self.capabilities.clear();
        let pending: Vec<_> = self.pending.drain().collect();
        for (id, reply) in pending {
            // The agent may still be working on it: it need not.
            self.remember_cancelled(id);
            if let Some(w) = &self.writer {
                let _ = w.send(json!({"type": "cancel", "id": id}).to_string());
            }
            let _ = reply.send(Err(TaskError::retryable(format!("protocol error: {why}"))));
        }
    }
}

/// Sends `cancel` when an attempt is dropped before its answer arrived.
struct CancelOnDrop {
    conn: Arc<Mutex<Conn>>,
    id: u64,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(mut c) = self.conn.lock()
            && c.pending.remove(&self.id).is_some()
        {
            c.checkpoints.remove(&self.id);
            c.capabilities.remove(&self.id);
            c.remember_cancelled(self.id);
            if let Some(w) = &c.writer {
                let _ = w.send(json!({"type": "cancel", "id": self.id}).to_string());
            }
        }
    }
}

impl Instance for ExecInstance {
    fn execute(&self, task: Task) -> Attempt {
        let conn = self.conn.clone();
        let who = self.who();
        Box::pin(async move {
            // The process is between lives: the task moves on as if the instance had died.
            let not_running = || TaskError {
                message: format!("agent {who} is not running"),
                retryable: true,
                lost: true,
                checkpoint: task.checkpoint.clone(),
            };
            let (tx, rx) = oneshot::channel();
            let id = {
                let mut c = conn
                    .lock()
                    .map_err(|_| TaskError::retryable(format!("agent {who}: state poisoned")))?;
                let Some(writer) = c.writer.clone() else {
                    return Err(not_running());
                };
                c.next_id += 1;
                let id = c.next_id;
                let mut msg = json!({
                    "type": "task",
                    "id": id,
                    "capability": task.capability,
                    "input": &*task.input,
                    "attempt": task.attempt,
                    "deadline_ms": task.deadline_ms,
                });
                if let Some(cp) = &task.checkpoint {
                    msg["checkpoint"] = cp.clone();
                }
                // Silence counts while it has tasks: an instance idle for long has not been
                // silent when its first task comes.
                if c.pending.is_empty() {
                    c.last_seen = Some(Instant::now());
                }
                c.pending.insert(id, tx);
                c.capabilities.insert(
                    id,
                    InFlight {
                        capability: task.capability.to_string(),
                        state: task.state.clone(),
                        topics: task.topics.clone(),
                    },
                );
                if writer.send(msg.to_string()).is_err() {
                    c.pending.remove(&id);
                    c.capabilities.remove(&id);
                    return Err(not_running());
                }
                id
            };
            let mut guard = CancelOnDrop {
                conn,
                id,
                armed: true,
            };
            let result = rx.await.unwrap_or_else(|_| {
                Err(TaskError::retryable(format!(
                    "agent {who} dropped the task"
                )))
            });
            // Answered: nothing to cancel.
            guard.armed = false;
            result
        })
    }

    fn started(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let mut started = self.started.clone();
        Box::pin(async move {
            // An error means the supervisor is gone, which also settles the question.
            let _ = started.wait_for(|s| *s).await;
        })
    }

    fn silent_for(&self) -> Option<Duration> {
        self.conn.lock().ok()?.last_seen.map(|t| t.elapsed())
    }

    fn bid(&self, task: &Task) -> Bid {
        let (tx, rx) = oneshot::channel();
        let id = {
            let Ok(mut c) = self.conn.lock() else {
                return Bid::None;
            };
            let Some(writer) = c.writer.clone() else {
                return Bid::None;
            };
            c.next_id += 1;
            let id = c.next_id;
            let msg = json!({
                "type": "bid",
                "id": id,
                "capability": task.capability,
                "input": &*task.input,
            });
            if writer.send(msg.to_string()).is_err() {
                return Bid::None;
            }
            c.bids.insert(id, tx);
            id
        };
        let conn = self.conn.clone();
        Bid::Later(Box::pin(async move {
            let answer = tokio::time::timeout(BID_TIMEOUT, rx).await;
            // A late answer lost the auction: expected, not a protocol error.
            if let Ok(mut c) = conn.lock()
                && c.bids.remove(&id).is_some()
            {
                c.remember_cancelled(id);
            }
            answer.ok().and_then(Result::ok).flatten()
        }))
    }

    fn shutdown(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        if let Ok(mut c) = self.conn.lock() {
            c.stopping = true;
            c.health = Some(Health::Dead);
            // `shutdown`, then the end of its input: an agent may stop on either. Tasks
            // still running are abandoned by the run, so each gets its `cancel` first: the
            // dropped attempts would send it only after the input has ended.
            if let Some(w) = c.writer.take() {
                let mut running: Vec<u64> = c.pending.keys().copied().collect();
                running.sort_unstable();
                for id in running {
                    c.remember_cancelled(id);
                    let _ = w.send(json!({"type": "cancel", "id": id}).to_string());
                }
                let _ = w.send(json!({"type": "shutdown"}).to_string());
            }
        }
        let mut gone = self.gone.clone();
        let kill = self.kill.clone();
        let who = self.who();
        Box::pin(async move {
            if tokio::time::timeout(SHUTDOWN_GRACE, gone.wait_for(|g| *g))
                .await
                .is_err()
            {
                tracing::warn!(
                    "agent {who} did not exit within {SHUTDOWN_GRACE:?} of `shutdown`; killing it"
                );
                kill.notify_one();
                let _ = gone.wait_for(|g| *g).await;
            }
        })
    }

    fn health(&self) -> Health {
        self.conn
            .lock()
            .ok()
            .and_then(|c| c.health)
            .unwrap_or(Health::Dead)
    }

    fn failure(&self) -> Option<String> {
        self.conn.lock().ok().and_then(|c| c.failure.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::shell_line;

    #[test]
    fn only_a_simple_command_of_a_program_is_run_with_exec() {
        assert_eq!(
            shell_line("python3 agent.py --fast"),
            "exec python3 agent.py --fast"
        );
        assert_eq!(shell_line("./agent 2>err.log"), "exec ./agent 2>err.log");
        for left in [
            "exit 3",
            "cd sub && ./agent",
            "python3 a.py | tee log",
            "MODEL=x ./agent",
            "while true; do ./agent; done",
            "exec ./agent",
            ". ./env.sh",
        ] {
            assert_eq!(shell_line(left), left);
        }
    }
}
