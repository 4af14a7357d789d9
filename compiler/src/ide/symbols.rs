//! Every name of an item, declared or used, with what it denotes: the index behind hover, go
//! to definition, references and rename.
//!
//! One query per item with item-relative spans, so an edit re-indexes only the items it
//! touched; [`at`] and [`all_in`] add the item's offset.

use crate::check::decls::{callee_signature, workflow_signature};
use crate::check::scope::{Def, DefKind, ItemRef, Resolved, import_target, resolve_path, scope};
use crate::check::types::{Ty, field_type, resolve_type};
use crate::check::workflow::check_workflow;
use crate::db::{Db, SourceFile};
use crate::queries::{item, parse};
use crate::syntax::Span;
use crate::syntax::ast::{
    Call, Expr, ExprKind, Field, FieldInit, ItemKind, Path, Property, StepBody, StrPart, TypeExpr,
    TypeExprKind,
};
use std::collections::BTreeMap;

/// What a name denotes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Symbol {
    /// A top-level item (for an import alias, the `import` item).
    Item(ItemRef),
    /// A record field, an enum value, or a parameter of a capability or workflow.
    Member(ItemRef, String),
    /// A step of a workflow.
    Step(ItemRef, String),
    /// A `for` variable: its workflow and where it is declared (relative to the workflow).
    LoopVar(ItemRef, Span),
    /// `it` in a `receive`'s `where:`: the message, by its workflow and the topic's place in
    /// the step (relative to the workflow).
    Message(ItemRef, Span),
    /// An imported file.
    File(SourceFile),
}

/// One name in the source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Occurrence {
    /// Where the name is written.
    pub span: Span,
    /// What it denotes.
    pub symbol: Symbol,
    /// Whether this is where it is declared.
    pub decl: bool,
    /// Its type, where it has a value (parameters, steps, fields, loop variables).
    pub ty: Option<Ty>,
}

/// The names of item `index` of `file`, in source order, spans relative to the item.
#[salsa::tracked(returns(ref))]
pub fn item_symbols(db: &dyn Db, file: SourceFile, index: u32) -> Vec<Occurrence> {
    let owner = ItemRef { file, index };
    let mut w = Walk {
        db,
        file,
        owner,
        out: Vec::new(),
        locals: BTreeMap::new(),
    };
    if let Some(it) = item(db, file, index) {
        w.item(&it.kind);
    }
    let mut out = w.out;
    out.sort_by_key(|o| (o.span.start, o.span.end));
    out
}

/// The innermost name at byte `offset` of `file`, with its span made file-relative.
pub fn at(db: &dyn Db, file: SourceFile, offset: u32) -> Option<Occurrence> {
    let (index, base) = item_at(db, file, offset)?;
    item_symbols(db, file, index)
        .iter()
        .filter(|o| o.span.start + base <= offset && offset <= o.span.end + base)
        .min_by_key(|o| o.span.end - o.span.start)
        .map(|o| Occurrence {
            span: o.span.shift(base),
            ..o.clone()
        })
}

/// The index of the item of `file` around byte `offset`, and the item's offset.
pub fn item_at(db: &dyn Db, file: SourceFile, offset: u32) -> Option<(u32, u32)> {
    let offsets = &parse(db, file).offsets;
    let index = offsets.partition_point(|o| *o <= offset).checked_sub(1)?;
    Some((index as u32, offsets[index]))
}

/// Every name of `file` that denotes `symbol`, with file-relative spans.
pub fn all_in(db: &dyn Db, file: SourceFile, symbol: &Symbol) -> Vec<Occurrence> {
    let parsed = parse(db, file);
    let mut out = Vec::new();
    for (index, base) in parsed.offsets.iter().enumerate() {
        for o in item_symbols(db, file, index as u32) {
            if &o.symbol == symbol {
                out.push(Occurrence {
                    span: o.span.shift(*base),
                    ..o.clone()
                });
            }
        }
    }
    out
}

/// The file and item whose index holds a symbol's declaration.
pub fn home(symbol: &Symbol) -> Option<ItemRef> {
    match symbol {
        Symbol::Item(r)
        | Symbol::Member(r, _)
        | Symbol::Step(r, _)
        | Symbol::LoopVar(r, _)
        | Symbol::Message(r, _) => Some(*r),
        Symbol::File(_) => None,
    }
}

struct Walk<'a> {
    db: &'a dyn Db,
    file: SourceFile,
    owner: ItemRef,
    out: Vec<Occurrence>,
    /// Names local to a workflow: parameters, steps, loop variables.
    locals: BTreeMap<String, (Symbol, Ty)>,
}

impl Walk<'_> {
    fn push(&mut self, span: Span, symbol: Symbol, decl: bool, ty: Option<&Ty>) {
        self.out.push(Occurrence {
            span,
            symbol,
            decl,
            ty: ty.cloned(),
        });
    }

    fn item(&mut self, kind: &ItemKind) {
        let me = Symbol::Item(self.owner);
        match kind {
            ItemKind::Import(i) => {
                if let Some(alias) = &i.alias {
                    self.push(alias.span, me, true, None);
                }
                if let Some(target) = import_target(self.db, self.owner) {
                    self.push(i.path_span, Symbol::File(target), false, None);
                }
            }
            ItemKind::Const(c) => {
                self.push(c.name.span, me, true, None);
                self.ty(&c.ty);
                self.expr(&c.value);
            }
            ItemKind::Type(t) => {
                self.push(t.name.span, me, true, None);
                self.fields(&t.fields);
            }
            ItemKind::Enum(e) => {
                self.push(e.name.span, me, true, None);
                for (_, v) in &e.variants {
                    self.push(
                        v.span,
                        Symbol::Member(self.owner, v.text.clone()),
                        true,
                        None,
                    );
                }
            }
            ItemKind::Capability(c) => {
                if let Some(last) = c.name.segments.last() {
                    self.push(last.span, me, true, None);
                }
                self.fields(&c.params);
                self.ty(&c.ret);
                for cell in c.reads.iter().chain(&c.writes) {
                    self.cell(cell);
                }
            }
            ItemKind::State(st) => {
                let ty = crate::check::state::state_decl(self.db, self.file, self.owner.index)
                    .as_ref()
                    .map(|d| d.ty.clone());
                self.push(st.name.span, me, true, ty.as_ref());
                self.ty(&st.ty);
                if let Some(d) = &st.default {
                    self.expr(d);
                }
            }
            ItemKind::Topic(t) => {
                let ty = crate::check::topics::topic_decl(self.db, self.file, self.owner.index)
                    .as_ref()
                    .map(|d| d.ty.clone());
                self.push(t.name.span, me, true, ty.as_ref());
                self.ty(&t.ty);
                self.properties(&t.properties);
            }
            ItemKind::Agent(b) | ItemKind::Pool(b) => {
                self.push(b.name.span, me, true, None);
                self.properties(&b.properties);
            }
            ItemKind::Route(r) => {
                self.path(&r.capability);
                self.path(&r.target);
                self.properties(&r.properties);
            }
            ItemKind::Workflow(wf) => {
                self.push(wf.name.span, me, true, None);
                let sig = workflow_signature(self.db, self.file, self.owner.index).clone();
                for (i, p) in wf.params.iter().enumerate() {
                    let ty = sig
                        .as_ref()
                        .and_then(|s| s.params.get(i))
                        .map(|p| p.ty.clone());
                    let ty = ty.unwrap_or(Ty::Error);
                    let sym = Symbol::Member(self.owner, p.name.text.clone());
                    self.locals.insert(p.name.text.clone(), (sym, ty));
                }
                self.fields(&wf.params);
                self.ty(&wf.ret);
                let checked = check_workflow(self.db, self.file, self.owner.index);
                for (step, c) in wf.steps.iter().zip(&checked.steps) {
                    let sym = Symbol::Step(self.owner, step.name.text.clone());
                    self.locals
                        .insert(step.name.text.clone(), (sym, c.ty.clone()));
                }
                self.properties(&wf.properties);
                for (i, step) in wf.steps.iter().enumerate() {
                    let ty = checked.steps.get(i).map(|c| c.ty.clone());
                    let sym = Symbol::Step(self.owner, step.name.text.clone());
                    self.push(step.name.span, sym, true, ty.as_ref());
                    let callee = checked.steps.get(i).and_then(|c| c.callee);
                    match &step.body {
                        StepBody::Call(call) => self.call(call, callee),
                        StepBody::Publish(call) | StepBody::Receive(call) => self.topic_call(call),
                        StepBody::For { var, iter, call } => {
                            self.expr(iter);
                            let elem = match self.type_of(iter) {
                                Some(Ty::List(t)) => *t,
                                _ => Ty::Error,
                            };
                            let sym = Symbol::LoopVar(self.owner, var.span);
                            self.push(var.span, sym.clone(), true, Some(&elem));
                            let shadowed = self.locals.insert(var.text.clone(), (sym, elem));
                            self.call(call, callee);
                            match shadowed {
                                Some(s) => self.locals.insert(var.text.clone(), s),
                                None => self.locals.remove(&var.text),
                            };
                        }
                    }
                    self.properties(&step.options);
                }
                for o in &wf.outputs {
                    self.expr(o);
                }
            }
        }
    }

    fn fields(&mut self, fields: &[Field]) {
        for f in fields {
            let ty = resolve_type(self.db, self.file, self.owner, &f.ty);
            let sym = Symbol::Member(self.owner, f.name.text.clone());
            self.push(f.name.span, sym, true, Some(&ty));
            self.ty(&f.ty);
            if let Some(d) = &f.default {
                self.expr(d);
            }
        }
    }

    fn properties(&mut self, props: &[Property]) {
        for p in props {
            self.expr(&p.value);
        }
    }

    fn ty(&mut self, t: &TypeExpr) {
        match &t.kind {
            TypeExprKind::Named(p) => {
                self.item_path(p);
            }
            TypeExprKind::List(t) | TypeExprKind::Map(t) | TypeExprKind::Optional(t) => self.ty(t),
        }
    }

    /// A step's call: the callee, and named arguments as its parameters.
    fn call(&mut self, call: &Call, callee: Option<(DefKind, ItemRef)>) {
        let resolved = self.item_path(&call.callee).map(|d| d.item);
        let target = callee.map(|(_, r)| r).or(resolved);
        for a in &call.args {
            if let (Some(name), Some(t)) = (&a.name, target) {
                let ty = callee
                    .and_then(|(k, r)| callee_signature(self.db, r, k))
                    .and_then(|s| s.params.iter().find(|p| p.name == name.text))
                    .map(|p| p.ty.clone());
                self.push(
                    name.span,
                    Symbol::Member(t, name.text.clone()),
                    false,
                    ty.as_ref(),
                );
            }
            self.expr(&a.value);
        }
    }

    /// A path that names an item, then perhaps an enum value; returns the item.
    fn item_path(&mut self, p: &Path) -> Option<Def> {
        let Resolved::Item(def, used) = resolve_path(self.db, self.file, p) else {
            return None;
        };
        let segs = &p.segments;
        // `lib.Review`: the first segment names the import.
        if used >= 2
            && def.kind != DefKind::Module
            && let Some(alias) = segs.first()
            && let Some(m) = scope(self.db, self.file).names.get(&alias.text)
            && m.kind == DefKind::Module
        {
            self.push(alias.span, Symbol::Item(m.item), false, None);
        }
        if let Some(last) = segs.get(used.saturating_sub(1)) {
            self.push(last.span, Symbol::Item(def.item), false, None);
        }
        if def.kind == DefKind::Enum
            && let Some(v) = segs.get(used)
        {
            self.push(
                v.span,
                Symbol::Member(def.item, v.text.clone()),
                false,
                None,
            );
        }
        Some(def)
    }

    /// A path in an expression: a local and its fields, or an item.
    fn path(&mut self, p: &Path) {
        let Some(first) = p.segments.first() else {
            return;
        };
        if let Some((sym, ty)) = self.locals.get(&first.text).cloned() {
            self.push(first.span, sym, false, Some(&ty));
            self.fields_of(ty, &p.segments[1..]);
        } else if first.text == "state"
            && let Some(cell) = p.segments.get(1)
            && !scope(self.db, self.file).names.contains_key("state")
        {
            if let Some(ty) = self.cell(cell) {
                self.fields_of(ty, &p.segments[2..]);
            }
        } else {
            self.item_path(p);
        }
    }

    /// The topic and arguments of a `publish` or `receive` step; `it` in `where:` is the
    /// message.
    fn topic_call(&mut self, call: &Call) {
        let ty = self.topic(&call.callee).unwrap_or(Ty::Error);
        let shadowed = self.locals.remove("it");
        for a in &call.args {
            if a.name.as_ref().is_some_and(|n| n.text == "where") {
                let sym = Symbol::Message(self.owner, call.callee.span);
                self.locals.insert("it".to_string(), (sym, ty.clone()));
            }
            self.expr(&a.value);
            self.locals.remove("it");
        }
        if let Some(s) = shadowed {
            self.locals.insert("it".to_string(), s);
        }
    }

    /// A topic named by a step or in `subscribes`; returns its message type.
    fn topic(&mut self, path: &Path) -> Option<Ty> {
        let [name] = path.segments.as_slice() else {
            return None;
        };
        let def = *scope(self.db, self.file)
            .names
            .get(&name.text)
            .filter(|d| d.kind == DefKind::Topic)?;
        let ty = crate::check::topics::topic(self.db, def.item).map(|d| d.ty.clone());
        self.push(name.span, Symbol::Item(def.item), false, ty.as_ref());
        ty
    }

    /// A state cell named in `reads`/`writes` or after `state.`; returns its type.
    fn cell(&mut self, name: &crate::syntax::ast::Name) -> Option<Ty> {
        let def = *scope(self.db, self.file)
            .names
            .get(&name.text)
            .filter(|d| d.kind == DefKind::State)?;
        let ty = crate::check::state::cell(self.db, def.item).map(|d| d.ty.clone());
        self.push(name.span, Symbol::Item(def.item), false, ty.as_ref());
        ty
    }

    /// Field accesses `.a.b` on a value of type `ty`.
    fn fields_of(&mut self, mut ty: Ty, segs: &[crate::syntax::ast::Name]) {
        for s in segs {
            let record = match ty.unwrap_optional() {
                Ty::Record(n) => Some(n.item),
                _ => None,
            };
            let Some(next) = field_type(self.db, ty.unwrap_optional(), &s.text) else {
                return;
            };
            if let Some(r) = record {
                self.push(
                    s.span,
                    Symbol::Member(r, s.text.clone()),
                    false,
                    Some(&next),
                );
            }
            ty = next;
        }
    }

    /// The type of a simple expression (a local and its fields), for loop variables.
    fn type_of(&self, e: &Expr) -> Option<Ty> {
        let ExprKind::Path(p) = &e.kind else {
            return None;
        };
        let (_, mut ty) = self.locals.get(&p.segments.first()?.text)?.clone();
        for s in &p.segments[1..] {
            ty = field_type(self.db, ty.unwrap_optional(), &s.text)?;
        }
        Some(ty)
    }

    fn inits(&mut self, record: Option<ItemRef>, inits: &[FieldInit]) {
        for f in inits {
            if let Some(r) = record {
                self.push(
                    f.name.span,
                    Symbol::Member(r, f.name.text.clone()),
                    false,
                    None,
                );
            }
            self.expr(&f.value);
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Path(p) => self.path(p),
            ExprKind::String(parts) => {
                for part in parts {
                    if let StrPart::Interp(e) = part {
                        self.expr(e);
                    }
                }
            }
            ExprKind::List(xs) => xs.iter().for_each(|x| self.expr(x)),
            ExprKind::Record(inits) => self.inits(None, inits),
            ExprKind::TypedRecord(p, inits) => {
                let r = self.item_path(p).map(|d| d.item);
                self.inits(r, inits);
            }
            ExprKind::Field(e, _) | ExprKind::Unary(_, e) => self.expr(e),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call(c) => {
                // `len(x)`, `fixed(2s)`: functions are not items; their arguments may hold names.
                for a in &c.args {
                    self.expr(&a.value);
                }
            }
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Duration(_)
            | ExprKind::Size(_)
            | ExprKind::Error => {}
        }
    }
}
