//! The error of a failed run: which step, where in the source, on which agent, which attempt,
//! and why.

use std::fmt;

/// Why a run failed.
#[derive(Clone, Debug, PartialEq)]
pub struct RunError {
    /// The workflow and step, `report.draft`, when a step failed.
    pub step: Option<String>,
    /// `file:line:column` of the step.
    pub place: Option<String>,
    /// The agent and instance of the last attempt, `writer#0`.
    pub agent: Option<String>,
    /// The last attempt's number and how many were allowed.
    pub attempt: Option<(u32, u32)>,
    /// What went wrong.
    pub cause: String,
    /// Whether running the failed part again may succeed: its last task failed in a way
    /// another attempt may fix, or it ran out of time. An error in the plan's expressions or
    /// types, or a task that failed with `retryable: false`, is not.
    pub retryable: bool,
}

impl RunError {
    /// A failure that belongs to no step (inputs, the plan, the run's deadline).
    pub fn run(cause: impl Into<String>) -> RunError {
        RunError {
            step: None,
            place: None,
            agent: None,
            attempt: None,
            cause: cause.into(),
            retryable: false,
        }
    }

    /// A failure that belongs to no step and that another try may not repeat (a deadline).
    pub fn retryable(cause: impl Into<String>) -> RunError {
        RunError {
            retryable: true,
            ..RunError::run(cause)
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(step) = &self.step {
            write!(f, "step `{step}` failed")?;
            if let Some(agent) = &self.agent {
                write!(f, " on agent `{agent}`")?;
            }
            if let Some((n, of)) = self.attempt {
                write!(f, " (attempt {n} of {of})")?;
            }
            write!(f, ": ")?;
        }
        f.write_str(&self.cause)?;
        if let Some(place) = &self.place {
            write!(f, "\n  at {place}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RunError {}
