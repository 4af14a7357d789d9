//! The workers' registrations as anyone reads them: each registered worker with the
//! instances it hosts, its capacity report and the age of its last heartbeat, on Redis's
//! clock. The coordinator places tasks from it; `hivec serve` shows it.
//!
//! Invariant: an age is read from the remaining time of the worker's key (three heartbeats
//! after each one), never from a machine's clock, so clocks that disagree change nothing.

use super::capacity::AgentReport;
use super::keys::Keys;
use super::link::{Link, RemoteError};
use serde::Serialize;
use std::collections::BTreeMap;

/// A worker not heard from for this many heartbeats is stale: its instances are left out of
/// the capacity the strategies see (its key expires, and it is dead, after three).
pub const STALE_BEATS: u64 = 2;

/// A worker's registration, as it writes it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Registration {
    /// The hash of the sources it was started with.
    pub hash: String,
    /// Instances hosted, by agent.
    pub agents: BTreeMap<String, usize>,
    /// Its process id on its machine.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Its heartbeat interval; its key lives three of them after each heartbeat.
    #[serde(default)]
    pub heartbeat_ms: Option<u64>,
    /// What it reports of each agent with every heartbeat.
    #[serde(default)]
    pub capacity: BTreeMap<String, AgentReport>,
}

/// One registered worker, read now.
#[derive(Clone, Debug)]
pub struct Registered {
    /// Its id: host, process and a random part.
    pub id: String,
    /// What it registered.
    pub registration: Registration,
    /// How long ago its last heartbeat was, when it says how often it beats.
    pub age_ms: Option<u64>,
}

impl Registered {
    /// Whether it missed more than [`STALE_BEATS`] heartbeats.
    pub fn stale(&self) -> bool {
        match (self.registration.heartbeat_ms, self.age_ms) {
            (Some(beat), Some(age)) if beat > 0 => age > beat * STALE_BEATS,
            _ => false,
        }
    }
}

/// Every registered worker whose key is still there, in the order of their ids. Workers
/// whose key expired are removed from the set; a registration that cannot be read is left
/// out.
pub async fn read(link: &Link, keys: &Keys) -> Result<Vec<Registered>, RemoteError> {
    let mut ids: Vec<String> = link
        .query(redis::cmd("SMEMBERS").arg(keys.workers()))
        .await?;
    ids.sort();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.get(keys.worker(id)).pttl(keys.worker(id));
    }
    let values: Vec<(Option<String>, i64)> = link.pipe(&pipe).await?;
    let mut dead = Vec::new();
    let mut registered = Vec::new();
    for (id, (value, left_ms)) in ids.into_iter().zip(values) {
        let Some(text) = value else {
            dead.push(id);
            continue;
        };
        let Ok(registration) = serde_json::from_str::<Registration>(&text) else {
            continue;
        };
        let age_ms = registration
            .heartbeat_ms
            .filter(|b| *b > 0)
            .map(|beat| (beat * 3).saturating_sub(u64::try_from(left_ms).unwrap_or(0)));
        registered.push(Registered {
            id,
            registration,
            age_ms,
        });
    }
    if !dead.is_empty() {
        let mut cmd = redis::cmd("SREM");
        cmd.arg(keys.workers()).arg(&dead);
        link.query::<u64>(&cmd).await?;
    }
    Ok(registered)
}

/// A worker as a service shows it.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerView {
    /// Its id.
    pub id: String,
    /// Its process id on its machine.
    pub pid: Option<u32>,
    /// The first characters of the hash of its sources.
    pub sources: String,
    /// Its heartbeat interval.
    pub heartbeat_ms: Option<u64>,
    /// The age of its last heartbeat.
    pub heartbeat_age_ms: Option<u64>,
    /// Whether it missed heartbeats enough to receive no placement.
    pub stale: bool,
    /// Each agent it hosts: instances, and free slots when the agent's concurrency is
    /// limited.
    pub agents: BTreeMap<String, AgentView>,
}

/// One agent on one worker, as a service shows it.
#[derive(Clone, Debug, Serialize)]
pub struct AgentView {
    /// Live instances.
    pub instances: usize,
    /// Free slots over them, every run's tasks counted; absent when unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free: Option<u64>,
}

/// Every registered worker, as a service shows it.
pub async fn views(link: &Link, keys: &Keys) -> Result<Vec<WorkerView>, RemoteError> {
    Ok(read(link, keys)
        .await?
        .into_iter()
        .map(|w| {
            let stale = w.stale();
            let r = w.registration;
            let agents = r
                .agents
                .iter()
                .map(|(name, n)| {
                    let free = r.capacity.get(name).and_then(|c| c.free);
                    (
                        name.clone(),
                        AgentView {
                            instances: *n,
                            free,
                        },
                    )
                })
                .collect();
            WorkerView {
                id: w.id,
                pid: r.pid,
                sources: r.hash.get(..12).unwrap_or(&r.hash).to_string(),
                heartbeat_ms: r.heartbeat_ms,
                heartbeat_age_ms: w.age_ms,
                stale,
                agents,
            }
        })
        .collect())
}

/// The runs in progress in a namespace, by id, with the hash of the sources each was started
/// from.
pub async fn runs(link: &Link, keys: &Keys) -> Result<BTreeMap<String, String>, RemoteError> {
    let runs: BTreeMap<String, String> = link.query(redis::cmd("HGETALL").arg(keys.runs())).await?;
    Ok(runs
        .into_iter()
        .map(|(run, entry)| {
            let hash = serde_json::from_str::<serde_json::Value>(&entry)
                .ok()
                .and_then(|e| e["hash"].as_str().map(str::to_string))
                .unwrap_or_default();
            (run, hash)
        })
        .collect())
}
