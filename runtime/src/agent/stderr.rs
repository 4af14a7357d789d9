//! An exec instance's stderr: every line goes to the log (shown with `-v`) and to the run's
//! observer, and the last few are kept, so that the error of a task the instance dies under can show its cause.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// Lines of stderr an error shows at most.
pub const KEPT_LINES: usize = 5;
/// Characters of one line an error shows at most.
pub const LINE_CHARS: usize = 200;
/// Values shorter than this are not masked: they would hide ordinary words, and are no
/// secret anyway.
const SHORTEST_SECRET: usize = 4;

/// The last [`KEPT_LINES`] lines one life of an instance wrote to stderr.
#[derive(Clone, Default)]
pub struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    /// Reads `stderr` to its end: each line to the log, tagged with the instance, and the
    /// last ones into this tail.
    pub fn forward(
        &self,
        stderr: ChildStderr,
        agent: String,
        instance: usize,
        logs: crate::observe::Logs,
    ) -> JoinHandle<()> {
        let tail = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(agent = %agent, instance, "{line}");
                logs.line(&agent, instance, &line);
                tail.push(&line);
            }
        })
    }

    fn push(&self, line: &str) {
        let mut kept: String = line.chars().take(LINE_CHARS).collect();
        if kept.len() < line.len() {
            kept.push('…');
        }
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == KEPT_LINES {
                lines.pop_front();
            }
            lines.push_back(kept);
        }
    }

    /// The kept lines for an error message, each value of `secrets` masked as `***`: empty
    /// when there are none, else `; its stderr ended with:` and the lines, indented.
    pub fn describe(&self, secrets: &[&str]) -> String {
        let Ok(lines) = self.0.lock() else {
            return String::new();
        };
        if lines.is_empty() {
            return String::new();
        }
        let mut out = String::from("; its stderr ended with:");
        for line in lines.iter() {
            let mut line = line.clone();
            for secret in secrets.iter().filter(|s| s.len() >= SHORTEST_SECRET) {
                line = line.replace(secret, "***");
            }
            out.push_str("\n    ");
            out.push_str(&line);
        }
        out.push_str("\n  (`hivec run -v` shows all of it)");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_cut_short_with_secrets_masked() {
        let tail = Tail::default();
        assert_eq!(tail.describe(&[]), "");
        for i in 0..8 {
            tail.push(&format!("line {i} token=s3cr3t"));
        }
        tail.push(&"x".repeat(LINE_CHARS + 10));
        let text = tail.describe(&["s3cr3t", "ab"]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "; its stderr ended with:");
        assert_eq!(lines[1], "    line 4 token=***");
        assert_eq!(lines[4], "    line 7 token=***");
        assert_eq!(lines[5], format!("    {}…", "x".repeat(LINE_CHARS)));
        assert_eq!(lines[6], "  (`hivec run -v` shows all of it)");
        assert_eq!(lines.len(), KEPT_LINES + 2);
    }
}
