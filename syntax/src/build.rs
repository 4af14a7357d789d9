//! Pest pairs → owned items. One function per construct of the grammar.

use super::Span;
use super::ast::*;
use super::parser::Rule;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use pest::iterators::{Pair, Pairs};

/// Builds the tree of one item; spans are made relative to the item's start.
pub(super) struct Builder {
    /// Where the item starts in pest's input; before it when the input is a later part of
    /// the item (see [`Builder::at`]).
    base: i64,
    /// Problems found while building (item-relative spans).
    pub diagnostics: Vec<Diagnostic<Span>>,
    /// Set once an expression was cut for depth, so a deep item reports it once.
    pub(super) depth_reported: bool,
    /// Whether the bracket after an operand starting at this offset is a list (see
    /// [`Builder::is_list`]), so that nested brackets are each looked at once.
    pub(super) list_brackets: std::collections::HashMap<usize, bool>,
}

/// A workflow's members, or some of them, in source order.
#[derive(Default)]
pub(super) struct Members {
    properties: Vec<Property>,
    steps: Vec<Step>,
    outputs: Vec<Expr>,
}

impl Members {
    /// Room for `n` more steps.
    pub(super) fn reserve_steps(&mut self, n: usize) {
        self.steps.reserve(n);
    }

    /// Adds a step after the steps already here.
    pub(super) fn push_step(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Appends these members to `wf`'s.
    pub(super) fn add_to(self, wf: &mut Workflow) {
        Self::add_all_to(vec![self], wf);
    }

    /// Appends the members of `parts`, in order, to `wf`'s, each list grown once.
    pub(super) fn add_all_to(parts: Vec<Members>, wf: &mut Workflow) {
        let sum = |f: fn(&Members) -> usize| parts.iter().map(f).sum::<usize>();
        wf.properties.reserve(sum(|m| m.properties.len()));
        wf.steps.reserve(sum(|m| m.steps.len()));
        wf.outputs.reserve(sum(|m| m.outputs.len()));
        for m in parts {
            wf.properties.extend(m.properties);
            wf.steps.extend(m.steps);
            wf.outputs.extend(m.outputs);
        }
    }
}

/// Pairs other than keywords and commas, which carry no structure.
pub(super) fn significant<'i>(pairs: Pairs<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pairs.filter(|p| {
        !matches!(
            p.as_rule(),
            Rule::kw_import
                | Rule::kw_as
                | Rule::kw_const
                | Rule::kw_type
                | Rule::kw_enum
                | Rule::kw_capability
                | Rule::kw_agent
                | Rule::kw_pool
                | Rule::kw_route
                | Rule::kw_workflow
                | Rule::kw_step
                | Rule::kw_output
                | Rule::kw_for
                | Rule::kw_in
                | Rule::kw_with
                | Rule::kw_state
                | Rule::kw_topic
                | Rule::kw_reads
                | Rule::kw_writes
                | Rule::comma
        )
    })
}

impl Builder {
    /// A builder for an item starting at `base` in pest's input.
    pub(super) fn new(base: u32) -> Self {
        Self::part(-i64::from(base))
    }

    /// A builder for a part of an item whose input starts `offset` bytes into the item.
    pub(super) fn part(offset: i64) -> Self {
        Builder {
            base: -offset,
            diagnostics: Vec::new(),
            depth_reported: false,
            list_brackets: std::collections::HashMap::new(),
        }
    }

    /// The pair's place without the whitespace and comments pest includes after a rule that
    /// ends in an optional part.
    pub(super) fn span(&self, pair: &Pair<Rule>) -> Span {
        Span::new(
            self.at(pair.as_span().start()),
            self.at(significant_end(pair)),
        )
    }

    /// The item-relative offset of `pos` in pest's input.
    pub(super) fn at(&self, pos: usize) -> u32 {
        (pos as i64 - self.base) as u32
    }

    /// A name; a reserved word in its place is reported here, as the grammar's `ident` takes
    /// any identifier (a record key may be one).
    pub(super) fn name(&mut self, pair: Pair<Rule>) -> Name {
        let span = self.span(&pair);
        let text = pair.as_str();
        if pair.as_rule() == Rule::ident && crate::is_keyword(text) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::SyntaxError,
                    span,
                    format!("`{text}` is a reserved word, not a name"),
                    "reserved word",
                )
                .with_help(format!("choose another name, such as `{text}_`"))
                .with_fix(span, format!("{text}_")),
            );
        }
        Name {
            span,
            text: text.to_string(),
        }
    }

    pub(super) fn path(&mut self, pair: Pair<Rule>) -> Path {
        let span = self.span(&pair);
        // pest's pairs do not tell `collect` how many they are, which would give most paths
        // (one name) room for four.
        let inner = pair.into_inner();
        let mut segments = Vec::with_capacity(inner.len());
        for p in inner {
            segments.push(self.name(p));
        }
        Path { segments, span }
    }

    /// `item = { docs ~ item_kind }`
    pub(super) fn item(&mut self, pair: Pair<Rule>) -> Item {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let doc = inner.next().and_then(docs);
        let kind = match inner.next() {
            Some(p) => self.item_kind(p),
            None => unreachable_item(),
        };
        Item::numbered(doc, kind, span)
    }

    fn item_kind(&mut self, pair: Pair<Rule>) -> ItemKind {
        let rule = pair.as_rule();
        let pairs = pair.clone().into_inner();
        self.check_commas(pair.clone().into_inner());
        let mut it = significant(pairs);
        match rule {
            Rule::import_item => {
                let path_pair = it.next();
                let (path, path_span) = match path_pair {
                    Some(p) => {
                        let span = self.span(&p);
                        (self.plain_string(p), span)
                    }
                    None => (String::new(), Span::default()),
                };
                let alias = it.next().map(|p| self.name(p));
                ItemKind::Import(Import {
                    path,
                    path_span,
                    alias,
                })
            }
            Rule::const_item => {
                let (name, ty, value) = (it.next(), it.next(), it.next());
                ItemKind::Const(Const {
                    name: self.name(name.expect("grammar: const name")),
                    ty: self.type_expr(ty.expect("grammar: const type")),
                    value: self.expr(value.expect("grammar: const value")),
                })
            }
            Rule::type_item => {
                let name = self.name(it.next().expect("grammar: type name"));
                let fields = it.map(|f| self.field(f)).collect();
                ItemKind::Type(TypeDef { name, fields })
            }
            Rule::enum_item => {
                let name = self.name(it.next().expect("grammar: enum name"));
                let variants = it
                    .map(|v| {
                        let mut inner = v.into_inner();
                        let doc = inner.next().and_then(docs);
                        let name = self.name(inner.next().expect("grammar: variant name"));
                        (doc, name)
                    })
                    .collect();
                ItemKind::Enum(EnumDef { name, variants })
            }
            Rule::capability_item => {
                let name = self.path(it.next().expect("grammar: capability name"));
                let params = self.params(it.next().expect("grammar: params"));
                let ret = self.type_expr(it.next().expect("grammar: return type"));
                let (mut reads, mut writes) = (Vec::new(), Vec::new());
                for access in it {
                    let into = if access.as_rule() == Rule::reads {
                        &mut reads
                    } else {
                        &mut writes
                    };
                    *into = self.name_list(access);
                }
                ItemKind::Capability(Capability {
                    name,
                    params,
                    ret,
                    reads,
                    writes,
                })
            }
            Rule::state_item => {
                let name = self.name(it.next().expect("grammar: state name"));
                let ty = self.type_expr(it.next().expect("grammar: state type"));
                let (mut default, mut properties) = (None, Vec::new());
                for part in it {
                    if part.as_rule() == Rule::properties {
                        properties = self.properties(part);
                    } else {
                        default = Some(self.expr(part));
                    }
                }
                ItemKind::State(StateDef {
                    name,
                    ty,
                    default,
                    properties,
                })
            }
            Rule::topic_item => {
                let name = self.name(it.next().expect("grammar: topic name"));
                let ty = self.type_expr(it.next().expect("grammar: topic type"));
                let properties = it.next().map(|p| self.properties(p)).unwrap_or_default();
                ItemKind::Topic(TopicDef {
                    name,
                    ty,
                    properties,
                })
            }
            Rule::agent_item | Rule::pool_item => {
                let name = self.name(it.next().expect("grammar: block name"));
                let properties = self.properties(it.next().expect("grammar: properties"));
                let block = Block { name, properties };
                if rule == Rule::agent_item {
                    ItemKind::Agent(block)
                } else {
                    ItemKind::Pool(block)
                }
            }
            Rule::route_item => {
                let capability = self.path(it.next().expect("grammar: routed capability"));
                let target = self.path(it.next().expect("grammar: route target"));
                let properties = it.next().map(|p| self.properties(p)).unwrap_or_default();
                ItemKind::Route(Route {
                    capability,
                    target,
                    properties,
                })
            }
            Rule::workflow_item => self.workflow(it),
            _ => unreachable_item(),
        }
    }

    fn workflow<'i>(&mut self, mut it: impl Iterator<Item = Pair<'i, Rule>>) -> ItemKind {
        let mut wf = self.workflow_head(&mut it);
        let mut members = Members::default();
        for member in it {
            self.member(&mut members, member);
        }
        members.add_to(&mut wf);
        ItemKind::Workflow(wf)
    }

    /// A workflow's name, parameters and return type, from the pairs that start it; the
    /// members are added by [`Builder::member`].
    pub(super) fn workflow_head<'i>(
        &mut self,
        it: &mut impl Iterator<Item = Pair<'i, Rule>>,
    ) -> Workflow {
        let name = self.name(it.next().expect("grammar: workflow name"));
        let params = self.params(it.next().expect("grammar: params"));
        let ret_pair = it.next().expect("grammar: return type");
        let header = Span::new(0, self.span(&ret_pair).end);
        let ret = self.type_expr(ret_pair);
        Workflow {
            name,
            params,
            ret,
            properties: Vec::new(),
            steps: Vec::new(),
            outputs: Vec::new(),
            header,
        }
    }

    /// Adds a workflow member (a property, step or output) to `wf`; other pairs are skipped.
    pub(super) fn member(&mut self, wf: &mut Members, member: Pair<Rule>) {
        match member.as_rule() {
            Rule::property => wf.properties.push(self.property(member)),
            Rule::step => {
                let step = self.step(member);
                wf.steps.push(step);
            }
            Rule::output => {
                let mut inner = member.into_inner();
                inner.next(); // docs
                if let Some(e) = significant(inner).next() {
                    wf.outputs.push(self.expr(e));
                }
            }
            _ => {}
        }
    }

    fn step(&mut self, pair: Pair<Rule>) -> Step {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let doc = inner.next().and_then(docs);
        let mut it = significant(inner);
        let name = self.name(it.next().expect("grammar: step name"));
        let body_pair = it.next().expect("grammar: step body");
        let body = match body_pair.as_rule() {
            Rule::for_call => {
                let mut parts = significant(body_pair.into_inner());
                let var = self.name(parts.next().expect("grammar: loop variable"));
                let iter = self.expr(parts.next().expect("grammar: loop list"));
                let call = self.call(parts.next().expect("grammar: loop call"));
                StepBody::For { var, iter, call }
            }
            Rule::topic_call => {
                let mut parts = significant(body_pair.into_inner());
                let word = parts.next().expect("grammar: publish or receive");
                let call = self.call(parts.next().expect("grammar: topic call"));
                if word.as_rule() == Rule::kw_publish {
                    StepBody::Publish(call)
                } else {
                    StepBody::Receive(call)
                }
            }
            _ => StepBody::Call(self.call(body_pair)),
        };
        let options = it.next().map(|p| self.properties(p)).unwrap_or_default();
        Step {
            doc,
            name,
            body,
            options,
            span,
        }
    }

    /// `call = { path ~ call_args }`, a step's call.
    pub(super) fn call(&mut self, pair: Pair<Rule>) -> Call {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let callee = it.next().expect("grammar: callee");
        let args = it.next().expect("grammar: call arguments");
        self.call_parts(callee, args, span)
    }

    /// A callee and its `call_args`. A bracket that starts a further argument (see
    /// [`Builder::elements`]) makes one more, unnamed, argument.
    pub(super) fn call_parts(&mut self, callee: Pair<Rule>, args: Pair<Rule>, span: Span) -> Call {
        let callee = self.path(callee);
        // Room for every pair (commas too): one argument, the common case, would get four.
        let mut out = Vec::with_capacity(args.clone().into_inner().len());
        self.delimited(args, |b, arg, start, element| {
            let span = Span::new(b.at(start), b.at(element.end));
            let value = b.element(element);
            // `arg = { (ident ~ ":")? ~ element }`: a name when it has two parts.
            let name = arg
                .map(|a| a.into_inner())
                .filter(|parts| parts.len() == 2)
                .and_then(|mut parts| parts.next())
                .map(|n| b.name(n));
            out.push(Arg { name, value, span });
        });
        let args = out;
        Call { callee, args, span }
    }

    fn params(&mut self, pair: Pair<Rule>) -> Vec<Field> {
        self.check_commas(pair.clone().into_inner());
        significant(pair.into_inner())
            .map(|p| self.field(p))
            .collect()
    }

    /// `field` and `param` share a shape: `docs name: type [= default]`.
    fn field(&mut self, pair: Pair<Rule>) -> Field {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let doc = inner.next().and_then(docs);
        let name = self.name(inner.next().expect("grammar: field name"));
        let ty = self.type_expr(inner.next().expect("grammar: field type"));
        let default = inner.next().map(|e| self.expr(e));
        Field {
            doc,
            name,
            ty,
            default,
            span,
        }
    }

    /// `reads [a, b]` or `writes [a, b]`: the names in the list.
    fn name_list(&mut self, pair: Pair<Rule>) -> Vec<Name> {
        let Some(list) = significant(pair.into_inner()).next() else {
            return Vec::new();
        };
        let mut commas = Commas::default();
        let mut names = Vec::new();
        for p in list.into_inner() {
            if p.as_rule() == Rule::comma {
                commas.comma();
                continue;
            }
            let input = p.get_input();
            commas.element(self, input, p.as_span().start(), p.as_span().end());
            names.push(self.name(p));
        }
        names
    }

    fn properties(&mut self, pair: Pair<Rule>) -> Vec<Property> {
        self.check_commas(pair.clone().into_inner());
        significant(pair.into_inner())
            .map(|p| self.property(p))
            .collect()
    }

    fn property(&mut self, pair: Pair<Rule>) -> Property {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // docs: allowed for readability, not kept
        let name = self.name(inner.next().expect("grammar: property name"));
        let value = self.expr(inner.next().expect("grammar: property value"));
        Property { name, value, span }
    }

    pub(super) fn type_expr(&mut self, pair: Pair<Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let base = inner.next().expect("grammar: type");
        let base_span = self.span(&base);
        let kind = match base.as_rule() {
            Rule::list_type | Rule::map_type => {
                let is_list = base.as_rule() == Rule::list_type;
                let elem = self.type_expr(base.into_inner().next().expect("grammar: element type"));
                if is_list {
                    TypeExprKind::List(Box::new(elem))
                } else {
                    TypeExprKind::Map(Box::new(elem))
                }
            }
            _ => TypeExprKind::Named(self.path(base)),
        };
        if inner.next().is_some() {
            let base = TypeExpr {
                kind,
                span: base_span,
            };
            TypeExpr {
                kind: TypeExprKind::Optional(Box::new(base)),
                span,
            }
        } else {
            TypeExpr { kind, span }
        }
    }

    /// Commas are optional only at line ends: two elements on one line need one between them.
    pub(super) fn check_commas(&mut self, pairs: Pairs<Rule>) {
        let text = pairs.get_input();
        let mut commas = Commas::default();
        for p in pairs {
            match p.as_rule() {
                Rule::comma => commas.comma(),
                Rule::field
                | Rule::variant
                | Rule::param
                | Rule::property
                | Rule::step
                | Rule::output
                | Rule::arg
                | Rule::expr
                | Rule::element
                | Rule::field_init => {
                    commas.element(self, text, p.as_span().start(), significant_end(&p))
                }
                _ => commas.other(),
            }
        }
    }

    /// A string without interpolation (import paths). Interpolations are one mistake, reported
    /// once over all of them.
    fn plain_string(&mut self, pair: Pair<Rule>) -> String {
        let expr = self.string(pair);
        let ExprKind::String(parts) = expr.kind else {
            return String::new();
        };
        let mut out = String::new();
        let mut interpolated: Option<(Span, usize)> = None;
        for part in parts {
            match part {
                StrPart::Text(t) => out.push_str(&t),
                StrPart::Interp(e) => {
                    interpolated = Some(match interpolated {
                        None => (e.span, 1),
                        Some((span, n)) => (span.to(e.span), n + 1),
                    })
                }
            }
        }
        if let Some((span, n)) = interpolated {
            self.diagnostics.push(Diagnostic::new(
                Code::InvalidLiteral,
                span,
                "an import path cannot be interpolated",
                if n == 1 {
                    "interpolation here".to_string()
                } else {
                    format!("{n} interpolations here")
                },
            ));
        }
        out
    }
}

/// [`Builder::check_commas`] as the elements of a sequence come, by their first byte and the
/// end of their last token (offsets into the parsed text).
#[derive(Default)]
pub(super) struct Commas {
    /// The end of the previous element, and whether a comma followed it.
    prev: Option<(usize, bool)>,
}

impl Commas {
    pub(super) fn comma(&mut self) {
        if let Some((_, seen)) = self.prev.as_mut() {
            *seen = true;
        }
    }

    /// Anything else, such as a keyword or a name: the elements around it are not compared.
    pub(super) fn other(&mut self) {
        self.prev = None;
    }

    pub(super) fn element(&mut self, b: &mut Builder, text: &str, start: usize, end: usize) {
        // A list's commas are no tokens: between two elements there is only trivia and them.
        if let Some((prev, false)) = self.prev
            && !text[prev..start].contains('\n')
            && !comma_in_trivia(&text[prev..start])
        {
            let at = b.at(prev);
            b.diagnostics.push(
                Diagnostic::new(
                    Code::MissingComma,
                    Span::new(at, at),
                    "expected `,` between elements on one line",
                    "add a `,` here",
                )
                .with_help("separate elements with `,` or put each on its own line"),
            );
        }
        self.prev = Some((end, false));
    }
}

/// Whether `gap`, whitespace and comments and commas only, holds a comma outside its comments.
fn comma_in_trivia(gap: &str) -> bool {
    let mut rest = gap;
    loop {
        rest = rest.trim_start();
        if rest.starts_with(',') {
            return true;
        } else if rest.starts_with("//") {
            match rest.find('\n') {
                Some(end) => rest = &rest[end..],
                None => return false,
            }
        } else if rest.starts_with("/*") {
            rest = after_block_comment(rest);
        } else {
            return false;
        }
    }
}

/// The text after the (nested) block comment that `text` starts with.
fn after_block_comment(text: &str) -> &str {
    let mut depth = 0usize;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"/*" => {
                depth += 1;
                i += 2;
            }
            b"*/" => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return &text[i..];
                }
            }
            _ => i += 1,
        }
    }
    ""
}

/// End of the last token of `pair`: a rule ending in an optional part also spans the trivia
/// skipped before that part was tried, so walk down its last children to the real end.
pub(super) fn significant_end(pair: &Pair<Rule>) -> usize {
    let text = pair.as_str();
    let trailing_trivia = text.ends_with(char::is_whitespace) || text.ends_with("*/");
    if !trailing_trivia {
        return pair.as_span().end();
    }
    match pair.clone().into_inner().last() {
        Some(last) => significant_end(&last),
        None => pair.as_span().start() + text.trim_end().len(),
    }
}

/// Joins the `///` lines of a `docs` pair; `None` when there are none.
pub(super) fn docs(pair: Pair<Rule>) -> Option<String> {
    let lines: Vec<&str> = pair
        .into_inner()
        .map(|d| {
            let text = d.as_str().trim_start_matches("///");
            text.strip_prefix(' ').unwrap_or(text).trim_end()
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The grammar guarantees the shapes matched above; reaching this is a grammar/builder
/// mismatch, caught by the tests over every example and the mutation property test.
fn unreachable_item() -> ItemKind {
    panic!("grammar and syntax builder disagree about an item's shape")
}
