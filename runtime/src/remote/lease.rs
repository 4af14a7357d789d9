//! The coordinator's lease on its run: one key per run, set only if absent and renewed by
//! the coordinator that holds it, so that two live coordinators of one run cannot both
//! place its tasks. A killed coordinator's lease expires; a resumed one waits for that, and
//! is refused while the lease is being renewed.
//!
//! Invariant: only the holder renews or releases the lease (compare-and-set in one script),
//! and a holder that finds it taken stops its run.

use super::keys::Keys;
use super::link::{Link, RemoteError};
use serde_json::{Value, json};
use std::time::Duration;

/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(6);
/// How often its holder renews it.
pub const RENEW: Duration = Duration::from_secs(2);

/// Renews the lease if `ARGV[1]` holds it; 1 if it did.
const RENEW_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/// Deletes the lease if `ARGV[1]` holds it.
const RELEASE_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// A run's lease, held by this process.
pub struct Lease {
    key: String,
    /// What the key holds while this process has it: host, process id and a random part.
    holder: String,
    run: String,
}

/// Who holds a lease, for a message.
fn described(holder: &str) -> String {
    let v: Value = serde_json::from_str(holder).unwrap_or_default();
    match (v["pid"].as_u64(), v["host"].as_str()) {
        (Some(pid), Some(host)) => format!("process {pid} on {host}"),
        _ => "another process".to_string(),
    }
}

impl Lease {
    /// Takes the lease of `run`. A lease held by another coordinator is watched until it
    /// expires (its coordinator was killed: the lease is then taken over) or is renewed (its
    /// coordinator is alive: refused, naming the run and when the lease would expire).
    pub async fn take(link: &Link, namespace: &str, run: &str) -> Result<Lease, RemoteError> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        let lease = Lease {
            key: Keys::new(namespace).coordinator(run),
            holder: json!({
                "host": host,
                "pid": std::process::id(),
                "id": super::coordinator::new_id(),
            })
            .to_string(),
            run: run.to_string(),
        };
        let mut announced = false;
        let mut last_left: Option<i64> = None;
        loop {
            let mut set = redis::cmd("SET");
            set.arg(&lease.key)
                .arg(&lease.holder)
                .arg("NX")
                .arg("PX")
                .arg(LEASE.as_millis() as u64);
            if link.query::<Option<String>>(&set).await?.is_some() {
                return Ok(lease);
            }
            let mut pipe = redis::pipe();
            pipe.get(&lease.key).pttl(&lease.key);
            let (holder, left): (Option<String>, i64) = link.pipe(&pipe).await?;
            let Some(holder) = holder else {
                continue;
            };
            // Renewed since the last look, or kept without expiry: someone holds it.
            let renewed = last_left.is_some_and(|before| left > before) || left == -1;
            if renewed {
                return Err(RemoteError(format!(
                    "run {run} is still coordinated: its coordinator ({}) is alive and renews the run's lease every {}; resume the run once that coordinator is gone (its lease expires {} after it stops)",
                    described(&holder),
                    hive_plan::duration(RENEW.as_millis() as u64),
                    hive_plan::duration(LEASE.as_millis() as u64),
                )));
            }
            if !announced {
                announced = true;
                tracing::warn!(
                    "run {run} has a coordinator's lease ({}), expiring in {}: waiting to see whether that coordinator is gone",
                    described(&holder),
                    hive_plan::duration(u64::try_from(left).unwrap_or(0))
                );
            }
            last_left = Some(left);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The run it is the lease of.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Renews the lease; an error when another coordinator has taken it meanwhile (this one
    /// was paused, or cut off from Redis, past the lease).
    pub async fn renew(&self, link: &Link) -> Result<(), RemoteError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RENEW_SCRIPT)
            .arg(1)
            .arg(&self.key)
            .arg(&self.holder)
            .arg(LEASE.as_millis() as u64);
        if link.query::<i64>(&cmd).await? == 1 {
            return Ok(());
        }
        let mut get = redis::cmd("GET");
        get.arg(&self.key);
        let holder: Option<String> = link.query(&get).await?;
        let by = holder.map_or("no one".to_string(), |h| described(&h));
        Err(RemoteError(format!(
            "run {} lost its coordinator's lease (now held by {by}): this coordinator stops, so that two do not run it at once",
            self.run
        )))
    }

    /// Gives the lease up, if this process still holds it.
    pub async fn release(&self, link: &Link) -> Result<(), RemoteError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RELEASE_SCRIPT)
            .arg(1)
            .arg(&self.key)
            .arg(&self.holder);
        link.query::<i64>(&cmd).await.map(|_| ())
    }
}
