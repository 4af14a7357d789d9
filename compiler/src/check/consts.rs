//! Compile-time values: property values and constants are evaluated while checking, so ranges
//! (a negative retry, a zero timeout) are caught before anything runs, and constants may use
//! the pure built-in functions. The semantics are the runtime's (`runtime/src/eval.rs`): a test
//! runs every constant of a file and compares.

use super::const_calls::call;
use super::scope::{DefKind, ItemRef, Resolved, resolve_path};
use crate::db::{Db, SourceFile};
use crate::queries::item;
use crate::syntax::Span;
use crate::syntax::ast::{BinaryOp, Expr, ExprKind, FieldInit, ItemKind, StrPart, UnaryOp};
use hive_plan::Function;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;

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

    /// The value as the runtime holds it (durations in milliseconds, sizes in bytes); `None`
    /// for a bare name, which only property values may be.
    pub fn to_json(&self) -> Option<Value> {
        Some(match self {
            Const::Int(i) => Value::from(*i),
            Const::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number)?,
            Const::Bool(b) => Value::Bool(*b),
            Const::Str(s) => Value::String(s.clone()),
            Const::Duration(n) | Const::Size(n) => Value::from(*n),
            Const::None => Value::Null,
            Const::List(items) => {
                Value::Array(items.iter().map(Const::to_json).collect::<Option<_>>()?)
            }
            Const::Record(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            Const::Range(a, b) => Value::Array((*a..*b).map(Value::from).collect()),
            Const::Word(_) => return None,
        })
    }
}

/// Why an expression has no value at compile time, and where (a span of the expression that
/// was evaluated; a failure inside another constant is placed on the name that refers to it).
#[derive(Clone, Debug, PartialEq)]
pub struct NotConst {
    /// Where.
    pub span: Span,
    /// Why.
    pub cause: Cause,
    /// The constant whose value failed, when it is not the expression itself.
    pub via: Option<String>,
}

/// The cause of a [`NotConst`].
#[derive(Clone, Debug, PartialEq)]
pub enum Cause {
    /// It depends on inputs, steps or other run-time values.
    RunTime,
    /// `env(…)` is read when the run starts.
    Env,
    /// A division or remainder by zero.
    DivisionByZero,
    /// A result that does not fit its type: the operation, e.g. `9223372036854775807 + 1`.
    Overflow(String),
    /// A value too large to build while checking.
    TooLarge,
    /// An operation the runtime would refuse, e.g. `min` of an empty list.
    Invalid(String),
    /// A constant whose value depends on itself.
    Cycle,
    /// Constants that refer to constants more than [`MAX_CONST_DEPTH`] deep.
    TooDeep,
}

/// Most constants one evaluation passes through by reference (cycles stop earlier).
pub const MAX_CONST_DEPTH: usize = 64;

/// Most elements, characters and fields one evaluation may build, in all: constants are for
/// settings and small tables; this bounds the cost of a hostile file.
pub const MAX_CONST_WORK: u64 = 1 << 20;

/// Evaluates `expr` if it is known at compile time; `None` for anything that depends on
/// run-time values or would fail.
pub fn eval(db: &dyn Db, file: SourceFile, expr: &Expr) -> Option<Const> {
    evaluate(db, file, expr).ok()
}

/// Evaluates `expr` (of `file`), or says why it has no compile-time value.
pub fn evaluate(db: &dyn Db, file: SourceFile, expr: &Expr) -> Result<Const, NotConst> {
    Evaluator::new(db).eval(file, expr)
}

/// The value of constant `def`, or why it has none, with spans in `def`'s own item.
pub fn evaluate_const(db: &dyn Db, def: ItemRef) -> Result<Const, NotConst> {
    let Some(ItemKind::Const(c)) = item(db, def.file, def.index).as_ref().map(|i| &i.kind) else {
        return Err(fail(Span::default(), Cause::RunTime));
    };
    let mut ev = Evaluator::new(db);
    ev.stack.push(def);
    ev.eval(def.file, &c.value)
}

/// The value of constant `index` of `file` as the runtime holds it, computed once per
/// revision; `None` if it has none at compile time.
#[salsa::tracked(returns(ref))]
pub fn const_json(db: &dyn Db, file: SourceFile, index: u32) -> Option<Value> {
    evaluate_const(db, ItemRef { file, index })
        .ok()
        .and_then(|c| c.to_json())
}

/// A failure at `span` for `cause`.
pub(super) fn fail(span: Span, cause: Cause) -> NotConst {
    NotConst {
        span,
        cause,
        via: None,
    }
}

struct Evaluator<'db> {
    db: &'db dyn Db,
    /// Constants being evaluated, innermost last: a repeat is a cycle.
    stack: Vec<ItemRef>,
    /// Values of constants already evaluated, so a constant used twice is evaluated once.
    memo: HashMap<ItemRef, Result<Const, NotConst>>,
    /// Elements, characters and fields built so far, against [`MAX_CONST_WORK`].
    work: u64,
}

impl<'db> Evaluator<'db> {
    fn new(db: &'db dyn Db) -> Self {
        Evaluator {
            db,
            stack: Vec::new(),
            memo: HashMap::new(),
            work: 0,
        }
    }

    fn spend(&mut self, span: Span, units: u64) -> Result<(), NotConst> {
        self.work = self.work.saturating_add(units);
        if self.work > MAX_CONST_WORK {
            return Err(fail(span, Cause::TooLarge));
        }
        Ok(())
    }

    fn eval(&mut self, file: SourceFile, expr: &Expr) -> Result<Const, NotConst> {
        let span = expr.span;
        let runtime = || fail(span, Cause::RunTime);
        Ok(match &expr.kind {
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
                        StrPart::Interp(e) => {
                            let v = self.eval(file, e)?;
                            interpolate(&mut s, &v).ok_or_else(|| fail(e.span, Cause::RunTime))?;
                        }
                    }
                }
                self.spend(span, s.len() as u64)?;
                Const::Str(s)
            }
            ExprKind::List(items) => {
                self.spend(span, items.len() as u64)?;
                Const::List(
                    items
                        .iter()
                        .map(|e| self.eval(file, e))
                        .collect::<Result<_, _>>()?,
                )
            }
            ExprKind::Record(fields) => Const::Record(self.fields(file, span, fields)?),
            ExprKind::TypedRecord(path, given) => self.typed_record(file, span, path, given)?,
            ExprKind::Path(path) => match resolve_path(self.db, file, path) {
                Resolved::Item(def, used) if def.kind == DefKind::Const => {
                    let value = self.constant(def.item, path.span)?;
                    fields_of(value, path.segments[used..].iter().map(|s| s.text.as_str()))
                        .ok_or_else(runtime)?
                }
                Resolved::Item(def, used)
                    if def.kind == DefKind::Enum && used + 1 == path.segments.len() =>
                {
                    Const::Str(path.segments[used].text.clone())
                }
                Resolved::Unknown if path.segments.len() == 1 => {
                    Const::Word(path.segments[0].text.clone())
                }
                _ => return Err(runtime()),
            },
            ExprKind::Field(base, name) => {
                let base = self.eval(file, base)?;
                fields_of(base, [name.text.as_str()]).ok_or_else(runtime)?
            }
            ExprKind::Index(base, index) => {
                let (base, index) = (self.eval(file, base)?, self.eval(file, index)?);
                match (base, index) {
                    (Const::List(items), Const::Int(i)) => usize::try_from(i)
                        .ok()
                        .and_then(|i| items.into_iter().nth(i))
                        .unwrap_or(Const::None),
                    (Const::Record(fields), Const::Str(k)) => fields
                        .into_iter()
                        .find(|(name, _)| *name == k)
                        .map_or(Const::None, |(_, v)| v),
                    _ => return Err(runtime()),
                }
            }
            ExprKind::Call(c) => {
                let Some(function) = Function::written(&c.callee.text()) else {
                    return Err(runtime());
                };
                if !function.builtin().in_constants {
                    return Err(fail(span, Cause::Env));
                }
                if c.args.iter().any(|a| a.name.is_some()) {
                    return Err(runtime());
                }
                let args = c
                    .args
                    .iter()
                    .map(|a| self.eval(file, &a.value))
                    .collect::<Result<Vec<_>, _>>()?;
                let (value, units) = call(function, args, span)?;
                self.spend(span, units)?;
                value
            }
            ExprKind::Unary(op, e) => match (op, self.eval(file, e)?) {
                (UnaryOp::Neg, Const::Int(i)) => Const::Int(
                    i.checked_neg()
                        .ok_or_else(|| fail(span, Cause::Overflow(format!("-({i})"))))?,
                ),
                (UnaryOp::Neg, Const::Float(f)) => Const::Float(-f),
                (UnaryOp::Not, Const::Bool(b)) => Const::Bool(!b),
                _ => return Err(runtime()),
            },
            ExprKind::Binary(op, a, b) => match op {
                // The right side is evaluated only when the left does not decide, as at run time.
                BinaryOp::And | BinaryOp::Or => match self.eval(file, a)? {
                    Const::Bool(l) if l == (*op == BinaryOp::Or) => Const::Bool(l),
                    Const::Bool(_) => match self.eval(file, b)? {
                        Const::Bool(r) => Const::Bool(r),
                        _ => return Err(runtime()),
                    },
                    _ => return Err(runtime()),
                },
                BinaryOp::Coalesce => match self.eval(file, a)? {
                    Const::None => self.eval(file, b)?,
                    l => l,
                },
                _ => {
                    let (l, r) = (self.eval(file, a)?, self.eval(file, b)?);
                    if let (BinaryOp::Add, Const::List(x), Const::List(y)) = (op, &l, &r) {
                        self.spend(span, (x.len() + y.len()) as u64)?;
                    }
                    binary(*op, l, r, span)?
                }
            },
            ExprKind::Error => return Err(runtime()),
        })
    }

    fn fields(
        &mut self,
        file: SourceFile,
        span: Span,
        fields: &[FieldInit],
    ) -> Result<Vec<(String, Const)>, NotConst> {
        self.spend(span, fields.len() as u64)?;
        fields
            .iter()
            .map(|f| Ok((f.name.text.clone(), self.eval(file, &f.value)?)))
            .collect()
    }

    /// `Name { … }` as the runtime builds it: the type's fields in order, defaults filled in
    /// and optional fields left out set to `none`.
    fn typed_record(
        &mut self,
        file: SourceFile,
        span: Span,
        path: &crate::syntax::ast::Path,
        given: &[FieldInit],
    ) -> Result<Const, NotConst> {
        let mut given = self.fields(file, span, given)?;
        let decl = match resolve_path(self.db, file, path) {
            Resolved::Item(def, _) if def.kind == DefKind::Type => {
                match item(self.db, def.item.file, def.item.index)
                    .as_ref()
                    .map(|i| &i.kind)
                {
                    Some(ItemKind::Type(t)) => Some((def.item.file, t)),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some((decl_file, decl)) = decl else {
            return Ok(Const::Record(given));
        };
        let mut out = Vec::with_capacity(decl.fields.len());
        for f in &decl.fields {
            let value = match given.iter().position(|(k, _)| *k == f.name.text) {
                Some(i) => given.swap_remove(i).1,
                None => match &f.default {
                    // A default's failure is the default's, not the record's: placed here.
                    Some(d) => self
                        .eval(decl_file, d)
                        .map_err(|e| NotConst { span, ..e })?,
                    None => Const::None,
                },
            };
            out.push((f.name.text.clone(), value));
        }
        Ok(Const::Record(out))
    }

    /// The value of constant `def`, referred to at `at`.
    fn constant(&mut self, def: ItemRef, at: Span) -> Result<Const, NotConst> {
        if let Some(done) = self.memo.get(&def) {
            let done = done.clone();
            if let Ok(value) = &done {
                self.spend(at, weight(value))?;
            }
            return done;
        }
        let Some(ItemKind::Const(c)) = item(self.db, def.file, def.index).as_ref().map(|i| &i.kind)
        else {
            return Err(fail(at, Cause::RunTime));
        };
        if self.stack.contains(&def) {
            return Err(fail(at, Cause::Cycle));
        }
        if self.stack.len() >= MAX_CONST_DEPTH {
            return Err(fail(at, Cause::TooDeep));
        }
        self.stack.push(def);
        let result = self.eval(def.file, &c.value);
        self.stack.pop();
        // Only the outermost reference has a span of the expression being checked.
        let result = result.map_err(|e| NotConst {
            span: at,
            via: e.via.or_else(|| Some(c.name.text.clone())),
            ..e
        });
        self.memo.insert(def, result.clone());
        result
    }
}

/// `value.a.b`, or `None` if a field is missing or `value` is not a record.
fn fields_of<'a>(mut value: Const, names: impl IntoIterator<Item = &'a str>) -> Option<Const> {
    for name in names {
        let Const::Record(fields) = value else {
            return None;
        };
        value = fields.into_iter().find(|(k, _)| k == name)?.1;
    }
    Some(value)
}

/// Elements, characters and fields of a value: what copying it costs.
fn weight(value: &Const) -> u64 {
    match value {
        Const::Str(s) | Const::Word(s) => 1 + s.len() as u64,
        Const::List(items) => 1 + items.iter().map(weight).sum::<u64>(),
        Const::Record(fields) => 1 + fields.iter().map(|(_, v)| weight(v)).sum::<u64>(),
        _ => 1,
    }
}

/// Appends `value` as interpolation writes it: strings as they are, durations and sizes in
/// their units, other values as in JSON, `none` as `none`.
fn interpolate(out: &mut String, value: &Const) -> Option<()> {
    match value {
        Const::Str(s) => out.push_str(s),
        Const::None => out.push_str("none"),
        Const::Duration(ms) => out.push_str(&hive_plan::duration(*ms)),
        Const::Size(b) => out.push_str(&hive_plan::size(*b)),
        other => out.push_str(&other.to_json()?.to_string()),
    }
    Some(())
}

/// A number for arithmetic and comparison: durations and sizes are integers at run time.
#[derive(Clone, Copy)]
pub(super) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub(super) fn of(value: &Const) -> Option<Num> {
        match value {
            Const::Int(i) => Some(Num::Int((*i).into())),
            Const::Duration(n) | Const::Size(n) => Some(Num::Int((*n).into())),
            Const::Float(f) => Some(Num::Float(*f)),
            _ => None,
        }
    }

    pub(super) fn float(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Orders two numbers by value, or two strings by code point.
pub(super) fn order(a: &Const, b: &Const) -> Option<Ordering> {
    match (Num::of(a), Num::of(b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => Some(x.cmp(&y)),
        (Some(x), Some(y)) => x.float().partial_cmp(&y.float()),
        _ => match (a, b) {
            (Const::Str(x), Const::Str(y)) => Some(x.cmp(y)),
            _ => None,
        },
    }
}

/// Structural equality in which numbers compare by value.
pub(super) fn equal(a: &Const, b: &Const) -> Option<bool> {
    if Num::of(a).is_some() && Num::of(b).is_some() {
        return Some(order(a, b) == Some(Ordering::Equal));
    }
    Some(match (a, b) {
        (Const::List(x), Const::List(y)) => {
            x.len() == y.len() && {
                for (p, q) in x.iter().zip(y) {
                    if !equal(p, q)? {
                        return Some(false);
                    }
                }
                true
            }
        }
        (Const::Record(x), Const::Record(y)) => {
            x.len() == y.len() && {
                for (k, v) in x {
                    match y.iter().find(|(l, _)| l == k) {
                        Some((_, w)) if equal(v, w)? => {}
                        _ => return Some(false),
                    }
                }
                true
            }
        }
        (Const::Word(_), _) | (_, Const::Word(_)) => return None,
        _ => a == b,
    })
}

/// A finite float, or an overflow naming `what`.
pub(super) fn finite(f: f64, span: Span, what: impl FnOnce() -> String) -> Result<Const, NotConst> {
    if f.is_finite() {
        Ok(Const::Float(f))
    } else {
        Err(fail(span, Cause::Overflow(what())))
    }
}

fn binary(op: BinaryOp, a: Const, b: Const, span: Span) -> Result<Const, NotConst> {
    use Const::*;
    let symbol = op.symbol();
    let overflow = |a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
        fail(span, Cause::Overflow(format!("{a} {symbol} {b}")))
    };
    let runtime = || fail(span, Cause::RunTime);
    if matches!(op, BinaryOp::Div | BinaryOp::Rem) && Num::of(&b).is_some_and(|n| n.float() == 0.0)
    {
        return Err(fail(span, Cause::DivisionByZero));
    }
    Ok(match (op, a, b) {
        (BinaryOp::Range, Int(a), Int(b)) => Range(a, b),
        (BinaryOp::Eq | BinaryOp::Ne, a, b) => {
            Bool(equal(&a, &b).ok_or_else(runtime)? == (op == BinaryOp::Eq))
        }
        (BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge, a, b) => {
            let ord = order(&a, &b).ok_or_else(runtime)?;
            Bool(match op {
                BinaryOp::Lt => ord.is_lt(),
                BinaryOp::Le => ord.is_le(),
                BinaryOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        (BinaryOp::Add, Str(a), Str(b)) => Str(a + &b),
        (BinaryOp::Add, List(mut a), List(b)) => {
            a.extend(b);
            List(a)
        }
        (_, Int(x), Int(y)) => Int(match op {
            BinaryOp::Add => x.checked_add(y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => x.checked_mul(y),
            // Both truncate toward zero, as at run time.
            BinaryOp::Div => x.checked_div(y),
            BinaryOp::Rem => x.checked_rem(y),
            _ => return Err(runtime()),
        }
        .ok_or_else(|| overflow(&x, &y))?),
        (BinaryOp::Add | BinaryOp::Sub, Duration(x), Duration(y)) => Duration(
            if op == BinaryOp::Add {
                x.checked_add(y)
            } else {
                x.checked_sub(y)
            }
            .ok_or_else(|| overflow(&hive_plan::duration(x), &hive_plan::duration(y)))?,
        ),
        (BinaryOp::Add | BinaryOp::Sub, Size(x), Size(y)) => Size(
            if op == BinaryOp::Add {
                x.checked_add(y)
            } else {
                x.checked_sub(y)
            }
            .ok_or_else(|| overflow(&hive_plan::size(x), &hive_plan::size(y)))?,
        ),
        (BinaryOp::Mul | BinaryOp::Div, Duration(x), n @ (Int(_) | Float(_))) => {
            Duration(scale(op, x, &n).ok_or_else(|| overflow(&hive_plan::duration(x), &show(&n)))?)
        }
        (BinaryOp::Mul | BinaryOp::Div, Size(x), n @ Int(_)) => {
            Size(scale(op, x, &n).ok_or_else(|| overflow(&hive_plan::size(x), &show(&n)))?)
        }
        (op, a @ (Int(_) | Float(_)), b @ (Int(_) | Float(_))) => {
            let (x, y) = (
                Num::of(&a).ok_or_else(runtime)?.float(),
                Num::of(&b).ok_or_else(runtime)?.float(),
            );
            let value = match op {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                BinaryOp::Mul => x * y,
                BinaryOp::Div => x / y,
                BinaryOp::Rem => x % y,
                _ => return Err(runtime()),
            };
            finite(value, span, || {
                format!("{} {symbol} {}", show(&a), show(&b))
            })?
        }
        _ => return Err(runtime()),
    })
}

/// A number as the source would write it, for messages.
fn show(n: &Const) -> String {
    n.to_json().map_or_else(String::new, |v| v.to_string())
}

/// `x * n` or `x / n` for a duration or size of `x` units: integers truncate toward zero, a
/// float factor rounds half away from zero, as the runtime's `round` does.
fn scale(op: BinaryOp, x: u64, n: &Const) -> Option<u64> {
    match (op, n) {
        (BinaryOp::Mul, Const::Int(n)) => x.checked_mul(u64::try_from(*n).ok()?),
        (BinaryOp::Div, Const::Int(n)) => x.checked_div(u64::try_from(*n).ok()?),
        (_, Const::Float(f)) => {
            let v = if op == BinaryOp::Mul {
                x as f64 * f
            } else {
                x as f64 / f
            }
            .round();
            (v.is_finite() && (0.0..18_446_744_073_709_551_615.0).contains(&v)).then_some(v as u64)
        }
        _ => None,
    }
}
