//! The cells and locks of a distributed run, kept in Redis under the run's keys (see
//! `remote::keys`), shared by its coordinator and every worker.
//!
//! Invariant: a write is one Lua script (`lua/put.lua`) that applies the value only if the
//! cell is still at the version the value was computed from and the writer's token fences
//! the cell's lock; the value itself is computed by the same rules as in one process
//! (`rules.rs`), from the cell as this process last saw it, and computed again from the
//! cell the script answers with when another writer came first. A refusal is only ever
//! given on the cell as Redis has it.

use super::locks::{MAX_TTL, Mode};
use super::rules::{self, Check};
use super::store::{Put, Refused, Versioned};
use crate::remote::keys::Keys;
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

/// A Lua script, loaded into Redis once and then called by its hash.
struct Lua {
    source: &'static str,
    hash: String,
}

impl Lua {
    fn new(source: &'static str) -> Lua {
        Lua {
            source,
            hash: redis::Script::new(source).get_hash().to_string(),
        }
    }
}

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
    put: Lua,
    lock: Lua,
    unlock: Lua,
}

/// What the write script answered.
enum Applied {
    Done(u64),
    /// Another writer came first: the cell as it is now.
    Moved(Versioned),
    /// The lock's token refused it: the cell, the live holder's token and the last token.
    Fenced(Versioned, Option<u64>, u64),
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
            put: Lua::new(include_str!("lua/put.lua")),
            lock: Lua::new(include_str!("lua/lock.lua")),
            unlock: Lua::new(include_str!("lua/unlock.lua")),
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
        let refused = |reason: String, cell: Versioned| Refused {
            reason,
            version: cell.version,
            value: cell.value,
        };
        let admitted = match rules::admit(&self.plan, capability, &put) {
            Ok(v) => v,
            Err(reason) => return Err(self.refusal(&put.key, reason).await),
        };
        let seen = self.seen.lock().ok().and_then(|s| s.get(&put.key).cloned());
        let (mut cell, mut fresh) = match seen {
            Some(cell) => (cell, false),
            None => (
                self.fetch(&put.key)
                    .await
                    .map_err(|e| self.unknown(e.clone()))?,
                true,
            ),
        };
        for _ in 0..MAX_ROUNDS {
            let next = match rules::next(&self.plan, &put.key, &cell, admitted.clone(), put.expect)
            {
                Ok(next) => next,
                // What this process saw may be old: only Redis's cell may refuse a write.
                Err(_) if !fresh => {
                    cell = self.fetch(&put.key).await.map_err(|e| self.unknown(e))?;
                    fresh = true;
                    continue;
                }
                Err(reason) => return Err(refused(reason, cell)),
            };
            match self.apply(&put, &cell, &next).await {
                Ok(Applied::Done(version)) => {
                    let written = Versioned {
                        value: next,
                        version,
                    };
                    self.saw(&put.key, &written);
                    return Ok(version);
                }
                Ok(Applied::Moved(now)) => {
                    self.saw(&put.key, &now);
                    (cell, fresh) = (now, true);
                }
                Ok(Applied::Fenced(now, holder, last)) => {
                    self.saw(&put.key, &now);
                    let reason = match rules::fence(&put.key, put.token, holder, last) {
                        Check::Stale(why) | Check::Locked(why) => why,
                        Check::Free | Check::Held => "the lock refused the write".to_string(),
                    };
                    return Err(refused(reason, now));
                }
                Err(e) => return Err(refused(e.0, cell)),
            }
        }
        Err(refused(
            format!(
                "`{}` was written by others {MAX_ROUNDS} times while this write was being merged",
                put.key
            ),
            cell,
        ))
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

    /// Runs the write script for `next`, computed from `cell`.
    async fn apply(
        &self,
        put: &Put,
        cell: &Versioned,
        next: &Value,
    ) -> Result<Applied, RemoteError> {
        let keys = [
            self.keys.state_cell(&self.run, &put.key),
            self.keys.state_lock(&self.run, &put.key),
            self.keys.state_token(&self.run, &put.key),
        ];
        let token = put.token.map(|t| t.to_string()).unwrap_or_default();
        let args = [cell.version.to_string(), next.to_string(), token];
        let answer: Vec<String> = self.eval(&self.put, &keys, &args).await?;
        let number = |i: usize| answer.get(i).and_then(|t| t.parse::<u64>().ok());
        let now = || self.decode(&put.key, number(1), answer.get(2).map(String::as_str));
        match answer.first().map(String::as_str) {
            Some("ok") => Ok(Applied::Done(number(1).unwrap_or(0))),
            Some("moved") => Ok(Applied::Moved(now())),
            Some("fenced") => Ok(Applied::Fenced(now(), number(3), number(4).unwrap_or(0))),
            _ => Err(RemoteError(format!(
                "Redis at {}: the state write script answered {answer:?}",
                self.link.shown()
            ))),
        }
    }

    /// Calls `script` by its hash, loading it first where Redis does not have it (the first
    /// call, or after Redis restarted).
    async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &Lua,
        keys: &[String],
        args: &[String],
    ) -> Result<T, RemoteError> {
        let call = |by: &str, what: &str| {
            let mut cmd = redis::cmd(by);
            cmd.arg(what).arg(keys.len()).arg(keys).arg(args);
            cmd
        };
        match self.link.query(&call("EVALSHA", &script.hash)).await {
            Err(e) if e.0.contains("NOSCRIPT") || e.0.contains("NoScript") => {
                self.link.query(&call("EVAL", script.source)).await
            }
            other => other,
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
            let (token, wait): (u64, i64) =
                self.eval(&self.lock, &keys, &args).await.map_err(|e| e.0)?;
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
        let ended: Result<u64, _> = self.eval(&self.unlock, &keys, &args).await;
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
