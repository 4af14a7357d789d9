//! Types as the runtime checks them against values.

use crate::Expr;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    /// `string`
    String,
    /// `int`
    Int,
    /// `float` (an `int` is accepted)
    Float,
    /// `bool`
    Bool,
    /// `duration`, as integer milliseconds.
    Duration,
    /// `size`, as integer bytes.
    Size,
    /// `json`: anything.
    Json,
    /// `list<T>`
    List(Box<Type>),
    /// `map<T>`, string keys.
    Map(Box<Type>),
    /// `T?`: `null` or a `T`.
    Optional(Box<Type>),
    /// A record, by its key in [`crate::Plan::types`].
    Record(String),
    /// An enum, by its key in [`crate::Plan::types`]; values are variant names.
    Enum(String),
    /// An untyped record literal's type: these fields.
    Fields(Vec<(String, Type)>),
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Bool => f.write_str("bool"),
            Type::Duration => f.write_str("duration"),
            Type::Size => f.write_str("size"),
            Type::Json => f.write_str("json"),
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Map(t) => write!(f, "map<{t}>"),
            Type::Optional(t) => write!(f, "{t}?"),
            Type::Record(n) | Type::Enum(n) => f.write_str(n),
            Type::Fields(fields) => {
                f.write_str("{ ")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {t}")?;
                }
                f.write_str(" }")
            }
        }
    }
}

/// A declared record or enum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeDef {
    /// `type Name { … }`
    Record(Vec<FieldDef>),
    /// `enum Name { … }`
    Enum(Vec<String>),
}

/// A field of a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: Type,
    /// Value when a literal leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Expr>,
}
