//! Types of pure expressions: names, fields, operators, literals and the standard functions.

use super::scope::{DefKind, ItemRef, Resolved, resolve_path, scope, unknown_name};
use super::types::{Ty, assignable, field_names, field_type, resolve_type};
use super::workflow::ExprTypes;
use crate::codes::Code;
use crate::db::{Db, Loc, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::item;
use crate::syntax::Span;
use crate::syntax::ast::{
    BinaryOp, Call, Expr, ExprKind, FieldInit, ItemKind, Path, StrPart, UnaryOp,
};
use hive_plan::Function;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a local name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalKind {
    /// A workflow parameter.
    Param,
    /// The result of the workflow's step of this index (the first of the name).
    Step(usize),
    /// A `for` loop variable.
    LoopVar,
    /// Something the context provides (`input`, `priority` in routes).
    Context,
}

/// A local name's type and kind.
#[derive(Clone, Debug)]
pub struct Local {
    /// Its type.
    pub ty: Ty,
    /// What it is.
    pub kind: LocalKind,
}

/// Names in scope besides items: those of a whole workflow (its parameters and steps), shared
/// by the contexts of all its steps, and those one context adds (a loop variable). Sharing the
/// workflow's names keeps checking a step from costing as much as the workflow is long.
#[derive(Clone, Default)]
pub struct Locals {
    shared: Arc<SharedLocals>,
    own: BTreeMap<String, Local>,
}

/// A workflow's names, shared by the contexts of its steps.
#[derive(Default)]
pub struct SharedLocals {
    map: FxHashMap<String, Local>,
    /// The names in order, for suggestions: sorted once a message needs them, as most checks
    /// need none.
    names: std::sync::OnceLock<Arc<[String]>>,
}

impl SharedLocals {
    /// The names of a workflow.
    pub fn new(map: FxHashMap<String, Local>) -> Arc<Self> {
        Arc::new(SharedLocals {
            map,
            names: std::sync::OnceLock::new(),
        })
    }

    fn names(&self) -> Arc<[String]> {
        self.names
            .get_or_init(|| {
                let mut names: Vec<String> = self.map.keys().cloned().collect();
                names.sort_unstable();
                names.into()
            })
            .clone()
    }
}

impl Locals {
    /// The names of a workflow, for one of its steps.
    pub fn shared(shared: Arc<SharedLocals>) -> Self {
        Locals {
            shared,
            own: BTreeMap::new(),
        }
    }

    /// The local of this name.
    pub fn get(&self, name: &str) -> Option<&Local> {
        self.own.get(name).or_else(|| self.shared.map.get(name))
    }

    /// Adds a name, hiding a shared one of the same name.
    pub fn insert(&mut self, name: String, local: Local) {
        self.own.insert(name, local);
    }

    /// Removes a name this context added.
    pub fn remove(&mut self, name: &str) {
        self.own.remove(name);
    }

    /// The lists of names, for a suggestion.
    fn suggestible(&self) -> Vec<Arc<[String]>> {
        let own: Arc<[String]> = self.own.keys().cloned().collect();
        vec![self.shared.names(), own]
    }
}

/// The names of the pure functions a `.hive` file may call, for suggestions.
pub fn function_names() -> Arc<[String]> {
    Function::all_written()
        .map(|f| f.name().to_string())
        .collect()
}

/// Checks expressions of one item.
pub struct ExprCx<'a> {
    /// The database.
    pub db: &'a dyn Db,
    /// The file being checked.
    pub file: SourceFile,
    /// The item whose spans the expressions carry.
    pub owner: ItemRef,
    /// Names in scope besides items.
    pub locals: Locals,
    /// Every use of a local of kind [`LocalKind::Step`]: the step's index and the place.
    pub step_refs: Vec<(usize, Span)>,
    /// Every read of a state cell (`state.notes`): the cell and the place of the read.
    pub state_refs: Vec<(String, Span)>,
    /// When set, the type of every expression inferred (a workflow's, for lowering and hover).
    pub types: Option<ExprTypes>,
}

impl<'a> ExprCx<'a> {
    /// A context for `owner` with no locals.
    pub fn new(db: &'a dyn Db, file: SourceFile, owner: ItemRef) -> Self {
        ExprCx {
            db,
            file,
            owner,
            locals: Locals::default(),
            step_refs: Vec::new(),
            state_refs: Vec::new(),
            types: None,
        }
    }

    fn loc(&self, span: Span) -> Loc {
        self.owner.loc(span)
    }

    /// Checks that `e` has a type assignable to `expected`; returns the type it has.
    /// `what` is written out only for a message, so a caller may pass `format_args!`.
    pub fn check(&mut self, e: &Expr, expected: &Ty, what: impl std::fmt::Display) -> Ty {
        let ty = self.infer(e);
        self.expect(e.span, &ty, expected, what);
        ty
    }

    /// Reports a mismatch between `found` at `span` and `expected`.
    pub fn expect(&mut self, span: Span, found: &Ty, expected: &Ty, what: impl std::fmt::Display) {
        if assignable(self.db, found, expected) {
            return;
        }
        let d = if let Ty::Optional(inner) = found
            && assignable(self.db, inner, expected)
        {
            Diagnostic::new(
                Code::OptionalMisuse,
                self.loc(span),
                format!("{what} expects `{expected}`, found optional `{found}`"),
                format!("this is `{found}`: it may be `none`"),
            )
            .with_help("give a default with `??`, e.g. `value ?? …`")
        } else {
            Diagnostic::new(
                Code::TypeMismatch,
                self.loc(span),
                format!("{what} expects `{expected}`, found `{found}`"),
                format!("this is `{found}`"),
            )
        };
        report(self.db, d);
    }

    /// The type of `e`, reporting what is wrong inside it.
    pub fn infer(&mut self, e: &Expr) -> Ty {
        let ty = self.infer_kind(e);
        if let Some(types) = &mut self.types {
            types.record(e.id, &ty);
        }
        ty
    }

    fn infer_kind(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Int(_) => Ty::Int,
            ExprKind::Float(_) => Ty::Float,
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::None => Ty::NoneLit,
            ExprKind::Duration(_) => Ty::Duration,
            ExprKind::Size(_) => Ty::Size,
            ExprKind::Error => Ty::Error,
            ExprKind::String(parts) => {
                for p in parts {
                    if let StrPart::Interp(e) = p {
                        self.infer(e);
                    }
                }
                Ty::Str
            }
            ExprKind::Path(path) => self.path(path),
            ExprKind::List(items) => {
                let mut elem: Option<Ty> = None;
                for it in items {
                    let t = self.infer(it);
                    match &elem {
                        None => elem = Some(t),
                        Some(prev) if assignable(self.db, &t, prev) => {}
                        Some(prev) if assignable(self.db, prev, &t) => elem = Some(t),
                        Some(prev) => {
                            let prev = prev.clone();
                            self.expect(it.span, &t, &prev, "a list element");
                        }
                    }
                }
                Ty::List(Box::new(elem.unwrap_or(Ty::Error)))
            }
            ExprKind::Record(fields) => {
                self.no_duplicate_fields(fields);
                Ty::Anon(
                    fields
                        .iter()
                        .map(|f| (f.name.text.clone(), self.infer(&f.value)))
                        .collect(),
                )
            }
            ExprKind::TypedRecord(path, fields) => self.typed_record(path, fields, e.span),
            ExprKind::Field(base, name) => {
                let t = self.infer(base);
                self.field(&t, &name.text, name.span, base.span)
            }
            ExprKind::Index(base, index) => {
                let t = self.infer(base);
                match t {
                    Ty::List(elem) => {
                        self.check(index, &Ty::Int, "a list index");
                        *elem
                    }
                    Ty::Map(v) => {
                        self.check(index, &Ty::Str, "a map key");
                        v.optional()
                    }
                    Ty::Json | Ty::Error => {
                        self.infer(index);
                        t
                    }
                    other => {
                        self.infer(index);
                        self.invalid(
                            e.span,
                            format!("`{other}` cannot be indexed"),
                            "indexed here",
                        );
                        Ty::Error
                    }
                }
            }
            ExprKind::Call(call) => self.call(call),
            ExprKind::Unary(op, inner) => {
                let t = self.infer(inner);
                match (op, &t) {
                    (UnaryOp::Neg, t) if t.is_numeric() || *t == Ty::Duration => t.clone(),
                    (UnaryOp::Not, Ty::Bool | Ty::Json | Ty::Error) => Ty::Bool,
                    (UnaryOp::Not, t) => {
                        self.expect(inner.span, t, &Ty::Bool, "`!`");
                        Ty::Bool
                    }
                    (_, t) => {
                        self.invalid(e.span, format!("`-` does not apply to `{t}`"), "here");
                        Ty::Error
                    }
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, e.span),
        }
    }

    fn invalid(&self, span: Span, message: String, label: &str) {
        report(
            self.db,
            Diagnostic::new(Code::InvalidOperands, self.loc(span), message, label),
        );
    }

    fn path(&mut self, path: &Path) -> Ty {
        let first = &path.segments[0];
        if let Some(local) = self.locals.get(&first.text) {
            if let LocalKind::Step(index) = local.kind {
                self.step_refs.push((index, first.span));
            }
            let mut ty = local.ty.clone();
            let mut prev = first.span;
            for seg in &path.segments[1..] {
                ty = self.field(&ty, &seg.text, seg.span, prev);
                prev = prev.to(seg.span);
            }
            return ty;
        }
        if first.text == "state"
            && path.segments.len() > 1
            && !scope(self.db, self.file).names.contains_key("state")
        {
            return self.state_read(path);
        }
        match resolve_path(self.db, self.file, path) {
            Resolved::Item(def, used) => {
                let mut ty = match def.kind {
                    DefKind::Const => const_type(self.db, def.item),
                    DefKind::Enum => {
                        let Some(variant) = path.segments.get(used) else {
                            self.invalid(
                                path.span,
                                format!("enum `{}` is not a value", path.text()),
                                "write one of its values, `Enum.value`",
                            );
                            return Ty::Error;
                        };
                        let variants = super::decls::enum_variants(self.db, def.item);
                        let enum_name = path.segments[..used]
                            .iter()
                            .map(|s| s.text.as_str())
                            .collect::<Vec<_>>()
                            .join(".");
                        if !variants.contains(&variant.text) {
                            unknown_name(
                                self.db,
                                self.loc(variant.span),
                                &variant.text,
                                &format!("value of enum `{enum_name}`"),
                                vec![variants.as_slice().into()],
                            );
                            return Ty::Error;
                        }
                        let ty = Ty::Enum(super::types::Named {
                            item: def.item,
                            name: enum_name,
                        });
                        return self.fields_from(ty, path, used + 1);
                    }
                    DefKind::Module if def.module.is_none() => return Ty::Error,
                    kind => {
                        self.invalid(
                            path.span,
                            format!("`{}` is {}, not a value", path.text(), kind.a_word()),
                            "used as a value here",
                        );
                        return Ty::Error;
                    }
                };
                ty = self.fields_from(ty, path, used);
                ty
            }
            Resolved::Unknown => {
                let mut among = self.locals.suggestible();
                among.extend(
                    scope(self.db, self.file).suggestible(&[DefKind::Const, DefKind::Enum]),
                );
                unknown_name(self.db, self.loc(first.span), &first.text, "name", among);
                Ty::Error
            }
        }
    }

    /// `state.cell.field…`: a cell's value, read where the expression is evaluated, which
    /// only a workflow's expressions are (constants and defaults are computed before a run).
    fn state_read(&mut self, path: &Path) -> Ty {
        let cell = &path.segments[1];
        let in_workflow = matches!(
            item(self.db, self.owner.file, self.owner.index)
                .as_ref()
                .map(|i| &i.kind),
            Some(ItemKind::Workflow(_))
        );
        if !in_workflow {
            report(
                self.db,
                Diagnostic::new(
                    Code::WrongKind,
                    self.loc(path.span),
                    format!("`{}` is read outside a workflow", path.text()),
                    "state is read here",
                )
                .with_help("a state cell has a value only during a run: read it in a step's arguments, a `when` or an `output`"),
            );
            return Ty::Error;
        }
        let Some((name, r)) = super::state::resolve_cell(self.db, self.file, self.owner, cell)
        else {
            return Ty::Error;
        };
        self.state_refs
            .push((name, path.segments[0].span.to(cell.span)));
        let ty = super::state::cell(self.db, r).map_or(Ty::Error, |d| d.ty.clone());
        self.fields_from(ty, path, 2)
    }

    fn fields_from(&mut self, mut ty: Ty, path: &Path, from: usize) -> Ty {
        let mut prev = path.segments[..from.min(path.segments.len())]
            .iter()
            .fold(path.segments[0].span, |s, seg| s.to(seg.span));
        for seg in path.segments.iter().skip(from) {
            ty = self.field(&ty, &seg.text, seg.span, prev);
            prev = prev.to(seg.span);
        }
        ty
    }

    fn field(&mut self, ty: &Ty, name: &str, span: Span, base: Span) -> Ty {
        if let Ty::Optional(inner) = ty
            && field_type(self.db, inner, name).is_some()
        {
            report(
                self.db,
                Diagnostic::new(
                    Code::OptionalMisuse,
                    self.loc(span),
                    format!("cannot read `.{name}` of an optional `{ty}`"),
                    "field read here",
                )
                .with_label(self.loc(base), format!("this is `{ty}`: it may be `none`"))
                .with_help("give a default first, e.g. `(value ?? fallback).field`"),
            );
            return Ty::Error;
        }
        match field_type(self.db, ty, name) {
            Some(t) => t,
            None => {
                let names = field_names(self.db, ty);
                let d = Diagnostic::new(
                    Code::UnknownField,
                    self.loc(span),
                    format!("`{ty}` has no field `{name}`"),
                    "unknown field",
                )
                .with_did_you_mean(name, names.iter().map(String::as_str));
                report(self.db, d);
                Ty::Error
            }
        }
    }

    fn no_duplicate_fields(&mut self, fields: &[FieldInit]) {
        for (i, f) in fields.iter().enumerate() {
            if let Some(first) = fields[..i].iter().find(|g| g.name.text == f.name.text) {
                report(
                    self.db,
                    Diagnostic::twice(
                        format!("field `{}`", f.name.text),
                        "given",
                        self.loc(f.name.span),
                        Some(self.loc(first.name.span)),
                    ),
                );
            }
        }
    }

    fn typed_record(&mut self, path: &Path, fields: &[FieldInit], span: Span) -> Ty {
        let ty = resolve_type(
            self.db,
            self.file,
            self.owner,
            &crate::syntax::ast::TypeExpr {
                kind: crate::syntax::ast::TypeExprKind::Named(path.clone()),
                span: path.span,
            },
        );
        let Ty::Record(r) = &ty else {
            for f in fields {
                self.infer(&f.value);
            }
            if ty != Ty::Error {
                self.invalid(path.span, format!("`{ty}` is not a record type"), "here");
            }
            return Ty::Error;
        };
        self.no_duplicate_fields(fields);
        let decl = super::decls::record_fields(self.db, r.item).clone();
        for f in fields {
            match decl.iter().find(|d| d.name == f.name.text) {
                Some(d) => {
                    let what = format!("field `{}`", d.name);
                    self.check(&f.value, &d.ty, &what);
                }
                None => {
                    self.infer(&f.value);
                    report(
                        self.db,
                        Diagnostic::new(
                            Code::UnknownField,
                            self.loc(f.name.span),
                            format!("`{}` has no field `{}`", r.name, f.name.text),
                            "unknown field",
                        )
                        .with_did_you_mean(&f.name.text, decl.iter().map(|d| d.name.as_str())),
                    );
                }
            }
        }
        let missing: Vec<&str> = decl
            .iter()
            .filter(|d| !d.has_default && !d.ty.is_optional())
            .filter(|d| !fields.iter().any(|f| f.name.text == d.name))
            .map(|d| d.name.as_str())
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            report(
                self.db,
                Diagnostic::new(
                    Code::MissingField,
                    self.loc(span),
                    format!("`{}` is missing {list}", r.name),
                    format!("missing {list}"),
                )
                .with_help(format!(
                    "add {list}, or give the field a default in the type"
                )),
            );
        }
        ty
    }

    fn binary(&mut self, op: BinaryOp, a: &Expr, b: &Expr, span: Span) -> Ty {
        let ta = self.infer(a);
        if op == BinaryOp::Coalesce {
            let inner = ta.unwrap_optional().clone();
            let tb = self.infer(b);
            if ta == Ty::NoneLit {
                return tb;
            }
            self.expect(b.span, &tb, &inner, "the default of `??`");
            return if tb.is_optional() {
                inner.optional()
            } else {
                inner
            };
        }
        let tb = self.infer(b);
        let sym = op.symbol();
        let any = |t: &Ty| matches!(t, Ty::Json | Ty::Error);
        match op {
            BinaryOp::And | BinaryOp::Or => {
                self.expect(a.span, &ta, &Ty::Bool, format_args!("`{sym}`"));
                self.expect(b.span, &tb, &Ty::Bool, format_args!("`{sym}`"));
                Ty::Bool
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                if !assignable(self.db, &ta, &tb) && !assignable(self.db, &tb, &ta) {
                    self.invalid(
                        span,
                        format!("cannot compare `{ta}` with `{tb}`"),
                        "compared here",
                    );
                }
                Ty::Bool
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ordered = |t: &Ty| {
                    t.is_numeric() || matches!(t, Ty::Str | Ty::Duration | Ty::Size | Ty::Priority)
                };
                let compatible =
                    (ta.is_numeric() && tb.is_numeric()) || ta == tb || any(&ta) || any(&tb);
                if !(ordered(&ta) && ordered(&tb) && compatible) {
                    self.invalid(
                        span,
                        format!("cannot order `{ta}` and `{tb}`"),
                        "compared here",
                    );
                }
                Ty::Bool
            }
            BinaryOp::Range => {
                self.expect(a.span, &ta, &Ty::Int, "a range bound");
                self.expect(b.span, &tb, &Ty::Int, "a range bound");
                Ty::Range
            }
            _ => match (op, &ta, &tb) {
                (_, t, u) if any(t) || any(u) => Ty::Json,
                (_, Ty::Int, Ty::Int) => Ty::Int,
                (_, Ty::Int | Ty::Float, Ty::Int | Ty::Float) => Ty::Float,
                (BinaryOp::Add, Ty::Str, Ty::Str) => Ty::Str,
                (BinaryOp::Add | BinaryOp::Sub, Ty::Duration, Ty::Duration) => Ty::Duration,
                (BinaryOp::Add | BinaryOp::Sub, Ty::Size, Ty::Size) => Ty::Size,
                (BinaryOp::Mul | BinaryOp::Div, Ty::Duration, Ty::Int | Ty::Float) => Ty::Duration,
                (BinaryOp::Mul | BinaryOp::Div, Ty::Size, Ty::Int) => Ty::Size,
                (BinaryOp::Add, Ty::List(x), Ty::List(y)) if assignable(self.db, y, x) => {
                    ta.clone()
                }
                _ => {
                    let d = Diagnostic::new(
                        Code::InvalidOperands,
                        self.loc(span),
                        format!("`{sym}` does not apply to `{ta}` and `{tb}`"),
                        format!("`{ta}` {sym} `{tb}`"),
                    );
                    let d = if ta.is_optional() || tb.is_optional() {
                        d.with_help("an optional needs a default first: `value ?? …`")
                    } else {
                        d
                    };
                    report(self.db, d);
                    Ty::Error
                }
            },
        }
    }

    /// A call inside an expression: only the standard functions are allowed here.
    fn call(&mut self, call: &Call) -> Ty {
        let name = call.callee.text();
        let Some(function) = Function::written(&name) else {
            for a in &call.args {
                self.infer(&a.value);
            }
            match resolve_path(self.db, self.file, &call.callee) {
                Resolved::Item(def, used)
                    if used == call.callee.segments.len()
                        && matches!(def.kind, DefKind::Capability | DefKind::Workflow) =>
                {
                    // Misplaced, but meant: not also "unused".
                    super::unused::mark_used(self.db, def.item);
                    report(
                        self.db,
                        Diagnostic::new(
                            Code::CapabilityCallInExpression,
                            self.loc(call.span),
                            format!(
                                "{} `{name}` can only be called as a step",
                                def.kind.word()
                            ),
                            "called inside an expression",
                        )
                        .with_help(format!(
                            "make it a step of its own: `step result = {name}(…)`, then use `result` here"
                        )),
                    );
                }
                _ => unknown_name(
                    self.db,
                    self.loc(call.callee.span),
                    &name,
                    "function",
                    vec![function_names()],
                ),
            }
            return Ty::Error;
        };
        if let Some(named) = call.args.iter().find_map(|a| a.name.as_ref()) {
            report(
                self.db,
                Diagnostic::new(
                    Code::PositionalArgument,
                    self.loc(named.span),
                    format!("`{name}` takes its arguments by position"),
                    "named argument",
                )
                .with_help(format!("write `{name}(value, …)`")),
            );
        }
        let args: Vec<Ty> = call.args.iter().map(|a| self.infer(&a.value)).collect();
        let spans: Vec<Span> = call.args.iter().map(|a| a.value.span).collect();
        super::functions::check_function(self, function, &args, &spans, call.span)
    }

    /// Reports a wrong number of arguments to a standard function.
    pub fn arity(&self, name: &str, expected: &str, found: usize, span: Span) {
        report(
            self.db,
            Diagnostic::new(
                Code::WrongArity,
                self.loc(span),
                format!("`{name}` takes {expected}, found {found}"),
                format!("{found} argument{}", if found == 1 { "" } else { "s" }),
            ),
        );
    }
}

/// The declared type of a constant.
pub fn const_type(db: &dyn Db, def: ItemRef) -> Ty {
    match item(db, def.file, def.index).as_ref().map(|i| &i.kind) {
        Some(ItemKind::Const(c)) => resolve_type(db, def.file, def, &c.ty),
        _ => Ty::Error,
    }
}
