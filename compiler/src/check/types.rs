//! Types of the language, written types resolved, and assignability.

use super::scope::{DefKind, ItemRef, Resolved, resolve_path, scope};
use crate::db::{Db, Loc, SourceFile};
use crate::syntax::ast::{TypeExpr, TypeExprKind};
use std::fmt;

/// A record or enum type, by its declaring item; equal when the item is (the name is only
/// how it was written, `lib.Review` or `Review`).
#[derive(Clone, Debug, Eq)]
pub struct Named {
    /// The declaring item.
    pub item: ItemRef,
    /// Its name, for messages.
    pub name: String,
}

impl PartialEq for Named {
    fn eq(&self, other: &Self) -> bool {
        self.item == other.item
    }
}

impl std::hash::Hash for Named {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.item.hash(state);
    }
}

/// A type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `string`
    Str,
    /// `int`
    Int,
    /// `float`
    Float,
    /// `bool`
    Bool,
    /// `duration`
    Duration,
    /// `size`
    Size,
    /// `json`: any value, checked where it flows into a typed place at run time.
    Json,
    /// The type of `none` before it meets an optional.
    NoneLit,
    /// `list<T>`
    List(Box<Ty>),
    /// `map<T>`
    Map(Box<Ty>),
    /// `T?`
    Optional(Box<Ty>),
    /// A declared record.
    Record(Named),
    /// A declared enum.
    Enum(Named),
    /// An untyped record literal `{ a: 1 }`.
    Anon(Vec<(String, Ty)>),
    /// `a..b`
    Range,
    /// A priority level.
    Priority,
    /// Unknown after an error: accepted everywhere so one mistake is reported once.
    Error,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Str => f.write_str("string"),
            Ty::Int => f.write_str("int"),
            Ty::Float => f.write_str("float"),
            Ty::Bool => f.write_str("bool"),
            Ty::Duration => f.write_str("duration"),
            Ty::Size => f.write_str("size"),
            Ty::Json => f.write_str("json"),
            Ty::NoneLit => f.write_str("none"),
            Ty::List(t) => write!(f, "list<{t}>"),
            Ty::Map(t) => write!(f, "map<{t}>"),
            Ty::Optional(t) => write!(f, "{t}?"),
            Ty::Record(n) | Ty::Enum(n) => f.write_str(&n.name),
            Ty::Anon(fields) => {
                f.write_str("{ ")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {ty}")?;
                }
                f.write_str(" }")
            }
            Ty::Range => f.write_str("range"),
            Ty::Priority => f.write_str("priority"),
            Ty::Error => f.write_str("{unknown}"),
        }
    }
}

impl Ty {
    /// `T?` (idempotent).
    pub fn optional(self) -> Ty {
        match self {
            Ty::Optional(_) | Ty::Error | Ty::Json | Ty::NoneLit => self,
            t => Ty::Optional(Box::new(t)),
        }
    }

    /// The type inside an optional.
    pub fn unwrap_optional(&self) -> &Ty {
        match self {
            Ty::Optional(t) => t,
            t => t,
        }
    }

    /// Whether values of the type are numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Json | Ty::Error)
    }

    /// Whether it is an optional (so it needs `??` before use as its inner type).
    pub fn is_optional(&self) -> bool {
        matches!(self, Ty::Optional(_) | Ty::NoneLit)
    }
}

/// A record type's field as the checker sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldTy {
    /// Field name.
    pub name: String,
    /// Field type.
    pub ty: Ty,
    /// Whether the field has a default (so it may be left out of a literal).
    pub has_default: bool,
}

/// Resolves a written type; unknown names are reported at `owner`'s location.
pub fn resolve_type(db: &dyn Db, file: SourceFile, owner: ItemRef, ty: &TypeExpr) -> Ty {
    match &ty.kind {
        TypeExprKind::List(t) => Ty::List(Box::new(resolve_type(db, file, owner, t))),
        TypeExprKind::Map(t) => Ty::Map(Box::new(resolve_type(db, file, owner, t))),
        TypeExprKind::Optional(t) => resolve_type(db, file, owner, t).optional(),
        TypeExprKind::Named(path) => {
            if path.segments.len() == 1 {
                let builtin = match path.segments[0].text.as_str() {
                    "string" => Some(Ty::Str),
                    "int" => Some(Ty::Int),
                    "float" => Some(Ty::Float),
                    "bool" => Some(Ty::Bool),
                    "duration" => Some(Ty::Duration),
                    "size" => Some(Ty::Size),
                    "json" => Some(Ty::Json),
                    _ => None,
                };
                if let Some(t) = builtin {
                    return t;
                }
            }
            match resolve_path(db, file, path) {
                Resolved::Item(def, used) if used == path.segments.len() => match def.kind {
                    DefKind::Type => Ty::Record(Named {
                        item: def.item,
                        name: path.text(),
                    }),
                    DefKind::Enum => Ty::Enum(Named {
                        item: def.item,
                        name: path.text(),
                    }),
                    _ => {
                        report_unknown_type(db, file, owner.loc(path.span), &path.text());
                        Ty::Error
                    }
                },
                Resolved::Item(def, _) if def.kind == DefKind::Module && def.module.is_none() => {
                    Ty::Error
                }
                _ => {
                    report_unknown_type(db, file, owner.loc(path.span), &path.text());
                    Ty::Error
                }
            }
        }
    }
}

fn report_unknown_type(db: &dyn Db, file: SourceFile, at: Loc, name: &str) {
    static BUILT_IN: std::sync::LazyLock<std::sync::Arc<[String]>> =
        std::sync::LazyLock::new(|| {
            ["string", "int", "float", "bool", "duration", "size", "json"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
    let mut among = vec![BUILT_IN.clone()];
    among.extend(scope(db, file).suggestible(&[DefKind::Type, DefKind::Enum]));
    super::scope::unknown(db, crate::codes::Code::UnknownType, at, name, "type", among);
}

/// Whether a value of type `from` may flow where `to` is expected. `json` and unknown types
/// are accepted both ways (checked at run time); `int` widens to `float`; `T` and `none` are
/// accepted where `T?` is expected; record literals are checked field by field.
pub fn assignable(db: &dyn Db, from: &Ty, to: &Ty) -> bool {
    match (from, to) {
        (Ty::Error, _) | (_, Ty::Error) | (Ty::Json, _) | (_, Ty::Json) => true,
        (Ty::Int, Ty::Float) => true,
        (Ty::NoneLit, Ty::Optional(_)) => true,
        (Ty::Optional(a), Ty::Optional(b)) => assignable(db, a, b),
        (a, Ty::Optional(b)) => assignable(db, a, b),
        (Ty::List(a), Ty::List(b)) | (Ty::Map(a), Ty::Map(b)) => assignable(db, a, b),
        (Ty::Anon(fields), Ty::Map(v)) => fields.iter().all(|(_, t)| assignable(db, t, v)),
        (Ty::Anon(fields), Ty::Record(r)) => {
            let decl = super::decls::record_fields(db, r.item);
            fields.iter().all(|(n, t)| {
                decl.iter()
                    .any(|f| &f.name == n && assignable(db, t, &f.ty))
            }) && decl.iter().all(|f| {
                f.has_default || f.ty.is_optional() || fields.iter().any(|(n, _)| *n == f.name)
            })
        }
        (Ty::Anon(a), Ty::Anon(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(n, t)| b.iter().any(|(m, u)| n == m && assignable(db, t, u)))
        }
        (a, b) => a == b,
    }
}

/// The type of field `name` of a value of type `ty`, if it has one.
pub fn field_type(db: &dyn Db, ty: &Ty, name: &str) -> Option<Ty> {
    match ty {
        Ty::Json | Ty::Error => Some(ty.clone()),
        Ty::Record(r) => super::decls::record_fields(db, r.item)
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.ty.clone()),
        Ty::Anon(fields) => fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone()),
        Ty::Map(v) => Some((**v).clone().optional()),
        _ => None,
    }
}

/// Field names of a record-like type, for suggestions.
pub fn field_names(db: &dyn Db, ty: &Ty) -> Vec<String> {
    match ty {
        Ty::Record(r) => super::decls::record_fields(db, r.item)
            .iter()
            .map(|f| f.name.clone())
            .collect(),
        Ty::Anon(fields) => fields.iter().map(|(n, _)| n.clone()).collect(),
        _ => Vec::new(),
    }
}
