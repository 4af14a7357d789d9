//! Locks as leases with fencing tokens.
//!
//! Invariant: a lock's tokens only grow, and a write carrying a token is accepted only while
//! that token's lease lasts, so a holder that paused past its lease (and whose lock another
//! agent took since) cannot overwrite what the newer holder wrote.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Longest lease an agent may ask for: a holder that died keeps nobody waiting for longer.
pub const MAX_TTL: Duration = Duration::from_secs(3_600);

/// How a lock is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One holder; writes to the cell of the lock's name need its token.
    Exclusive,
    /// Any number of holders, while nobody holds it exclusively.
    Shared,
}

#[derive(Clone, Copy, Debug)]
struct Lease {
    token: u64,
    mode: Mode,
    until: Instant,
}

#[derive(Default)]
struct Lock {
    /// The last token given out.
    last: u64,
    leases: Vec<Lease>,
}

impl Lock {
    fn live(&mut self, now: Instant) -> &[Lease] {
        self.leases.retain(|l| l.until > now);
        &self.leases
    }
}

pub use super::rules::Check;
use super::rules::fence;

/// The locks of one run.
#[derive(Default)]
pub struct Locks {
    locks: Mutex<HashMap<String, Lock>>,
    /// Woken whenever a lease is released, so waiters look again.
    released: Notify,
}

impl Locks {
    /// Waits until `name` can be held in `mode`, and holds it for `ttl`: returns its token.
    pub async fn acquire(&self, name: &str, mode: Mode, ttl: Duration) -> u64 {
        let ttl = ttl.min(MAX_TTL);
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let wait_until = {
                let Ok(mut locks) = self.locks.lock() else {
                    return 0;
                };
                let lock = locks.entry(name.to_string()).or_default();
                let now = Instant::now();
                let live = lock.live(now);
                let free = match mode {
                    Mode::Exclusive => live.is_empty(),
                    Mode::Shared => live.iter().all(|l| l.mode == Mode::Shared),
                };
                if free {
                    lock.last += 1;
                    let token = lock.last;
                    lock.leases.push(Lease {
                        token,
                        mode,
                        until: now + ttl,
                    });
                    return token;
                }
                live.iter().map(|l| l.until).min().unwrap_or(now)
            };
            tokio::select! {
                () = released => {}
                () = tokio::time::sleep_until(wait_until) => {}
            }
        }
    }

    /// Ends the lease of `token` on `name`; whether it was live.
    pub fn release(&self, name: &str, token: u64) -> bool {
        let released = self.locks.lock().is_ok_and(|mut locks| {
            locks.get_mut(name).is_some_and(|lock| {
                let before = lock.leases.len();
                lock.leases.retain(|l| l.token != token);
                lock.leases.len() < before
            })
        });
        if released {
            self.released.notify_waiters();
        }
        released
    }

    /// What a write to cell `name` carrying `token` finds.
    pub fn check(&self, name: &str, token: Option<u64>) -> Check {
        let Ok(mut locks) = self.locks.lock() else {
            return Check::Locked("the locks are poisoned".to_string());
        };
        let now = Instant::now();
        let Some(lock) = locks.get_mut(name) else {
            return fence(name, token, None, 0);
        };
        let last = lock.last;
        let holder = lock
            .live(now)
            .iter()
            .find(|l| l.mode == Mode::Exclusive)
            .map(|l| l.token);
        fence(name, token, holder, last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_holder_paused_past_its_lease_is_refused_and_tokens_grow() {
        let locks = Locks::default();
        let first = locks
            .acquire("summary", Mode::Exclusive, Duration::from_secs(1))
            .await;
        assert_eq!(locks.check("summary", Some(first)), Check::Held);
        assert!(matches!(locks.check("summary", None), Check::Locked(_)));
        // The holder pauses past its lease; another takes the lock meanwhile.
        let second = locks
            .acquire("summary", Mode::Exclusive, Duration::from_secs(1))
            .await;
        assert!(second > first);
        assert!(matches!(
            locks.check("summary", Some(first)),
            Check::Stale(_)
        ));
        assert_eq!(locks.check("summary", Some(second)), Check::Held);
        assert!(locks.release("summary", second));
        assert_eq!(locks.check("summary", None), Check::Free);
        assert!(!locks.release("summary", second));
    }

    #[tokio::test(start_paused = true)]
    async fn shared_holders_keep_an_exclusive_one_waiting_until_they_release() {
        let locks = std::sync::Arc::new(Locks::default());
        let a = locks.acquire("notes", Mode::Shared, MAX_TTL).await;
        let b = locks.acquire("notes", Mode::Shared, MAX_TTL).await;
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.acquire("notes", Mode::Exclusive, MAX_TTL).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        locks.release("notes", a);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        locks.release("notes", b);
        let token = waiting.await.expect("acquired");
        assert!(token > b);
    }
}
