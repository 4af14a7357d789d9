//! Checks values against declared types: agent outputs, workflow inputs and outputs, task
//! arguments, `fallback` values and `when` conditions (where a `json` value meets a type).
//!
//! A mismatch names the path inside the value, `$.reviews[2].score`, so that a person can find
//! the offending part of a large output.

use crate::eval::{describe, eval};
use crate::scope::RunScope;
use hive_plan::{Expr, Type, TypeDef};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Where and how a value differs from its type.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// JSON path inside the value: `$`, `$.reviews[2].score`, or `$.labels["app.kubernetes.io"]`
    /// for keys that are not identifiers.
    pub path: String,
    /// The type expected there as written in `.hive` (`int`, `list<Review>`, `Focus?`), or
    /// ``no field `x` in `Review` `` for a field the type does not declare.
    pub expected: String,
    /// What was found: `string "abc"` (cut after 40 characters), `int 3`, `float 2.5`,
    /// `bool true`, `null`, `list`, `object`, or `nothing: the field is missing`.
    pub found: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at {}: expected {}, found {}",
            self.path, self.expected, self.found
        )
    }
}

impl std::error::Error for Mismatch {}

/// Checks `value` against `ty` and returns it normalised: record fields left out get their
/// declared default (evaluated with no names in scope), or `null` when their type is optional
/// or `json`; an int where a float is expected becomes a float. A field the record type does
/// not declare is a mismatch at that field. `json` accepts anything; `duration` and `size`
/// accept non-negative integers; enums accept their variant names as strings; `map<T>` is an
/// object of `T`s; [`Type::Fields`] is a record type without defaults.
pub fn conform(
    value: Value,
    ty: &Type,
    types: &BTreeMap<String, TypeDef>,
) -> Result<Value, Mismatch> {
    check(value, ty, types).map_err(|fail| Mismatch {
        path: path(&fail.segments),
        expected: fail.expected,
        found: fail.found,
    })
}

/// One step into a value.
#[derive(Debug)]
enum Segment {
    Index(usize),
    Key(String),
}

/// A mismatch on its way out of the recursion. The path is collected innermost first and
/// rendered only once, so that values that conform cost no path bookkeeping.
#[derive(Debug)]
struct Fail {
    segments: Vec<Segment>,
    expected: String,
    found: String,
}

impl Fail {
    fn new(expected: &Type, found: &Value) -> Fail {
        Fail {
            segments: Vec::new(),
            expected: expected.to_string(),
            found: describe(found),
        }
    }

    /// The same mismatch, one level further out.
    fn at(mut self, segment: Segment) -> Fail {
        self.segments.push(segment);
        self
    }
}

/// `$` followed by the segments, outermost first.
fn path(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for segment in segments.iter().rev() {
        match segment {
            Segment::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            Segment::Key(k) if is_identifier(k) => {
                out.push('.');
                out.push_str(k);
            }
            Segment::Key(k) => {
                out.push('[');
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(']');
            }
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The value if `ok`, else a mismatch at this level.
fn accept_if(ok: bool, value: Value, ty: &Type) -> Result<Value, Fail> {
    if ok {
        Ok(value)
    } else {
        Err(Fail::new(ty, &value))
    }
}

fn check(value: Value, ty: &Type, types: &BTreeMap<String, TypeDef>) -> Result<Value, Fail> {
    match ty {
        Type::Json => Ok(value),
        Type::String => accept_if(value.is_string(), value, ty),
        Type::Bool => accept_if(value.is_boolean(), value, ty),
        Type::Int => accept_if(value.is_i64(), value, ty),
        Type::Duration | Type::Size => accept_if(value.is_u64(), value, ty),
        Type::Float => match value {
            // An int is accepted where a float is expected, and becomes one.
            Value::Number(n) => Ok(match n.as_f64() {
                Some(f) if !n.is_f64() => Value::from(f),
                _ => Value::Number(n),
            }),
            other => Err(Fail::new(ty, &other)),
        },
        Type::Optional(inner) => {
            if value.is_null() {
                return Ok(value);
            }
            check(value, inner, types).map_err(|mut fail| {
                // The value itself is neither `none` nor the inner type: say both.
                if fail.segments.is_empty() && fail.expected == inner.to_string() {
                    fail.expected = ty.to_string();
                }
                fail
            })
        }
        Type::List(item) => match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| check(v, item, types).map_err(|fail| fail.at(Segment::Index(i))))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Err(Fail::new(ty, &other)),
        },
        Type::Map(item) => match value {
            Value::Object(entries) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    let v =
                        check(v, item, types).map_err(|fail| fail.at(Segment::Key(k.clone())))?;
                    out.insert(k, v);
                }
                Ok(Value::Object(out))
            }
            other => Err(Fail::new(ty, &other)),
        },
        Type::Enum(name) => match types.get(name) {
            Some(TypeDef::Enum(variants)) => {
                let known = value
                    .as_str()
                    .is_some_and(|s| variants.iter().any(|v| v == s));
                accept_if(known, value, ty)
            }
            _ => Err(undeclared(ty, &value)),
        },
        Type::Record(name) => match types.get(name) {
            Some(TypeDef::Record(fields)) => {
                let fields: Vec<Field<'_>> = fields
                    .iter()
                    .map(|f| (f.name.as_str(), &f.ty, f.default.as_ref()))
                    .collect();
                record(value, ty, &fields, types)
            }
            _ => Err(undeclared(ty, &value)),
        },
        Type::Fields(fields) => {
            let fields: Vec<Field<'_>> =
                fields.iter().map(|(n, t)| (n.as_str(), t, None)).collect();
            record(value, ty, &fields, types)
        }
    }
}

/// A record or enum name the plan has no declaration for: the plan is broken, not the value.
fn undeclared(ty: &Type, value: &Value) -> Fail {
    Fail {
        segments: Vec::new(),
        expected: format!("{ty} (a type the plan does not declare)"),
        found: describe(value),
    }
}

/// A field: name, type and default.
type Field<'t> = (&'t str, &'t Type, Option<&'t Expr>);

/// Checks an object against record fields, filling in those left out.
fn record(
    value: Value,
    ty: &Type,
    fields: &[Field<'_>],
    types: &BTreeMap<String, TypeDef>,
) -> Result<Value, Fail> {
    let mut given = match value {
        Value::Object(given) => given,
        other => return Err(Fail::new(ty, &other)),
    };
    let mut out = Map::new();
    for &(name, field_ty, default) in fields {
        let here = || Segment::Key(name.to_string());
        let v = match (given.remove(name), default) {
            (Some(v), _) => v,
            (None, Some(default)) => eval(default, &RunScope::locals(&[])).map_err(|e| Fail {
                segments: vec![here()],
                expected: field_ty.to_string(),
                found: format!("nothing, and the field's default failed: {e}"),
            })?,
            // `none` is a value of these types, so leaving the field out means `none`.
            (None, None) if matches!(field_ty, Type::Optional(_) | Type::Json) => Value::Null,
            (None, None) => {
                return Err(Fail {
                    segments: vec![here()],
                    expected: field_ty.to_string(),
                    found: "nothing: the field is missing".to_string(),
                });
            }
        };
        let v = check(v, field_ty, types).map_err(|fail| fail.at(here()))?;
        out.insert(name.to_string(), v);
    }
    // Whatever is left was not declared.
    if let Some((extra, v)) = given.into_iter().next() {
        let expected = format!("no field `{extra}` in `{ty}`");
        return Err(Fail {
            segments: vec![Segment::Key(extra)],
            expected,
            found: describe(&v),
        });
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hive_plan::{BinaryOp, FieldDef};
    use serde_json::json;

    fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    fn opt(t: Type) -> Type {
        Type::Optional(Box::new(t))
    }

    fn field(name: &str, ty: Type, default: Option<Expr>) -> FieldDef {
        FieldDef {
            name: name.into(),
            ty,
            default,
        }
    }

    fn lit(value: Value) -> Option<Expr> {
        Some(Expr::Value { value })
    }

    fn computed(a: i64, binary: BinaryOp, b: i64) -> Option<Expr> {
        Some(Expr::Binary {
            binary,
            left: Box::new(Expr::value(a)),
            right: Box::new(Expr::value(b)),
        })
    }

    fn types() -> BTreeMap<String, TypeDef> {
        BTreeMap::from([
            (
                "Review".to_string(),
                TypeDef::Record(vec![
                    field("approved", Type::Bool, None),
                    field("score", Type::Int, None),
                    field("note", opt(Type::String), None),
                    // An int default for a float field.
                    field("weight", Type::Float, lit(json!(1))),
                    field("tags", list(Type::String), lit(json!([]))),
                ]),
            ),
            (
                "Verdict".to_string(),
                TypeDef::Record(vec![
                    field("reviews", list(Type::Record("Review".into())), None),
                    field("focus", Type::Enum("Focus".into()), None),
                    field("labels", map(Type::String), lit(json!({}))),
                ]),
            ),
            (
                "Focus".to_string(),
                TypeDef::Enum(vec!["bugs".into(), "security".into()]),
            ),
            (
                "Timing".to_string(),
                TypeDef::Record(vec![field(
                    "timeout",
                    Type::Duration,
                    computed(60, BinaryOp::Mul, 1_000),
                )]),
            ),
            (
                "Broken".to_string(),
                TypeDef::Record(vec![field("n", Type::Int, computed(1, BinaryOp::Div, 0))]),
            ),
        ])
    }

    fn review() -> Type {
        Type::Record("Review".into())
    }

    fn accept(value: Value, ty: &Type) -> Value {
        conform(value, ty, &types()).unwrap_or_else(|m| panic!("{m}"))
    }

    fn reject(value: Value, ty: &Type) -> Mismatch {
        match conform(value, ty, &types()) {
            Ok(v) => panic!("`{ty}` accepted {v}"),
            Err(m) => m,
        }
    }

    fn mismatch(path: &str, expected: &str, found: &str) -> Mismatch {
        Mismatch {
            path: path.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    #[test]
    fn strings_and_bools() {
        assert_eq!(accept(json!("a"), &Type::String), json!("a"));
        assert_eq!(accept(json!(""), &Type::String), json!(""));
        assert_eq!(
            reject(json!(1), &Type::String),
            mismatch("$", "string", "int 1")
        );
        assert_eq!(
            reject(Value::Null, &Type::String),
            mismatch("$", "string", "null")
        );
        assert_eq!(accept(json!(false), &Type::Bool), json!(false));
        assert_eq!(
            reject(json!("true"), &Type::Bool),
            mismatch("$", "bool", "string \"true\"")
        );
        assert_eq!(
            reject(json!(0), &Type::Bool),
            mismatch("$", "bool", "int 0")
        );
    }

    #[test]
    fn ints_are_64_bit_integers() {
        assert_eq!(accept(json!(3), &Type::Int), json!(3));
        assert_eq!(accept(json!(-3), &Type::Int), json!(-3));
        assert_eq!(accept(json!(i64::MAX), &Type::Int), json!(i64::MAX));
        assert_eq!(
            reject(json!(2.5), &Type::Int),
            mismatch("$", "int", "float 2.5")
        );
        assert_eq!(
            reject(json!(3.0), &Type::Int),
            mismatch("$", "int", "float 3.0")
        );
        assert_eq!(
            reject(json!("3"), &Type::Int),
            mismatch("$", "int", "string \"3\"")
        );
        assert_eq!(
            reject(json!(u64::MAX), &Type::Int),
            mismatch("$", "int", "int 18446744073709551615")
        );
        assert_eq!(reject(json!([1]), &Type::Int), mismatch("$", "int", "list"));
        assert_eq!(
            reject(json!({}), &Type::Int),
            mismatch("$", "int", "object")
        );
    }

    #[test]
    fn an_int_where_a_float_is_expected_becomes_a_float() {
        assert_eq!(accept(json!(2.5), &Type::Float), json!(2.5));
        let two = accept(json!(2), &Type::Float);
        assert_eq!(two, json!(2.0));
        assert_ne!(two, json!(2));
        assert_eq!(accept(json!(-7), &Type::Float), json!(-7.0));
        assert_eq!(
            reject(json!("2.5"), &Type::Float),
            mismatch("$", "float", "string \"2.5\"")
        );
        assert_eq!(
            accept(json!([1, 2.5]), &list(Type::Float)),
            json!([1.0, 2.5])
        );
    }

    #[test]
    fn durations_and_sizes_are_non_negative_integers() {
        assert_eq!(accept(json!(1_500), &Type::Duration), json!(1_500));
        assert_eq!(accept(json!(0), &Type::Duration), json!(0));
        assert_eq!(
            reject(json!(-1), &Type::Duration),
            mismatch("$", "duration", "int -1")
        );
        assert_eq!(
            reject(json!(1.5), &Type::Duration),
            mismatch("$", "duration", "float 1.5")
        );
        assert_eq!(
            reject(json!("1s"), &Type::Duration),
            mismatch("$", "duration", "string \"1s\"")
        );
        assert_eq!(accept(json!(u64::MAX), &Type::Size), json!(u64::MAX));
        assert_eq!(
            reject(json!(-1), &Type::Size),
            mismatch("$", "size", "int -1")
        );
        assert_eq!(
            reject(json!("4gb"), &Type::Size),
            mismatch("$", "size", "string \"4gb\"")
        );
    }

    #[test]
    fn json_accepts_anything_unchanged() {
        for value in [
            Value::Null,
            json!(2),
            json!("x"),
            json!({"a": [1, {"b": null}]}),
        ] {
            assert_eq!(accept(value.clone(), &Type::Json), value);
        }
    }

    #[test]
    fn lists_name_the_position() {
        assert_eq!(accept(json!([1, 2, 3]), &list(Type::Int)), json!([1, 2, 3]));
        assert_eq!(accept(json!([]), &list(Type::Int)), json!([]));
        assert_eq!(
            reject(json!([1, "x", 3]), &list(Type::Int)),
            mismatch("$[1]", "int", "string \"x\"")
        );
        assert_eq!(
            reject(json!({}), &list(Type::Int)),
            mismatch("$", "list<int>", "object")
        );
        assert_eq!(
            reject(json!([[1], [2, "a"]]), &list(list(Type::Int))),
            mismatch("$[1][1]", "int", "string \"a\"")
        );
    }

    #[test]
    fn maps_name_the_key() {
        assert_eq!(
            accept(json!({"a": 1, "b": 2}), &map(Type::Int)),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(
            accept(json!({"a": 1}), &map(Type::Float)),
            json!({"a": 1.0})
        );
        assert_eq!(
            reject(json!({"a": 1, "b": "x"}), &map(Type::Int)),
            mismatch("$.b", "int", "string \"x\"")
        );
        assert_eq!(
            reject(json!({"app.kubernetes.io/name": 1}), &map(Type::String)).path,
            "$[\"app.kubernetes.io/name\"]"
        );
        assert_eq!(
            reject(json!({"a\"b": 1}), &map(Type::String)).path,
            "$[\"a\\\"b\"]"
        );
        assert_eq!(
            reject(json!({"1a": 1}), &map(Type::String)).path,
            "$[\"1a\"]"
        );
        assert_eq!(reject(json!({"": 1}), &map(Type::String)).path, "$[\"\"]");
        assert_eq!(reject(json!({"_a1": 1}), &map(Type::String)).path, "$._a1");
        assert_eq!(
            reject(json!([]), &map(Type::Int)),
            mismatch("$", "map<int>", "list")
        );
        assert_eq!(
            reject(json!({"k": {"approved": true}}), &map(review())),
            mismatch("$.k.score", "int", "nothing: the field is missing")
        );
    }

    #[test]
    fn optionals_accept_null() {
        assert_eq!(accept(Value::Null, &opt(Type::Int)), Value::Null);
        assert_eq!(accept(json!(3), &opt(Type::Int)), json!(3));
        assert_eq!(accept(json!(3), &opt(Type::Float)), json!(3.0));
        assert_eq!(
            reject(json!("x"), &opt(Type::Int)),
            mismatch("$", "int?", "string \"x\"")
        );
        // Deeper mismatches keep the inner type.
        assert_eq!(
            reject(json!([1, "x"]), &opt(list(Type::Int))),
            mismatch("$[1]", "int", "string \"x\"")
        );
        assert_eq!(
            reject(json!({"approved": 1, "score": 1}), &opt(review())),
            mismatch("$.approved", "bool", "int 1")
        );
        assert_eq!(
            reject(json!(1), &opt(review())),
            mismatch("$", "Review?", "int 1")
        );
        assert_eq!(
            accept(json!([null, 1]), &list(opt(Type::Int))),
            json!([null, 1])
        );
    }

    #[test]
    fn records_get_their_defaults() {
        let full =
            json!({"approved": true, "score": 8, "note": "ok", "weight": 0.5, "tags": ["a"]});
        assert_eq!(accept(full.clone(), &review()), full);
        let filled = accept(json!({"approved": true, "score": 8}), &review());
        assert_eq!(
            filled,
            json!({"approved": true, "score": 8, "note": null, "weight": 1.0, "tags": []})
        );
        // The int default became a float.
        assert_eq!(filled["weight"], json!(1.0));
        assert_ne!(filled["weight"], json!(1));
        // Defaults are expressions.
        assert_eq!(
            accept(json!({}), &Type::Record("Timing".into())),
            json!({"timeout": 60_000})
        );
        assert_eq!(
            accept(json!({"timeout": 5}), &Type::Record("Timing".into())),
            json!({"timeout": 5})
        );
    }

    #[test]
    fn record_mismatches() {
        assert_eq!(
            reject(json!({"approved": true}), &review()),
            mismatch("$.score", "int", "nothing: the field is missing")
        );
        assert_eq!(
            reject(json!({"approved": "yes", "score": 1}), &review()),
            mismatch("$.approved", "bool", "string \"yes\"")
        );
        // A field given as null is not left out.
        assert_eq!(
            reject(
                json!({"approved": true, "score": 1, "weight": null}),
                &review()
            ),
            mismatch("$.weight", "float", "null")
        );
        assert_eq!(
            reject(json!({"approved": true, "score": 1, "scor": 2}), &review()),
            mismatch("$.scor", "no field `scor` in `Review`", "int 2")
        );
        assert_eq!(
            reject(json!({"approved": true, "score": 1, "a b": "c"}), &review()).path,
            "$[\"a b\"]"
        );
        assert_eq!(
            reject(json!("x"), &review()),
            mismatch("$", "Review", "string \"x\"")
        );
        assert_eq!(
            reject(Value::Null, &review()),
            mismatch("$", "Review", "null")
        );
        assert_eq!(
            reject(json!([]), &review()),
            mismatch("$", "Review", "list")
        );
    }

    #[test]
    fn a_failing_default_is_reported_at_its_field() {
        let m = reject(json!({}), &Type::Record("Broken".into()));
        assert_eq!(m.path, "$.n");
        assert_eq!(m.expected, "int");
        assert!(m.found.contains("division by zero"), "{m}");
        assert_eq!(
            accept(json!({"n": 2}), &Type::Record("Broken".into())),
            json!({"n": 2})
        );
    }

    #[test]
    fn nested_paths() {
        let verdict = Type::Record("Verdict".into());
        let value = json!({
            "reviews": [
                {"approved": true, "score": 9},
                {"approved": false, "score": "high"},
            ],
            "focus": "bugs",
        });
        let m = reject(value, &verdict);
        assert_eq!(m, mismatch("$.reviews[1].score", "int", "string \"high\""));
        assert_eq!(
            m.to_string(),
            "at $.reviews[1].score: expected int, found string \"high\""
        );

        let ok = accept(
            json!({"reviews": [{"approved": true, "score": 9, "weight": 2}], "focus": "security"}),
            &verdict,
        );
        assert_eq!(
            ok,
            json!({
                "reviews": [{"approved": true, "score": 9, "note": null, "weight": 2.0, "tags": []}],
                "focus": "security",
                "labels": {},
            })
        );
        assert_eq!(
            reject(
                json!({"reviews": [], "focus": "bugs", "labels": {"team": 1}}),
                &verdict
            ),
            mismatch("$.labels.team", "string", "int 1")
        );
    }

    #[test]
    fn enums_accept_their_variant_names() {
        let focus = Type::Enum("Focus".into());
        assert_eq!(accept(json!("bugs"), &focus), json!("bugs"));
        assert_eq!(accept(json!("security"), &focus), json!("security"));
        assert_eq!(
            reject(json!("perf"), &focus),
            mismatch("$", "Focus", "string \"perf\"")
        );
        assert_eq!(
            reject(json!("Bugs"), &focus),
            mismatch("$", "Focus", "string \"Bugs\"")
        );
        assert_eq!(reject(json!(1), &focus), mismatch("$", "Focus", "int 1"));
        assert_eq!(accept(Value::Null, &opt(focus)), Value::Null);
    }

    #[test]
    fn anonymous_records_have_no_defaults() {
        let ty = Type::Fields(vec![
            ("a".into(), Type::Float),
            ("b".into(), opt(Type::String)),
        ]);
        assert_eq!(accept(json!({"a": 1}), &ty), json!({"a": 1.0, "b": null}));
        assert_eq!(
            accept(json!({"a": 1.5, "b": "x"}), &ty),
            json!({"a": 1.5, "b": "x"})
        );
        assert_eq!(
            reject(json!({"b": "x"}), &ty),
            mismatch("$.a", "float", "nothing: the field is missing")
        );
        assert_eq!(
            reject(json!({"a": 1, "c": 2}), &ty),
            mismatch("$.c", "no field `c` in `{ a: float, b: string? }`", "int 2")
        );
        assert_eq!(
            reject(json!(7), &ty),
            mismatch("$", "{ a: float, b: string? }", "int 7")
        );
        let with_json = Type::Fields(vec![("raw".into(), Type::Json)]);
        assert_eq!(accept(json!({}), &with_json), json!({"raw": null}));
    }

    #[test]
    fn undeclared_types_are_reported() {
        let m = reject(json!({}), &Type::Record("Nope".into()));
        assert_eq!(m.path, "$");
        assert!(m.expected.contains("Nope"), "{m}");
        assert!(m.expected.contains("does not declare"), "{m}");
        // A record name used as an enum is not an enum declaration.
        let m = reject(json!("bugs"), &Type::Enum("Review".into()));
        assert!(m.expected.contains("does not declare"), "{m}");
        let m = reject(json!("bugs"), &opt(Type::Enum("Nope".into())));
        assert!(m.expected.contains("does not declare"), "{m}");
    }

    #[test]
    fn long_strings_are_cut() {
        let m = reject(json!("y".repeat(50)), &Type::Int);
        assert_eq!(m.found, format!("string \"{}…\"", "y".repeat(40)));
        let m = reject(json!("line\none"), &Type::Int);
        assert_eq!(m.found, "string \"line\\none\"");
    }

    #[test]
    fn conforming_twice_changes_nothing() {
        let verdict = Type::Record("Verdict".into());
        let once = accept(
            json!({"reviews": [{"approved": true, "score": 1}], "focus": "bugs"}),
            &verdict,
        );
        assert_eq!(accept(once.clone(), &verdict), once);
    }
}
