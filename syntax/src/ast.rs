//! The owned syntax tree of a `.hive` file.
//!
//! Spans inside an [`Item`] are relative to the item's first byte (see [`super::Span`]); the
//! file-level [`super::ParsedFile`] keeps each item's offset apart from its tree.

use super::Span;

/// An identifier with its place.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name {
    /// The identifier.
    pub text: String,
    /// Where it is written.
    pub span: Span,
}

/// A dotted name `a.b.c` as written; the checker decides what each segment is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    /// The segments, at least one.
    pub segments: Vec<Name>,
    /// The whole path.
    pub span: Span,
}

impl Path {
    /// The path as written, segments joined with dots.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// [`Path::text`] into `out`, which is cleared first: one buffer serves many paths.
    pub fn write_text(&self, out: &mut String) {
        out.clear();
        out.reserve(self.segments.iter().map(|s| s.text.len() + 1).sum());
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(&s.text);
        }
    }
}

/// One top-level declaration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Item {
    /// Text of the `///` comments before it, lines joined with `\n`.
    pub doc: Option<String>,
    /// What it declares.
    pub kind: ItemKind,
    /// The whole item, relative to its own start (so `start` is 0).
    pub span: Span,
    /// How many expressions it has: their [`ExprId`]s are `0..exprs`.
    pub exprs: u32,
}

/// The kinds of top-level declarations.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// `import "path" [as alias]`
    Import(Import),
    /// `const name: T = expr`
    Const(Const),
    /// `type Name { fields }`
    Type(TypeDef),
    /// `enum Name { variants }`
    Enum(EnumDef),
    /// `capability name(params) -> T`
    Capability(Capability),
    /// `agent name { properties }`
    Agent(Block),
    /// `pool name { properties }`
    Pool(Block),
    /// `route capability -> target [{ properties }]`
    Route(Route),
    /// `workflow name(params) -> T { … }`
    Workflow(Workflow),
    /// `state name: T [= default] [{ properties }]`
    State(StateDef),
    /// `topic name: T [{ properties }]`
    Topic(TopicDef),
}

impl Item {
    /// The name the item declares (an import declares its alias, if any).
    pub fn name(&self) -> Option<&Name> {
        match &self.kind {
            ItemKind::Import(i) => i.alias.as_ref(),
            ItemKind::Const(c) => Some(&c.name),
            ItemKind::Type(t) => Some(&t.name),
            ItemKind::Enum(e) => Some(&e.name),
            ItemKind::Capability(c) => c.name.segments.last(),
            ItemKind::Agent(b) | ItemKind::Pool(b) => Some(&b.name),
            ItemKind::Route(_) => None,
            ItemKind::Workflow(w) => Some(&w.name),
            ItemKind::State(s) => Some(&s.name),
            ItemKind::Topic(t) => Some(&t.name),
        }
    }
}

impl ItemKind {
    /// The keyword that introduces this kind of item.
    pub fn keyword(&self) -> ItemKeyword {
        match self {
            ItemKind::Import(_) => ItemKeyword::Import,
            ItemKind::Const(_) => ItemKeyword::Const,
            ItemKind::Type(_) => ItemKeyword::Type,
            ItemKind::Enum(_) => ItemKeyword::Enum,
            ItemKind::Capability(_) => ItemKeyword::Capability,
            ItemKind::Agent(_) => ItemKeyword::Agent,
            ItemKind::Pool(_) => ItemKeyword::Pool,
            ItemKind::Route(_) => ItemKeyword::Route,
            ItemKind::Workflow(_) => ItemKeyword::Workflow,
            ItemKind::State(_) => ItemKeyword::State,
            ItemKind::Topic(_) => ItemKeyword::Topic,
        }
    }
}

/// The keywords that begin top-level items: what kind of item each is, without its tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKeyword {
    /// `import`
    Import,
    /// `const`
    Const,
    /// `type`
    Type,
    /// `enum`
    Enum,
    /// `capability`
    Capability,
    /// `agent`
    Agent,
    /// `pool`
    Pool,
    /// `route`
    Route,
    /// `workflow`
    Workflow,
    /// `state`
    State,
    /// `topic`
    Topic,
}

impl ItemKeyword {
    /// Every item keyword, in the order the language reference lists them.
    pub const ALL: [ItemKeyword; 11] = [
        ItemKeyword::Import,
        ItemKeyword::Const,
        ItemKeyword::Type,
        ItemKeyword::Enum,
        ItemKeyword::Capability,
        ItemKeyword::Agent,
        ItemKeyword::Pool,
        ItemKeyword::Route,
        ItemKeyword::Workflow,
        ItemKeyword::State,
        ItemKeyword::Topic,
    ];

    /// The words of [`ItemKeyword::ALL`], for the parser and completion.
    pub const WORDS: [&'static str; 11] = {
        let mut words = [""; 11];
        let mut i = 0;
        while i < words.len() {
            words[i] = ItemKeyword::ALL[i].as_str();
            i += 1;
        }
        words
    };

    /// The keyword as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            ItemKeyword::Import => "import",
            ItemKeyword::Const => "const",
            ItemKeyword::Type => "type",
            ItemKeyword::Enum => "enum",
            ItemKeyword::Capability => "capability",
            ItemKeyword::Agent => "agent",
            ItemKeyword::Pool => "pool",
            ItemKeyword::Route => "route",
            ItemKeyword::Workflow => "workflow",
            ItemKeyword::State => "state",
            ItemKeyword::Topic => "topic",
        }
    }
}

impl std::fmt::Display for ItemKeyword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `import "path" [as alias]`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Import {
    /// The path as written (escapes resolved).
    pub path: String,
    /// Where the path string is.
    pub path_span: Span,
    /// `as alias`; without it the imported items join this file's namespace.
    pub alias: Option<Name>,
}

/// `const name: T = expr`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Const {
    /// The constant's name.
    pub name: Name,
    /// Its declared type.
    pub ty: TypeExpr,
    /// Its value, a pure expression.
    pub value: Expr,
}

/// `type Name { field: T [= default] … }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeDef {
    /// The record's name.
    pub name: Name,
    /// Its fields in order.
    pub fields: Vec<Field>,
}

/// A record field or a parameter: `name: T [= default]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// Doc comment text.
    pub doc: Option<String>,
    /// Field name.
    pub name: Name,
    /// Field type.
    pub ty: TypeExpr,
    /// Default value.
    pub default: Option<Expr>,
    /// The whole field.
    pub span: Span,
}

/// `enum Name { a, b }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnumDef {
    /// The enum's name.
    pub name: Name,
    /// Its values in order, with their doc comments.
    pub variants: Vec<(Option<String>, Name)>,
}

/// `capability name(params) -> T`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Capability {
    /// The name, possibly dotted (`std.shell`).
    pub name: Path,
    /// Parameters in order.
    pub params: Vec<Field>,
    /// Return type.
    pub ret: TypeExpr,
    /// `reads [cells]`: the state cells its agents may read.
    pub reads: Vec<Name>,
    /// `writes [cells]`: the state cells its agents may write.
    pub writes: Vec<Name>,
}

/// `state name: T [= default] [{ conflict: …, merge: …, scope: … }]`: a typed cell shared by
/// the steps and agents of a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StateDef {
    /// The cell's name.
    pub name: Name,
    /// Its type.
    pub ty: TypeExpr,
    /// Its value before any write.
    pub default: Option<Expr>,
    /// The policy for concurrent writes and the cell's lifetime.
    pub properties: Vec<Property>,
}

/// `topic name: T [{ retain: …, dedupe: … }]`: typed messages that steps and agents of a run
/// publish and receive.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopicDef {
    /// The topic's name.
    pub name: Name,
    /// The type of its messages.
    pub ty: TypeExpr,
    /// How long messages stay and how long a repeated key is dropped.
    pub properties: Vec<Property>,
}

/// An item whose body is a property block: agents and pools.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    /// The declared name.
    pub name: Name,
    /// Properties in order.
    pub properties: Vec<Property>,
}

/// `key: value` in a block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Property {
    /// The key.
    pub name: Name,
    /// The value expression.
    pub value: Expr,
    /// The whole property.
    pub span: Span,
}

/// `route capability -> target [{ properties }]`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The routed capability.
    pub capability: Path,
    /// The agent or pool it goes to.
    pub target: Path,
    /// Route properties (`strategy`, `fallback`, `when`).
    pub properties: Vec<Property>,
}

/// `workflow name(params) -> T { properties, steps, output }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Workflow {
    /// The workflow's name.
    pub name: Name,
    /// Parameters in order.
    pub params: Vec<Field>,
    /// Declared return type.
    pub ret: TypeExpr,
    /// Workflow properties (`priority`, `timeout`, `budget`).
    pub properties: Vec<Property>,
    /// Steps in source order.
    pub steps: Vec<Step>,
    /// Every `output` clause (more than one is an error).
    pub outputs: Vec<Expr>,
    /// The header up to the `{`, where workflow-wide diagnostics point.
    pub header: Span,
}

/// `step name = call [with { options }]`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    /// Doc comment text.
    pub doc: Option<String>,
    /// The step's name.
    pub name: Name,
    /// What it runs.
    pub body: StepBody,
    /// `with { … }` options.
    pub options: Vec<Property>,
    /// The whole step.
    pub span: Span,
}

/// What a step runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StepBody {
    /// One call.
    Call(Call),
    /// `for var in list { call }`: one task per element.
    For {
        /// The loop variable.
        var: Name,
        /// The list mapped over.
        iter: Expr,
        /// The call made per element.
        call: Call,
    },
    /// `publish topic(value)`: the callee is the topic.
    Publish(Call),
    /// `receive topic(where: pred)`: the callee is the topic.
    Receive(Call),
}

impl StepBody {
    /// The call the step makes (per element for a `for`).
    pub fn call(&self) -> &Call {
        match self {
            StepBody::Call(c)
            | StepBody::For { call: c, .. }
            | StepBody::Publish(c)
            | StepBody::Receive(c) => c,
        }
    }

    /// For `publish` and `receive` steps, the word and the topic call.
    pub fn topic(&self) -> Option<(TopicOp, &Call)> {
        match self {
            StepBody::Publish(c) => Some((TopicOp::Publish, c)),
            StepBody::Receive(c) => Some((TopicOp::Receive, c)),
            _ => None,
        }
    }
}

/// What a topic step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicOp {
    /// `publish`
    Publish,
    /// `receive`
    Receive,
}

impl TopicOp {
    /// The word as written.
    pub fn word(self) -> &'static str {
        match self {
            TopicOp::Publish => "publish",
            TopicOp::Receive => "receive",
        }
    }
}

/// `callee(args)`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Call {
    /// What is called.
    pub callee: Path,
    /// Arguments in order.
    pub args: Vec<Arg>,
    /// The whole call.
    pub span: Span,
}

/// `[name:] value`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Arg {
    /// The argument's name, if given.
    pub name: Option<Name>,
    /// Its value.
    pub value: Expr,
    /// The whole argument.
    pub span: Span,
}

/// A type as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeExpr {
    /// Its shape.
    pub kind: TypeExprKind,
    /// Where it is written.
    pub span: Span,
}

/// Shapes of written types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeExprKind {
    /// A built-in, record or enum name.
    Named(Path),
    /// `list<T>`
    List(Box<TypeExpr>),
    /// `map<T>`
    Map(Box<TypeExpr>),
    /// `T?`
    Optional(Box<TypeExpr>),
}

/// An expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Expr {
    /// Its shape.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
    /// Its number in its item, by which the checker records its type.
    pub id: ExprId,
}

/// The number of an expression in its item: the expressions of an item are numbered from 0
/// in the order of [`Item::for_each_expr`] (each before its subexpressions). It depends on the
/// item's tree alone, so an edit elsewhere keeps it, and two trees equal but for their spans
/// have the same numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

impl Expr {
    /// An expression not yet numbered (the item's builder numbers it).
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr {
            kind,
            span,
            id: ExprId::default(),
        }
    }
}

/// A float literal kept as bits so trees compare exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FloatBits(pub u64);

impl FloatBits {
    /// The value.
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// Shapes of expressions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExprKind {
    /// `42`
    Int(i64),
    /// `0.5`
    Float(FloatBits),
    /// `true`, `false`
    Bool(bool),
    /// `none`
    None,
    /// `30s`, in milliseconds.
    Duration(u64),
    /// `512mb`, in bytes.
    Size(u64),
    /// `"text ${expr}"`
    String(Vec<StrPart>),
    /// `a`, `a.b`, `Focus.bugs`, `lib.name`
    Path(Path),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{ a: 1 }`
    Record(Vec<FieldInit>),
    /// `Name { a: 1 }`
    TypedRecord(Path, Vec<FieldInit>),
    /// `expr.field` after a call, index or parenthesis.
    Field(Box<Expr>, Name),
    /// `expr[index]`
    Index(Box<Expr>, Box<Expr>),
    /// `f(args)`
    Call(Call),
    /// `-x`, `!x`
    Unary(UnaryOp, Box<Expr>),
    /// `a + b` and the other infix operators.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// Stands in for an expression that could not be built (already reported).
    Error,
}

/// A piece of a string literal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StrPart {
    /// Literal text, escapes resolved.
    Text(String),
    /// `${expr}`
    Interp(Expr),
}

/// `name: value` in a record literal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldInit {
    /// Field name.
    pub name: Name,
    /// Field value.
    pub value: Expr,
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `!`
    Not,
}

/// Infix operators: the plan's own, so the syntax tree and the plan share one vocabulary.
pub use hive_plan::BinaryOp;

#[cfg(test)]
mod tests {
    use super::ItemKeyword;

    /// An item's keyword is the word it is written with, for every kind of item.
    #[test]
    fn each_item_kind_has_the_keyword_it_is_written_with() {
        let text = "import \"lib.hive\"\nconst c: int = 1\ntype T { a: int }\nenum E { a }\n\
                    capability cap(x: int) -> int\nagent a { provides: [cap] }\n\
                    pool p { members: [a] }\nroute cap -> p\n\
                    workflow w() -> int {\n  output 1\n}\nstate s: int = 0\ntopic t: int\n";
        let parsed = crate::parse(text);
        assert_eq!(parsed.diagnostics, []);
        let keywords: Vec<ItemKeyword> = parsed.items.iter().map(|i| i.kind.keyword()).collect();
        assert_eq!(keywords, ItemKeyword::ALL);
        let words: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
        let firsts: Vec<&str> = words
            .into_iter()
            .filter(|w| ItemKeyword::WORDS.contains(w))
            .collect();
        assert_eq!(firsts, ItemKeyword::WORDS);
    }
}
