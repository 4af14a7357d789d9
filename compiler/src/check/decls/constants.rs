//! Constants: each checked against its type and computed once.

use super::*;

#[salsa::tracked]
pub(super) fn check_const(db: &dyn Db, file: SourceFile, index: u32) {
    let Some(ItemKind::Const(c)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return;
    };
    let owner = ItemRef { file, index };
    let ty = resolve_type(db, file, owner, &c.ty);
    let mut cx = ExprCx::new(db, file, owner);
    cx.check(&c.value, &ty, format_args!("constant `{}`", c.name.text));
    if !cx.step_refs.is_empty() {
        return;
    }
    if let Err(why) = crate::check::consts::evaluate_const(db, owner) {
        report(db, not_const(owner, &c.name.text, &why));
    }
}

/// Why constant `name` has no value, placed where it fails.
pub(super) fn not_const(
    owner: ItemRef,
    name: &str,
    why: &crate::check::consts::NotConst,
) -> Diagnostic<Loc> {
    use crate::check::consts::Cause;
    let via = why
        .via
        .as_ref()
        .map_or(String::new(), |v| format!(" (through constant `{v}`)"));
    let (message, label, help) = match &why.cause {
        Cause::RunTime => (
            format!("constant `{name}` is not known at compile time"),
            "computed at run time".to_string(),
            "constants are literals, other constants, operators and the built-in functions but `env`"
                .to_string(),
        ),
        Cause::Env => (
            format!("constant `{name}` reads the environment"),
            "`env` is read when the run starts".to_string(),
            "read it in the workflow instead: `env(…)` in a step's argument or the output".to_string(),
        ),
        Cause::DivisionByZero => (
            format!("constant `{name}` divides by zero{via}"),
            "division by zero".to_string(),
            "the divisor is known at compile time and is 0".to_string(),
        ),
        Cause::Overflow(what) => (
            format!("constant `{name}` overflows{via}: {what} does not fit its type"),
            "overflows".to_string(),
            "integers are 64-bit; durations and sizes are not negative".to_string(),
        ),
        Cause::TooLarge => (
            format!("constant `{name}` is too large to compute at compile time{via}"),
            "too large".to_string(),
            format!(
                "a constant may build at most {} elements and characters; compute large values in a step",
                crate::check::consts::MAX_CONST_WORK
            ),
        ),
        Cause::Invalid(what) => (
            format!("constant `{name}` has no value{via}: {what}"),
            "fails".to_string(),
            "the runtime would refuse the same expression".to_string(),
        ),
        Cause::Cycle => (
            format!("constant `{name}` depends on itself{via}"),
            "refers back to it".to_string(),
            "give one of the constants in the cycle a value of its own".to_string(),
        ),
        Cause::TooDeep => (
            format!(
                "constant `{name}` refers to constants more than {} deep",
                crate::check::consts::MAX_CONST_DEPTH
            ),
            "too deep".to_string(),
            "flatten the chain of constants".to_string(),
        ),
    };
    Diagnostic::new(
        Code::InvalidPropertyValue,
        owner.loc(why.span),
        message,
        label,
    )
    .with_help(help)
}
