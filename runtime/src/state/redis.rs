//! The cells and locks of a distributed run, kept in Redis under the run's keys (see
//! `remote::keys`), shared by its coordinator and every worker.
//!
//! Invariant: a write is one Lua script (`lua/put.lua`) that applies the value only if the
//! cell is still at the version the value was computed from and the writer's token fences
//! the cell's lock, and appends what it applied to the run's journal in the same step; the
//! value itself is computed by the same rules as in one process
//! (`rules.rs`), from the cell as this process last saw it, and computed again from the
//! cell the script answers with when another writer came first. A refusal is only ever
//! given on the cell as Redis has it.

use super::locks::{MAX_TTL, Mode};
use super::rules::{self, Check};
use super::store::{Put, Refused, Versioned};
use crate::remote::keys::Keys;
use crate::remote::script::Script;
use crate::remote::{Link, RemoteError};
use hive_plan::Plan;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest a waiter sleeps before it asks for a lock again: a lease released by another
/// process is seen within it.
const LOCK_POLL: Duration = Duration::from_millis(10);
/// Most times a write is computed again because other writers came first.
const MAX_ROUNDS: u32 = 10_000;

/// The shared state of one distributed run, in Redis.
pub struct Cells {
    plan: Arc<Plan>,
    link: Arc<Link>,
    keys: Keys,
    run: String,
    defaults: HashMap<String, Value>,
    /// Each cell as this process last saw it: what the next write is computed from.
    seen: Mutex<HashMap<String, Versioned>>,
    /// The connection of the coordinator's reads from expressions, once one is made.
    blocking: Mutex<Option<redis::Connection>>,
    put: Script,
    lock: Script,
    unlock: Script,
}

/// What the write script answered.
enum Applied {
    /// Every write was applied.
    Done,
    /// Another writer came first: the cell as it is now.
    Moved(Versioned),
    /// The writes before this many were applied; the next one's token did not fence the
    /// lock, whose live holder and last token are these.
    Fenced(usize, Option<u64>, u64),
}

/// A refusal for `reason`, with the cell as it is.
fn refused(reason: String, cell: &Versioned) -> Refused {
    Refused {
        reason,
        version: cell.version,
        value: cell.value.clone(),
    }
}

impl Cells {
    /// The cells of run `run` of `plan` through `link`, under namespace `keys`.
    pub fn new(plan: Arc<Plan>, link: Arc<Link>, keys: Keys, run: &str) -> Result<Cells, String> {
        Ok(Cells {
            defaults: rules::defaults(&plan)?,
            plan,
            link,
            keys,
            run: run.to_string(),
            seen: Mutex::new(HashMap::new()),
            blocking: Mutex::new(None),
            put: Script::new(include_str!("lua/put.lua")),
            lock: Script::new(include_str!("lua/lock.lua")),
            unlock: Script::new(include_str!("lua/unlock.lua")),
        })
    }

    /// The plan whose cells these are.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// A cell from the `n` and `v` fields of its hash (absent: its default, version 0).
    fn decode(&self, key: &str, version: Option<u64>, value: Option<&str>) -> Versioned {
        match (version, value.filter(|v| !v.is_empty())) {
            (Some(version), Some(text)) => Versioned {
                value: serde_json::from_str(text).unwrap_or(Value::Null),
                version,
            },
            _ => Versioned {
                value: self.defaults.get(key).cloned().unwrap_or(Value::Null),
                version: 0,
            },
        }
    }

    fn hmget(&self, key: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.keys.state_cell(&self.run, key))
            .arg("n")
            .arg("v");
        cmd
    }

    /// A cell as Redis has it now.
    pub async fn fetch(&self, key: &str) -> Result<Versioned, String> {
        let (n, v): (Option<u64>, Option<String>) =
            self.link.query(&self.hmget(key)).await.map_err(|e| e.0)?;
        let cell = self.decode(key, n, v.as_deref());
        self.saw(key, &cell);
        Ok(cell)
    }

    fn saw(&self, key: &str, cell: &Versioned) {
        if let Ok(mut seen) = self.seen.lock() {
            let newer = seen.get(key).is_none_or(|s| s.version <= cell.version);
            if newer {
                seen.insert(key.to_string(), cell.clone());
            }
        }
    }

    /// An agent of `capability` reads `key` (`None`: the runtime itself).
    pub async fn get(&self, capability: Option<&str>, key: &str) -> Result<Versioned, String> {
        rules::readable(&self.plan, capability, key)?;
        self.fetch(key).await
    }

    /// An agent of `capability` writes (`None`: the runtime itself). A refused write changes
    /// nothing.
    pub async fn put(&self, capability: Option<&str>, put: Put) -> Result<u64, Refused> {
        let mut results = self
            .put_batch(vec![(capability.map(str::to_string), put)])
            .await;
        results
            .pop()
            .unwrap_or_else(|| Err(self.unknown(String::new())))
    }

    /// Writes to one cell by agents of their capabilities (`None`: the runtime itself), in
    /// order, each accepted or refused as it would be alone; the accepted ones are applied by
    /// one script, as long as nobody else wrote the cell meanwhile.
    pub async fn put_batch(&self, writes: Vec<(Option<String>, Put)>) -> Vec<Result<u64, Refused>> {
        let mut results: Vec<Option<Result<u64, Refused>>> = vec![None; writes.len()];
        let Some(key) = writes.first().map(|(_, p)| p.key.clone()) else {
            return Vec::new();
        };
        if !self.plan.states.contains_key(&key) {
            let reason = format!("there is no state cell `{key}`");
            return writes
                .iter()
                .map(|_| Err(self.unknown(reason.clone())))
                .collect();
        }
        // A write the cell cannot take is refused where it comes, with the cell as the
        // writes before it leave it.
        let mut pending: Vec<(usize, Result<Value, String>)> = writes
            .iter()
            .enumerate()
            .map(|(i, (capability, put))| (i, rules::admit(&self.plan, capability.as_deref(), put)))
            .collect();
        let seen = self.seen.lock().ok().and_then(|s| s.get(&key).cloned());
        let (mut cell, mut fresh) = match seen {
            Some(cell) => (cell, false),
            None => match self.fetch(&key).await {
                Ok(cell) => (cell, true),
                Err(e) => {
                    for (i, _) in pending.drain(..) {
                        results[i] = Some(Err(self.unknown(e.clone())));
                    }
                    (self.decode(&key, None, None), true)
                }
            },
        };
        let mut rounds = 0;
        while !pending.is_empty() {
            rounds += 1;
            if rounds > MAX_ROUNDS {
                let reason = format!(
                    "`{key}` was written by others {MAX_ROUNDS} times while this write was being merged"
                );
                for (i, _) in pending.drain(..) {
                    results[i] = Some(Err(refused(reason.clone(), &cell)));
                }
                break;
            }
            // Each write computed from the cell as the ones before it leave it.
            let mut at = cell.clone();
            let mut accepted: Vec<(usize, Value)> = Vec::new();
            let mut refusals: Vec<(usize, Refused)> = Vec::new();
            let mut stale = false;
            for (i, admitted) in &pending {
                let next = admitted
                    .clone()
                    .and_then(|v| rules::next(&self.plan, &key, &at, v, writes[*i].1.expect));
                match next {
                    Ok(next) => {
                        at = Versioned {
                            value: next.clone(),
                            version: at.version + 1,
                        };
                        accepted.push((*i, next));
                    }
                    // What this process saw may be old: only Redis's cell may refuse a write.
                    Err(_) if !fresh => {
                        stale = true;
                        break;
                    }
                    Err(reason) => refusals.push((*i, refused(reason, &at))),
                }
            }
            if stale {
                match self.fetch(&key).await {
                    Ok(now) => (cell, fresh) = (now, true),
                    Err(e) => {
                        for (i, _) in pending.drain(..) {
                            results[i] = Some(Err(self.unknown(e.clone())));
                        }
                    }
                }
                continue;
            }
            if accepted.is_empty() {
                for (i, r) in refusals {
                    results[i] = Some(Err(r));
                }
                break;
            }
            let tokens: Vec<Option<u64>> =
                accepted.iter().map(|(i, _)| writes[*i].1.token).collect();
            let values: Vec<&Value> = accepted.iter().map(|(_, v)| v).collect();
            let applied = match self.apply(&key, &cell, &values, &tokens).await {
                Ok(applied) => applied,
                Err(e) => {
                    for (i, _) in pending.drain(..) {
                        results[i] = Some(Err(refused(e.0.clone(), &cell)));
                    }
                    break;
                }
            };
            let (done, fenced) = match applied {
                Applied::Moved(now) => {
                    self.saw(&key, &now);
                    (cell, fresh) = (now, true);
                    continue;
                }
                Applied::Done => (accepted.len(), None),
                Applied::Fenced(n, holder, last) => (n, Some((holder, last))),
            };
            // The writes applied, the refusals among them, and the fenced one.
            let boundary = accepted.get(done).map_or(usize::MAX, |(i, _)| *i);
            for (k, (i, value)) in accepted.iter().take(done).enumerate() {
                let version = cell.version + k as u64 + 1;
                results[*i] = Some(Ok(version));
                at = Versioned {
                    value: value.clone(),
                    version,
                };
            }
            if done > 0 {
                cell = at.clone();
                self.saw(&key, &cell);
            }
            for (i, r) in refusals {
                if i < boundary {
                    results[i] = Some(Err(r));
                }
            }
            fresh = true;
            pending.retain(|(i, _)| results[*i].is_none() && *i != boundary);
            if let Some((holder, last)) = fenced {
                let put = &writes[boundary].1;
                let reason = match rules::fence(&key, put.token, holder, last) {
                    Check::Stale(why) | Check::Locked(why) => why,
                    Check::Free | Check::Held => "the lock refused the write".to_string(),
                };
                results[boundary] = Some(Err(refused(reason, &cell)));
                pending.retain(|(i, _)| *i > boundary);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(self.unknown("the write was not applied".into()))))
            .collect()
    }

    fn unknown(&self, reason: String) -> Refused {
        Refused {
            reason,
            version: 0,
            value: Value::Null,
        }
    }

    /// A refusal of a write to `key` for `reason`, with the cell as Redis has it.
    pub async fn refusal(&self, key: &str, reason: String) -> Refused {
        let cell = if self.plan.states.contains_key(key) {
            self.fetch(key).await.ok()
        } else {
            None
        };
        let cell = cell.unwrap_or(Versioned {
            value: Value::Null,
            version: 0,
        });
        Refused {
            reason,
            version: cell.version,
            value: cell.value,
        }
    }

    /// Runs the write script for `values` (each the cell after one write, the first
    /// computed from `cell`), written with `tokens`.
    async fn apply(
        &self,
        key: &str,
        cell: &Versioned,
        values: &[&Value],
        tokens: &[Option<u64>],
    ) -> Result<Applied, RemoteError> {
        let keys = [
            self.keys.state_cell(&self.run, key),
            self.keys.state_lock(&self.run, key),
            self.keys.state_token(&self.run, key),
            self.keys.journal(&self.run),
        ];
        let mut args = vec![cell.version.to_string(), key.to_string()];
        for (value, token) in values.iter().zip(tokens) {
            args.push(value.to_string());
            args.push(token.map(|t| t.to_string()).unwrap_or_default());
        }
        let answer: Vec<String> = self.put.call(&self.link, &keys, &args).await?;
        let number = |i: usize| answer.get(i).and_then(|t| t.parse::<u64>().ok());
        match answer.first().map(String::as_str) {
            Some("ok") => Ok(Applied::Done),
            Some("moved") => Ok(Applied::Moved(self.decode(
                key,
                number(1),
                answer.get(2).map(String::as_str),
            ))),
            Some("fenced") => Ok(Applied::Fenced(
                number(1).unwrap_or(0) as usize,
                number(2),
                number(3).unwrap_or(0),
            )),
            _ => Err(RemoteError(format!(
                "Redis at {}: the state write script answered {answer:?}",
                self.link.shown()
            ))),
        }
    }

    /// Waits until lock `name` can be held in `mode`, and holds it for `ttl`: its token.
    pub async fn acquire(&self, name: &str, mode: Mode, ttl: Duration) -> Result<u64, String> {
        let ttl = ttl.min(MAX_TTL).as_millis().max(1) as u64;
        let keys = [
            self.keys.state_lock(&self.run, name),
            self.keys.state_token(&self.run, name),
        ];
        let mode = match mode {
            Mode::Exclusive => "x",
            Mode::Shared => "s",
        };
        let args = [mode.to_string(), ttl.to_string()];
        loop {
            let (token, wait): (u64, i64) = self
                .lock
                .call(&self.link, &keys, &args)
                .await
                .map_err(|e| e.0)?;
            if token > 0 {
                return Ok(token);
            }
            let wait = Duration::from_millis(wait.max(1) as u64);
            tokio::time::sleep(wait.min(LOCK_POLL)).await;
        }
    }

    /// Ends the lease of `token` on `name`; whether it was live.
    pub async fn release(&self, name: &str, token: u64) -> bool {
        let keys = [self.keys.state_lock(&self.run, name)];
        let args = [token.to_string()];
        let ended: Result<u64, _> = self.unlock.call(&self.link, &keys, &args).await;
        ended.is_ok_and(|n| n > 0)
    }

    /// A cell's value now, read while the caller waits (`state.name` in the coordinator's
    /// expressions): `None`, with a warning, when Redis cannot be reached.
    pub fn value(&self, key: &str) -> Option<Value> {
        if !self.plan.states.contains_key(key) {
            return None;
        }
        let read = self.blocking_read(|conn| self.hmget(key).query(conn));
        match read {
            Ok((n, v)) => {
                let n: Option<u64> = n;
                let v: Option<String> = v;
                Some(self.decode(key, n, v.as_deref()).value)
            }
            Err(e) => {
                tracing::warn!("state `{key}`: {e}");
                None
            }
        }
    }

    /// Every cell's value, by name (`--state-out`, the journal's final state), with its
    /// version.
    pub fn versions(&self) -> Vec<(String, Versioned)> {
        let mut names: Vec<&String> = self.plan.states.keys().collect();
        names.sort();
        let mut pipe = redis::pipe();
        for name in &names {
            pipe.add_command(self.hmget(name));
        }
        let read: Result<Vec<(Option<u64>, Option<String>)>, _> =
            self.blocking_read(|conn| pipe.query(conn));
        match read {
            Ok(cells) => names
                .into_iter()
                .zip(cells)
                .map(|(name, (n, v))| (name.clone(), self.decode(name, n, v.as_deref())))
                .collect(),
            Err(e) => {
                tracing::warn!("the run's state: {e}");
                Vec::new()
            }
        }
    }

    /// Every cell's value, by name.
    pub fn snapshot(&self) -> Map<String, Value> {
        self.versions()
            .into_iter()
            .map(|(name, cell)| (name, cell.value))
            .collect()
    }

    fn blocking_read<T>(
        &self,
        read: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, RemoteError> {
        let mut slot = self
            .blocking
            .lock()
            .map_err(|_| RemoteError("the state connection is poisoned".to_string()))?;
        let conn = match slot.take() {
            Some(conn) => conn,
            None => self.link.blocking()?,
        };
        let mut conn = conn;
        let value = read(&mut conn).map_err(|e| self.link.failed(&e))?;
        *slot = Some(conn);
        Ok(value)
    }
}

/// Makes every state key of run `run` expire `keep` from now: the run has ended.
pub async fn expire(
    link: &Link,
    keys: &Keys,
    run: &str,
    keep: Duration,
) -> Result<(), RemoteError> {
    let mut cursor = 0u64;
    loop {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(keys.state_keys(run))
            .arg("COUNT")
            .arg(1_000);
        let (next, found): (u64, Vec<String>) = link.query(&scan).await?;
        let mut pipe = redis::pipe();
        for key in &found {
            pipe.pexpire(key, keep.as_millis() as i64).ignore();
        }
        if !found.is_empty() {
            link.pipe::<()>(&pipe).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
