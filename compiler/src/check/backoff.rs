//! `backoff` values: `fixed(d)`, `linear(d)`, `exponential(d, max: d)`.

use super::consts::{Const, eval};
use super::props::Values;
use crate::syntax::ast::{Expr, ExprKind};

/// Checks a backoff and returns the longest total delay across `retry` retries, in ms.
/// Jitter only shortens delays, so it does not raise the bound.
pub fn max_total_backoff(v: &Values, value: &Expr, retry: u32) -> u64 {
    let ExprKind::Call(call) = &value.kind else {
        v.ill_typed(
            "backoff",
            "fixed(d), linear(d) or exponential(d, max: d)",
            value,
            None,
        );
        return 0;
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
        return 0;
    };
    let retries = u64::from(retry);
    match kind.as_str() {
        "fixed" => base.saturating_mul(retries),
        "linear" => base.saturating_mul(retries.saturating_mul(retries + 1) / 2),
        "exponential" => {
            let cap = max.unwrap_or(u64::MAX);
            (0..retries.min(64))
                .map(|k| base.saturating_mul(1u64 << k.min(62)).min(cap))
                .fold(0u64, u64::saturating_add)
        }
        _ => {
            v.word(
                "backoff",
                &crate::syntax::ast::Expr {
                    kind: ExprKind::Path(call.callee.clone()),
                    span: call.callee.span,
                },
                &["fixed", "linear", "exponential"],
            );
            0
        }
    }
}
