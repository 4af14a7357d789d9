//! Signatures of the standard library's pure functions.

use super::expr::ExprCx;
use super::types::Ty;
use crate::syntax::Span;

/// Checks a call of standard function `name` (known to exist) and returns its type.
pub fn check_function(cx: &mut ExprCx, name: &str, args: &[Ty], spans: &[Span], call: Span) -> Ty {
    let n = args.len();
    let want = |cx: &mut ExprCx, i: usize, ty: &Ty| {
        if let (Some(found), Some(span)) = (args.get(i), spans.get(i)) {
            cx.expect(*span, found, ty, &format!("argument {} of `{name}`", i + 1));
        }
    };
    let arity = |cx: &mut ExprCx, expected: &str, ok: bool| {
        if !ok {
            cx.arity(name, expected, n, call);
        }
        ok
    };
    let elem = |t: Option<&Ty>| match t {
        Some(Ty::List(e)) => (**e).clone(),
        Some(Ty::Json) => Ty::Json,
        _ => Ty::Error,
    };
    match name {
        "len" => {
            if arity(cx, "1 argument", n == 1)
                && !matches!(
                    args[0],
                    Ty::Str | Ty::List(_) | Ty::Map(_) | Ty::Json | Ty::Error
                )
            {
                cx.expect(spans[0], &args[0], &Ty::List(Box::new(Ty::Json)), "`len`");
            }
            Ty::Int
        }
        "upper" | "lower" | "trim" => {
            arity(cx, "1 argument", n == 1);
            want(cx, 0, &Ty::Str);
            Ty::Str
        }
        "split" => {
            arity(cx, "2 arguments", n == 2);
            want(cx, 0, &Ty::Str);
            want(cx, 1, &Ty::Str);
            Ty::List(Box::new(Ty::Str))
        }
        "join" => {
            arity(cx, "2 arguments", n == 2);
            want(cx, 0, &Ty::List(Box::new(Ty::Str)));
            want(cx, 1, &Ty::Str);
            Ty::Str
        }
        "contains" => {
            if arity(cx, "2 arguments", n == 2) {
                match &args[0] {
                    Ty::List(e) => {
                        let e = (**e).clone();
                        want(cx, 1, &e)
                    }
                    Ty::Map(_) => want(cx, 1, &Ty::Str),
                    _ => {
                        want(cx, 0, &Ty::Str);
                        want(cx, 1, &Ty::Str)
                    }
                }
            }
            Ty::Bool
        }
        "starts_with" | "ends_with" => {
            arity(cx, "2 arguments", n == 2);
            want(cx, 0, &Ty::Str);
            want(cx, 1, &Ty::Str);
            Ty::Bool
        }
        "replace" => {
            arity(cx, "3 arguments", n == 3);
            for i in 0..3 {
                want(cx, i, &Ty::Str);
            }
            Ty::Str
        }
        "keys" | "values" => {
            arity(cx, "1 argument", n == 1);
            let v = match args.first() {
                Some(Ty::Map(v)) => (**v).clone(),
                Some(Ty::Json | Ty::Error) | None => Ty::Json,
                Some(_) => {
                    want(cx, 0, &Ty::Map(Box::new(Ty::Json)));
                    Ty::Error
                }
            };
            if name == "keys" {
                Ty::List(Box::new(Ty::Str))
            } else {
                Ty::List(Box::new(v))
            }
        }
        "range" => {
            arity(cx, "1 or 2 arguments", n == 1 || n == 2);
            for i in 0..n {
                want(cx, i, &Ty::Int);
            }
            Ty::List(Box::new(Ty::Int))
        }
        "min" | "max" => {
            if n == 1 {
                let e = elem(args.first());
                if !e.is_numeric() && !matches!(e, Ty::Duration | Ty::Size) {
                    want(cx, 0, &Ty::List(Box::new(Ty::Float)));
                }
                e
            } else {
                arity(cx, "1 list or 2 arguments", n == 2);
                numeric_result(cx, args, spans, name)
            }
        }
        "sum" => {
            arity(cx, "1 argument", n == 1);
            let e = elem(args.first());
            if !e.is_numeric() && !matches!(e, Ty::Duration | Ty::Size) {
                want(cx, 0, &Ty::List(Box::new(Ty::Float)));
            }
            e
        }
        "abs" => {
            arity(cx, "1 argument", n == 1);
            numeric_result(cx, args, spans, name)
        }
        "round" => {
            arity(cx, "1 argument", n == 1);
            want(cx, 0, &Ty::Float);
            Ty::Int
        }
        "to_string" | "to_json" => {
            arity(cx, "1 argument", n == 1);
            Ty::Str
        }
        "parse_int" => {
            arity(cx, "1 argument", n == 1);
            want(cx, 0, &Ty::Str);
            Ty::Int.optional()
        }
        "parse_float" => {
            arity(cx, "1 argument", n == 1);
            want(cx, 0, &Ty::Str);
            Ty::Float.optional()
        }
        "parse_json" => {
            arity(cx, "1 argument", n == 1);
            want(cx, 0, &Ty::Str);
            Ty::Json
        }
        "env" => {
            arity(cx, "1 argument", n == 1);
            want(cx, 0, &Ty::Str);
            Ty::Str
        }
        _ => Ty::Error,
    }
}

fn numeric_result(cx: &mut ExprCx, args: &[Ty], spans: &[Span], name: &str) -> Ty {
    let mut result = Ty::Int;
    for (i, t) in args.iter().enumerate() {
        match t {
            Ty::Int => {}
            Ty::Float => result = Ty::Float,
            Ty::Json | Ty::Error => result = t.clone(),
            _ => cx.expect(
                spans[i],
                t,
                &Ty::Float,
                &format!("argument {} of `{name}`", i + 1),
            ),
        }
    }
    result
}
