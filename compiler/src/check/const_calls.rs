//! The pure built-in functions at compile time, with the runtime's semantics
//! (`runtime/src/eval.rs`), so a constant may be `len(names)` or `range(0, 8)`.

use super::consts::{Cause, Const, NotConst, Num, equal, fail, finite, order};
use crate::syntax::Span;
use hive_plan::Function;
use serde_json::Value;

/// `f(args)` and how many elements or characters it built; `f` may be used in constants
/// (not `env`). A wrong kind of argument is a type error reported by the checker: here it only
/// means "no value".
pub fn call(f: Function, args: Vec<Const>, span: Span) -> Result<(Const, u64), NotConst> {
    use Const::*;
    use Function as F;
    let name = f.name();
    let runtime = || fail(span, Cause::RunTime);
    let invalid = |why: String| fail(span, Cause::Invalid(why));
    let value = match (f, args.as_slice()) {
        (F::Len, [x]) => Int(match x {
            Str(s) => s.chars().count(),
            List(items) => items.len(),
            Record(fields) => fields.len(),
            _ => return Err(runtime()),
        } as i64),
        (F::Upper, [Str(s)]) => Str(s.to_uppercase()),
        (F::Lower, [Str(s)]) => Str(s.to_lowercase()),
        (F::Trim, [Str(s)]) => Str(s.trim().to_string()),
        (F::Split, [Str(s), Str(sep)]) => List(if sep.is_empty() {
            s.chars().map(|c| Str(c.to_string())).collect()
        } else {
            s.split(sep.as_str()).map(|p| Str(p.to_string())).collect()
        }),
        (F::Join, [List(items), Str(sep)]) => {
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                let Str(s) = item else {
                    return Err(runtime());
                };
                if i > 0 {
                    out.push_str(sep);
                }
                out.push_str(s);
            }
            Str(out)
        }
        (F::Contains, [Str(s), Str(part)]) => Bool(s.contains(part.as_str())),
        (F::Contains, [List(items), x]) => {
            let mut found = false;
            for item in items {
                found |= equal(item, x).ok_or_else(runtime)?;
            }
            Bool(found)
        }
        (F::Contains, [Record(fields), Str(k)]) => Bool(fields.iter().any(|(name, _)| name == k)),
        (F::StartsWith, [Str(s), Str(p)]) => Bool(s.starts_with(p.as_str())),
        (F::EndsWith, [Str(s), Str(p)]) => Bool(s.ends_with(p.as_str())),
        (F::Replace, [Str(s), Str(from), Str(to)]) => {
            let count = if from.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(from.as_str()).count()
            };
            // Checked before building: a short text can grow past any limit.
            let len = (s.len() - count * from.len()).saturating_add(count.saturating_mul(to.len()));
            if len as u64 > super::consts::MAX_CONST_WORK {
                return Err(fail(span, Cause::TooLarge));
            }
            Str(s.replace(from.as_str(), to))
        }
        (F::Keys, [Record(fields)]) => List(sorted(fields).map(|(k, _)| Str(k.clone())).collect()),
        (F::Values, [Record(fields)]) => List(sorted(fields).map(|(_, v)| v.clone()).collect()),
        (F::Range, [Int(end)]) => range(0, *end, span)?,
        (F::Range, [Int(start), Int(end)]) => range(*start, *end, span)?,
        (F::Min | F::Max, [List(items)]) => extreme(name, items, span)?,
        (F::Min | F::Max, [a, b]) => extreme(name, &[a.clone(), b.clone()], span)?,
        (F::Sum, [List(items)]) => sum(items, span)?,
        (F::Abs, [Int(i)]) => Int(i
            .checked_abs()
            .ok_or_else(|| fail(span, Cause::Overflow(format!("abs({i})"))))?),
        (F::Abs, [Float(f)]) => Float(f.abs()),
        (F::Round, [Int(i)]) => Int(*i),
        (F::Round, [Float(f)]) => {
            let r = f.round();
            if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                return Err(fail(span, Cause::Overflow(format!("round({f})"))));
            }
            Int(r as i64)
        }
        (F::ToString, [x]) => Str(match x {
            Str(s) => s.clone(),
            None => "none".to_string(),
            other => other.to_json().ok_or_else(runtime)?.to_string(),
        }),
        (F::ToJson, [x]) => Str(x.to_json().ok_or_else(runtime)?.to_string()),
        (F::ParseInt, [Str(s)]) => s.trim().parse::<i64>().map_or(None, Int),
        (F::ParseFloat, [Str(s)]) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Float(f),
            _ => None,
        },
        (F::ParseJson, [Str(s)]) => {
            from_json(serde_json::from_str::<Value>(s).unwrap_or_default()).ok_or_else(runtime)?
        }
        (F::Min | F::Max | F::Sum, [_]) => return Err(invalid(format!("`{name}` of a non-list"))),
        _ => return Err(runtime()),
    };
    let units = match &value {
        Str(s) => s.len() as u64,
        List(items) => items.len() as u64,
        _ => 1,
    };
    Ok((value, units))
}

/// A record's fields ordered by name, as the runtime's maps are.
fn sorted(fields: &[(String, Const)]) -> impl Iterator<Item = &(String, Const)> {
    let mut entries: Vec<&(String, Const)> = fields.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter()
}

/// `[start, end)`, or too large to build while checking.
fn range(start: i64, end: i64, span: Span) -> Result<Const, NotConst> {
    let len = i128::from(end) - i128::from(start);
    if len > i128::from(super::consts::MAX_CONST_WORK) {
        return Err(fail(span, Cause::TooLarge));
    }
    Ok(Const::List((start..end).map(Const::Int).collect()))
}

/// `min`/`max` of numbers: a float when any of them is one, as with arithmetic.
fn extreme(name: &str, items: &[Const], span: Span) -> Result<Const, NotConst> {
    let mut best: Option<&Const> = None;
    let mut any_float = false;
    for item in items {
        if Num::of(item).is_none() {
            return Err(fail(span, Cause::RunTime));
        }
        any_float |= matches!(item, Const::Float(_));
        let better = match best {
            Some(b) => {
                let ord = order(item, b).ok_or_else(|| fail(span, Cause::RunTime))?;
                if name == "max" {
                    ord.is_gt()
                } else {
                    ord.is_lt()
                }
            }
            None => true,
        };
        if better {
            best = Some(item);
        }
    }
    let best =
        best.ok_or_else(|| fail(span, Cause::Invalid(format!("`{name}` of an empty list"))))?;
    Ok(match (any_float, Num::of(best)) {
        (true, Some(n)) => Const::Float(n.float()),
        _ => best.clone(),
    })
}

/// `sum` of numbers, durations or sizes: integers while every element is one.
fn sum(items: &[Const], span: Span) -> Result<Const, NotConst> {
    let overflow = || fail(span, Cause::Overflow("the sum".to_string()));
    let mut total = Num::Int(0);
    for item in items {
        let n = Num::of(item).ok_or_else(|| fail(span, Cause::RunTime))?;
        total = match (total, n) {
            // Overflow at any point, as the runtime adds in `i64`.
            (Num::Int(a), Num::Int(b)) => match i64::try_from(a + b) {
                Ok(t) => Num::Int(t.into()),
                Err(_) => return Err(overflow()),
            },
            (a, b) => Num::Float(a.float() + b.float()),
        };
    }
    Ok(match (total, items.first()) {
        (Num::Int(t), Some(Const::Duration(_))) => {
            Const::Duration(u64::try_from(t).map_err(|_| overflow())?)
        }
        (Num::Int(t), Some(Const::Size(_))) => {
            Const::Size(u64::try_from(t).map_err(|_| overflow())?)
        }
        (Num::Int(t), _) => Const::Int(i64::try_from(t).map_err(|_| overflow())?),
        (Num::Float(f), _) => finite(f, span, || "the sum".to_string())?,
    })
}

/// A JSON value as a constant; `None` for numbers beyond `i64` that are not floats.
fn from_json(value: Value) -> Option<Const> {
    Some(match value {
        Value::Null => Const::None,
        Value::Bool(b) => Const::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Const::Int(i),
            None if n.is_f64() => Const::Float(n.as_f64()?),
            None => return Option::None,
        },
        Value::String(s) => Const::Str(s),
        Value::Array(items) => {
            Const::List(items.into_iter().map(from_json).collect::<Option<_>>()?)
        }
        Value::Object(fields) => Const::Record(
            fields
                .into_iter()
                .map(|(k, v)| Some((k, from_json(v)?)))
                .collect::<Option<_>>()?,
        ),
    })
}
