//! Where the cursor is, read from the tree of the item around it (see [`super::patch`]): the
//! innermost node that holds the hole, and what its block already has.

use super::patch::{self, Around, HOLE, Patched};
use super::{Completion, ItemKind};
use crate::check::props::{self, PropSpec};
use crate::check::{state, topics};
use crate::syntax::Span;
use crate::syntax::ast::{self, Call, Expr, ExprKind, Property, StepBody, StrPart, Workflow};

/// Where the cursor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Context {
    /// After `prefix.`, where a member goes.
    Member {
        /// What is written before the dot.
        prefix: String,
        /// File offset of the dot.
        dot: u32,
        /// File offset of the end of the member name after the dot (the dot's own end when
        /// none is written yet).
        end: u32,
    },
    /// Where a key of a property block goes.
    Key {
        /// The block.
        block: Block,
        /// The keys it already has.
        written: Vec<String>,
    },
    /// Where a field of a record literal of the named type goes.
    Fields {
        /// The record type as written.
        record: String,
        /// The fields already given.
        written: Vec<String>,
    },
    /// The value of property or option `key`.
    Value(String),
    /// Where an argument of a call to `callee` goes.
    Args {
        /// The callee as written.
        callee: String,
        /// The arguments already named.
        written: Vec<String>,
    },
    /// The topic of a `publish` or `receive` step.
    Topic,
    /// Between items.
    TopLevel,
    /// Anywhere else a name may go.
    Name,
}

/// The kinds of blocks with fixed keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// `agent name { … }`
    Agent,
    /// `pool name { … }`
    Pool,
    /// `route capability -> target { … }`
    Route,
    /// The properties of `workflow name(…) -> T { … }`, beside its steps and output.
    Workflow,
    /// A step's `with { … }`.
    Step,
    /// A `publish` or `receive` step's `with { … }`.
    TopicStep,
    /// `state name: T { … }`
    State,
    /// `topic name: T { … }`
    Topic,
    /// An agent's `simulate: { … }`.
    Simulate,
    /// `resources: { … }` of an agent or a step.
    Resources,
    /// A workflow's `budget: { … }`.
    Budget,
}

impl Block {
    /// The keys the block allows, with their docs.
    pub fn properties(self) -> &'static [PropSpec] {
        match self {
            Block::Agent => props::AGENT,
            Block::Pool => props::POOL,
            Block::Route => props::ROUTE,
            Block::Workflow => props::WORKFLOW,
            Block::Step => props::STEP,
            Block::TopicStep => topics::TOPIC_STEP,
            Block::State => state::STATE,
            Block::Topic => topics::TOPIC,
            Block::Simulate => SIMULATE,
            Block::Resources => RESOURCES,
            Block::Budget => BUDGET,
        }
    }

    /// The block a record written as the value of property `key` is.
    fn of_record(key: &str) -> Option<Block> {
        match key {
            "simulate" => Some(Block::Simulate),
            "resources" => Some(Block::Resources),
            "budget" => Some(Block::Budget),
            _ => None,
        }
    }
}

const SIMULATE: &[PropSpec] = &[
    PropSpec {
        name: "latency",
        doc: "mean duration of one task",
    },
    PropSpec {
        name: "jitter",
        doc: "uniform spread around the latency",
    },
    PropSpec {
        name: "failure_rate",
        doc: "probability that an attempt fails, 0 to 1",
    },
    PropSpec {
        name: "output",
        doc: "the value returned (default: generated from the type)",
    },
];
const RESOURCES: &[PropSpec] = &[
    PropSpec {
        name: "cpu",
        doc: "cores",
    },
    PropSpec {
        name: "memory",
        doc: "a size such as 4gb",
    },
    PropSpec {
        name: "tokens",
        doc: "model tokens",
    },
];
const BUDGET: &[PropSpec] = &[PropSpec {
    name: "tokens",
    doc: "tokens one run may use",
}];

/// The cursor's place in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// What may go there.
    pub context: Context,
    /// The parameters, steps and loop variable of the workflow around the cursor.
    pub locals: Vec<Completion>,
    /// The steps among `locals`, which `after` names.
    pub steps: Vec<String>,
}

/// The place of `offset` in `text`.
pub fn site(text: &str, offset: usize) -> Site {
    let offset = offset.min(text.len());
    let word = patch::word_at(text, offset);
    let context = |context| Site {
        context,
        locals: Vec::new(),
        steps: Vec::new(),
    };
    match patch::around(text, word.clone()) {
        Around::Text => context(Context::Name),
        Around::Items { line_start: true } => context(Context::TopLevel),
        Around::Items { line_start: false } => context(Context::Name),
        Around::Item(p) => {
            let mut walk = Walk {
                patched: &p,
                end: word.end as u32,
                site: context(Context::Name),
            };
            walk.site.context = walk.item();
            walk.site
        }
    }
}

/// A walk down the patched item to the hole.
struct Walk<'p> {
    patched: &'p Patched,
    /// File offset of the end of the word the hole replaced.
    end: u32,
    site: Site,
}

impl Walk<'_> {
    fn holds(&self, span: Span) -> bool {
        span.start <= self.patched.hole && self.patched.hole < span.end
    }

    fn item(&mut self) -> Context {
        let item = &self.patched.item;
        match &item.kind {
            ast::ItemKind::Agent(b) => self.block(&b.properties, Block::Agent),
            ast::ItemKind::Pool(b) => self.block(&b.properties, Block::Pool),
            ast::ItemKind::Route(r) => self.block(&r.properties, Block::Route),
            ast::ItemKind::State(s) => match &s.default {
                Some(e) if self.holds(e.span) => self.expr(e, None),
                _ => self.block(&s.properties, Block::State),
            },
            ast::ItemKind::Topic(t) => self.block(&t.properties, Block::Topic),
            ast::ItemKind::Workflow(w) => self.workflow(w),
            ast::ItemKind::Const(c) if self.holds(c.value.span) => self.expr(&c.value, None),
            ast::ItemKind::Type(t) => t
                .fields
                .iter()
                .filter_map(|f| f.default.as_ref())
                .find(|d| self.holds(d.span))
                .map_or(Context::Name, |d| self.expr(d, None)),
            _ => Context::Name,
        }
    }

    /// A property block: a key where the hole is a key, else the value holding it.
    fn block(&mut self, properties: &[Property], block: Block) -> Context {
        if let Some(key) = properties.iter().find(|p| p.name.text == HOLE) {
            let written = properties
                .iter()
                .filter(|p| p.name.span != key.name.span)
                .map(|p| p.name.text.clone())
                .collect();
            return Context::Key { block, written };
        }
        match properties.iter().find(|p| self.holds(p.value.span)) {
            Some(p) => self.expr(&p.value, Some(&p.name.text)),
            None => Context::Name,
        }
    }

    fn workflow(&mut self, w: &Workflow) -> Context {
        let text = &self.patched.text;
        for p in &w.params {
            if p.name.text != HOLE {
                let ty = &text[p.ty.span.start as usize..p.ty.span.end as usize];
                self.site.locals.push(Completion::new(
                    p.name.text.clone(),
                    ItemKind::Local,
                    Some(ty.to_string()),
                ));
            }
        }
        let current = w.steps.iter().find(|s| self.holds(s.span));
        for s in &w.steps {
            if s.name.text != HOLE && current.is_none_or(|c| c.span != s.span) {
                self.site.steps.push(s.name.text.clone());
                self.site.locals.push(Completion::new(
                    s.name.text.clone(),
                    ItemKind::Local,
                    Some("step".into()),
                ));
            }
        }
        if let Some(step) = current {
            if let StepBody::For { var, .. } = &step.body {
                self.site.locals.push(Completion::new(
                    var.text.clone(),
                    ItemKind::Local,
                    Some("element".into()),
                ));
            }
            let block = match step.body {
                StepBody::Publish(_) | StepBody::Receive(_) => Block::TopicStep,
                _ => Block::Step,
            };
            return match &step.body {
                _ if step.options.iter().any(|o| self.holds(o.span)) => {
                    self.block(&step.options, block)
                }
                StepBody::Publish(c) | StepBody::Receive(c) if self.holds(c.callee.span) => {
                    Context::Topic
                }
                StepBody::For { iter, .. } if self.holds(iter.span) => self.expr(iter, None),
                body if self.holds(body.call().span) => self.call(body.call()),
                _ => Context::Name,
            };
        }
        if let Some(out) = w.outputs.iter().find(|o| self.holds(o.span)) {
            return self.expr(out, None);
        }
        match self.block(&w.properties, Block::Workflow) {
            Context::Key { block, mut written } => {
                if block == Block::Workflow && !w.outputs.is_empty() {
                    written.push("output".into());
                }
                Context::Key { block, written }
            }
            other => other,
        }
    }

    /// The innermost expression of `e` holding the hole; `key` is the property `e` is the
    /// value of, whose values a name or a list element there is among.
    fn expr(&mut self, e: &Expr, key: Option<&str>) -> Context {
        match &e.kind {
            ExprKind::Path(path) => match path.segments.iter().position(|s| s.text == HOLE) {
                Some(0) => key.map_or(Context::Name, |k| Context::Value(k.to_string())),
                Some(i) => self.member(&path.segments[..i], path.segments[i].span),
                None => Context::Name,
            },
            ExprKind::List(elements) => match elements.iter().find(|x| self.holds(x.span)) {
                Some(x) => self.expr(x, key),
                None => Context::Name,
            },
            ExprKind::Record(fields) => {
                if let Some(written) = written_fields(fields) {
                    return match key.and_then(Block::of_record) {
                        Some(block) => Context::Key { block, written },
                        None => Context::Name,
                    };
                }
                self.field_values(fields)
            }
            ExprKind::TypedRecord(path, fields) => match written_fields(fields) {
                Some(written) => Context::Fields {
                    record: path.text(),
                    written,
                },
                None => self.field_values(fields),
            },
            ExprKind::Field(inner, name) if name.text == HOLE => {
                let text = &self.patched.text;
                let prefix = &text[inner.span.start as usize..inner.span.end as usize];
                self.member_of(prefix.to_string(), name.span)
            }
            ExprKind::Call(call) => self.call(call),
            ExprKind::String(parts) => {
                let inner = parts.iter().find_map(|p| match p {
                    StrPart::Interp(e) if self.holds(e.span) => Some(e),
                    _ => None,
                });
                match inner {
                    Some(e) => self.expr(e, None),
                    None => Context::Name,
                }
            }
            ExprKind::Field(inner, _) | ExprKind::Unary(_, inner) => self.expr(inner, None),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                let inner = if self.holds(b.span) { b } else { a };
                self.expr(inner, None)
            }
            _ => Context::Name,
        }
    }

    fn field_values(&mut self, fields: &[ast::FieldInit]) -> Context {
        match fields.iter().find(|f| self.holds(f.value.span)) {
            Some(f) => self.expr(&f.value, None),
            None => Context::Name,
        }
    }

    /// A call: its callee, an argument's name, or inside an argument's value.
    fn call(&mut self, call: &Call) -> Context {
        let segments = &call.callee.segments;
        match segments.iter().position(|s| s.text == HOLE) {
            Some(0) => return Context::Name,
            Some(i) => return self.member(&segments[..i], segments[i].span),
            None => {}
        }
        let is_hole = |e: &Expr| matches!(&e.kind, ExprKind::Path(p) if p.text() == HOLE);
        let naming = call.args.iter().any(|a| match &a.name {
            Some(n) => n.text == HOLE,
            None => is_hole(&a.value),
        });
        if naming {
            return Context::Args {
                callee: call.callee.text(),
                written: call
                    .args
                    .iter()
                    .filter_map(|a| a.name.as_ref())
                    .filter(|n| n.text != HOLE)
                    .map(|n| n.text.clone())
                    .collect(),
            };
        }
        match call.args.iter().find(|a| self.holds(a.value.span)) {
            Some(a) => self.expr(&a.value, None),
            None => Context::Name,
        }
    }

    /// The member named at `name` after the dotted `segments`.
    fn member(&self, segments: &[ast::Name], name: Span) -> Context {
        let prefix: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
        self.member_of(prefix.join("."), name)
    }

    fn member_of(&self, prefix: String, name: Span) -> Context {
        // Paths and field accesses have no space around their dots.
        Context::Member {
            prefix,
            dot: self.patched.base + name.start - 1,
            end: self.end,
        }
    }
}

/// The fields of a record literal other than the hole, when the hole is a field's name.
fn written_fields(fields: &[ast::FieldInit]) -> Option<Vec<String>> {
    fields.iter().any(|f| f.name.text == HOLE).then(|| {
        fields
            .iter()
            .filter(|f| f.name.text != HOLE)
            .map(|f| f.name.text.clone())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The site at the `|` of `src`.
    fn at(src: &str) -> Site {
        let at = src.find('|').expect("cursor");
        site(&src.replace('|', ""), at)
    }

    fn ctx(src: &str) -> Context {
        at(src).context
    }

    fn key(block: Block, written: &[&str]) -> Context {
        Context::Key {
            block,
            written: written.iter().map(|w| w.to_string()).collect(),
        }
    }

    /// Each block kind, on a fresh line after two properties, formatted (no commas), with
    /// trailing commas, and with the next item following.
    #[test]
    fn a_fresh_line_in_every_block_is_a_key_of_that_block() {
        let cases: &[(&str, Context)] = &[
            (
                "agent a {\n  provides: [x]\n  exec: \"run\"\n  |\n}\n",
                key(Block::Agent, &["provides", "exec"]),
            ),
            (
                "pool p {\n  members: [a]\n  strategy: hash\n  |\n}\n",
                key(Block::Pool, &["members", "strategy"]),
            ),
            (
                "route r -> p {\n  strategy: hash\n  when: input.n > 1\n  |\n}\n",
                key(Block::Route, &["strategy", "when"]),
            ),
            (
                "workflow w() -> int {\n  timeout: 1s\n  priority: high\n  step a = f()\n  |\n  output a\n}\n",
                key(Block::Workflow, &["timeout", "priority", "output"]),
            ),
            (
                "workflow w() -> int {\n  step a = f() with {\n    retry: 1\n    timeout: 1s\n    |\n  }\n}\n",
                key(Block::Step, &["retry", "timeout"]),
            ),
            (
                "workflow w() -> int {\n  step a = receive t(where: true) with {\n    timeout: 1s\n    after: [b]\n    |\n  }\n}\n",
                key(Block::TopicStep, &["timeout", "after"]),
            ),
            (
                "state s: int = 0 {\n  merge: sum\n  scope: run\n  |\n}\n",
                key(Block::State, &["merge", "scope"]),
            ),
            (
                "topic t: int {\n  retain: 1h\n  dedupe: 1m\n  |\n}\n",
                key(Block::Topic, &["retain", "dedupe"]),
            ),
            (
                "agent a {\n  simulate: {\n    latency: 1s\n    jitter: 1ms\n    |\n  }\n}\n",
                key(Block::Simulate, &["latency", "jitter"]),
            ),
            (
                "agent a {\n  resources: {\n    cpu: 1\n    memory: 1gb\n    |\n  }\n}\n",
                key(Block::Resources, &["cpu", "memory"]),
            ),
            (
                "workflow w() -> int {\n  budget: {\n    |\n  }\n  output 1\n}\n",
                key(Block::Budget, &[]),
            ),
        ];
        for (src, want) in cases {
            assert_eq!(&ctx(src), want, "{src}");
            let cursor = src.find('|').expect("cursor");
            let last = src[..cursor].trim_end().len();
            let commas = match src[..last].ends_with('{') {
                true => src.to_string(),
                false => format!("{},{}", &src[..last], &src[last..]),
            };
            assert_eq!(&ctx(&commas), want, "{commas}");
            let typing = src.replace('|', "rep|");
            assert_eq!(&ctx(&typing), want, "{typing}");
            let followed = format!("{src}agent z {{ provides: [] }}\n");
            assert_eq!(&ctx(&followed), want, "{followed}");
        }
    }

    #[test]
    fn an_item_left_open_is_read_up_to_the_cursor() {
        assert_eq!(
            ctx("agent a {\n  provides: [x]\n  con|"),
            key(Block::Agent, &["provides"])
        );
        assert_eq!(
            ctx("agent a { simulate: { lat|\nagent b {}\n"),
            key(Block::Simulate, &[])
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = f(x: 1) with { ret|"),
            key(Block::Step, &[])
        );
        assert_eq!(ctx("workflow w() -> int {\n  |"), key(Block::Workflow, &[]));
    }

    #[test]
    fn the_key_being_typed_over_is_not_written_yet() {
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = f() with { re|try: 1, on: p }\n}"),
            key(Block::Step, &["on"])
        );
        assert_eq!(
            ctx("agent a { provides: [x], |}"),
            key(Block::Agent, &["provides"])
        );
    }

    #[test]
    fn fields_of_a_typed_record_literal() {
        assert_eq!(
            ctx("workflow w() -> Review {\n  output Review {\n    score: 1\n    |\n  }\n}"),
            Context::Fields {
                record: "Review".into(),
                written: vec!["score".into()],
            }
        );
    }

    #[test]
    fn members_after_a_dot_with_or_without_a_name_following() {
        let src =
            "workflow w() -> bool {\n  step verdict = review()\n  output verdict.|approved\n}";
        let dot = src.find('.').expect("dot") as u32;
        let end = dot + 1 + "approved".len() as u32;
        let member = |prefix: &str, end| Context::Member {
            prefix: prefix.into(),
            dot,
            end,
        };
        assert_eq!(ctx(src), member("verdict", end));
        assert_eq!(
            ctx(&src.replace("|approved", "app|roved")),
            member("verdict", end)
        );
        assert_eq!(
            ctx(&src.replace("|approved", "|")),
            member("verdict", dot + 1)
        );
        // Left open, after the dot.
        let open = &src[..src.find('|').expect("cursor") + 1];
        assert_eq!(ctx(open), member("verdict", dot + 1));
        let call = "workflow w() -> int {\n  step a = std.|(command: \"x\")\n}";
        let dot = call.find('.').expect("dot") as u32;
        assert_eq!(
            ctx(call),
            Context::Member {
                prefix: "std".into(),
                dot,
                end: dot + 1
            }
        );
    }

    #[test]
    fn values_of_properties_and_topics() {
        let value = |k: &str| Context::Value(k.into());
        assert_eq!(ctx("pool p { strategy: | }"), value("strategy"));
        assert_eq!(ctx("pool p {\n  strategy: lea|\n}"), value("strategy"));
        assert_eq!(ctx("agent a { provides: [re|"), value("provides"));
        assert_eq!(
            ctx("agent a { subscribes: [al|], provides: [] }"),
            value("subscribes")
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = f() with { after: [b, |] }\n}"),
            value("after")
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = receive ap|(where: true)\n}"),
            Context::Topic
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = publish |\n}"),
            Context::Topic
        );
    }

    #[test]
    fn arguments_not_yet_named() {
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = std.shell(command: \"x\", |)\n}"),
            Context::Args {
                callee: "std.shell".into(),
                written: vec!["command".into()],
            }
        );
        assert_eq!(
            ctx("workflow w() -> int {\n  step a = review(|"),
            Context::Args {
                callee: "review".into(),
                written: vec![],
            }
        );
    }

    #[test]
    fn between_items_in_comments_and_in_expressions() {
        assert_eq!(ctx("type T { a: int }\n|"), Context::TopLevel);
        assert_eq!(
            ctx("type T { a: int }\nwor|\nagent a {}"),
            Context::TopLevel
        );
        assert_eq!(ctx("agent a {\n  // pro|\n}"), Context::Name);
        assert_eq!(
            ctx("workflow w(x: int) -> int {\n  output x + |\n}"),
            Context::Name
        );
    }

    #[test]
    fn locals_are_the_parameters_and_the_other_steps() {
        let s = at(
            "workflow w(code: string, n: int) -> int {\n  step a = f()\n  step b = g(x: |) with { retry: 1 }\n  step c = h()\n  output 1\n}",
        );
        let locals: Vec<(&str, Option<&str>)> = s
            .locals
            .iter()
            .map(|c| (c.label.as_str(), c.detail.as_deref()))
            .collect();
        assert_eq!(
            locals,
            [
                ("code", Some("string")),
                ("n", Some("int")),
                ("a", Some("step")),
                ("c", Some("step"))
            ]
        );
        assert_eq!(s.steps, ["a", "c"]);
        let map = at("workflow w(xs: list<int>) -> int {\n  step a = for x in xs { f(v: |) }\n}");
        assert!(map.locals.iter().any(|c| c.label == "x"), "{map:?}");
    }
}
