//! One attempt on one instance: started, timed out or cancelled, and recorded.

use super::{Check, Msg, Outcome, Reply, Request, Span, SpanOutcome, State, Submitted, deliver};
use crate::agent::TaskError;
use crate::micros;
use crate::observe::Event;
use hive_plan::Resources;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

impl State {
    /// Starts `request` on instance `slot` of `member`. Returns what the caller of
    /// [`Dispatcher::submit`] gets when `reply` is [`Reply::Caller`].
    pub(super) fn start(
        &mut self,
        member: usize,
        slot: usize,
        request: Request,
        reply: Reply,
    ) -> Option<Submitted> {
        if let Some(Ok(mut excluded)) = request.excluded.as_ref().map(|e| e.lock()) {
            excluded.push(member);
        }
        let instance = self.fleet[member].instances[slot].instance.clone();
        let Request {
            task,
            demand,
            timeout,
            expires,
            retry,
            label,
            check,
            ..
        } = request;
        let started = Instant::now();
        let limit = timeout.map(|t| (t, expires.unwrap_or(started + t)));
        let mut finished = Finished {
            member,
            slot,
            demand,
            started,
            elapsed_us: 0,
            retry,
            cancelled: false,
            traced: label.map(|step| (step, task.capability.clone(), task.attempt)),
        };
        self.tell_started(&finished, &task);
        // An in-process capability that finishes at once (`std.echo`) is answered here:
        // no task to spawn, no slot taken.
        if let Some(result) = instance.immediate(&task) {
            let result = checked(result, check.as_ref());
            finished.elapsed_us = micros(started.elapsed());
            let (ok, outcome) = verdict(Some(&result), finished.traced.is_some());
            self.record(finished, ok, outcome, false);
            return reply.send(Outcome {
                member,
                instance: slot,
                started: Some(started),
                result,
            });
        }
        let s = &mut self.fleet[member].instances[slot];
        s.in_flight += 1;
        s.idle_since = None;
        s.used.apply(&finished.demand, 1);
        let shared = self.shared.clone();
        let (mut reply, caller) = reply.channel();
        tokio::spawn(async move {
            let attempt = instance.execute(task);
            let result = tokio::select! {
                r = with_timeout(attempt, limit) => Some(checked(r, check.as_ref())),
                () = reply.closed() => None,
            };
            finished.elapsed_us = micros(started.elapsed());
            let (ok, outcome) = verdict(result.as_ref(), finished.traced.is_some());
            finished.cancelled = result.is_none();
            deliver(
                &shared,
                Msg::Done {
                    finished,
                    ok,
                    outcome,
                },
            );
            if let Some(result) = result {
                let _ = reply.send(Outcome {
                    member,
                    instance: slot,
                    started: Some(started),
                    result,
                });
            }
        });
        caller
    }

    /// Records a finished attempt: its slot is free again (`held`), the member's measures
    /// and, when traced, its span.
    pub(super) fn record(
        &mut self,
        f: Finished,
        ok: bool,
        outcome: Option<SpanOutcome>,
        held: bool,
    ) {
        if let (Some((step, capability, attempt)), Some(outcome)) = (f.traced, outcome) {
            let span = Span {
                member: f.member,
                instance: f.slot,
                step,
                capability,
                attempt,
                start_us: micros(f.started.saturating_duration_since(self.epoch)),
                duration_us: f.elapsed_us,
                outcome,
            };
            if let Some((observer, names)) = &self.observer {
                observer.observe(Event::AttemptFinished {
                    agent: instance_name(names, f.member, f.slot),
                    span: span.clone(),
                });
            }
            match self.stream.as_mut() {
                Some(stream) => stream.push(&span),
                None if self.keep_spans => self.spans.push(span),
                None => {}
            }
        }
        let m = &mut self.fleet[f.member];
        if held && let Some(s) = m.instances.get_mut(f.slot) {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.used.apply(&f.demand, -1);
            if s.in_flight == 0 {
                s.idle_since = Some(Instant::now());
            }
        }
        if f.cancelled {
            m.cancelled(f.elapsed_us);
        } else {
            m.observe(f.elapsed_us, ok, f.retry);
        }
    }
}

impl State {
    /// Tells the observer, if there is one, that the traced attempt `f` of `task` started.
    fn tell_started(&self, f: &Finished, task: &crate::agent::Task) {
        let (Some((observer, names)), Some((step, capability, attempt))) =
            (&self.observer, &f.traced)
        else {
            return;
        };
        observer.observe(Event::AttemptStarted {
            step: step.clone(),
            agent: instance_name(names, f.member, f.slot),
            capability: capability.clone(),
            attempt: *attempt,
            start_us: micros(f.started.saturating_duration_since(self.epoch)),
            input: task.input.clone(),
        });
    }
}

/// `agent#instance` of `member`'s instance `slot`.
fn instance_name(names: &[String], member: usize, slot: usize) -> String {
    format!("{}#{slot}", names.get(member).map_or("?", String::as_str))
}

/// Whether an attempt succeeded, and, when `traced`, how it ended for the trace; a `result`
/// of `None` is a cancelled attempt.
pub(super) fn verdict(
    result: Option<&Result<Value, TaskError>>,
    traced: bool,
) -> (bool, Option<SpanOutcome>) {
    let (ok, outcome) = match result {
        Some(Ok(_)) => (true, SpanOutcome::Ok),
        Some(Err(e)) => (false, SpanOutcome::Failed(e.message.clone())),
        None => (false, SpanOutcome::Cancelled),
    };
    (ok, traced.then_some(outcome))
}

/// `result` after the request's check of its output.
fn checked(result: Result<Value, TaskError>, check: Option<&Check>) -> Result<Value, TaskError> {
    match (result, check) {
        (Ok(v), Some(check)) => check(v),
        (result, _) => result,
    }
}

/// An attempt that ended, as the dispatcher records it.
pub(super) struct Finished {
    member: usize,
    slot: usize,
    demand: Resources,
    started: Instant,
    elapsed_us: u64,
    retry: bool,
    /// Dropped before it finished.
    cancelled: bool,
    /// Step, capability and attempt number, when the run is traced.
    traced: Option<(String, String, u32)>,
}

/// `attempt`, failed as timed out at `limit`'s instant; the error names its duration.
pub(super) async fn with_timeout(
    attempt: crate::agent::Attempt,
    limit: Option<(Duration, Instant)>,
) -> Result<Value, TaskError> {
    match limit {
        None => attempt.await,
        Some((limit, end)) => match tokio::time::timeout_at(end, attempt).await {
            Ok(r) => r,
            Err(_) => Err(TaskError::retryable(format!(
                "timed out after {}",
                hive_plan::duration(limit.as_millis().min(u128::from(u64::MAX)) as u64)
            ))),
        },
    }
}
