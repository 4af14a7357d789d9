//! A plain step, read without pest: one line `step name = path(arg: value, …)` whose values
//! are names, integers, strings without escapes or interpolations, and infix operators
//! between them. It is the commonest line of a generated workflow, and pest spends a token
//! and a call-limit check on each of its characters' rules.
//!
//! The reader accepts a subset of the grammar and gives up at anything else on the line (a
//! comment, `with`, a prefix operator, a nested call, a reserved word, a number with a unit,
//! a missing comma): the line is then left to the grammar. So a step read here is exactly the
//! tree the grammar and the builder give for the same line, which the tests compare.

use super::Span;
use super::ast::*;

/// Operands beyond this many in one argument are left to the grammar, so the depth limit
/// ([`crate::limits::MAX_EXPR_DEPTH`]) is never reached here.
const MAX_OPERANDS: usize = 32;

/// The step on `line` (with or without its line end), whose first byte is `at` bytes into
/// the item; `None` when the line is not a plain step.
pub(super) fn step(line: &str, at: u32) -> Option<Step> {
    let mut r = Reader {
        text: line.as_bytes(),
        line,
        i: 0,
        at,
        operands: 0,
    };
    r.spaces();
    let start = r.i;
    if !r.text[r.i..].starts_with(b"step") {
        return None;
    }
    r.i += 4;
    // `step` followed by a name character is a name; here a blank must follow the keyword.
    if !matches!(r.peek(), Some(b' ' | b'\t')) {
        return None;
    }
    r.spaces();
    let name = r.name()?;
    r.spaces();
    if !r.eat(b'=') {
        return None;
    }
    r.spaces();
    let call = r.call()?;
    // Only blanks to the line's end: `with`, a comma or a comment is the grammar's.
    while let Some(b' ' | b'\t' | b'\r') = r.peek() {
        r.i += 1;
    }
    if !matches!(r.peek(), None | Some(b'\n')) || r.i + 1 < r.text.len() {
        return None;
    }
    Some(Step {
        doc: None,
        name,
        span: Span::new(r.at(start), call.span.end),
        body: StepBody::Call(call),
        options: Vec::new(),
    })
}

/// A cursor over one line.
struct Reader<'t> {
    text: &'t [u8],
    line: &'t str,
    i: usize,
    /// Where the line starts in the item.
    at: u32,
    /// Operands read so far in the current argument.
    operands: usize,
}

impl<'t> Reader<'t> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.i + ahead).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.i += usize::from(found);
        found
    }

    /// Spaces and tabs; line ends and comments are not plain.
    fn spaces(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    fn at(&self, i: usize) -> u32 {
        self.at + i as u32
    }

    /// An identifier as the grammar's `ident` reads it, reserved or not.
    fn word(&mut self) -> Option<(&'t str, Span)> {
        let start = self.i;
        if !matches!(self.peek(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_')) {
            return None;
        }
        while self.peek().is_some_and(is_ident_byte) {
            self.i += 1;
        }
        Some((
            &self.line[start..self.i],
            Span::new(self.at(start), self.at(self.i)),
        ))
    }

    /// A name; a reserved word is left to the builder, which reports it.
    fn name(&mut self) -> Option<Name> {
        let (text, span) = self.word()?;
        (!crate::is_keyword(text)).then(|| Name {
            text: text.to_string(),
            span,
        })
    }

    /// `a.b.c` without blanks around the dots, `first` already read.
    fn path_from(&mut self, first: Name) -> Option<Path> {
        let mut segments = vec![first];
        while self.peek() == Some(b'.')
            && matches!(self.peek_at(1), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        {
            self.i += 1;
            push_exact(&mut segments, self.name()?);
        }
        let span = segments[0].span.to(segments[segments.len() - 1].span);
        Some(Path { segments, span })
    }

    /// `path(name: value, …)`, every argument named.
    fn call(&mut self) -> Option<Call> {
        let first = self.name()?;
        let callee = self.path_from(first)?;
        self.spaces();
        if !self.eat(b'(') {
            return None;
        }
        self.spaces();
        let mut args = Vec::new();
        if !self.eat(b')') {
            loop {
                push_exact(&mut args, self.arg()?);
                self.spaces();
                if self.eat(b')') {
                    break;
                }
                // A comma between arguments; one before the `)` is left to the grammar.
                if !self.eat(b',') {
                    return None;
                }
                self.spaces();
                if self.peek() == Some(b')') {
                    return None;
                }
            }
        }
        let span = Span::new(callee.span.start, self.at(self.i));
        Some(Call { callee, args, span })
    }

    /// `name: value`.
    fn arg(&mut self) -> Option<Arg> {
        let name = self.name()?;
        self.spaces();
        if !self.eat(b':') || self.peek() == Some(b':') {
            return None;
        }
        self.spaces();
        self.operands = 0;
        let value = self.expr(0)?;
        let span = name.span.to(value.span);
        Some(Arg {
            name: Some(name),
            value,
            span,
        })
    }

    /// Operands and infix operators binding tighter than `min`, left-associative as the
    /// Pratt parser of the builder gives them.
    fn expr(&mut self, min: u8) -> Option<Expr> {
        let mut lhs = self.operand()?;
        loop {
            let save = self.i;
            self.spaces();
            let Some((op, len)) = self.operator() else {
                self.i = save;
                return Some(lhs);
            };
            let level = precedence(op);
            if level < min {
                self.i = save;
                return Some(lhs);
            }
            self.i += len;
            self.spaces();
            let rhs = self.expr(level + 1)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr::new(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span);
        }
    }

    /// The infix operator here and its length, as the grammar's `infix` reads it; `None`
    /// for anything else, including the start of a comment.
    fn operator(&self) -> Option<(BinaryOp, usize)> {
        let next = self.peek_at(1);
        Some(match (self.peek()?, next) {
            (b'+', _) => (BinaryOp::Add, 1),
            (b'-', _) => (BinaryOp::Sub, 1),
            (b'*', _) => (BinaryOp::Mul, 1),
            (b'/', Some(b'/' | b'*')) => return None,
            (b'/', _) => (BinaryOp::Div, 1),
            (b'%', _) => (BinaryOp::Rem, 1),
            (b'=', Some(b'=')) => (BinaryOp::Eq, 2),
            (b'!', Some(b'=')) => (BinaryOp::Ne, 2),
            (b'<', Some(b'=')) => (BinaryOp::Le, 2),
            (b'<', _) => (BinaryOp::Lt, 1),
            (b'>', Some(b'=')) => (BinaryOp::Ge, 2),
            (b'>', _) => (BinaryOp::Gt, 1),
            (b'&', Some(b'&')) => (BinaryOp::And, 2),
            (b'|', Some(b'|')) => (BinaryOp::Or, 2),
            (b'?', Some(b'?')) => (BinaryOp::Coalesce, 2),
            (b'.', Some(b'.')) => (BinaryOp::Range, 2),
            _ => return None,
        })
    }

    /// A name or dotted path, `true`, `false`, `none`, an integer or a plain string, with
    /// nothing after it that would make it more (a call, a record, an index, a field).
    fn operand(&mut self) -> Option<Expr> {
        self.operands += 1;
        if self.operands > MAX_OPERANDS {
            return None;
        }
        let start = self.i;
        let kind = match self.peek()? {
            b'0'..=b'9' => {
                while let Some(b'0'..=b'9' | b'_') = self.peek() {
                    self.i += 1;
                }
                // A unit, an exponent or a fraction makes another literal.
                if self.peek().is_some_and(|b| is_ident_byte(b) || b == b'.') {
                    return None;
                }
                ExprKind::Int(self.line[start..self.i].replace('_', "").parse().ok()?)
            }
            b'"' => {
                self.i += 1;
                loop {
                    match self.peek()? {
                        b'"' => break,
                        b'\\' | b'\n' | b'\r' => return None,
                        b'$' if self.peek_at(1) == Some(b'{') => return None,
                        _ => self.i += 1,
                    }
                }
                let text = &self.line[start + 1..self.i];
                self.i += 1;
                ExprKind::String(if text.is_empty() {
                    Vec::new()
                } else {
                    vec![StrPart::Text(text.to_string())]
                })
            }
            _ => {
                let (word, span) = self.word()?;
                match word {
                    "true" => ExprKind::Bool(true),
                    "false" => ExprKind::Bool(false),
                    "none" => ExprKind::None,
                    _ if crate::is_keyword(word) => return None,
                    _ => {
                        let first = Name {
                            text: word.to_string(),
                            span,
                        };
                        ExprKind::Path(self.path_from(first)?)
                    }
                }
            }
        };
        // A field, an index, a call or a record after the operand, with or without blanks.
        let mut after = self.i;
        while let Some(b' ' | b'\t') = self.text.get(after) {
            after += 1;
        }
        match (self.text.get(after), self.text.get(after + 1)) {
            (Some(b'(' | b'{' | b'['), _) => return None,
            (Some(b'.'), next) if next != Some(&b'.') => return None,
            _ => {}
        }
        Some(Expr::new(kind, Span::new(self.at(start), self.at(self.i))))
    }
}

/// Pushes without the spare room a growing `Vec` takes (four elements at its first push):
/// a long workflow's tree holds thousands of these short lists.
fn push_exact<T>(list: &mut Vec<T>, item: T) {
    list.reserve_exact(1);
    list.push(item);
}

/// The grammar's `ident_char`.
fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Lowest to highest, as the builder's Pratt parser ranks them (`expr.rs`).
fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Range => 1,
        BinaryOp::Or => 2,
        BinaryOp::And => 3,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            4
        }
        BinaryOp::Coalesce => 5,
        BinaryOp::Add | BinaryOp::Sub => 6,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 7,
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{Item, ItemKind};

    /// The line inside a workflow, parsed whole by the grammar, and the same workflow with
    /// the step [`super::step`] reads from the line in place of the grammar's, if it reads one.
    fn both(line: &str) -> (crate::ParsedFile, Option<Item>) {
        let head = "workflow w() -> int {\n";
        let parsed = crate::parse(&format!("{head}{line}\n}}\n"));
        let plain = super::step(line, head.len() as u32).map(|step| {
            let item = &parsed.items[0];
            let ItemKind::Workflow(mut wf) = item.kind.clone() else {
                panic!("a workflow: {line:?}");
            };
            wf.steps = vec![step];
            Item::numbered(item.doc.clone(), ItemKind::Workflow(wf), item.span)
        });
        (parsed, plain)
    }

    /// A small deterministic generator (xorshift), so a failure names its line.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[(self.next() % from.len() as u64) as usize]
        }

        /// One of `good`, or one time in sixteen one of `bad`.
        fn choose<'a>(&mut self, (good, bad): (&[&'a str], &[&'a str])) -> &'a str {
            if self.next().is_multiple_of(16) {
                self.pick(bad)
            } else {
                self.pick(good)
            }
        }
    }

    /// Plain steps and near misses: every operand, operator and separator the reader knows,
    /// and, one time in sixteen at each place, a neighbour it must leave to the grammar.
    fn line(rng: &mut Rng) -> String {
        const OPERANDS: (&[&str], &[&str]) = (
            &[
                "x",
                "a.b",
                "l0_1",
                "x.y.z",
                "true",
                "none",
                "false",
                "falsey",
                "nonex",
                "1",
                "1_000",
                "0",
                "\"s\"",
                "\"\"",
                "\"a b $ c\"",
                "\"é\"",
                "publish",
            ],
            &[
                "99999999999999999999",
                "1.5",
                "2s",
                "3kb",
                "1e3",
                "\"a\\n\"",
                "\"${x}\"",
                "-1",
                "!x",
                "f(x)",
                "f (x)",
                "(x)",
                "[1]",
                "a[0]",
                "a [0]",
                "r { a: 1 }",
                "step",
                "for",
                "type",
                "a .b",
                "a. b",
                "a.",
                "true.x",
                "\"s\".len",
                "1..2",
                "std.for",
                "\"a\rb\"",
                "\"open",
            ],
        );
        const OPS: (&[&str], &[&str]) = (
            &[
                "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "??", "..",
            ],
            &[
                "//", "/*", "=", "!", "&", "|", "?", ".", "->", "<-", "...", "///", "\n",
            ],
        );
        const GAPS: (&[&str], &[&str]) = (&["", " ", "  ", "\t"], &["\n", "\u{b}", "/**/"]);
        const SEPARATORS: (&[&str], &[&str]) =
            (&[", ", ",", " , ", ",\t"], &[" ", ",,", ", //c\n", ",\n"]);
        const STARTS: (&[&str], &[&str]) = (
            &["  step ", "step ", "\tstep\t", "  step  "],
            &[
                "steps ",
                "stepx ",
                "  /* c */ step ",
                "  /// d\n  step ",
                "  step(",
            ],
        );
        const NAMES: (&[&str], &[&str]) = (
            &["s", "l49_97", "_x", "publish"],
            &["step", "for", "output", "9x", "s.t"],
        );
        const EQUALS: (&[&str], &[&str]) = (&[" = ", "=", " =", "  =\t"], &[" == ", " : "]);
        const CALLEES: (&[&str], &[&str]) = (
            &["std.echo", "c", "a.b.c", "publish", "receive", "c "],
            &[
                "publish t",
                "for x in xs",
                "std.type",
                "f.",
                "for",
                "receive.for",
            ],
        );
        const OPENS: (&[&str], &[&str]) = (&["(", "( ", "(\t"], &["", "[", "(("]);
        const ARG_NAMES: (&[&str], &[&str]) = (
            &["value", "x", "_", "none_"],
            &["in", "true", "a.b", "x:", ""],
        );
        const COLONS: (&[&str], &[&str]) = (&[": ", ":", " : ", ":\t"], &[":: ", " ", "="]);
        const CLOSES: (&[&str], &[&str]) = (&[")", " )", "\t)"], &[",)", "", "))", ", )"]);
        const ENDS: (&[&str], &[&str]) = (
            &["", " ", "\t", "\r", "\n", " \r\n"],
            &[
                " // c",
                " with { timeout: 1s }",
                ",",
                " }",
                ")",
                " x",
                " /* c */",
                "\n\n",
            ],
        );
        let mut pick = |options| rng.choose(options);
        let mut out = String::new();
        out.push_str(pick(STARTS));
        out.push_str(pick(NAMES));
        out.push_str(pick(EQUALS));
        out.push_str(pick(CALLEES));
        out.push_str(pick(OPENS));
        let args = pick((&["0", "1", "1", "2", "3"], &["9"]))
            .parse::<usize>()
            .unwrap();
        for a in 0..args {
            if a > 0 {
                out.push_str(pick(SEPARATORS));
            }
            out.push_str(pick(ARG_NAMES));
            out.push_str(pick(COLONS));
            let operands = pick((&["1", "1", "2", "2", "3", "5"], &["40"]))
                .parse::<usize>()
                .unwrap();
            for o in 0..operands {
                if o > 0 {
                    out.push_str(pick(GAPS));
                    out.push_str(pick(OPS));
                    out.push_str(pick(GAPS));
                }
                out.push_str(pick(OPERANDS));
            }
        }
        out.push_str(pick(CLOSES));
        out.push_str(pick(ENDS));
        out
    }

    #[test]
    fn a_plain_step_is_the_tree_the_grammar_gives() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut read, mut left) = (0, 0);
        for _ in 0..40_000 {
            let line = line(&mut rng);
            let (parsed, plain) = both(&line);
            let Some(plain) = plain else {
                left += 1;
                continue;
            };
            read += 1;
            assert!(
                parsed.diagnostics.is_empty(),
                "{line:?}: {:?}",
                parsed.diagnostics
            );
            assert_eq!(parsed.items.len(), 1, "{line:?}");
            assert_eq!(*parsed.items[0], plain, "{line:?}");
        }
        // Both sides of the boundary are exercised.
        assert!(read > 2_000 && left > 2_000, "read {read}, left {left}");
    }

    #[test]
    fn the_lines_of_a_generated_workflow_are_plain() {
        for line in [
            "  step l0_0 = std.echo(value: 1)\n",
            "  step l1_98 = std.echo(value: l0_5 + l0_50)",
            "step shard_17 = etl.load(path: \"shards/17.json\", retries_left: 3, dry: false)\r\n",
            "  step ok = review.check(score: a.score * 2 >= limit && !none ?? x)",
        ] {
            let (parsed, plain) = both(line);
            let ok = line.contains('!');
            assert_eq!(plain.is_some(), !ok, "{line:?}");
            if let Some(plain) = plain {
                assert_eq!(*parsed.items[0], plain, "{line:?}");
            }
        }
    }

    #[test]
    fn a_long_chain_of_operators_is_left_to_the_grammar() {
        let sum = vec!["x"; super::MAX_OPERANDS + 1].join(" + ");
        assert!(super::step(&format!("step s = c(v: {sum})"), 0).is_none());
        let sum = vec!["x"; super::MAX_OPERANDS].join(" + ");
        assert!(super::step(&format!("step s = c(v: {sum})"), 0).is_some());
    }
}
