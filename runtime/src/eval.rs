//! Evaluation of the plan's pure expressions over JSON values.
//!
//! The compiler type-checked every expression, but values of type `json` (agent outputs, run
//! inputs) are only checked here: each operation checks the shapes it is given and fails with
//! a message rather than panicking.

use hive_plan::{BinaryOp, Expr, Function, UnaryOp};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// Most elements `range` may produce, so that a wrong bound cannot exhaust memory.
const MAX_RANGE: i128 = 10_000_000;

/// Longest text, in bytes, `replace` may produce, for the same reason.
const MAX_TEXT: usize = 256 << 20;

/// 2^63: a whole float fits an `i64` when it is in `-2^63..2^63`.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// 2^64: no JSON integer reaches it.
const JSON_INT_LIMIT: f64 = 18_446_744_073_709_551_616.0;

/// Where names in an expression get their values.
pub trait Scope {
    /// A workflow parameter.
    fn param(&self, name: &str) -> Option<&Value>;
    /// The value of step `index` of the running workflow (already finished).
    fn step(&self, index: usize) -> Option<&Value>;
    /// A `for` loop variable.
    fn local(&self, name: &str) -> Option<&Value>;
    /// The value of a shared state cell now; `None` where the scope has no run's state.
    fn state(&self, _cell: &str) -> Option<Value> {
        None
    }
}

/// Why an expression could not be evaluated (division by zero, index out of range, a
/// value of an unexpected shape, …): a message a person can act on.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalError {
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

fn error(message: impl Into<String>) -> EvalError {
    EvalError {
        message: message.into(),
    }
}

/// Evaluates `expr` in `scope`.
pub fn eval(expr: &Expr, scope: &dyn Scope) -> Result<Value, EvalError> {
    eval_in(expr, scope).map(Cow::into_owned)
}

/// A value borrowed from the scope or the plan where possible, so that reading
/// `reviews[0].score` does not copy the whole list.
type Val<'a> = Cow<'a, Value>;

fn eval_in<'a>(expr: &'a Expr, scope: &'a dyn Scope) -> Result<Val<'a>, EvalError> {
    Ok(match expr {
        Expr::Value { value } => Cow::Borrowed(value),
        Expr::Param { name } => Cow::Borrowed(
            scope
                .param(name)
                .ok_or_else(|| error(format!("parameter `{name}` has no value")))?,
        ),
        Expr::Step { step } => Cow::Borrowed(
            scope
                .step(*step)
                .ok_or_else(|| error(format!("step {step} has no value yet")))?,
        ),
        Expr::State { cell } => Cow::Owned(
            scope
                .state(cell)
                .ok_or_else(|| error(format!("state `{cell}` has no value here")))?,
        ),
        Expr::Local { name } => Cow::Borrowed(
            scope
                .local(name)
                .ok_or_else(|| error(format!("`{name}` has no value here")))?,
        ),
        Expr::Field { of, field } => field_of(eval_in(of, scope)?, field)?,
        Expr::Index { of, index } => {
            let base = eval_in(of, scope)?;
            index_of(base, &*eval_in(index, scope)?)?
        }
        Expr::Unary { unary, arg } => Cow::Owned(unary_op(*unary, &*eval_in(arg, scope)?)?),
        Expr::Binary {
            binary,
            left,
            right,
        } => binary_op(*binary, left, right, scope)?,
        Expr::Concat { parts } => {
            let mut text = String::new();
            for part in parts {
                write_text(&mut text, &*eval_in(part, scope)?);
            }
            Cow::Owned(Value::String(text))
        }
        Expr::List { items } => Cow::Owned(Value::Array(
            items
                .iter()
                .map(|item| eval(item, scope))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        Expr::Record { fields } => {
            let mut record = Map::new();
            for (name, field) in fields {
                record.insert(name.clone(), eval(field, scope)?);
            }
            Cow::Owned(Value::Object(record))
        }
        Expr::Call { function, args } => {
            let args = args
                .iter()
                .map(|arg| eval_in(arg, scope))
                .collect::<Result<Vec<_>, _>>()?;
            Cow::Owned(call(*function, &args)?)
        }
    })
}

/// `base.field`. A missing field is `none`: that is what a map yields for a missing key, and
/// conformed records have all their fields.
fn field_of<'a>(base: Val<'a>, field: &str) -> Result<Val<'a>, EvalError> {
    match base {
        Cow::Borrowed(Value::Object(map)) => Ok(map
            .get(field)
            .map_or(Cow::Owned(Value::Null), Cow::Borrowed)),
        Cow::Owned(Value::Object(mut map)) => Ok(Cow::Owned(map.remove(field).unwrap_or_default())),
        other => Err(error(format!(
            "cannot read field `{field}` of {}",
            describe(&other)
        ))),
    }
}

/// `base[index]`: a position in a list, or a key of a map (missing keys are `none`).
fn index_of<'a>(base: Val<'a>, index: &Value) -> Result<Val<'a>, EvalError> {
    match base {
        Cow::Borrowed(Value::Array(items)) => {
            Ok(Cow::Borrowed(&items[position(index, items.len())?]))
        }
        Cow::Owned(Value::Array(mut items)) => {
            let at = position(index, items.len())?;
            Ok(Cow::Owned(items.swap_remove(at)))
        }
        Cow::Borrowed(Value::Object(map)) => Ok(map
            .get(key(index)?)
            .map_or(Cow::Owned(Value::Null), Cow::Borrowed)),
        Cow::Owned(Value::Object(mut map)) => {
            Ok(Cow::Owned(map.remove(key(index)?).unwrap_or_default()))
        }
        other => Err(error(format!("cannot index {}", describe(&other)))),
    }
}

/// A valid position in a list of `len` elements.
fn position(index: &Value, len: usize) -> Result<usize, EvalError> {
    let Some(i) = index.as_i64() else {
        return Err(error(format!(
            "a list index must be an int, found {}",
            describe(index)
        )));
    };
    match usize::try_from(i) {
        Ok(at) if at < len => Ok(at),
        _ => Err(error(format!(
            "index {i} is out of range for a list of length {len}"
        ))),
    }
}

fn key(index: &Value) -> Result<&str, EvalError> {
    index.as_str().ok_or_else(|| {
        error(format!(
            "a map key must be a string, found {}",
            describe(index)
        ))
    })
}

/// A number as arithmetic sees it. Integers beyond `i64` (JSON allows them) count as floats.
#[derive(Clone, Copy, Debug)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn float(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

fn number(value: &Value) -> Option<Num> {
    let Value::Number(n) = value else {
        return None;
    };
    Some(match n.as_i64() {
        Some(i) => Num::Int(i),
        None => Num::Float(n.as_f64()?),
    })
}

/// A float result; JSON has no infinities, so overflowing the float range is an error.
fn float(f: f64) -> Result<Value, EvalError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| error("float overflow: the result is not a finite number"))
}

fn unary_op(op: UnaryOp, arg: &Value) -> Result<Value, EvalError> {
    match (op, number(arg), arg) {
        (UnaryOp::Neg, Some(Num::Int(i)), _) => i
            .checked_neg()
            .map(Value::from)
            .ok_or_else(|| error(format!("integer overflow in -({i})"))),
        (UnaryOp::Neg, Some(Num::Float(f)), _) => float(-f),
        (UnaryOp::Not, _, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnaryOp::Neg, ..) => Err(error(format!(
            "`-` applies to numbers, found {}",
            describe(arg)
        ))),
        (UnaryOp::Not, ..) => Err(error(format!(
            "`!` applies to bools, found {}",
            describe(arg)
        ))),
    }
}

fn binary_op<'a>(
    op: BinaryOp,
    left: &'a Expr,
    right: &'a Expr,
    scope: &'a dyn Scope,
) -> Result<Val<'a>, EvalError> {
    let holds = match op {
        // The right side is evaluated only when the left one does not decide.
        BinaryOp::And | BinaryOp::Or => {
            let l = truth(op, &*eval_in(left, scope)?)?;
            let decided = if op == BinaryOp::And { !l } else { l };
            if decided {
                l
            } else {
                truth(op, &*eval_in(right, scope)?)?
            }
        }
        BinaryOp::Coalesce => {
            let l = defaultable(left, scope)?;
            return if l.is_null() {
                eval_in(right, scope)
            } else {
                Ok(l)
            };
        }
        BinaryOp::Eq => equal(&*eval_in(left, scope)?, &*eval_in(right, scope)?),
        BinaryOp::Ne => !equal(&*eval_in(left, scope)?, &*eval_in(right, scope)?),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ord = order(op, &*eval_in(left, scope)?, &*eval_in(right, scope)?)?;
            match op {
                BinaryOp::Lt => ord.is_lt(),
                BinaryOp::Le => ord.is_le(),
                BinaryOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            }
        }
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
            let l = eval_in(left, scope)?;
            let r = eval_in(right, scope)?;
            return arithmetic(op, l, r).map(Cow::Owned);
        }
        // The compiler lowers `a..b` to `range(a, b)`; a plan written by hand may hold it.
        BinaryOp::Range => {
            let start = int(Function::Range, 0, &*eval_in(left, scope)?)?;
            let end = int(Function::Range, 1, &*eval_in(right, scope)?)?;
            return range(start, end).map(Cow::Owned);
        }
    };
    Ok(Cow::Owned(Value::Bool(holds)))
}

/// An operand of `??` that has a default after it: there, `env(name)` of an unset variable
/// is `none`, so that `env("KEY") ?? ""` runs without the variable (and `env("A") ??
/// env("B") ?? ""` tries both).
fn defaultable<'a>(expr: &'a Expr, scope: &'a dyn Scope) -> Result<Val<'a>, EvalError> {
    match expr {
        Expr::Call {
            function: Function::Env,
            args,
        } if args.len() == 1 => {
            let name = eval_in(&args[0], scope)?;
            let name = text(Function::Env, 0, &name)?;
            let valid = !name.is_empty() && !name.contains(['=', '\0']);
            if valid && std::env::var_os(name).is_none() {
                return Ok(Cow::Owned(Value::Null));
            }
            env(name).map(Cow::Owned)
        }
        Expr::Binary {
            binary: BinaryOp::Coalesce,
            left,
            right,
        } => {
            let l = defaultable(left, scope)?;
            if l.is_null() {
                defaultable(right, scope)
            } else {
                Ok(l)
            }
        }
        other => eval_in(other, scope),
    }
}

/// An operand of `&&` or `||`.
fn truth(op: BinaryOp, value: &Value) -> Result<bool, EvalError> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(error(format!(
            "`{}` applies to bools, found {}",
            op.symbol(),
            describe(other)
        ))),
    }
}

/// `+ - * / %`: on numbers, and `+` on two strings or two lists.
fn arithmetic(op: BinaryOp, l: Val<'_>, r: Val<'_>) -> Result<Value, EvalError> {
    if let (Some(a), Some(b)) = (number(&l), number(&r)) {
        return numeric(op, a, b);
    }
    if op == BinaryOp::Add {
        match (l.into_owned(), &*r) {
            (Value::String(mut a), Value::String(b)) => {
                a.push_str(b);
                Ok(Value::String(a))
            }
            (Value::Array(mut a), Value::Array(b)) => {
                a.extend(b.iter().cloned());
                Ok(Value::Array(a))
            }
            (a, b) => Err(error(format!(
                "`+` applies to two numbers, two strings or two lists, found {} and {}",
                describe(&a),
                describe(b)
            ))),
        }
    } else {
        Err(error(format!(
            "`{}` applies to numbers, found {} and {}",
            op.symbol(),
            describe(&l),
            describe(&r)
        )))
    }
}

fn numeric(op: BinaryOp, a: Num, b: Num) -> Result<Value, EvalError> {
    let symbol = op.symbol();
    if matches!(op, BinaryOp::Div | BinaryOp::Rem) && b.float() == 0.0 {
        return Err(error(format!("division by zero in `{symbol}`")));
    }
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => {
            let result = match op {
                BinaryOp::Add => x.checked_add(y),
                BinaryOp::Sub => x.checked_sub(y),
                BinaryOp::Mul => x.checked_mul(y),
                // Both truncate toward zero.
                BinaryOp::Div => x.checked_div(y),
                _ => x.checked_rem(y),
            };
            result
                .map(Value::from)
                .ok_or_else(|| error(format!("integer overflow in {x} {symbol} {y}")))
        }
        _ => {
            let (x, y) = (a.float(), b.float());
            float(match op {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                BinaryOp::Mul => x * y,
                BinaryOp::Div => x / y,
                _ => x % y,
            })
        }
    }
}

/// `< <= > >=`: numbers by value, strings by code point.
fn order(op: BinaryOp, l: &Value, r: &Value) -> Result<Ordering, EvalError> {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => Ok(compare_numbers(a, b)),
        // UTF-8 byte order is code point order.
        (Value::String(a), Value::String(b)) => Ok(a.cmp(b)),
        _ => Err(error(format!(
            "`{}` compares two numbers or two strings, found {} and {}",
            op.symbol(),
            describe(l),
            describe(r)
        ))),
    }
}

/// A JSON number, exactly: every JSON integer fits an `i128`.
enum Exact {
    Int(i128),
    Float(f64),
}

fn exact(n: &Number) -> Exact {
    if let Some(i) = n.as_i64() {
        Exact::Int(i.into())
    } else if let Some(u) = n.as_u64() {
        Exact::Int(u.into())
    } else {
        Exact::Float(n.as_f64().unwrap_or_default())
    }
}

/// Compares by value, so `1 == 1.0`, without rounding large integers to floats.
fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    match (exact(a), exact(b)) {
        (Exact::Int(x), Exact::Int(y)) => x.cmp(&y),
        // JSON numbers are finite, so they are always ordered.
        (Exact::Float(x), Exact::Float(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Exact::Int(x), Exact::Float(y)) => int_vs_float(x, y),
        (Exact::Float(x), Exact::Int(y)) => int_vs_float(y, x).reverse(),
    }
}

fn int_vs_float(i: i128, f: f64) -> Ordering {
    if f >= JSON_INT_LIMIT {
        return Ordering::Less;
    }
    if f <= -JSON_INT_LIMIT {
        return Ordering::Greater;
    }
    // Within ±2^64 the integral part converts to `i128` exactly; the fraction breaks ties.
    let whole = f.trunc();
    i.cmp(&(whole as i128))
        .then(0.0_f64.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal))
}

/// Structural equality in which numbers compare by value: `[1] == [1.0]`.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y).is_eq(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// Appends `value` as interpolation shows it: strings as they are, numbers and bools as in
/// JSON, `none` as `none`, lists and records as compact JSON.
/// `x` as interpolation writes it.
fn text_of(x: &Value) -> String {
    let mut out = String::new();
    write_text(&mut out, x);
    out
}

fn write_text(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("none"),
        other => out.push_str(&other.to_string()),
    }
}

/// A value's kind, with the value itself when it is a scalar: `int 3`, `string "high"`,
/// `float 2.5`, `null`, `list`, `object`. Strings are cut after 40 characters.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Number(n) if n.is_f64() => format!("float {n}"),
        Value::Number(n) => format!("int {n}"),
        Value::String(s) => format!("string {}", preview(s)),
        Value::Array(_) => "list".to_string(),
        Value::Object(_) => "object".to_string(),
    }
}

/// `s` as a JSON string literal, cut after 40 characters.
fn preview(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        None => Value::from(s).to_string(),
        Some((cut, _)) => {
            let mut quoted = Value::from(&s[..cut]).to_string();
            quoted.pop();
            quoted.push_str("…\"");
            quoted
        }
    }
}

/// An argument of the wrong kind.
fn wrong(function: Function, i: usize, expected: &str, found: &Value) -> EvalError {
    error(format!(
        "argument {} of `{}` must be {expected}, found {}",
        i + 1,
        function.name(),
        describe(found)
    ))
}

fn text(function: Function, i: usize, value: &Value) -> Result<&str, EvalError> {
    value
        .as_str()
        .ok_or_else(|| wrong(function, i, "a string", value))
}

fn int(function: Function, i: usize, value: &Value) -> Result<i64, EvalError> {
    value
        .as_i64()
        .ok_or_else(|| wrong(function, i, "an int", value))
}

fn list(function: Function, i: usize, value: &Value) -> Result<&[Value], EvalError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| wrong(function, i, "a list", value))
}

fn map(function: Function, i: usize, value: &Value) -> Result<&Map<String, Value>, EvalError> {
    value
        .as_object()
        .ok_or_else(|| wrong(function, i, "a map", value))
}

/// A map's entries ordered by key, whatever order the map keeps.
fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|&(k, _)| k);
    entries
}

fn call(f: Function, args: &[Val<'_>]) -> Result<Value, EvalError> {
    let args: Vec<&Value> = args.iter().map(|arg| &**arg).collect();
    match (f, args.as_slice()) {
        (Function::Len, [x]) => match x {
            Value::String(s) => Ok(s.chars().count().into()),
            Value::Array(items) => Ok(items.len().into()),
            Value::Object(entries) => Ok(entries.len().into()),
            other => Err(wrong(f, 0, "a string, list or map", other)),
        },
        (Function::Upper, [s]) => Ok(text(f, 0, s)?.to_uppercase().into()),
        (Function::Lower, [s]) => Ok(text(f, 0, s)?.to_lowercase().into()),
        (Function::Trim, [s]) => Ok(text(f, 0, s)?.trim().into()),
        (Function::Split, [s, sep]) => {
            let (s, sep) = (text(f, 0, s)?, text(f, 1, sep)?);
            let parts: Vec<Value> = if sep.is_empty() {
                // Each character, rather than also an empty first and last part.
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep).map(Value::from).collect()
            };
            Ok(Value::Array(parts))
        }
        (Function::Join, [items, sep]) => {
            let (items, sep) = (list(f, 0, items)?, text(f, 1, sep)?);
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                let Some(s) = item.as_str() else {
                    return Err(error(format!(
                        "`join` joins strings, but element {i} is {}",
                        describe(item)
                    )));
                };
                if i > 0 {
                    out.push_str(sep);
                }
                out.push_str(s);
            }
            Ok(out.into())
        }
        (Function::Contains, [x, y]) => match x {
            Value::String(s) => Ok(s.contains(text(f, 1, y)?).into()),
            Value::Array(items) => Ok(items.iter().any(|item| equal(item, y)).into()),
            Value::Object(entries) => Ok(entries.contains_key(text(f, 1, y)?).into()),
            other => Err(wrong(f, 0, "a string, list or map", other)),
        },
        (Function::StartsWith, [s, p]) => Ok(text(f, 0, s)?.starts_with(text(f, 1, p)?).into()),
        (Function::EndsWith, [s, p]) => Ok(text(f, 0, s)?.ends_with(text(f, 1, p)?).into()),
        (Function::Replace, [s, from, to]) => {
            let (s, from, to) = (text(f, 0, s)?, text(f, 1, from)?, text(f, 2, to)?);
            // An empty `from` occurs before every character and at the end.
            let count = if from.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(from).count()
            };
            let len = (s.len() - count * from.len()).saturating_add(count.saturating_mul(to.len()));
            if len > MAX_TEXT {
                return Err(error(format!(
                    "`replace` would make a text of {len} bytes, more than {MAX_TEXT}"
                )));
            }
            Ok(s.replace(from, to).into())
        }
        (Function::Keys, [m]) => Ok(Value::Array(
            sorted(map(f, 0, m)?)
                .into_iter()
                .map(|(k, _)| Value::String(k.clone()))
                .collect(),
        )),
        (Function::Values, [m]) => Ok(Value::Array(
            sorted(map(f, 0, m)?)
                .into_iter()
                .map(|(_, v)| v.clone())
                .collect(),
        )),
        (Function::Range, [end]) => range(0, int(f, 0, end)?),
        (Function::Range, [start, end]) => range(int(f, 0, start)?, int(f, 1, end)?),
        (Function::Min | Function::Max, [items]) => {
            let items: Vec<&Value> = list(f, 0, items)?.iter().collect();
            extreme(f, &items)
        }
        (Function::Min | Function::Max, [a, b]) => extreme(f, &[*a, *b]),
        (Function::Sum, [items]) => {
            let mut total = Num::Int(0);
            for item in list(f, 0, items)? {
                let Some(n) = number(item) else {
                    return Err(error(format!(
                        "`sum` adds numbers, found {}",
                        describe(item)
                    )));
                };
                total = match (total, n) {
                    (Num::Int(a), Num::Int(b)) => Num::Int(
                        a.checked_add(b)
                            .ok_or_else(|| error("integer overflow in `sum`"))?,
                    ),
                    (a, b) => Num::Float(a.float() + b.float()),
                };
            }
            match total {
                Num::Int(i) => Ok(i.into()),
                Num::Float(x) => float(x),
            }
        }
        (Function::Abs, [x]) => match number(x) {
            Some(Num::Int(i)) => i
                .checked_abs()
                .map(Value::from)
                .ok_or_else(|| error(format!("integer overflow in abs({i})"))),
            Some(Num::Float(v)) => float(v.abs()),
            None => Err(wrong(f, 0, "a number", x)),
        },
        (Function::Round, [x]) => match number(x) {
            Some(Num::Int(i)) => Ok(i.into()),
            Some(Num::Float(v)) => {
                // `f64::round` rounds halves away from zero.
                let rounded = v.round();
                if (-I64_LIMIT..I64_LIMIT).contains(&rounded) {
                    Ok((rounded as i64).into())
                } else {
                    Err(error(format!("round({v}) does not fit an int")))
                }
            }
            None => Err(wrong(f, 0, "a number", x)),
        },
        (Function::DurationText, [x]) => Ok(match x.as_u64() {
            Some(ms) => hive_plan::duration(ms).into(),
            None => text_of(x).into(),
        }),
        (Function::SizeText, [x]) => Ok(match x.as_u64() {
            Some(bytes) => hive_plan::size(bytes).into(),
            None => text_of(x).into(),
        }),
        (Function::ToString, [x]) => Ok(text_of(x).into()),
        // Surrounding whitespace is ignored: program output often ends with a newline.
        (Function::ParseInt, [s]) => Ok(text(f, 0, s)?
            .trim()
            .parse::<i64>()
            .map_or(Value::Null, Value::from)),
        (Function::ParseFloat, [s]) => Ok(text(f, 0, s)?
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number)),
        (Function::ParseJson, [s]) => {
            Ok(serde_json::from_str::<Value>(text(f, 0, s)?).unwrap_or_default())
        }
        (Function::ToJson, [x]) => Ok(x.to_string().into()),
        (Function::Env, [name]) => env(text(f, 0, name)?),
        (_, args) => Err(error(format!(
            "`{}` does not take {} argument{}",
            f.name(),
            args.len(),
            if args.len() == 1 { "" } else { "s" }
        ))),
    }
}

/// `[start, end)`, or an error when it is too long to build.
fn range(start: i64, end: i64) -> Result<Value, EvalError> {
    let len = i128::from(end) - i128::from(start);
    if len > MAX_RANGE {
        return Err(error(format!(
            "range({start}, {end}) would have {len} elements, more than {MAX_RANGE}"
        )));
    }
    Ok(Value::Array((start..end).map(Value::from).collect()))
}

/// `min` or `max` of numbers: a float when any of them is one, as with arithmetic.
fn extreme(f: Function, items: &[&Value]) -> Result<Value, EvalError> {
    let mut best: Option<&Number> = None;
    let mut any_float = false;
    for item in items {
        let Value::Number(n) = item else {
            return Err(error(format!(
                "`{}` compares numbers, found {}",
                f.name(),
                describe(item)
            )));
        };
        any_float |= n.is_f64();
        let better = best.is_none_or(|b| {
            let ord = compare_numbers(n, b);
            if f == Function::Max {
                ord.is_gt()
            } else {
                ord.is_lt()
            }
        });
        if better {
            best = Some(n);
        }
    }
    let best = best.ok_or_else(|| error(format!("`{}` of an empty list", f.name())))?;
    if any_float {
        float(best.as_f64().unwrap_or_default())
    } else {
        Ok(Value::Number(best.clone()))
    }
}

/// `env(name)`: an unset variable is an error, as the language reference says.
fn env(name: &str) -> Result<Value, EvalError> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(error(format!(
            "{} is not a valid environment variable name",
            preview(name)
        )));
    }
    match std::env::var(name) {
        Ok(value) => {
            crate::secrets::register(&value);
            Ok(value.into())
        }
        Err(std::env::VarError::NotPresent) => {
            Err(error(format!("environment variable `{name}` is not set")))
        }
        Err(std::env::VarError::NotUnicode(_)) => Err(error(format!(
            "environment variable `{name}` is not valid UTF-8"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lit(value: Value) -> Expr {
        Expr::Value { value }
    }

    fn param(name: &str) -> Expr {
        Expr::Param { name: name.into() }
    }

    fn local(name: &str) -> Expr {
        Expr::Local { name: name.into() }
    }

    fn field(of: Expr, name: &str) -> Expr {
        Expr::Field {
            of: Box::new(of),
            field: name.into(),
        }
    }

    fn index(of: Expr, at: Expr) -> Expr {
        Expr::Index {
            of: Box::new(of),
            index: Box::new(at),
        }
    }

    fn un(unary: UnaryOp, arg: Expr) -> Expr {
        Expr::Unary {
            unary,
            arg: Box::new(arg),
        }
    }

    fn op(binary: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::Binary {
            binary,
            left: Box::new(left),
            right: Box::new(right),
        }
    }

    fn func(function: Function, args: Vec<Expr>) -> Expr {
        Expr::Call { function, args }
    }

    /// What the tests evaluate in.
    struct Fixture {
        params: Map<String, Value>,
        steps: Vec<std::sync::OnceLock<Value>>,
        locals: Vec<(&'static str, Value)>,
    }

    fn fixture() -> Fixture {
        let Value::Object(params) = json!({
            "n": 3,
            "name": "hive",
            "reviews": [{"score": 7, "approved": true}, {"score": 4, "approved": false}],
            "labels": {"team": "core"},
        }) else {
            panic!("params are an object")
        };
        Fixture {
            params,
            // Step 1 has not finished.
            steps: vec![
                std::sync::OnceLock::from(json!({"approved": true, "score": 8})),
                std::sync::OnceLock::new(),
            ],
            locals: vec![("x", json!(1)), ("y", json!("why")), ("x", json!(2))],
        }
    }

    fn run(expr: &Expr) -> Result<Value, EvalError> {
        let fx = fixture();
        let locals: Vec<(&str, &Value)> = fx.locals.iter().map(|(n, v)| (*n, v)).collect();
        let scope = crate::scope::RunScope {
            params: &fx.params,
            steps: &fx.steps,
            locals: &locals,
            state: None,
        };
        eval(expr, &scope)
    }

    fn ok(expr: Expr) -> Value {
        run(&expr).unwrap_or_else(|e| {
            panic!(
                "{}: {e}",
                hive_plan::ExprDisplay {
                    expr: &expr,
                    steps: &[],
                }
            )
        })
    }

    fn fails(expr: Expr) -> String {
        match run(&expr) {
            Ok(v) => panic!("expected an error, got {v}"),
            Err(e) => e.message,
        }
    }

    fn arith(binary: BinaryOp, a: Value, b: Value) -> Value {
        ok(op(binary, lit(a), lit(b)))
    }

    fn arith_fails(binary: BinaryOp, a: Value, b: Value) -> String {
        fails(op(binary, lit(a), lit(b)))
    }

    fn apply(function: Function, args: Vec<Value>) -> Value {
        ok(func(function, args.into_iter().map(lit).collect()))
    }

    fn refused(function: Function, args: Vec<Value>) -> String {
        fails(func(function, args.into_iter().map(lit).collect()))
    }

    #[test]
    fn names_come_from_the_scope() {
        assert_eq!(ok(param("n")), json!(3));
        assert_eq!(
            ok(Expr::Step { step: 0 }),
            json!({"approved": true, "score": 8})
        );
        // The innermost binding of a name hides the outer one.
        assert_eq!(ok(local("x")), json!(2));
        assert_eq!(ok(local("y")), json!("why"));
        assert!(fails(param("missing")).contains("`missing`"));
        assert!(fails(Expr::Step { step: 1 }).contains("step 1"));
        assert!(fails(Expr::Step { step: 9 }).contains("step 9"));
        assert!(fails(local("z")).contains("`z`"));
    }

    #[test]
    fn a_realistic_condition() {
        let verdict = || Expr::Step { step: 0 };
        let expr = op(
            BinaryOp::And,
            field(verdict(), "approved"),
            op(BinaryOp::Ge, field(verdict(), "score"), lit(json!(7))),
        );
        assert_eq!(ok(expr), json!(true));
    }

    #[test]
    fn fields_of_records_and_maps() {
        assert_eq!(
            ok(field(index(param("reviews"), lit(json!(1))), "score")),
            json!(4)
        );
        // A record built by the expression itself, not borrowed from the scope.
        let record = Expr::Record {
            fields: vec![("a".into(), param("n")), ("b".into(), lit(json!("x")))],
        };
        assert_eq!(ok(record.clone()), json!({"a": 3, "b": "x"}));
        assert_eq!(ok(field(record.clone(), "a")), json!(3));
        // A missing key of a map is none.
        assert_eq!(ok(field(param("labels"), "owner")), Value::Null);
        assert_eq!(ok(field(record, "c")), Value::Null);
        let on_null = fails(field(lit(Value::Null), "score"));
        assert!(on_null.contains("`score`"), "{on_null}");
        assert!(on_null.contains("null"), "{on_null}");
        assert_eq!(
            fails(field(param("n"), "score")),
            "cannot read field `score` of int 3"
        );
        assert!(fails(field(lit(json!([1])), "len")).contains("list"));
    }

    #[test]
    fn indexing_lists_and_maps() {
        let list = Expr::List {
            items: vec![lit(json!(10)), param("n"), lit(json!(30))],
        };
        assert_eq!(ok(list.clone()), json!([10, 3, 30]));
        assert_eq!(ok(index(list.clone(), lit(json!(1)))), json!(3));
        assert_eq!(ok(index(list.clone(), lit(json!(2)))), json!(30));
        assert_eq!(
            ok(index(param("reviews"), lit(json!(0)))),
            json!({"score": 7, "approved": true})
        );
        assert_eq!(
            fails(index(list.clone(), lit(json!(3)))),
            "index 3 is out of range for a list of length 3"
        );
        assert!(fails(index(list.clone(), lit(json!(-1)))).contains("index -1"));
        assert!(fails(index(param("reviews"), lit(json!(2)))).contains("out of range"));
        assert!(fails(index(list.clone(), lit(json!(1.0)))).contains("must be an int"));
        assert!(fails(index(list, lit(json!("0")))).contains("must be an int"));
        assert_eq!(
            ok(index(param("labels"), lit(json!("team")))),
            json!("core")
        );
        assert_eq!(ok(index(param("labels"), lit(json!("nope")))), Value::Null);
        let built = Expr::Record {
            fields: vec![("k".into(), param("name"))],
        };
        assert_eq!(ok(index(built.clone(), lit(json!("k")))), json!("hive"));
        assert_eq!(ok(index(built, lit(json!("j")))), Value::Null);
        assert!(fails(index(param("labels"), lit(json!(0)))).contains("map key must be a string"));
        assert_eq!(
            fails(index(param("name"), lit(json!(0)))),
            "cannot index string \"hive\""
        );
        assert_eq!(
            fails(index(lit(Value::Null), lit(json!(0)))),
            "cannot index null"
        );
    }

    #[test]
    fn unary_operators() {
        assert_eq!(ok(un(UnaryOp::Neg, param("n"))), json!(-3));
        assert_eq!(ok(un(UnaryOp::Neg, lit(json!(2.5)))), json!(-2.5));
        assert!(fails(un(UnaryOp::Neg, lit(json!(i64::MIN)))).contains("overflow"));
        assert!(fails(un(UnaryOp::Neg, lit(json!("a")))).contains("`-`"));
        assert_eq!(ok(un(UnaryOp::Not, lit(json!(true)))), json!(false));
        assert_eq!(ok(un(UnaryOp::Not, lit(json!(false)))), json!(true));
        assert!(fails(un(UnaryOp::Not, lit(json!(0)))).contains("`!`"));
        assert!(fails(un(UnaryOp::Not, lit(Value::Null))).contains("null"));
    }

    /// The compiler lowers `a..b` to `range(a, b)`; a plan that holds the operator itself
    /// means the same.
    #[test]
    fn the_range_operator_is_range() {
        assert_eq!(arith(BinaryOp::Range, json!(2), json!(5)), json!([2, 3, 4]));
        assert_eq!(arith(BinaryOp::Range, json!(5), json!(2)), json!([]));
        assert!(arith_fails(BinaryOp::Range, json!("a"), json!(2)).contains("an int"));
        assert!(arith_fails(BinaryOp::Range, json!(0), json!(i64::MAX)).contains("more than"));
    }

    #[test]
    fn integer_arithmetic_is_exact_and_checked() {
        assert_eq!(arith(BinaryOp::Add, json!(2), json!(3)), json!(5));
        assert_eq!(arith(BinaryOp::Sub, json!(2), json!(5)), json!(-3));
        assert_eq!(arith(BinaryOp::Mul, json!(4), json!(-5)), json!(-20));
        // Division truncates toward zero; the remainder has the sign of the dividend.
        assert_eq!(arith(BinaryOp::Div, json!(7), json!(2)), json!(3));
        assert_eq!(arith(BinaryOp::Div, json!(-7), json!(2)), json!(-3));
        assert_eq!(arith(BinaryOp::Rem, json!(7), json!(3)), json!(1));
        assert_eq!(arith(BinaryOp::Rem, json!(-7), json!(3)), json!(-1));
        for (binary, a, b) in [
            (BinaryOp::Add, json!(i64::MAX), json!(1)),
            (BinaryOp::Sub, json!(i64::MIN), json!(1)),
            (BinaryOp::Mul, json!(i64::MAX), json!(2)),
            (BinaryOp::Div, json!(i64::MIN), json!(-1)),
            (BinaryOp::Rem, json!(i64::MIN), json!(-1)),
        ] {
            let message = arith_fails(binary, a, b);
            assert!(message.contains("integer overflow"), "{message}");
        }
        assert_eq!(
            arith_fails(BinaryOp::Div, json!(1), json!(0)),
            "division by zero in `/`"
        );
        assert_eq!(
            arith_fails(BinaryOp::Rem, json!(1), json!(0)),
            "division by zero in `%`"
        );
    }

    #[test]
    fn mixing_ints_and_floats_gives_floats() {
        assert_eq!(arith(BinaryOp::Add, json!(1), json!(0.5)), json!(1.5));
        // A float even when the result is whole.
        assert_eq!(arith(BinaryOp::Mul, json!(2.0), json!(3)), json!(6.0));
        assert_ne!(arith(BinaryOp::Mul, json!(2.0), json!(3)), json!(6));
        assert_eq!(arith(BinaryOp::Div, json!(7.0), json!(2)), json!(3.5));
        assert_eq!(arith(BinaryOp::Sub, json!(1), json!(1.5)), json!(-0.5));
        assert_eq!(arith(BinaryOp::Rem, json!(5.5), json!(2)), json!(1.5));
        assert!(arith_fails(BinaryOp::Div, json!(1.0), json!(0.0)).contains("division by zero"));
        assert!(arith_fails(BinaryOp::Div, json!(1.5), json!(0)).contains("division by zero"));
        assert!(arith_fails(BinaryOp::Rem, json!(1), json!(0.0)).contains("division by zero"));
        assert!(arith_fails(BinaryOp::Mul, json!(1e308), json!(10)).contains("finite"));
    }

    #[test]
    fn plus_concatenates_strings_and_lists() {
        assert_eq!(
            arith(BinaryOp::Add, json!("ab"), json!("cd")),
            json!("abcd")
        );
        assert_eq!(
            arith(BinaryOp::Add, json!([1]), json!([2, "x"])),
            json!([1, 2, "x"])
        );
        assert_eq!(
            ok(op(BinaryOp::Add, param("name"), param("name"))),
            json!("hivehive")
        );
        assert_eq!(
            ok(func(
                Function::Len,
                vec![op(BinaryOp::Add, param("reviews"), lit(json!([])))]
            )),
            json!(2)
        );
        let message = arith_fails(BinaryOp::Add, json!("a"), json!(1));
        assert!(message.contains("`+`"), "{message}");
        assert!(message.contains("string \"a\" and int 1"), "{message}");
        assert!(arith_fails(BinaryOp::Add, json!([1]), json!("a")).contains("`+`"));
        assert!(arith_fails(BinaryOp::Add, Value::Null, json!(1)).contains("null"));
        assert!(
            arith_fails(BinaryOp::Sub, json!("ab"), json!("b")).contains("`-` applies to numbers")
        );
        assert!(arith_fails(BinaryOp::Mul, json!([1]), json!(2)).contains("`*`"));
    }

    #[test]
    fn ordering_numbers_and_strings() {
        let holds = |binary, a: Value, b: Value| arith(binary, a, b) == json!(true);
        assert!(holds(BinaryOp::Lt, json!(1), json!(2)));
        assert!(!holds(BinaryOp::Lt, json!(2), json!(2)));
        assert!(holds(BinaryOp::Le, json!(2), json!(2)));
        assert!(holds(BinaryOp::Gt, json!(3), json!(2.5)));
        assert!(!holds(BinaryOp::Gt, json!(2), json!(2.5)));
        assert!(holds(BinaryOp::Ge, json!(2), json!(2.0)));
        assert!(holds(BinaryOp::Lt, json!(-2.5), json!(-2)));
        assert!(holds(BinaryOp::Gt, json!(-2), json!(-2.5)));
        // Compared exactly, not after rounding the int to a float (2^53 + 1 > 2^53).
        assert!(holds(
            BinaryOp::Gt,
            json!(9_007_199_254_740_993_i64),
            json!(9_007_199_254_740_992.0)
        ));
        assert!(holds(BinaryOp::Gt, json!(u64::MAX), json!(i64::MAX)));
        assert!(holds(BinaryOp::Lt, json!(u64::MAX), json!(1e20)));
        assert!(holds(BinaryOp::Gt, json!(i64::MIN), json!(-1e20)));
        // By code point: uppercase before lowercase, ASCII before accents.
        assert!(holds(BinaryOp::Lt, json!("Z"), json!("a")));
        assert!(holds(BinaryOp::Lt, json!("z"), json!("é")));
        assert!(holds(BinaryOp::Lt, json!("ab"), json!("abc")));
        assert!(holds(BinaryOp::Ge, json!("b"), json!("abc")));
        assert!(arith_fails(BinaryOp::Lt, json!(true), json!(false)).contains("`<`"));
        assert!(arith_fails(BinaryOp::Ge, Value::Null, json!(1)).contains("null and int 1"));
        assert!(arith_fails(BinaryOp::Gt, json!([1]), json!([2])).contains("list"));
        assert!(arith_fails(BinaryOp::Le, json!("1"), json!(1)).contains("`<=`"));
    }

    #[test]
    fn equality_is_structural_and_numeric() {
        let eq = |a: Value, b: Value| {
            let same = arith(BinaryOp::Eq, a.clone(), b.clone()) == json!(true);
            let differ = arith(BinaryOp::Ne, a, b) == json!(true);
            assert_ne!(same, differ, "`==` and `!=` disagree");
            same
        };
        assert!(eq(json!(1), json!(1.0)));
        assert!(eq(json!(0.5), json!(0.5)));
        assert!(!eq(json!(1), json!(2)));
        assert!(!eq(json!(1), json!(1.5)));
        assert!(eq(json!([1, {"a": 2}]), json!([1.0, {"a": 2.0}])));
        assert!(eq(json!({"a": 1, "b": 2}), json!({"b": 2, "a": 1})));
        assert!(!eq(json!({"a": 1}), json!({"a": 1, "b": null})));
        assert!(!eq(json!({"a": 1}), json!({"b": 1})));
        assert!(!eq(json!([1, 2]), json!([2, 1])));
        assert!(!eq(json!([1]), json!([1, 1])));
        assert!(!eq(json!("1"), json!(1)));
        assert!(eq(Value::Null, Value::Null));
        assert!(!eq(Value::Null, json!(false)));
        assert!(eq(json!("security"), json!("security")));
        assert!(!eq(
            json!(9_007_199_254_740_993_i64),
            json!(9_007_199_254_740_992.0)
        ));
        assert!(eq(json!(u64::MAX), json!(u64::MAX)));
        assert!(!eq(json!(u64::MAX), json!(u64::MAX - 1)));
    }

    #[test]
    fn logic_short_circuits() {
        assert_eq!(arith(BinaryOp::And, json!(true), json!(true)), json!(true));
        assert_eq!(
            arith(BinaryOp::And, json!(true), json!(false)),
            json!(false)
        );
        assert_eq!(arith(BinaryOp::Or, json!(false), json!(true)), json!(true));
        assert_eq!(
            arith(BinaryOp::Or, json!(false), json!(false)),
            json!(false)
        );
        // The right side would fail, but is not needed.
        assert_eq!(
            ok(op(BinaryOp::And, lit(json!(false)), param("missing"))),
            json!(false)
        );
        assert_eq!(
            ok(op(BinaryOp::Or, lit(json!(true)), param("missing"))),
            json!(true)
        );
        assert!(fails(op(BinaryOp::And, lit(json!(true)), param("missing"))).contains("missing"));
        assert!(fails(op(BinaryOp::Or, lit(json!(false)), param("missing"))).contains("missing"));
        assert!(arith_fails(BinaryOp::And, json!(1), json!(true)).contains("`&&`"));
        assert!(arith_fails(BinaryOp::And, json!(true), json!(1)).contains("`&&`"));
        assert!(arith_fails(BinaryOp::Or, json!(false), json!("x")).contains("`||`"));
    }

    #[test]
    fn coalesce_evaluates_its_default_only_for_none() {
        assert_eq!(arith(BinaryOp::Coalesce, Value::Null, json!(5)), json!(5));
        assert_eq!(
            ok(op(BinaryOp::Coalesce, lit(json!(3)), param("missing"))),
            json!(3)
        );
        // `false` and `0` are values, not none.
        assert_eq!(
            arith(BinaryOp::Coalesce, json!(false), json!(true)),
            json!(false)
        );
        assert_eq!(arith(BinaryOp::Coalesce, json!(0), json!(1)), json!(0));
        let chain = op(
            BinaryOp::Coalesce,
            op(BinaryOp::Coalesce, lit(Value::Null), lit(Value::Null)),
            lit(json!(7)),
        );
        assert_eq!(ok(chain), json!(7));
        assert_eq!(
            ok(op(
                BinaryOp::Coalesce,
                field(param("labels"), "owner"),
                lit(json!("nobody"))
            )),
            json!("nobody")
        );
        assert!(
            fails(op(BinaryOp::Coalesce, lit(Value::Null), param("missing"))).contains("missing")
        );
    }

    #[test]
    fn interpolation_renders_each_kind() {
        let parts = vec![
            lit(json!("n=")),
            param("n"),
            lit(json!(" f=")),
            lit(json!(2.5)),
            lit(json!(" g=")),
            lit(json!(3.0)),
            lit(json!(" b=")),
            lit(json!(true)),
            lit(json!(" none=")),
            lit(Value::Null),
            lit(json!(" s=")),
            lit(json!("say \"hi\"")),
            lit(json!(" l=")),
            lit(json!([1, "a"])),
            lit(json!(" r=")),
            lit(json!({"a": 1, "b": [true]})),
        ];
        assert_eq!(
            ok(Expr::Concat { parts }),
            json!(
                "n=3 f=2.5 g=3.0 b=true none=none s=say \"hi\" l=[1,\"a\"] r={\"a\":1,\"b\":[true]}"
            )
        );
        assert_eq!(ok(Expr::Concat { parts: vec![] }), json!(""));
        assert!(
            fails(Expr::Concat {
                parts: vec![lit(json!("a")), param("missing")]
            })
            .contains("missing")
        );
    }

    #[test]
    fn len_counts_characters_elements_and_entries() {
        assert_eq!(apply(Function::Len, vec![json!("héllo")]), json!(5));
        assert_eq!(apply(Function::Len, vec![json!("")]), json!(0));
        assert_eq!(apply(Function::Len, vec![json!([1, 2, 3])]), json!(3));
        assert_eq!(apply(Function::Len, vec![json!({"a": 1})]), json!(1));
        assert_eq!(
            refused(Function::Len, vec![json!(3)]),
            "argument 1 of `len` must be a string, list or map, found int 3"
        );
        assert!(refused(Function::Len, vec![Value::Null]).contains("null"));
    }

    #[test]
    fn case_and_trim() {
        assert_eq!(
            apply(Function::Upper, vec![json!("straße")]),
            json!("STRASSE")
        );
        assert_eq!(apply(Function::Lower, vec![json!("ÀB c")]), json!("àb c"));
        assert_eq!(
            apply(Function::Trim, vec![json!("  a b \n\t")]),
            json!("a b")
        );
        assert_eq!(apply(Function::Trim, vec![json!("   ")]), json!(""));
        assert_eq!(
            refused(Function::Upper, vec![json!(1)]),
            "argument 1 of `upper` must be a string, found int 1"
        );
        assert!(refused(Function::Lower, vec![Value::Null]).contains("`lower`"));
        assert!(refused(Function::Trim, vec![json!([])]).contains("`trim`"));
    }

    #[test]
    fn split_and_join() {
        assert_eq!(
            apply(Function::Split, vec![json!("a,b,,c"), json!(",")]),
            json!(["a", "b", "", "c"])
        );
        assert_eq!(
            apply(Function::Split, vec![json!("a--b"), json!("--")]),
            json!(["a", "b"])
        );
        assert_eq!(
            apply(Function::Split, vec![json!(""), json!(",")]),
            json!([""])
        );
        // An empty separator splits into characters.
        assert_eq!(
            apply(Function::Split, vec![json!("héé"), json!("")]),
            json!(["h", "é", "é"])
        );
        assert_eq!(
            apply(Function::Split, vec![json!(""), json!("")]),
            json!([])
        );
        assert!(refused(Function::Split, vec![json!("a"), json!(1)]).contains("argument 2"));

        assert_eq!(
            apply(Function::Join, vec![json!(["a", "b", "c"]), json!(", ")]),
            json!("a, b, c")
        );
        assert_eq!(
            apply(Function::Join, vec![json!([]), json!("-")]),
            json!("")
        );
        assert_eq!(
            apply(Function::Join, vec![json!(["x"]), json!("-")]),
            json!("x")
        );
        let message = refused(Function::Join, vec![json!(["a", 1]), json!("-")]);
        assert!(message.contains("element 1 is int 1"), "{message}");
        assert!(refused(Function::Join, vec![json!("ab"), json!("")]).contains("must be a list"));
        assert!(refused(Function::Join, vec![json!(["a"]), json!(0)]).contains("argument 2"));
    }

    #[test]
    fn contains_on_strings_lists_and_maps() {
        let t = |args: Vec<Value>| apply(Function::Contains, args);
        assert_eq!(t(vec![json!("hive"), json!("iv")]), json!(true));
        assert_eq!(t(vec![json!("hive"), json!("x")]), json!(false));
        assert_eq!(t(vec![json!("hive"), json!("")]), json!(true));
        assert_eq!(t(vec![json!([1, 2.0, "a"]), json!(2)]), json!(true));
        assert_eq!(t(vec![json!([1, 2.0, "a"]), json!("a")]), json!(true));
        assert_eq!(t(vec![json!([1]), json!("1")]), json!(false));
        assert_eq!(t(vec![json!([[1]]), json!([1.0])]), json!(true));
        assert_eq!(t(vec![json!([]), Value::Null]), json!(false));
        assert_eq!(t(vec![json!({"a": 1}), json!("a")]), json!(true));
        assert_eq!(t(vec![json!({"a": 1}), json!("b")]), json!(false));
        assert!(refused(Function::Contains, vec![json!(3), json!(3)]).contains("argument 1"));
        assert!(refused(Function::Contains, vec![json!("a"), json!(1)]).contains("argument 2"));
        assert!(refused(Function::Contains, vec![json!({}), json!(1)]).contains("argument 2"));
    }

    #[test]
    fn prefixes_and_suffixes() {
        let s = |function, a: &str, b: &str| apply(function, vec![json!(a), json!(b)]);
        assert_eq!(s(Function::StartsWith, "hive", "hi"), json!(true));
        assert_eq!(s(Function::StartsWith, "hive", "ve"), json!(false));
        assert_eq!(s(Function::EndsWith, "hive", "ve"), json!(true));
        assert_eq!(s(Function::EndsWith, "hive", "hi"), json!(false));
        assert_eq!(s(Function::StartsWith, "", ""), json!(true));
        assert!(refused(Function::StartsWith, vec![json!(1), json!("a")]).contains("argument 1"));
        assert!(refused(Function::EndsWith, vec![json!("a"), Value::Null]).contains("argument 2"));
    }

    #[test]
    fn replace_every_occurrence() {
        let r = |s: &str, from: &str, to: &str| {
            apply(Function::Replace, vec![json!(s), json!(from), json!(to)])
        };
        assert_eq!(r("a-b-c", "-", "+"), json!("a+b+c"));
        assert_eq!(r("aaa", "a", "bb"), json!("bbbbbb"));
        assert_eq!(r("abc", "x", "y"), json!("abc"));
        assert_eq!(r("abc", "abc", ""), json!(""));
        // The empty string occurs before each character and at the end.
        assert_eq!(r("ab", "", "-"), json!("-a-b-"));
        let huge = refused(
            Function::Replace,
            vec![
                json!("a".repeat(1_000)),
                json!("a"),
                json!("b".repeat(300_000)),
            ],
        );
        assert!(huge.contains("more than"), "{huge}");
        assert!(
            refused(Function::Replace, vec![json!("a"), json!("a"), json!(1)])
                .contains("argument 3")
        );
    }

    #[test]
    fn keys_and_values_in_key_order() {
        let m = json!({"b": 1, "a": 2, "c": 3});
        assert_eq!(
            apply(Function::Keys, vec![m.clone()]),
            json!(["a", "b", "c"])
        );
        assert_eq!(apply(Function::Values, vec![m]), json!([2, 1, 3]));
        assert_eq!(apply(Function::Keys, vec![json!({})]), json!([]));
        assert_eq!(apply(Function::Values, vec![json!({})]), json!([]));
        assert!(refused(Function::Keys, vec![json!([1])]).contains("must be a map"));
        assert!(refused(Function::Values, vec![json!("a")]).contains("must be a map"));
    }

    #[test]
    fn range_is_half_open_and_bounded() {
        assert_eq!(apply(Function::Range, vec![json!(3)]), json!([0, 1, 2]));
        assert_eq!(
            apply(Function::Range, vec![json!(2), json!(5)]),
            json!([2, 3, 4])
        );
        assert_eq!(
            apply(Function::Range, vec![json!(-2), json!(1)]),
            json!([-2, -1, 0])
        );
        assert_eq!(apply(Function::Range, vec![json!(5), json!(2)]), json!([]));
        assert_eq!(apply(Function::Range, vec![json!(4), json!(4)]), json!([]));
        assert_eq!(apply(Function::Range, vec![json!(-3)]), json!([]));
        assert!(refused(Function::Range, vec![json!(0), json!(10_000_001)]).contains("more than"));
        assert!(
            refused(Function::Range, vec![json!(i64::MIN), json!(i64::MAX)]).contains("more than")
        );
        assert!(
            refused(Function::Range, vec![json!(0), json!(1.5)])
                .contains("argument 2 of `range` must be an int")
        );
        assert!(refused(Function::Range, vec![json!("3")]).contains("argument 1"));
        assert_eq!(
            refused(Function::Range, vec![json!(1), json!(2), json!(3)]),
            "`range` does not take 3 arguments"
        );
    }

    #[test]
    fn min_and_max() {
        assert_eq!(apply(Function::Min, vec![json!(3), json!(5)]), json!(3));
        assert_eq!(apply(Function::Max, vec![json!(3), json!(5)]), json!(5));
        // `int` only if both are.
        assert_eq!(apply(Function::Min, vec![json!(2), json!(2.5)]), json!(2.0));
        assert_eq!(
            apply(Function::Max, vec![json!(-1.5), json!(-2)]),
            json!(-1.5)
        );
        assert_eq!(apply(Function::Min, vec![json!([4, 2, 9])]), json!(2));
        assert_eq!(apply(Function::Max, vec![json!([4, 2, 9])]), json!(9));
        assert_eq!(apply(Function::Max, vec![json!([1, 2.5, 2])]), json!(2.5));
        assert_eq!(apply(Function::Min, vec![json!([3, 1])]), json!(1));
        assert_eq!(apply(Function::Min, vec![json!([3, 1.0])]), json!(1.0));
        assert_eq!(
            apply(Function::Max, vec![json!([i64::MAX, u64::MAX, 0])]),
            json!(u64::MAX)
        );
        assert_eq!(
            refused(Function::Min, vec![json!([])]),
            "`min` of an empty list"
        );
        assert!(refused(Function::Max, vec![json!(["a", "b"])]).contains("`max` compares numbers"));
        assert!(refused(Function::Min, vec![json!("a"), json!(1)]).contains("string \"a\""));
        assert!(refused(Function::Min, vec![json!(1)]).contains("must be a list"));
    }

    #[test]
    fn sum_of_numbers() {
        assert_eq!(apply(Function::Sum, vec![json!([1, 2, 3])]), json!(6));
        assert_eq!(apply(Function::Sum, vec![json!([])]), json!(0));
        assert_eq!(apply(Function::Sum, vec![json!([1, 2.5])]), json!(3.5));
        assert_eq!(apply(Function::Sum, vec![json!([0.5, 0.5])]), json!(1.0));
        assert!(refused(Function::Sum, vec![json!([i64::MAX, 1])]).contains("overflow"));
        assert!(refused(Function::Sum, vec![json!([1, "a"])]).contains("string \"a\""));
        assert!(refused(Function::Sum, vec![json!([1e308, 1e308])]).contains("finite"));
        assert!(refused(Function::Sum, vec![json!(3)]).contains("must be a list"));
    }

    #[test]
    fn abs_and_round() {
        assert_eq!(apply(Function::Abs, vec![json!(-3)]), json!(3));
        assert_eq!(apply(Function::Abs, vec![json!(3)]), json!(3));
        assert_eq!(apply(Function::Abs, vec![json!(-2.5)]), json!(2.5));
        assert!(refused(Function::Abs, vec![json!(i64::MIN)]).contains("overflow"));
        assert!(refused(Function::Abs, vec![json!("1")]).contains("must be a number"));

        // Halves away from zero.
        assert_eq!(apply(Function::Round, vec![json!(2.5)]), json!(3));
        assert_eq!(apply(Function::Round, vec![json!(-2.5)]), json!(-3));
        assert_eq!(apply(Function::Round, vec![json!(0.5)]), json!(1));
        assert_eq!(apply(Function::Round, vec![json!(2.4)]), json!(2));
        assert_eq!(apply(Function::Round, vec![json!(-2.6)]), json!(-3));
        assert_eq!(apply(Function::Round, vec![json!(7)]), json!(7));
        assert_eq!(
            apply(Function::Round, vec![json!(-9_223_372_036_854_775_808.0)]),
            json!(i64::MIN)
        );
        assert!(refused(Function::Round, vec![json!(1e19)]).contains("does not fit"));
        assert!(refused(Function::Round, vec![json!(-1e19)]).contains("does not fit"));
        assert!(refused(Function::Round, vec![Value::Null]).contains("must be a number"));
    }

    #[test]
    fn conversions_to_text() {
        let s = |v: Value| apply(Function::ToString, vec![v]);
        assert_eq!(s(json!("a")), json!("a"));
        assert_eq!(s(json!(3)), json!("3"));
        assert_eq!(s(json!(-2.5)), json!("-2.5"));
        assert_eq!(s(json!(true)), json!("true"));
        assert_eq!(s(Value::Null), json!("none"));
        assert_eq!(s(json!([1, "a"])), json!("[1,\"a\"]"));
        assert_eq!(s(json!({"a": {"b": null}})), json!("{\"a\":{\"b\":null}}"));

        let j = |v: Value| apply(Function::ToJson, vec![v]);
        assert_eq!(j(json!("a\"b")), json!("\"a\\\"b\""));
        assert_eq!(j(json!(2.5)), json!("2.5"));
        assert_eq!(j(Value::Null), json!("null"));
        assert_eq!(
            j(json!({"a": null, "b": [1, 2.5, "x"]})),
            json!("{\"a\":null,\"b\":[1,2.5,\"x\"]}")
        );
    }

    #[test]
    fn parsing_yields_none_on_bad_input() {
        let int = |s: &str| apply(Function::ParseInt, vec![json!(s)]);
        assert_eq!(int("42"), json!(42));
        assert_eq!(int(" -7\n"), json!(-7));
        assert_eq!(int("+5"), json!(5));
        assert_eq!(int("4.2"), Value::Null);
        assert_eq!(int("abc"), Value::Null);
        assert_eq!(int(""), Value::Null);
        assert_eq!(int("9223372036854775808"), Value::Null);
        assert!(refused(Function::ParseInt, vec![json!(1)]).contains("must be a string"));

        let float = |s: &str| apply(Function::ParseFloat, vec![json!(s)]);
        assert_eq!(float("2.5"), json!(2.5));
        assert_eq!(float("3"), json!(3.0));
        assert_eq!(float(" 1e3 "), json!(1000.0));
        assert_eq!(float("-0.25"), json!(-0.25));
        // JSON has no infinities or NaN.
        assert_eq!(float("inf"), Value::Null);
        assert_eq!(float("NaN"), Value::Null);
        assert_eq!(float("1e400"), Value::Null);
        assert_eq!(float("x"), Value::Null);
        assert_eq!(float(""), Value::Null);

        let parse = |s: &str| apply(Function::ParseJson, vec![json!(s)]);
        assert_eq!(parse("{\"a\": [1, 2]}"), json!({"a": [1, 2]}));
        assert_eq!(parse(" 3 "), json!(3));
        assert_eq!(parse("\"s\""), json!("s"));
        assert_eq!(parse("nope"), Value::Null);
        assert_eq!(parse("[1"), Value::Null);
        assert_eq!(parse(""), Value::Null);
        assert!(refused(Function::ParseJson, vec![json!({})]).contains("must be a string"));
    }

    #[test]
    fn an_unset_variable_takes_the_default_after_it() {
        let env = |name: &str| func(Function::Env, vec![lit(json!(name))]);
        let unset = "HIVE_EVAL_TEST_VARIABLE_THAT_IS_NEVER_SET";
        let fallback = op(BinaryOp::Coalesce, env(unset), lit(json!("")));
        assert_eq!(ok(fallback), json!(""));
        // The last operand has no default after it: still an error.
        assert!(fails(op(BinaryOp::Coalesce, lit(Value::Null), env(unset))).contains("not set"));
        let chain = op(
            BinaryOp::Coalesce,
            op(BinaryOp::Coalesce, env(unset), env(unset)),
            lit(json!("d")),
        );
        assert_eq!(ok(chain), json!("d"));
        let set = std::env::vars_os().find_map(|(k, v)| {
            let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
            (!k.is_empty() && !k.contains('=')).then_some((k, v))
        });
        if let Some((name, value)) = set {
            let given = op(BinaryOp::Coalesce, env(&name), lit(json!("")));
            assert_eq!(ok(given), json!(value));
        }
        // A name that cannot be a variable is an error, default or not.
        assert!(fails(op(BinaryOp::Coalesce, env("A=B"), lit(json!("")))).contains("not a valid"));
    }

    #[test]
    fn env_reads_the_environment() {
        let set = std::env::vars_os().find_map(|(k, v)| {
            let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
            (!k.is_empty() && !k.contains('=')).then_some((k, v))
        });
        if let Some((name, value)) = set {
            assert_eq!(apply(Function::Env, vec![json!(name)]), json!(value));
        }
        assert_eq!(
            refused(
                Function::Env,
                vec![json!("HIVE_EVAL_TEST_VARIABLE_THAT_IS_NEVER_SET")]
            ),
            "environment variable `HIVE_EVAL_TEST_VARIABLE_THAT_IS_NEVER_SET` is not set"
        );
        assert!(refused(Function::Env, vec![json!("")]).contains("not a valid"));
        assert!(refused(Function::Env, vec![json!("A=B")]).contains("not a valid"));
        assert!(refused(Function::Env, vec![json!("A\0B")]).contains("not a valid"));
        assert!(refused(Function::Env, vec![json!(1)]).contains("must be a string"));
    }

    /// Every function of the plan's table is evaluated with the numbers of arguments the table
    /// gives it, and refused with any other.
    #[test]
    fn every_function_takes_the_argument_counts_of_its_table_entry() {
        for &function in Function::ALL {
            let counts = function.builtin().arity.counts();
            for n in 0..=4 {
                let refusal = format!(
                    "`{}` does not take {n} argument{}",
                    function.name(),
                    if n == 1 { "" } else { "s" }
                );
                let result = run(&func(function, vec![lit(Value::Null); n]));
                let taken = !matches!(&result, Err(e) if e.message == refusal);
                assert_eq!(taken, counts.contains(&n), "{function:?}, {n}: {result:?}");
            }
        }
        assert_eq!(
            refused(Function::Len, vec![json!([]), json!([])]),
            "`len` does not take 2 arguments"
        );
        assert_eq!(
            refused(Function::Split, vec![json!("a")]),
            "`split` does not take 1 argument"
        );
    }

    #[test]
    fn arguments_are_evaluated_in_scope() {
        assert_eq!(
            ok(func(Function::Upper, vec![param("name")])),
            json!("HIVE")
        );
        assert!(fails(func(Function::Upper, vec![param("missing")])).contains("missing"));
    }

    #[test]
    fn long_strings_are_cut_in_messages() {
        let message = fails(un(UnaryOp::Neg, lit(json!("x".repeat(100)))));
        assert!(
            message.ends_with(&format!("string \"{}…\"", "x".repeat(40))),
            "{message}"
        );
        let exact = fails(un(UnaryOp::Neg, lit(json!("é".repeat(40)))));
        assert!(
            exact.ends_with(&format!("\"{}\"", "é".repeat(40))),
            "{exact}"
        );
    }

    #[test]
    fn errors_display_their_message() {
        let e = EvalError {
            message: "division by zero in `/`".into(),
        };
        assert_eq!(e.to_string(), "division by zero in `/`");
    }
}
