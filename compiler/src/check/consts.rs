//! Compile-time values: property values and constants are evaluated while checking, so ranges
//! (a negative retry, a zero timeout) are caught before anything runs.

use super::scope::{DefKind, ItemRef, Resolved, resolve_path};
use crate::db::{Db, SourceFile};
use crate::queries::item;
use crate::syntax::ast::{BinaryOp, Expr, ExprKind, ItemKind, StrPart, UnaryOp};

/// A value known at compile time.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    /// `42`
    Int(i64),
    /// `0.5`
    Float(f64),
    /// `true`
    Bool(bool),
    /// `"text"`
    Str(String),
    /// Milliseconds.
    Duration(u64),
    /// Bytes.
    Size(u64),
    /// `none`
    None,
    /// `[…]`
    List(Vec<Const>),
    /// `{ a: … }`
    Record(Vec<(String, Const)>),
    /// `a..b`
    Range(i64, i64),
    /// A bare name that is not a constant (`weighted`, `high`, `majority`).
    Word(String),
}

impl Const {
    /// A short description of the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Const::Int(_) => "an integer",
            Const::Float(_) => "a float",
            Const::Bool(_) => "a boolean",
            Const::Str(_) => "a string",
            Const::Duration(_) => "a duration",
            Const::Size(_) => "a size",
            Const::None => "`none`",
            Const::List(_) => "a list",
            Const::Record(_) => "a record",
            Const::Range(_, _) => "a range",
            Const::Word(_) => "a name",
        }
    }
}

/// Evaluates `expr` if it is known at compile time (literals, constants, arithmetic); `None`
/// for anything that depends on run-time values. Recursion through constants is bounded.
pub fn eval(db: &dyn Db, file: SourceFile, expr: &Expr) -> Option<Const> {
    eval_in(db, file, expr, 0)
}

fn eval_in(db: &dyn Db, file: SourceFile, expr: &Expr, depth: u32) -> Option<Const> {
    if depth > 32 {
        return None;
    }
    Some(match &expr.kind {
        ExprKind::Int(i) => Const::Int(*i),
        ExprKind::Float(f) => Const::Float(f.get()),
        ExprKind::Bool(b) => Const::Bool(*b),
        ExprKind::None => Const::None,
        ExprKind::Duration(ms) => Const::Duration(*ms),
        ExprKind::Size(b) => Const::Size(*b),
        ExprKind::String(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    StrPart::Text(t) => s.push_str(t),
                    StrPart::Interp(e) => match eval_in(db, file, e, depth + 1)? {
                        Const::Str(t) | Const::Word(t) => s.push_str(&t),
                        Const::Int(i) => s.push_str(&i.to_string()),
                        _ => return None,
                    },
                }
            }
            Const::Str(s)
        }
        ExprKind::List(items) => Const::List(
            items
                .iter()
                .map(|e| eval_in(db, file, e, depth + 1))
                .collect::<Option<_>>()?,
        ),
        ExprKind::Record(fields) | ExprKind::TypedRecord(_, fields) => Const::Record(
            fields
                .iter()
                .map(|f| Some((f.name.text.clone(), eval_in(db, file, &f.value, depth + 1)?)))
                .collect::<Option<_>>()?,
        ),
        ExprKind::Path(path) => match resolve_path(db, file, path) {
            Resolved::Item(def, used)
                if def.kind == DefKind::Const && used == path.segments.len() =>
            {
                const_value(db, def.item, depth + 1)?
            }
            Resolved::Unknown if path.segments.len() == 1 => {
                Const::Word(path.segments[0].text.clone())
            }
            _ => return None,
        },
        ExprKind::Unary(op, e) => match (op, eval_in(db, file, e, depth + 1)?) {
            (UnaryOp::Neg, Const::Int(i)) => Const::Int(i.checked_neg()?),
            (UnaryOp::Neg, Const::Float(f)) => Const::Float(-f),
            (UnaryOp::Not, Const::Bool(b)) => Const::Bool(!b),
            _ => return None,
        },
        ExprKind::Binary(op, a, b) => {
            let (a, b) = (
                eval_in(db, file, a, depth + 1)?,
                eval_in(db, file, b, depth + 1)?,
            );
            binary(*op, a, b)?
        }
        _ => return None,
    })
}

fn binary(op: BinaryOp, a: Const, b: Const) -> Option<Const> {
    use Const::*;
    Some(match (op, a, b) {
        (BinaryOp::Range, Int(a), Int(b)) => Range(a, b),
        (BinaryOp::Add, Int(a), Int(b)) => Int(a.checked_add(b)?),
        (BinaryOp::Sub, Int(a), Int(b)) => Int(a.checked_sub(b)?),
        (BinaryOp::Mul, Int(a), Int(b)) => Int(a.checked_mul(b)?),
        (BinaryOp::Div, Int(a), Int(b)) => Int(a.checked_div(b)?),
        (BinaryOp::Add, Duration(a), Duration(b)) => Duration(a.checked_add(b)?),
        (BinaryOp::Mul, Duration(a), Int(b)) => Duration(a.checked_mul(u64::try_from(b).ok()?)?),
        (BinaryOp::Add, Size(a), Size(b)) => Size(a.checked_add(b)?),
        (BinaryOp::Mul, Size(a), Int(b)) => Size(a.checked_mul(u64::try_from(b).ok()?)?),
        (BinaryOp::Add, Float(a), Float(b)) => Float(a + b),
        (BinaryOp::Mul, Float(a), Float(b)) => Float(a * b),
        (BinaryOp::Add, Str(a), Str(b)) => Str(a + &b),
        _ => return Option::None,
    })
}

fn const_value(db: &dyn Db, def: ItemRef, depth: u32) -> Option<Const> {
    let it = item(db, def.file, def.index).as_ref()?;
    match &it.kind {
        ItemKind::Const(c) => eval_in(db, def.file, &c.value, depth),
        _ => None,
    }
}
