//! Balancing strategies of pools and routes, and their `hash` keys.

use super::*;
use hive_plan::StrategyKind;

/// Checks a `hash` strategy's key of `owner` against the arguments (`input`) of a task.
pub fn check_hash_key(db: &dyn Db, owner: ItemRef, key: &crate::syntax::ast::Expr, input: Ty) {
    let mut cx = ExprCx::new(db, owner.file, owner);
    cx.locals.insert(
        "input".into(),
        Local {
            ty: input,
            kind: LocalKind::Context,
        },
    );
    cx.infer(key);
}

/// The key expression of a `strategy: hash(key: …)` among `properties`.
pub fn hash_key(properties: &[Property]) -> Option<&crate::syntax::ast::Expr> {
    let p = properties.iter().find(|p| p.name.text == "strategy")?;
    let ExprKind::Call(c) = &p.value.kind else {
        return None;
    };
    if StrategyKind::parse(&c.callee.text()) != Some(StrategyKind::Hash) {
        return None;
    }
    c.args
        .iter()
        .find(|a| a.name.as_ref().is_some_and(|n| n.text == "key"))
        .map(|a| &a.value)
}

/// A balancing strategy as checked: `hash` keeps its key expression in the syntax tree until
/// lowering.
pub type Strategy = hive_plan::Strategy<()>;

/// Reads a `strategy` value; `input` is the type of the routed task's arguments.
pub fn strategy(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    prop: &Property,
    input: Ty,
) -> Option<Strategy> {
    let (name, args, span) = match &prop.value.kind {
        ExprKind::Path(p) => (p.text(), &[][..], p.span),
        ExprKind::Call(c) => (c.callee.text(), &c.args[..], c.callee.span),
        _ => {
            Values { db, file, owner }.ill_typed("strategy", "a strategy name", &prop.value, None);
            return None;
        }
    };
    let bad_arg = |span: Span, message: String, help: &str| {
        report(
            db,
            Diagnostic::new(
                Code::InvalidStrategyArgument,
                owner.loc(span),
                message,
                "here",
            )
            .with_help(help),
        );
    };
    let no_args = |s: Strategy| {
        if let Some(a) = args.first() {
            bad_arg(
                a.span,
                format!("`{name}` takes no arguments"),
                &format!("write `strategy: {name}`"),
            );
        }
        Some(s)
    };
    let Some(kind) = StrategyKind::parse(&name) else {
        let names = StrategyKind::ALL.map(StrategyKind::name);
        report(
            db,
            Diagnostic::new(
                Code::UnknownStrategy,
                owner.loc(span),
                format!("unknown strategy `{name}`"),
                "not a strategy",
            )
            .with_did_you_mean(&name, names)
            .or_help(format!("strategies: {}", names.join(", "))),
        );
        return None;
    };
    match kind {
        StrategyKind::RoundRobin => no_args(Strategy::RoundRobin),
        StrategyKind::LeastBusy => no_args(Strategy::LeastBusy),
        StrategyKind::Weighted => no_args(Strategy::Weighted),
        StrategyKind::ResourceAware => no_args(Strategy::ResourceAware),
        StrategyKind::Performance => no_args(Strategy::Performance),
        StrategyKind::Auction => no_args(Strategy::Auction),
        StrategyKind::Random => {
            let mut two_choices = false;
            for a in args {
                match a.name.as_ref().map(|n| n.text.as_str()) {
                    Some("two_choices") => match crate::check::consts::eval(db, file, &a.value) {
                        Some(crate::check::consts::Const::Bool(b)) => two_choices = b,
                        _ => bad_arg(
                            a.value.span,
                            "`two_choices` must be `true` or `false`".into(),
                            "write `random(two_choices: true)`",
                        ),
                    },
                    _ => bad_arg(
                        a.span,
                        "`random` takes only `two_choices: bool`".into(),
                        "write `random` or `random(two_choices: true)`",
                    ),
                }
            }
            Some(Strategy::Random { two_choices })
        }
        StrategyKind::Hash => {
            let key = args
                .iter()
                .find(|a| a.name.as_ref().is_some_and(|n| n.text == "key"));
            for a in args
                .iter()
                .filter(|a| a.name.as_ref().is_none_or(|n| n.text != "key"))
            {
                bad_arg(
                    a.span,
                    "`hash` takes only `key: expr`".into(),
                    "write `hash(key: input.user)`",
                );
            }
            match key {
                Some(k) => check_hash_key(db, owner, &k.value, input),
                None => bad_arg(
                    span,
                    "`hash` needs a key".into(),
                    "write `hash(key: input.user)`: equal keys go to the same member",
                ),
            }
            Some(Strategy::Hash { key: () })
        }
    }
}
