//! The canonical layout of a token stream.
//!
//! Line breaks are the author's (at most one blank line is kept); everything else is decided
//! here: indentation (two spaces per open bracket, one more for a continued expression), the
//! spaces between tokens, and commas (none at line ends, none trailing).

use super::lex::{Kind, Token};
// After a keyword, `(` or `-` starts an operand, not a call or a subtraction.
use crate::syntax::KEYWORDS;

const INDENT: &str = "  ";

/// Operators that continue an expression onto the next line when they end or start one.
const CONTINUING: [&str; 17] = [
    "+", "-", "*", "/", "%", "&&", "||", "??", "==", "!=", "<", ">", "<=", ">=", "..", "=", "->",
];

/// An open bracket and the indentation of the line it was opened on.
struct Open {
    indent: usize,
}

/// What the printer knows about the token before the current one.
#[derive(Clone, Copy, Default)]
struct Prev<'a> {
    text: &'a str,
    kind: Option<Kind>,
    /// A prefix `-` or `!`.
    unary: bool,
    /// The `<` or `>` of `list<…>` / `map<…>`.
    generic: bool,
}

/// Lays out `tokens` (a file that parses) in the canonical form.
pub fn layout(tokens: &[Token]) -> String {
    let mut out = String::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut generic_depth = 0usize;
    let mut line_indent = 0usize;
    let mut prev = Prev::default();
    // The last significant (non-comment) token, for continuation and unary decisions.
    let mut last = Prev::default();
    let mut carried_breaks = 0;
    // A top-level item ended with a `}` on a line of its own: the next item gets a blank line
    // before it. One-line items (`route a -> b { … }`) may stay in a group.
    let mut item_ended = false;
    for (i, t) in tokens.iter().enumerate() {
        let breaks = t.breaks.max(carried_breaks);
        carried_breaks = 0;
        if t.text == "," && t.kind == Kind::Punct && comma_is_redundant(&tokens[i + 1..]) {
            carried_breaks = breaks;
            continue;
        }
        let is_closer = t.kind == Kind::Punct && matches!(t.text, "}" | ")" | "]");
        let generic = t.kind == Kind::Punct
            && ((t.text == "<"
                && last.kind == Some(Kind::Word)
                && matches!(last.text, "list" | "map"))
                || (t.text == ">" && generic_depth > 0));
        let unary =
            t.kind == Kind::Punct && (t.text == "!" || (t.text == "-" && starts_operand(&last)));
        let at_line_start = out.is_empty() || breaks > 0 || prev.kind == Some(Kind::LineComment);
        if out.is_empty() {
        } else if breaks > 0 || prev.kind == Some(Kind::LineComment) {
            let opened = prev.kind == Some(Kind::Punct) && matches!(prev.text, "{" | "(" | "[");
            let blank = (breaks >= 2 && !opened && !is_closer) || (item_ended && stack.is_empty());
            out.push('\n');
            if blank {
                out.push('\n');
            }
            item_ended = false;
            line_indent = match stack.last() {
                Some(open) if is_closer => open.indent,
                Some(open) => open.indent + 1,
                None => 0,
            };
            if !is_closer && continues(&last, t) {
                line_indent += 1;
            }
            for _ in 0..line_indent {
                out.push_str(INDENT);
            }
        } else if space_between(&prev, t, generic) {
            out.push(' ');
        }
        out.push_str(t.text);
        if t.kind == Kind::Punct {
            match t.text {
                "{" | "(" | "[" => stack.push(Open {
                    indent: line_indent,
                }),
                "}" | ")" | "]" => {
                    stack.pop();
                    item_ended = t.text == "}" && stack.is_empty() && at_line_start;
                }
                "<" if generic => generic_depth += 1,
                ">" if generic => generic_depth -= 1,
                _ => {}
            }
        }
        prev = Prev {
            text: t.text,
            kind: Some(t.kind),
            unary,
            generic,
        };
        if !matches!(t.kind, Kind::LineComment | Kind::BlockComment) {
            last = prev;
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// A comma is left out where a line end or a closing bracket separates just as well: before a
/// closer, or before a line break when what follows cannot be read as continuing the element
/// (`-x`, `(…)`, `[…]` and `{…}` on the next line could be).
fn comma_is_redundant(rest: &[Token]) -> bool {
    let mut broken = false;
    for t in rest {
        broken |= t.breaks > 0;
        match t.kind {
            Kind::LineComment | Kind::BlockComment => continue,
            Kind::Punct => return matches!(t.text, "}" | ")" | "]"),
            Kind::Word | Kind::Number | Kind::Str => return broken,
        }
    }
    true
}

/// Whether a token after `last` begins an operand (so a `-` there is a prefix).
fn starts_operand(last: &Prev) -> bool {
    match last.kind {
        None => true,
        Some(Kind::Punct) => !matches!(last.text, ")" | "]" | "}" | "?") && !last.generic,
        Some(Kind::Word) => KEYWORDS.contains(&last.text),
        Some(_) => false,
    }
}

/// Whether a line starting with `t` continues the expression or step of the line before.
fn continues(last: &Prev, t: &Token) -> bool {
    let ends_open = last.kind == Some(Kind::Punct)
        && !last.generic
        && !last.unary
        && (CONTINUING.contains(&last.text) || last.text == ":");
    let starts_infix = t.kind == Kind::Punct
        && (matches!(t.text, "." | "?" | "??") || (CONTINUING.contains(&t.text) && t.text != "-"));
    let starts_with = t.kind == Kind::Word && t.text == "with";
    ends_open || starts_infix || starts_with
}

/// Whether one space separates `prev` and `t` on a line.
fn space_between(prev: &Prev, t: &Token, generic: bool) -> bool {
    let (p, c) = (prev.text, t.text);
    if matches!(t.kind, Kind::LineComment | Kind::BlockComment)
        || prev.kind == Some(Kind::BlockComment)
    {
        return true;
    }
    let punct = |s: &str, k: Option<Kind>| k == Some(Kind::Punct) && p == s;
    let is = |s: &str| t.kind == Kind::Punct && c == s;
    if is(",") || is(":") || is(")") || is("]") || is("?") || is(".") || is("..") {
        return false;
    }
    if punct(".", prev.kind)
        || punct("..", prev.kind)
        || punct("(", prev.kind)
        || punct("[", prev.kind)
    {
        return false;
    }
    if punct("{", prev.kind) {
        return !is("}");
    }
    if generic || prev.generic && p == "<" || prev.unary {
        return false;
    }
    let callee = match prev.kind {
        // `reads [notes]`, `writes [summary]` after a capability's return type.
        Some(Kind::Word) => !KEYWORDS.contains(&p) && !matches!(p, "reads" | "writes"),
        Some(Kind::Str) => is("["),
        Some(Kind::Punct) => matches!(p, ")" | "]"),
        _ => false,
    };
    if (is("(") || is("[")) && callee {
        return false;
    }
    true
}
