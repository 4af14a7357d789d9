//! Standard output and standard error that never panic or block the command on a failed
//! write.
//!
//! Invariant: every byte `hivec` prints goes through here (the log through [`Log`]). A write
//! that fails because the reader went away (`hivec … | head -3`) marks the stream closed:
//! nothing more is printed, a run stops, and the command exits with [`CLOSED`], as a shell
//! reports a command killed by `SIGPIPE`. `SIGPIPE` itself stays ignored, as Rust sets it: a
//! pipe to an agent that died must be an error, not the end of `hivec`.

use std::io::{ErrorKind, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use tokio::sync::Notify;

/// The exit status after stdout or stderr was closed: 128 + `SIGPIPE`.
pub const CLOSED: u8 = 141;

/// 0 while every write succeeds, else the first failure: [`BROKEN`] or [`FAILED`].
static STATE: AtomicU8 = AtomicU8::new(0);
/// Woken when a stream fails, for the commands that wait on something else meanwhile.
static FAILURE: Notify = Notify::const_new();
/// The reader of stdout or stderr went away.
const BROKEN: u8 = 1;
/// Another write error (a full disk, say).
const FAILED: u8 = 2;

/// Writes `text` to stdout. Returns false once stdout or stderr has failed.
pub fn stdout(text: &str) -> bool {
    write(&mut std::io::stdout().lock(), text.as_bytes())
}

/// Writes `text` to stderr, with the values read by `env()` masked. Returns false once
/// stdout or stderr has failed.
pub fn stderr(text: &str) -> bool {
    let text = hive_runtime::secrets::mask(text);
    write(&mut std::io::stderr().lock(), text.as_bytes())
}

fn write(stream: &mut impl Write, bytes: &[u8]) -> bool {
    if failed() {
        return false;
    }
    match stream.write_all(bytes).and_then(|()| stream.flush()) {
        Ok(()) => true,
        Err(e) => {
            fail(&e);
            false
        }
    }
}

fn fail(e: &std::io::Error) {
    let state = if e.kind() == ErrorKind::BrokenPipe {
        BROKEN
    } else {
        FAILED
    };
    if STATE.compare_exchange(0, state, Relaxed, Relaxed).is_ok() {
        FAILURE.notify_waiters();
    }
}

/// Whether a write to stdout or stderr has failed.
pub fn failed() -> bool {
    STATE.load(Relaxed) != 0
}

/// Returns once a write to stdout or stderr has failed.
pub async fn failure() {
    let notified = FAILURE.notified();
    if !failed() {
        notified.await;
    }
}

/// The command's exit status: `code`, unless output failed: [`CLOSED`] for a closed stream,
/// 2 for any other write error (an I/O problem, as for unreadable files).
pub fn status(code: ExitCode) -> ExitCode {
    match STATE.load(Relaxed) {
        BROKEN => ExitCode::from(CLOSED),
        FAILED => ExitCode::from(2),
        _ => code,
    }
}

/// `println!` through [`stdout`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` through [`stderr`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::out::stderr(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, outln};

/// The log's writer: stderr, through the same failure state, so a log line to a closed
/// stderr is dropped instead of reported (tracing-subscriber reports it with `eprintln!`,
/// which panics on that same stream).
pub struct Log;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;

    fn make_writer(&'a self) -> Log {
        Log
    }
}

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A log line is one write: the values read by `env()` are masked within it.
        let text = String::from_utf8_lossy(buf);
        let text = hive_runtime::secrets::mask(&text);
        write(&mut std::io::stderr().lock(), text.as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
