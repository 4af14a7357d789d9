//! `backoff` values: `fixed(d)`, `linear(d)`, `exponential(d, max: d)`.

use super::consts::{Const, eval};
use super::props::Values;
use crate::syntax::ast::{Expr, ExprKind};
use hive_plan::Backoff;

/// Checks a backoff and returns it; what is wrong with it is reported and reads as no backoff.
pub fn backoff(v: &Values, value: &Expr) -> Backoff {
    let ExprKind::Call(call) = &value.kind else {
        v.ill_typed(
            "backoff",
            "fixed(d), linear(d) or exponential(d, max: d)",
            value,
            None,
        );
        return Backoff::None;
    };
    let kind = call.callee.text();
    let mut base = None;
    let mut max = None;
    for a in &call.args {
        let d = match eval(v.db, v.file, &a.value) {
            Some(Const::Duration(ms)) => Some(ms),
            other => {
                v.ill_typed("backoff", "a duration", &a.value, other.as_ref());
                None
            }
        };
        match a.name.as_ref().map(|n| n.text.as_str()) {
            None if base.is_none() => base = d,
            Some("max") if kind == "exponential" => max = d,
            _ => v.ill_typed(
                "backoff",
                "one delay (and `max:` for exponential)",
                &a.value,
                None,
            ),
        }
    }
    let Some(base) = base else {
        if matches!(kind.as_str(), "fixed" | "linear" | "exponential") {
            v.ill_typed("backoff", &format!("`{kind}(delay)`"), value, None);
        }
        return Backoff::None;
    };
    match kind.as_str() {
        "fixed" => Backoff::Fixed { delay_ms: base },
        "linear" => Backoff::Linear { delay_ms: base },
        "exponential" => Backoff::Exponential {
            delay_ms: base,
            max_ms: max,
        },
        _ => {
            v.word(
                "backoff",
                &crate::syntax::ast::Expr::new(
                    ExprKind::Path(call.callee.clone()),
                    call.callee.span,
                ),
                &["fixed", "linear", "exponential"],
            );
            Backoff::None
        }
    }
}
