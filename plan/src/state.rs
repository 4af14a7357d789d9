//! Shared state cells: their policies, and the merge of a write into a cell's value, which the
//! checker's reducer rule and the runtime's store share.
//!
//! Invariant: a merge reducer is associative and commutative on the values it accepts, so the
//! value of a merge cell is the same whatever order its writes were accepted in (for `append`,
//! the same elements, in the order of their versions).

use crate::{Expr, Loc, Type};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// A typed cell shared by the steps and agents of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateCell {
    /// Its type; every accepted write holds a value of it.
    #[serde(rename = "type")]
    pub ty: Type,
    /// Its value before any write, a constant; without one it is `none` (the type is then
    /// optional or `json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Expr>,
    /// What concurrent writes do.
    pub policy: Policy,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// What happens when a cell is written more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "rule")]
pub enum Policy {
    /// `conflict: …`: a write replaces the value (or is refused).
    Conflict(Conflict),
    /// `merge: …`: a write is combined with the value.
    Merge(Reducer),
}

impl Policy {
    /// `conflict: reject`, `merge: append`: as written in a `state` item.
    pub fn describe(self) -> String {
        match self {
            Policy::Conflict(c) => format!("conflict: {}", c.name()),
            Policy::Merge(r) => format!("merge: {}", r.name()),
        }
    }
}

/// `conflict:` policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// Steps that may run at the same time must not both write it (checked before the run).
    Reject,
    /// The write with the highest version wins.
    LastWriter,
    /// The first write sets it; later writes are refused.
    FirstWriter,
}

impl Conflict {
    /// Every policy, in the order the language lists them.
    pub const ALL: [Conflict; 3] = [
        Conflict::Reject,
        Conflict::LastWriter,
        Conflict::FirstWriter,
    ];

    /// The word written in a `state` item.
    pub fn name(self) -> &'static str {
        match self {
            Conflict::Reject => "reject",
            Conflict::LastWriter => "last_writer",
            Conflict::FirstWriter => "first_writer",
        }
    }
}

/// `merge:` reducers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reducer {
    /// Lists: the elements of both, in the order of the writes' versions.
    Append,
    /// Lists: the distinct elements of both, sorted by their JSON text.
    Union,
    /// Numbers: their sum.
    Sum,
    /// Numbers: the larger.
    Max,
    /// Numbers: the smaller.
    Min,
}

impl Reducer {
    /// Every reducer, in the order the language lists them.
    pub const ALL: [Reducer; 5] = [
        Reducer::Append,
        Reducer::Union,
        Reducer::Sum,
        Reducer::Max,
        Reducer::Min,
    ];

    /// The word written in a `state` item.
    pub fn name(self) -> &'static str {
        match self {
            Reducer::Append => "append",
            Reducer::Union => "union",
            Reducer::Sum => "sum",
            Reducer::Max => "max",
            Reducer::Min => "min",
        }
    }

    /// What the reducer combines, for messages.
    pub fn operands(self) -> &'static str {
        match self {
            Reducer::Append | Reducer::Union => "lists",
            Reducer::Sum | Reducer::Max | Reducer::Min => "numbers",
        }
    }

    /// Whether values of the shape `ty` can be combined: lists for `append` and `union`,
    /// `int` and `float` for the others, a map of such key by key, an optional of such (`none`
    /// is the empty value), and `json` (checked as each write comes).
    pub fn fits(self, ty: &Type) -> bool {
        match ty {
            Type::Json => true,
            Type::Optional(t) | Type::Map(t) => self.fits(t),
            Type::List(_) => matches!(self, Reducer::Append | Reducer::Union),
            Type::Int | Type::Float => matches!(self, Reducer::Sum | Reducer::Max | Reducer::Min),
            _ => false,
        }
    }

    /// `current` combined with `write`; `none` on either side is the other. An error names
    /// what does not fit (a `json` cell holding a value the reducer cannot combine).
    pub fn merge(self, current: &Value, write: &Value) -> Result<Value, String> {
        match (current, write) {
            (Value::Null, w) => Ok(self.normal(w)),
            (c, Value::Null) => Ok(c.clone()),
            (Value::Array(a), Value::Array(b)) => match self {
                Reducer::Append => Ok(Value::Array(a.iter().chain(b).cloned().collect())),
                Reducer::Union => Ok(union(a.iter().chain(b))),
                _ => Err(format!("`{}` combines numbers, not lists", self.name())),
            },
            (Value::Object(a), Value::Object(b)) => {
                let mut out: Map<String, Value> = a.clone();
                for (k, v) in b {
                    let merged = match out.get(k) {
                        Some(c) => self.merge(c, v).map_err(|e| format!("key `{k}`: {e}"))?,
                        None => self.normal(v),
                    };
                    out.insert(k.clone(), merged);
                }
                Ok(Value::Object(out))
            }
            (Value::Number(a), Value::Number(b)) => self.numbers(a, b),
            (c, w) => Err(format!(
                "`{}` cannot combine {} with {}",
                self.name(),
                shape(c),
                shape(w)
            )),
        }
    }

    /// A first value as the reducer keeps it (a union's elements sorted and distinct).
    fn normal(self, v: &Value) -> Value {
        match (self, v) {
            (Reducer::Union, Value::Array(a)) => union(a.iter()),
            _ => v.clone(),
        }
    }

    fn numbers(self, a: &Number, b: &Number) -> Result<Value, String> {
        if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
            let r = match self {
                Reducer::Sum => x
                    .checked_add(y)
                    .ok_or_else(|| format!("the sum {x} + {y} overflows an int"))?,
                Reducer::Max => x.max(y),
                Reducer::Min => x.min(y),
                _ => return Err(format!("`{}` combines lists, not numbers", self.name())),
            };
            return Ok(Value::from(r));
        }
        let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
        let r = match self {
            Reducer::Sum => x + y,
            Reducer::Max => x.max(y),
            Reducer::Min => x.min(y),
            _ => return Err(format!("`{}` combines lists, not numbers", self.name())),
        };
        Number::from_f64(r)
            .map(Value::Number)
            .ok_or_else(|| format!("the {} is not a finite number", self.name()))
    }
}

/// The distinct values, sorted by their JSON text, so that any order of writes gives one list.
fn union<'a>(values: impl Iterator<Item = &'a Value>) -> Value {
    let mut keyed: Vec<(String, &Value)> = values.map(|v| (v.to_string(), v)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    Value::Array(keyed.into_iter().map(|(_, v)| v.clone()).collect())
}

fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "none",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reducers_fit_the_shapes_they_combine() {
        let list = Type::List(Box::new(Type::String));
        assert!(Reducer::Append.fits(&list));
        assert!(!Reducer::Sum.fits(&list));
        assert!(Reducer::Sum.fits(&Type::Map(Box::new(Type::Float))));
        assert!(!Reducer::Max.fits(&Type::String));
        assert!(Reducer::Union.fits(&Type::Optional(Box::new(list))));
    }

    #[test]
    fn merges_combine_lists_numbers_and_maps_key_by_key() {
        let m = |r: Reducer, a, b| r.merge(&a, &b).expect("merges");
        assert_eq!(
            m(Reducer::Append, json!(["a"]), json!(["b"])),
            json!(["a", "b"])
        );
        assert_eq!(
            m(Reducer::Union, json!(["b", "a"]), json!(["a", "c"])),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            m(Reducer::Sum, json!({"x": 1}), json!({"x": 2, "y": 3})),
            json!({"x": 3, "y": 3})
        );
        assert_eq!(m(Reducer::Max, json!(1.5), json!(2)), json!(2.0));
        assert_eq!(m(Reducer::Min, Value::Null, json!(4)), json!(4));
        let err = Reducer::Sum.merge(&json!(i64::MAX), &json!(1)).unwrap_err();
        assert!(err.contains("overflows"), "{err}");
        let err = Reducer::Append.merge(&json!([1]), &json!("x")).unwrap_err();
        assert!(err.contains("cannot combine a list with a string"), "{err}");
    }
}
