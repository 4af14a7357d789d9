//! `std.shell` commands built from run-time values: the shell runs whatever such a value
//! holds (`x; touch PWNED`), so each workflow input, step value or `for` variable
//! interpolated into a command is a warning whose help gives the `std.exec` call that passes
//! the values as arguments, through no shell.

use super::expr::{ExprCx, LocalKind};
use crate::codes::Code;
use crate::db::report;
use crate::diagnostic::Diagnostic;
use crate::syntax::ast::{Call, Expr, ExprKind, StrPart};

/// Characters that mean something to `sh` in the literal text of a command: with any of
/// them the command is not a plain list of words, and no `std.exec` call is suggested.
const SHELL_SYNTAX: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '\'', '*', '?', '[', ']', '{', '}',
    '~', '#', '=', '%', '!',
];

/// Warns about each run-time value interpolated into the `command` of a `std.shell` call.
pub fn check_command(cx: &ExprCx, call: &Call) {
    let Some(command) = call
        .args
        .iter()
        .find(|a| a.name.as_ref().is_some_and(|n| n.text == "command"))
    else {
        return;
    };
    let ExprKind::String(parts) = &command.value.kind else {
        return;
    };
    let argv = suggestion(parts);
    // The call can be rewritten as it is when the command is its only argument.
    let fix = argv
        .as_ref()
        .filter(|_| call.args.len() == 1)
        .map(|argv| format!("std.exec(argv: {argv})"));
    for part in parts {
        let StrPart::Interp(e) = part else { continue };
        let Some(name) = run_time_name(cx, e) else {
            continue;
        };
        let help = match &argv {
            Some(argv) => format!(
                "the shell would run whatever `{name}` holds (`x; rm -rf ~`): run the program without a shell, each value one argument: `std.exec(argv: {argv})`"
            ),
            None => format!(
                "the shell would run whatever `{name}` holds (`x; rm -rf ~`): run the program without a shell with `std.exec(argv: [\"program\", {name}])`, each value one argument"
            ),
        };
        let mut d = Diagnostic::new(
            Code::ShellInterpolation,
            cx.owner.loc(e.span),
            format!("`{name}` is interpolated into a `std.shell` command"),
            "a value known only at run time",
        )
        .with_help(help);
        if let Some(fix) = &fix {
            d = d.with_fix(cx.owner.loc(call.span), fix.clone());
        }
        report(cx.db, d);
    }
}

/// The first workflow input, step or `for` variable that `e` reads, as written.
fn run_time_name(cx: &ExprCx, e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Path(path) => {
            let first = &path.segments.first()?.text;
            let local = cx.locals.get(first)?;
            matches!(
                local.kind,
                LocalKind::Param | LocalKind::Step(_) | LocalKind::LoopVar
            )
            .then(|| path.text())
        }
        ExprKind::String(parts) => parts.iter().find_map(|p| match p {
            StrPart::Interp(e) => run_time_name(cx, e),
            StrPart::Text(_) => None,
        }),
        ExprKind::List(items) => items.iter().find_map(|i| run_time_name(cx, i)),
        ExprKind::Record(fields) | ExprKind::TypedRecord(_, fields) => {
            fields.iter().find_map(|f| run_time_name(cx, &f.value))
        }
        ExprKind::Field(of, _) => run_time_name(cx, of),
        ExprKind::Index(of, index) => run_time_name(cx, of).or_else(|| run_time_name(cx, index)),
        ExprKind::Call(c) => c.args.iter().find_map(|a| run_time_name(cx, &a.value)),
        ExprKind::Unary(_, x) => run_time_name(cx, x),
        ExprKind::Binary(_, a, b) => run_time_name(cx, a).or_else(|| run_time_name(cx, b)),
        _ => None,
    }
}

/// The `argv` list a plain command becomes: its words, each interpolation (a name) a word of
/// its own. `None` when the text uses shell syntax or an interpolation is part of a word.
fn suggestion(parts: &[StrPart]) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    // Whether the last word may still grow (text not yet ended by a space).
    let mut open = false;
    for part in parts {
        match part {
            StrPart::Text(t) if t.is_empty() => {}
            StrPart::Text(t) => {
                if t.contains(SHELL_SYNTAX) {
                    return None;
                }
                if open && !t.starts_with(char::is_whitespace) {
                    // Text glued to an interpolation: `${dir}/file`.
                    return None;
                }
                let ends_open = !t.ends_with(char::is_whitespace);
                let pieces: Vec<&str> = t.split_whitespace().collect();
                for (i, w) in pieces.iter().enumerate() {
                    words.push(serde_json::Value::from(*w).to_string());
                    if i + 1 == pieces.len() && ends_open {
                        open = true;
                    }
                }
                if pieces.is_empty() || !ends_open {
                    open = false;
                }
            }
            StrPart::Interp(e) => {
                if open {
                    return None;
                }
                let ExprKind::Path(path) = &e.kind else {
                    return None;
                };
                words.push(path.text());
                open = true;
            }
        }
    }
    (!words.is_empty()).then(|| format!("[{}]", words.join(", ")))
}
