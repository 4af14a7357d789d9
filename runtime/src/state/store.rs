//! The cells of one run in memory: values with versions, writes checked and merged by the
//! rules of `rules.rs`.

use super::locks::{Check, Locks};
use super::rules;
use crate::conform::conform;
use crate::journal::Journal;
use hive_plan::Plan;
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

/// The shared state of one run, kept in this process.
pub struct Memory {
    plan: Arc<Plan>,
    cells: Mutex<HashMap<String, Versioned>>,
    locks: Locks,
    journal: Option<Arc<Journal>>,
}

impl Memory {
    /// The cells of `plan` at their defaults, or as `journal` recorded them when the run is
    /// resumed; accepted writes are recorded to it.
    pub fn new(plan: Arc<Plan>, journal: Option<Arc<Journal>>) -> Result<Memory, String> {
        let mut cells = HashMap::new();
        for (name, value) in rules::defaults(&plan)? {
            let cell = &plan.states[&name];
            let restored = journal.as_ref().and_then(|j| j.state().get(&name).cloned());
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
            cells.insert(name, versioned);
        }
        Ok(Memory {
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
        rules::readable(&self.plan, capability, key)?;
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
        let value = rules::admit(&self.plan, capability, &put).map_err(refuse)?;
        let next = rules::next(&self.plan, &put.key, current, value, put.expect).map_err(refuse)?;
        match self.locks.check(&put.key, put.token) {
            Check::Free | Check::Held => {}
            Check::Stale(why) | Check::Locked(why) => return Err(refuse(why)),
        }
        let version = current.version + 1;
        if let Some(j) = &self.journal {
            j.record_state(&put.key, &next, version).map_err(refuse)?;
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
