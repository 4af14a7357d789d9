//! Expressions: precedence by pest's Pratt parser, literals, strings, and a depth limit so that
//! no later phase recurses deeper than [`limits::MAX_EXPR_DEPTH`].

use super::Span;
use super::ast::*;
use super::build::{Builder, Commas, significant_end};
use super::limits;
use super::parser::Rule;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::LazyLock;

/// Lowest to highest: `..`, `||`, `&&`, comparisons, `??`, `+ -`, `* / %`, prefix `- !`.
static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::range_op, Assoc::Left))
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::infix(Rule::eq, Assoc::Left)
            | Op::infix(Rule::ne, Assoc::Left)
            | Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left))
        // Left-associative: `a ?? b ?? c` means the same either way (the first value that
        // is not `none`), and a left-leaning chain is built by a loop, not by recursion.
        .op(Op::infix(Rule::coalesce, Assoc::Left))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left)
            | Op::infix(Rule::div, Assoc::Left)
            | Op::infix(Rule::rem, Assoc::Left))
        .op(Op::prefix(Rule::neg) | Op::prefix(Rule::not))
});

/// An expression with the depth of its tree.
struct Built {
    expr: Expr,
    depth: u32,
}

/// The children of an `operand` (or `operand_el`) pair from `start` up to `end` that form one
/// operand. It starts at the head unless a bracket that is a list starts it (`start > 0`).
#[derive(Clone)]
struct Segment<'i> {
    operand: Pair<'i, Rule>,
    start: usize,
    end: usize,
}

impl<'i> Segment<'i> {
    fn whole(operand: Pair<'i, Rule>) -> Self {
        Segment {
            operand,
            start: 0,
            end: usize::MAX,
        }
    }
}

/// One element of a list or argument list, as an `element` pair gives it: the whole pair, or
/// the part of it before, between or after the brackets that start further elements.
pub(super) struct Element<'i> {
    parts: Parts<'i>,
    /// Offset of the first byte.
    pub(super) start: usize,
    /// Offset past the last token.
    pub(super) end: usize,
}

enum Parts<'i> {
    Whole(Pair<'i, Rule>),
    /// A literal or a name alone, a list's element without an `element` pair around it.
    Lone(Pair<'i, Rule>),
    /// Operator pairs and operand pairs in order, and the part of each operand pair that
    /// belongs to this element.
    Split(Vec<Pair<'i, Rule>>, VecDeque<Segment<'i>>),
}

impl Builder {
    /// `expr` or `expr_head`.
    pub(super) fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        self.expr_d(pair).expr
    }

    fn expr_d(&mut self, pair: Pair<Rule>) -> Built {
        self.pratt(pair.into_inner(), VecDeque::new())
    }

    /// The elements an `element` pair stands for: one, and one more for each bracket after an
    /// operand that is a list rather than an index (`[a` then `[1, 2]` on the next line are
    /// two elements, as commas are optional at line ends).
    pub(super) fn elements<'i>(&mut self, pair: Pair<'i, Rule>) -> Vec<Element<'i>> {
        let start = pair.as_span().start();
        let end = significant_end(&pair);
        if pair.as_rule() != Rule::element {
            return vec![Element {
                parts: Parts::Lone(pair),
                start,
                end,
            }];
        }
        if self.list_bracket(&pair).is_none() {
            return vec![Element {
                parts: Parts::Whole(pair),
                start,
                end,
            }];
        }
        let mut out = Vec::new();
        let (mut pairs, mut segments) = (Vec::new(), VecDeque::new());
        let mut element_start = start;
        for p in pair.into_inner() {
            if p.as_rule() != Rule::operand_el {
                pairs.push(p);
                continue;
            }
            let children: Vec<Pair<Rule>> = p.clone().into_inner().collect();
            let mut from = 0;
            for (i, child) in children.iter().enumerate().skip(1) {
                if child.as_rule() == Rule::bracket && self.is_list(child) {
                    pairs.push(p.clone());
                    segments.push_back(Segment {
                        operand: p.clone(),
                        start: from,
                        end: i,
                    });
                    out.push(Element {
                        parts: Parts::Split(
                            std::mem::take(&mut pairs),
                            std::mem::take(&mut segments),
                        ),
                        start: element_start,
                        end: significant_end(&children[i - 1]),
                    });
                    element_start = child.as_span().start();
                    from = i;
                }
            }
            pairs.push(p.clone());
            segments.push_back(Segment {
                operand: p,
                start: from,
                end: children.len(),
            });
        }
        out.push(Element {
            parts: Parts::Split(pairs, segments),
            start: element_start,
            end,
        });
        out
    }

    /// Hands each element of a list or argument list (`list`, `bracket` or `call_args`) to
    /// `each` in turn, checking the commas between them: with its first byte and, when it is
    /// the first of its `arg` or `element` pair, that pair.
    pub(super) fn delimited<'i>(
        &mut self,
        pair: Pair<'i, Rule>,
        mut each: impl FnMut(&mut Self, Option<Pair<'i, Rule>>, usize, Element<'i>),
    ) {
        let text = pair.get_input();
        let mut commas = Commas::default();
        for p in pair.into_inner() {
            if p.as_rule() == Rule::comma {
                commas.comma();
                continue;
            }
            let value = match p.as_rule() {
                Rule::arg => p
                    .clone()
                    .into_inner()
                    .last()
                    .expect("grammar: argument value"),
                _ => p.clone(),
            };
            let mut first = Some(p);
            for element in self.elements(value) {
                let start = first
                    .as_ref()
                    .map_or(element.start, |p| p.as_span().start());
                commas.element(self, text, start, element.end);
                each(self, first.take(), start, element);
            }
        }
    }

    /// Builds one element of [`Builder::elements`].
    pub(super) fn element(&mut self, element: Element) -> Expr {
        self.element_d(element).expr
    }

    fn element_d(&mut self, element: Element) -> Built {
        match element.parts {
            Parts::Whole(pair) => self.pratt(pair.into_inner(), VecDeque::new()),
            Parts::Lone(pair) => self.primary(pair),
            Parts::Split(pairs, segments) => self.pratt(pairs.into_iter(), segments),
        }
    }

    /// The first bracket after an operand of an `element` pair (not inside its brackets) that
    /// is a list.
    fn list_bracket<'i>(&mut self, element: &Pair<'i, Rule>) -> Option<Pair<'i, Rule>> {
        element
            .clone()
            .into_inner()
            .filter(|p| p.as_rule() == Rule::operand_el)
            .flat_map(|p| p.into_inner().skip(1))
            .find(|p| p.as_rule() == Rule::bracket && self.is_list(p))
    }

    /// Whether a bracket after an operand is a list, which starts the next element: it is an
    /// index only when it holds one element, no comma, and that element is not cut in two.
    fn is_list(&mut self, bracket: &Pair<Rule>) -> bool {
        let at = bracket.as_span().start();
        if let Some(&known) = self.list_brackets.get(&at) {
            return known;
        }
        let mut inner = bracket.clone().into_inner();
        let list = match (inner.next(), inner.next()) {
            (Some(e), None) if e.as_rule() == Rule::element => self.list_bracket(&e).is_some(),
            _ => true,
        };
        self.list_brackets.insert(at, list);
        list
    }

    /// Operators and operands by precedence; each operand is the next of `segments`, or the
    /// whole pair once they run out.
    fn pratt<'i>(
        &mut self,
        pairs: impl Iterator<Item = Pair<'i, Rule>>,
        mut segments: VecDeque<Segment<'i>>,
    ) -> Built {
        // One operand, or two around one operator, is most of what is written (`1`,
        // `a + b`), and needs no precedence: built directly, as the Pratt parser would
        // build it, at a fraction of its cost.
        let mut pairs = pairs.peekable();
        let mut head: [Option<Pair<'i, Rule>>; 3] = [None, None, None];
        for slot in &mut head {
            match pairs.next_if(|p| !matches!(p.as_rule(), Rule::neg | Rule::not)) {
                Some(p) => *slot = Some(p),
                None => break,
            }
        }
        if pairs.peek().is_none() {
            match head {
                [Some(operand), None, None] => return self.pratt_operand(&mut segments, operand),
                [Some(lhs), Some(op), Some(rhs)] => {
                    let lhs = self.pratt_operand(&mut segments, lhs);
                    let rhs = self.pratt_operand(&mut segments, rhs);
                    return self.infix(lhs, &op, rhs);
                }
                _ => {}
            }
        }
        let pairs = head.into_iter().flatten().chain(pairs);
        let this = RefCell::new(self);
        let segments = RefCell::new(segments);
        PRATT
            .map_primary(|operand| {
                this.borrow_mut()
                    .pratt_operand(&mut segments.borrow_mut(), operand)
            })
            .map_prefix(|op, rhs| {
                let op_span = this.borrow().span(&op);
                let op = if op.as_rule() == Rule::neg {
                    UnaryOp::Neg
                } else {
                    UnaryOp::Not
                };
                let span = op_span.to(rhs.expr.span);
                this.borrow_mut()
                    .node(ExprKind::Unary(op, Box::new(rhs.expr)), span, rhs.depth + 1)
            })
            .map_infix(|lhs, op, rhs| this.borrow_mut().infix(lhs, &op, rhs))
            .parse(pairs)
    }

    /// An operand of [`Builder::pratt`]: the next of `segments`, or the whole pair.
    fn pratt_operand<'i>(
        &mut self,
        segments: &mut VecDeque<Segment<'i>>,
        operand: Pair<'i, Rule>,
    ) -> Built {
        let segment = segments.pop_front();
        self.operand(segment.unwrap_or_else(|| Segment::whole(operand)))
    }

    /// `lhs op rhs`.
    fn infix(&mut self, lhs: Built, op: &Pair<Rule>, rhs: Built) -> Built {
        let op = match op.as_rule() {
            Rule::range_op => BinaryOp::Range,
            Rule::or => BinaryOp::Or,
            Rule::and => BinaryOp::And,
            Rule::eq => BinaryOp::Eq,
            Rule::ne => BinaryOp::Ne,
            Rule::lt => BinaryOp::Lt,
            Rule::le => BinaryOp::Le,
            Rule::gt => BinaryOp::Gt,
            Rule::ge => BinaryOp::Ge,
            Rule::coalesce => BinaryOp::Coalesce,
            Rule::add => BinaryOp::Add,
            Rule::sub => BinaryOp::Sub,
            Rule::mul => BinaryOp::Mul,
            Rule::div => BinaryOp::Div,
            _ => BinaryOp::Rem,
        };
        let span = lhs.expr.span.to(rhs.expr.span);
        let depth = lhs.depth.max(rhs.depth) + 1;
        self.node(
            ExprKind::Binary(op, Box::new(lhs.expr), Box::new(rhs.expr)),
            span,
            depth,
        )
    }

    /// A node of depth `depth`, or an error leaf once the limit is passed.
    fn node(&mut self, kind: ExprKind, span: Span, depth: u32) -> Built {
        if depth <= limits::MAX_EXPR_DEPTH {
            return Built {
                expr: Expr::new(kind, span),
                depth,
            };
        }
        if !self.depth_reported {
            self.depth_reported = true;
            self.diagnostics.push(
                Diagnostic::new(
                    Code::NestingTooDeep,
                    span,
                    "expression nested too deeply",
                    "this expression",
                )
                .with_help(format!(
                    "split it into steps or constants: at most {} levels are allowed",
                    limits::MAX_EXPR_DEPTH
                )),
            );
        }
        // Every child is within the limit, so dropping `kind` recurses at most that deep.
        drop(kind);
        Built {
            expr: Expr::new(ExprKind::Error, span),
            depth: 1,
        }
    }

    /// `operand = { (literal_kw | named | primary) ~ postfix* }`, where `named` is a path
    /// optionally followed by a record body (a typed record) or call arguments, and a postfix
    /// is a field, an index or a bracket holding one element; or the part of an `operand_el`
    /// that `segment` gives, which may start at a bracket that is a list.
    fn operand(&mut self, segment: Segment) -> Built {
        let mut inner = segment
            .operand
            .into_inner()
            .skip(segment.start)
            .take(segment.end.saturating_sub(segment.start))
            .peekable();
        let Some(first) = inner.next() else {
            return leaf(ExprKind::Error, Span::default());
        };
        let tail = match (first.as_rule(), inner.peek().map(|p| p.as_rule())) {
            (Rule::path, Some(Rule::record_body | Rule::call_args)) => inner.next(),
            _ => None,
        };
        let mut built = match tail {
            Some(tail) => self.named(first, tail),
            None => self.primary(first),
        };
        for post in inner {
            let post_span = self.span(&post);
            let span = built.expr.span.to(post_span);
            built = match post.as_rule() {
                Rule::field_access => {
                    let Some(name) = post.into_inner().next() else {
                        continue;
                    };
                    let name = self.name(name);
                    self.node(
                        ExprKind::Field(Box::new(built.expr), name),
                        span,
                        built.depth + 1,
                    )
                }
                _ => {
                    let Some(index) = post.into_inner().next() else {
                        continue;
                    };
                    let index = self.expr_d(index);
                    self.node(
                        ExprKind::Index(Box::new(built.expr), Box::new(index.expr)),
                        span,
                        built.depth.max(index.depth) + 1,
                    )
                }
            };
        }
        built
    }

    fn primary(&mut self, pair: Pair<Rule>) -> Built {
        let span = self.span(&pair);
        let text = pair.as_str();
        match pair.as_rule() {
            Rule::paren => match pair.into_inner().next() {
                Some(e) => {
                    let mut inner = self.expr_d(e);
                    inner.expr.span = span;
                    inner
                }
                None => leaf(ExprKind::Error, span),
            },
            Rule::int => match parse_int(text) {
                Some(v) => leaf(ExprKind::Int(v), span),
                None => self.bad_literal(span, "integer literal does not fit in 64 bits"),
            },
            Rule::float => match text.replace('_', "").parse::<f64>() {
                Ok(v) if v.is_finite() => leaf(ExprKind::Float(FloatBits(v.to_bits())), span),
                _ => self.bad_literal(span, "float literal is out of range"),
            },
            Rule::duration => match parse_duration(text) {
                Some(ms) => leaf(ExprKind::Duration(ms), span),
                None => self.bad_literal(
                    span,
                    "duration must be a whole number of milliseconds that fits in 64 bits",
                ),
            },
            Rule::size => match parse_size(text) {
                Some(bytes) => leaf(ExprKind::Size(bytes), span),
                None => self.bad_literal(span, "size does not fit in 64 bits"),
            },
            Rule::kw_true => leaf(ExprKind::Bool(true), span),
            Rule::kw_false => leaf(ExprKind::Bool(false), span),
            Rule::kw_none => leaf(ExprKind::None, span),
            Rule::string => self.string_d(pair),
            Rule::path => leaf(ExprKind::Path(self.path(pair)), span),
            // A bracket after an operand that starts the next element is a list too.
            Rule::list | Rule::bracket => {
                let mut depth = 1;
                let mut items = Vec::new();
                self.delimited(pair, |this, _, _, element| {
                    let b = this.element_d(element);
                    depth = depth.max(b.depth + 1);
                    items.push(b.expr);
                });
                self.node(ExprKind::List(items), span, depth)
            }
            Rule::record => {
                let (fields, depth) = self.field_inits(pair);
                self.node(ExprKind::Record(fields), span, depth)
            }
            _ => leaf(ExprKind::Error, span),
        }
    }

    /// A path followed by a record body (`Review { … }`) or call arguments (`len(xs)`).
    fn named(&mut self, path: Pair<Rule>, tail: Pair<Rule>) -> Built {
        let span = self.span(&path).to(self.span(&tail));
        if tail.as_rule() == Rule::record_body {
            let name = self.path(path);
            let (fields, depth) = self.field_inits(tail);
            return self.node(ExprKind::TypedRecord(name, fields), span, depth);
        }
        let call = self.call_parts(path, tail, span);
        let depth = call
            .args
            .iter()
            .map(|a| shallow_depth(&a.value))
            .max()
            .unwrap_or(0)
            + 1;
        self.node(ExprKind::Call(call), span, depth)
    }

    /// The `key: value` fields of a record body, with the depth of the deepest value plus one.
    fn field_inits(&mut self, body: Pair<Rule>) -> (Vec<FieldInit>, u32) {
        self.check_commas(body.clone().into_inner());
        let mut depth = 1;
        let mut fields = Vec::new();
        for f in body.into_inner().filter(|p| p.as_rule() != Rule::comma) {
            let mut parts = f.into_inner();
            let (Some(n), Some(v)) = (parts.next(), parts.next()) else {
                continue;
            };
            let name = self.name(n);
            let b = self.expr_d(v);
            depth = depth.max(b.depth + 1);
            fields.push(FieldInit {
                name,
                value: b.expr,
            });
        }
        (fields, depth)
    }

    fn bad_literal(&mut self, span: Span, message: &str) -> Built {
        self.diagnostics.push(Diagnostic::new(
            Code::InvalidLiteral,
            span,
            message,
            "this literal",
        ));
        leaf(ExprKind::Error, span)
    }

    /// A string literal as an expression.
    pub(super) fn string(&mut self, pair: Pair<Rule>) -> Expr {
        self.string_d(pair).expr
    }

    fn string_d(&mut self, pair: Pair<Rule>) -> Built {
        let span = self.span(&pair);
        let mut parts: Vec<StrPart> = Vec::new();
        let mut depth = 1;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::str_text => push_text(&mut parts, part.as_str()),
                Rule::escape => {
                    let esc_span = self.span(&part);
                    match unescape(part.as_str()) {
                        Some(c) => push_text(&mut parts, c.encode_utf8(&mut [0; 4])),
                        None => {
                            self.diagnostics.push(Diagnostic::new(
                                Code::InvalidLiteral,
                                esc_span,
                                "invalid unicode escape",
                                "not a unicode scalar value",
                            ));
                        }
                    }
                }
                _ => {
                    if let Some(e) = part.into_inner().next() {
                        let b = self.expr_d(e);
                        depth = depth.max(b.depth + 1);
                        parts.push(StrPart::Interp(b.expr));
                    }
                }
            }
        }
        self.node(ExprKind::String(parts), span, depth)
    }
}

fn leaf(kind: ExprKind, span: Span) -> Built {
    Built {
        expr: Expr::new(kind, span),
        depth: 1,
    }
}

/// Depth of an argument already built under the limit; bounded, so recursion is safe.
fn shallow_depth(e: &Expr) -> u32 {
    match &e.kind {
        ExprKind::Unary(_, a) | ExprKind::Field(a, _) => shallow_depth(a) + 1,
        ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
            shallow_depth(a).max(shallow_depth(b)) + 1
        }
        ExprKind::List(items) => items.iter().map(shallow_depth).max().unwrap_or(0) + 1,
        ExprKind::Record(fs) | ExprKind::TypedRecord(_, fs) => {
            fs.iter()
                .map(|f| shallow_depth(&f.value))
                .max()
                .unwrap_or(0)
                + 1
        }
        ExprKind::Call(c) => {
            c.args
                .iter()
                .map(|a| shallow_depth(&a.value))
                .max()
                .unwrap_or(0)
                + 1
        }
        ExprKind::String(parts) => {
            parts
                .iter()
                .map(|p| match p {
                    StrPart::Interp(e) => shallow_depth(e),
                    StrPart::Text(_) => 0,
                })
                .max()
                .unwrap_or(0)
                + 1
        }
        _ => 1,
    }
}

fn push_text(parts: &mut Vec<StrPart>, text: &str) {
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        t.push_str(text);
    } else {
        parts.push(StrPart::Text(text.to_string()));
    }
}

fn unescape(esc: &str) -> Option<char> {
    Some(match &esc[1..] {
        "n" => '\n',
        "t" => '\t',
        "r" => '\r',
        "\"" => '"',
        "\\" => '\\',
        "$" => '$',
        u => {
            let hex = u.strip_prefix("u{")?.strip_suffix('}')?;
            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
        }
    })
}

fn parse_int(text: &str) -> Option<i64> {
    text.replace('_', "").parse().ok()
}

fn parse_duration(text: &str) -> Option<u64> {
    let unit_start = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(unit_start);
    let factor = match unit {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => 86_400_000.0,
    };
    let ms = number.replace('_', "").parse::<f64>().ok()? * factor;
    let rounded = ms.round();
    ((ms - rounded).abs() < 1e-6 && rounded < u64::MAX as f64).then_some(rounded as u64)
}

fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = text.split_at(text.len() - 2);
    let shift = match unit {
        "kb" => 10,
        "mb" => 20,
        "gb" => 30,
        _ => 40,
    };
    let n: u64 = number.replace('_', "").parse().ok()?;
    n.checked_mul(1u64 << shift)
}
