//! The cells of one run in memory: values with versions, writes checked and merged.

use super::locks::{Check, Locks};
use crate::conform::conform;
use crate::eval::eval;
use crate::journal::Journal;
use crate::scope::RunScope;
use hive_plan::{Conflict, Plan, Policy};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A cell's value and how many writes it has taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned {
    /// The value.
    pub value: Value,
    /// 0 before the first write; each accepted write adds one.
    pub version: u64,
}

/// A write, as an agent's `put` gives it.
#[derive(Clone, Debug)]
pub struct Put {
    /// The cell.
    pub key: String,
    /// A value of the cell's type.
    pub value: Value,
    /// Refuse the write unless the cell is at this version.
    pub expect: Option<u64>,
    /// The fencing token of the lock named after the cell, when the writer holds it.
    pub token: Option<u64>,
}

/// Why a write was not applied, with the cell as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    /// What was wrong, for a person.
    pub reason: String,
    /// The cell's version now (0 for a cell that does not exist).
    pub version: u64,
    /// The cell's value now.
    pub value: Value,
}

/// The shared state of one run.
pub struct Store {
    plan: Arc<Plan>,
    cells: Mutex<HashMap<String, Versioned>>,
    locks: Locks,
    journal: Option<Arc<Journal>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// The cells of `plan` at their defaults, or as `journal` recorded them when the run is
    /// resumed; accepted writes are recorded to it.
    pub fn new(plan: Arc<Plan>, journal: Option<Arc<Journal>>) -> Result<Store, String> {
        let mut cells = HashMap::new();
        for (name, cell) in &plan.states {
            let value = match &cell.default {
                Some(d) => eval(d, &RunScope::locals(&[]))
                    .map_err(|e| format!("state `{name}`: its default: {e}"))?,
                None => Value::Null,
            };
            let restored = journal.as_ref().and_then(|j| j.state().get(name).cloned());
            let versioned = match restored {
                Some((value, version)) => {
                    let value = conform(value, &cell.ty, &plan.types).map_err(|m| {
                        format!(
                            "the journal records state `{name}` with a value that is not `{}` {m}",
                            cell.ty
                        )
                    })?;
                    Versioned { value, version }
                }
                None => Versioned { value, version: 0 },
            };
            cells.insert(name.clone(), versioned);
        }
        Ok(Store {
            plan,
            cells: Mutex::new(cells),
            locks: Locks::default(),
            journal,
        })
    }

    /// The run's locks.
    pub fn locks(&self) -> &Locks {
        &self.locks
    }

    /// A cell's value now, for `state.name` in expressions.
    pub fn value(&self, key: &str) -> Option<Value> {
        self.cells
            .lock()
            .ok()
            .and_then(|c| c.get(key).map(|v| v.value.clone()))
    }

    /// Every cell's value, by name (`--state-out`).
    pub fn snapshot(&self) -> Map<String, Value> {
        let Ok(cells) = self.cells.lock() else {
            return Map::new();
        };
        let mut names: Vec<&String> = cells.keys().collect();
        names.sort();
        names
            .into_iter()
            .map(|n| (n.clone(), cells[n].value.clone()))
            .collect()
    }

    /// An agent of `capability` reads `key` (`None`: the runtime itself).
    pub fn get(&self, capability: Option<&str>, key: &str) -> Result<Versioned, String> {
        if let Some(c) = capability {
            let reads = self.plan.capabilities.get(c).map(|c| (&c.reads, &c.writes));
            if !reads.is_some_and(|(r, w)| r.iter().chain(w).any(|k| k == key)) {
                return Err(format!(
                    "capability `{c}` does not declare `{key}` in `reads` or `writes`"
                ));
            }
        }
        let cells = self.cells.lock().map_err(|_| "the state is poisoned")?;
        cells
            .get(key)
            .cloned()
            .ok_or_else(|| format!("there is no state cell `{key}`"))
    }

    /// A refusal of a write to `key` for `reason`, with the cell as it is.
    pub fn refusal(&self, key: &str, reason: String) -> Refused {
        let now = self.cells.lock().ok().and_then(|c| c.get(key).cloned());
        let now = now.unwrap_or(Versioned {
            value: Value::Null,
            version: 0,
        });
        Refused {
            reason,
            version: now.version,
            value: now.value,
        }
    }

    /// An agent of `capability` writes (`None`: the runtime itself). A refused write changes
    /// nothing.
    pub fn put(&self, capability: Option<&str>, put: Put) -> Result<u64, Refused> {
        let mut cells = self.cells.lock().map_err(|_| Refused {
            reason: "the state is poisoned".to_string(),
            version: 0,
            value: Value::Null,
        })?;
        let Some(current) = cells.get(&put.key) else {
            return Err(Refused {
                reason: format!("there is no state cell `{}`", put.key),
                version: 0,
                value: Value::Null,
            });
        };
        let refuse = |reason: String| Refused {
            reason,
            version: current.version,
            value: current.value.clone(),
        };
        let Some(cell) = self.plan.states.get(&put.key) else {
            return Err(refuse(format!("there is no state cell `{}`", put.key)));
        };
        if let Some(c) = capability
            && !self
                .plan
                .capabilities
                .get(c)
                .is_some_and(|cap| cap.writes.contains(&put.key))
        {
            return Err(refuse(format!(
                "capability `{c}` does not declare `{}` in `writes`",
                put.key
            )));
        }
        let value = conform(put.value, &cell.ty, &self.plan.types).map_err(|m| {
            refuse(format!(
                "the value is not of the cell's type `{}` {m}",
                cell.ty
            ))
        })?;
        if let Some(expect) = put.expect.filter(|e| *e != current.version) {
            return Err(refuse(format!(
                "expected version {expect}, and the cell is at version {}",
                current.version
            )));
        }
        match self.locks.check(&put.key, put.token) {
            Check::Free | Check::Held => {}
            Check::Stale(why) | Check::Locked(why) => return Err(refuse(why)),
        }
        let next = match cell.policy {
            Policy::Conflict(Conflict::FirstWriter) if current.version > 0 => {
                return Err(refuse(format!(
                    "`{}` is `first_writer` and was set by write {}",
                    put.key, current.version
                )));
            }
            Policy::Conflict(_) => value,
            Policy::Merge(r) => {
                let merged = r.merge(&current.value, &value).map_err(&refuse)?;
                conform(merged, &cell.ty, &self.plan.types)
                    .map_err(|m| refuse(format!("the merged value is not `{}` {m}", cell.ty)))?
            }
        };
        let version = current.version + 1;
        if let Some(j) = &self.journal {
            j.record_state(&put.key, &next, version).map_err(&refuse)?;
        }
        cells.insert(
            put.key,
            Versioned {
                value: next,
                version,
            },
        );
        Ok(version)
    }
}
