//! What a read or a write of a cell is allowed to do, whichever backend keeps the cells: the
//! one definition of the capability, type, version, conflict, merge and lock rules that the
//! memory store and the Redis one both apply.
//!
//! Invariant: every function here is pure; a backend supplies the cell as it is and applies
//! the value returned, atomically with the version it was computed from.

use super::store::{Put, Versioned};
use crate::conform::conform;
use crate::eval::eval;
use crate::scope::RunScope;
use hive_plan::{Conflict, Plan, Policy};
use serde_json::Value;
use std::collections::HashMap;

/// Every cell's value before its first write, by name.
pub fn defaults(plan: &Plan) -> Result<HashMap<String, Value>, String> {
    plan.states
        .iter()
        .map(|(name, cell)| {
            let value = match &cell.default {
                Some(d) => eval(d, &RunScope::locals(&[]))
                    .map_err(|e| format!("state `{name}`: its default: {e}"))?,
                None => Value::Null,
            };
            Ok((name.clone(), value))
        })
        .collect()
}

/// Whether an agent of `capability` (`None`: the runtime itself) may read `key`.
pub fn readable(plan: &Plan, capability: Option<&str>, key: &str) -> Result<(), String> {
    if let Some(c) = capability {
        let reads = plan.capabilities.get(c).map(|c| (&c.reads, &c.writes));
        if !reads.is_some_and(|(r, w)| r.iter().chain(w).any(|k| k == key)) {
            return Err(format!(
                "capability `{c}` does not declare `{key}` in `reads` or `writes`"
            ));
        }
    }
    if !plan.states.contains_key(key) {
        return Err(format!("there is no state cell `{key}`"));
    }
    Ok(())
}

/// The value of `put` as the cell keeps it, if an agent of `capability` may write it there:
/// what does not depend on the cell's value.
pub fn admit(plan: &Plan, capability: Option<&str>, put: &Put) -> Result<Value, String> {
    let Some(cell) = plan.states.get(&put.key) else {
        return Err(format!("there is no state cell `{}`", put.key));
    };
    if let Some(c) = capability
        && !plan
            .capabilities
            .get(c)
            .is_some_and(|cap| cap.writes.contains(&put.key))
    {
        return Err(format!(
            "capability `{c}` does not declare `{}` in `writes`",
            put.key
        ));
    }
    conform(put.value.clone(), &cell.ty, &plan.types)
        .map_err(|m| format!("the value is not of the cell's type `{}` {m}", cell.ty))
}

/// The cell's next value when `value` (admitted) is written to `key` at `current`, checking
/// the version the writer expects and the cell's conflict or merge policy.
pub fn next(
    plan: &Plan,
    key: &str,
    current: &Versioned,
    value: Value,
    expect: Option<u64>,
) -> Result<Value, String> {
    let Some(cell) = plan.states.get(key) else {
        return Err(format!("there is no state cell `{key}`"));
    };
    if let Some(expect) = expect.filter(|e| *e != current.version) {
        return Err(format!(
            "expected version {expect}, and the cell is at version {}",
            current.version
        ));
    }
    match cell.policy {
        Policy::Conflict(Conflict::FirstWriter) if current.version > 0 => Err(format!(
            "`{key}` is `first_writer` and was set by write {}",
            current.version
        )),
        Policy::Conflict(_) => Ok(value),
        Policy::Merge(r) => {
            let merged = r.merge(&current.value, &value)?;
            conform(merged, &cell.ty, &plan.types)
                .map_err(|m| format!("the merged value is not `{}` {m}", cell.ty))
        }
    }
}

/// What a write to cell `name` carrying `token` finds of the lock named after it.
#[derive(Debug, PartialEq)]
pub enum Check {
    /// Nobody holds it, and the write carries no token.
    Free,
    /// The write carries the token of the live exclusive lease.
    Held,
    /// The write carries a token that is not (or no longer) the live exclusive lease's.
    Stale(String),
    /// Someone else holds it exclusively, and the write carries no token.
    Locked(String),
}

/// The [`Check`] of a write carrying `token` to `name`, whose live exclusive lease (if any)
/// has token `holder` and whose last token given out is `last` (0: none ever was).
pub fn fence(name: &str, token: Option<u64>, holder: Option<u64>, last: u64) -> Check {
    match (token, holder) {
        (None, None) => Check::Free,
        (None, Some(_)) => Check::Locked(format!(
            "`{name}` is locked by another holder: write with its token"
        )),
        (Some(t), Some(h)) if t == h => Check::Held,
        (Some(t), _) if t > last => {
            Check::Stale(format!("lock token {t} was never given out for `{name}`"))
        }
        (Some(t), _) => Check::Stale(format!(
            "lock token {t} of `{name}` is stale: its lease ended (the latest token is {last})"
        )),
    }
}
