//! The types of the standard library's pure functions; their names and arities are the
//! plan's table ([`hive_plan::Builtin`]).

use super::expr::ExprCx;
use super::types::Ty;
use crate::syntax::Span;
use hive_plan::Function;

/// Checks a call of standard function `f` and returns its type.
pub fn check_function(cx: &mut ExprCx, f: Function, args: &[Ty], spans: &[Span], call: Span) -> Ty {
    let (name, n) = (f.name(), args.len());
    let want = |cx: &mut ExprCx, i: usize, ty: &Ty| {
        if let (Some(found), Some(span)) = (args.get(i), spans.get(i)) {
            cx.expect(
                *span,
                found,
                ty,
                format_args!("argument {} of `{name}`", i + 1),
            );
        }
    };
    // Whether the number of arguments is right, reported when it is not.
    let arity = |cx: &mut ExprCx| {
        let arity = f.builtin().arity;
        let ok = arity.allows(n);
        if !ok {
            cx.arity(name, &arity.describe(), n, call);
        }
        ok
    };
    let elem = |t: Option<&Ty>| match t {
        Some(Ty::List(e)) => (**e).clone(),
        Some(Ty::Json) => Ty::Json,
        _ => Ty::Error,
    };
    match f {
        Function::Len => {
            if arity(cx)
                && !matches!(
                    args[0],
                    Ty::Str | Ty::List(_) | Ty::Map(_) | Ty::Json | Ty::Error
                )
            {
                cx.expect(spans[0], &args[0], &Ty::List(Box::new(Ty::Json)), "`len`");
            }
            Ty::Int
        }
        Function::Upper | Function::Lower | Function::Trim => {
            arity(cx);
            want(cx, 0, &Ty::Str);
            Ty::Str
        }
        Function::Split => {
            arity(cx);
            want(cx, 0, &Ty::Str);
            want(cx, 1, &Ty::Str);
            Ty::List(Box::new(Ty::Str))
        }
        Function::Join => {
            arity(cx);
            want(cx, 0, &Ty::List(Box::new(Ty::Str)));
            want(cx, 1, &Ty::Str);
            Ty::Str
        }
        Function::Contains => {
            if arity(cx) {
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
        Function::StartsWith | Function::EndsWith => {
            arity(cx);
            want(cx, 0, &Ty::Str);
            want(cx, 1, &Ty::Str);
            Ty::Bool
        }
        Function::Replace => {
            arity(cx);
            for i in 0..3 {
                want(cx, i, &Ty::Str);
            }
            Ty::Str
        }
        Function::Keys | Function::Values => {
            arity(cx);
            let v = match args.first() {
                Some(Ty::Map(v)) => (**v).clone(),
                Some(Ty::Json | Ty::Error) | None => Ty::Json,
                Some(_) => {
                    want(cx, 0, &Ty::Map(Box::new(Ty::Json)));
                    Ty::Error
                }
            };
            if f == Function::Keys {
                Ty::List(Box::new(Ty::Str))
            } else {
                Ty::List(Box::new(v))
            }
        }
        Function::Range => {
            arity(cx);
            for i in 0..n {
                want(cx, i, &Ty::Int);
            }
            Ty::List(Box::new(Ty::Int))
        }
        Function::Min | Function::Max => {
            if n == 1 {
                let e = elem(args.first());
                if !e.is_numeric() && !matches!(e, Ty::Duration | Ty::Size) {
                    want(cx, 0, &Ty::List(Box::new(Ty::Float)));
                }
                e
            } else {
                arity(cx);
                numeric_result(cx, args, spans, name)
            }
        }
        Function::Sum => {
            arity(cx);
            let e = elem(args.first());
            if !e.is_numeric() && !matches!(e, Ty::Duration | Ty::Size) {
                want(cx, 0, &Ty::List(Box::new(Ty::Float)));
            }
            e
        }
        Function::Abs => {
            arity(cx);
            numeric_result(cx, args, spans, name)
        }
        Function::Round => {
            arity(cx);
            want(cx, 0, &Ty::Float);
            Ty::Int
        }
        Function::ToString | Function::ToJson => {
            arity(cx);
            Ty::Str
        }
        Function::ParseInt => {
            arity(cx);
            want(cx, 0, &Ty::Str);
            Ty::Int.optional()
        }
        Function::ParseFloat => {
            arity(cx);
            want(cx, 0, &Ty::Str);
            Ty::Float.optional()
        }
        Function::ParseJson => {
            arity(cx);
            want(cx, 0, &Ty::Str);
            Ty::Json
        }
        Function::Env => {
            arity(cx);
            want(cx, 0, &Ty::Str);
            Ty::Str
        }
        // Made by the lowering, never written.
        Function::DurationText | Function::SizeText => Ty::Str,
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
                format_args!("argument {} of `{name}`", i + 1),
            ),
        }
    }
    result
}
