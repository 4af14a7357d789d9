//! Expressions to the plan's IR: names resolved, constants inlined, typed records completed.

use super::names::Names;
use crate::check::consts::const_json;
use crate::check::scope::{DefKind, Resolved, resolve_path};
use crate::check::types::Ty;
use crate::check::workflow::ExprTypes;
use crate::db::{Db, SourceFile};
use crate::queries::item;
use crate::syntax::ast::{self, BinaryOp, ExprKind, FieldInit, ItemKind, StrPart, UnaryOp};
use hive_plan::{Expr, Function, Type};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// Constants inline constants; cycles among them are errors, so this only bounds the damage.
const MAX_CONST_DEPTH: u32 = 64;

/// What a local name lowers to.
#[derive(Clone, Debug)]
pub enum Local {
    /// A workflow parameter.
    Param,
    /// A step, by its index in the plan.
    Step(usize),
    /// A loop variable or a name the context provides (`input`, `priority`).
    Named,
    /// A fixed value (a priority level in a route's condition).
    Value(Value),
}

/// Lowers the expressions of one file.
pub struct Lower<'a> {
    /// The database.
    pub db: &'a dyn Db,
    /// The file the expressions are written in.
    pub file: SourceFile,
    /// Plan keys.
    pub names: &'a Names,
    /// Names in scope besides items.
    pub locals: FxHashMap<String, Local>,
    /// Names in scope under `locals`, shared by the contexts of a workflow's steps (the
    /// workflow's parameters and steps), not copied for each.
    outer: Option<std::rc::Rc<FxHashMap<String, Local>>>,
    /// The types the checker inferred for the expressions of the workflow these are from,
    /// which tell how a value is shown in `${…}` and when arithmetic must stay whole.
    pub types: Option<&'a ExprTypes>,
    depth: u32,
}

impl<'a> Lower<'a> {
    /// A lowering context for `file` with no locals.
    pub fn new(db: &'a dyn Db, file: SourceFile, names: &'a Names) -> Self {
        Lower {
            db,
            file,
            names,
            locals: FxHashMap::default(),
            outer: None,
            types: None,
            depth: 0,
        }
    }

    /// Makes this context's locals the shared ones under the locals of the contexts
    /// [`Lower::step`] makes.
    pub fn share_locals(&mut self) {
        let mut locals = std::mem::take(&mut self.locals);
        if let Some(outer) = self.outer.take() {
            for (name, local) in outer.iter() {
                locals.entry(name.clone()).or_insert_with(|| local.clone());
            }
        }
        self.outer = Some(std::rc::Rc::new(locals));
    }

    /// A context for one step of this workflow's: its own locals (a `for` variable) over
    /// this context's shared ones ([`Lower::share_locals`]), and this context's table of
    /// expression types.
    pub fn step(&self) -> Lower<'a> {
        Lower {
            db: self.db,
            file: self.file,
            names: self.names,
            locals: self.locals.clone(),
            outer: self.outer.clone(),
            types: self.types,
            depth: self.depth,
        }
    }

    fn nested(&self, file: SourceFile) -> Lower<'a> {
        Lower {
            db: self.db,
            file,
            names: self.names,
            locals: FxHashMap::default(),
            outer: None,
            types: None,
            depth: self.depth + 1,
        }
    }

    /// The type the checker inferred for `e`, in a workflow.
    fn ty_of(&self, e: &ast::Expr) -> Option<&Ty> {
        self.types?.get(e.id)
    }

    /// `value` wrapped in `function` when `e` is a duration or a size (`DurationText`…).
    fn by_unit(&self, e: &ast::Expr, value: Expr, unit: [Function; 2]) -> Expr {
        let function = match self.ty_of(e) {
            Some(Ty::Duration) => unit[0],
            Some(Ty::Size) => unit[1],
            _ => return value,
        };
        Expr::Call {
            function,
            args: vec![value],
        }
    }

    /// The IR of `e`.
    pub fn expr(&self, e: &ast::Expr) -> Expr {
        match &e.kind {
            ExprKind::Int(i) => Expr::value(*i),
            ExprKind::Float(f) => Expr::value(f.get()),
            ExprKind::Bool(b) => Expr::value(*b),
            ExprKind::None | ExprKind::Error => Expr::value(Value::Null),
            ExprKind::Duration(ms) | ExprKind::Size(ms) => Expr::value(*ms),
            ExprKind::String(parts) => self.string(parts),
            ExprKind::Path(path) => self.path(path),
            ExprKind::List(items) => fold_list(items.iter().map(|i| self.expr(i)).collect()),
            ExprKind::Record(fields) => fold_record(
                fields
                    .iter()
                    .map(|f| (f.name.text.clone(), self.expr(&f.value)))
                    .collect(),
            ),
            ExprKind::TypedRecord(path, fields) => self.typed_record(path, fields),
            ExprKind::Field(base, name) => Expr::Field {
                of: Box::new(self.expr(base)),
                field: name.text.clone(),
            },
            ExprKind::Index(base, index) => Expr::Index {
                of: Box::new(self.expr(base)),
                index: Box::new(self.expr(index)),
            },
            ExprKind::Call(call) => Expr::Call {
                // Unknown functions are errors, and no plan is made from a file with errors.
                function: Function::written(&call.callee.text()).unwrap_or(Function::ToJson),
                args: call.args.iter().map(|a| self.expr(&a.value)).collect(),
            },
            ExprKind::Unary(op, inner) => Expr::Unary {
                unary: match op {
                    UnaryOp::Neg => hive_plan::UnaryOp::Neg,
                    UnaryOp::Not => hive_plan::UnaryOp::Not,
                },
                arg: Box::new(self.expr(inner)),
            },
            // `a..b` lowers to `range(a, b)`, the form every runtime knows.
            ExprKind::Binary(BinaryOp::Range, a, b) => Expr::Call {
                function: Function::Range,
                args: vec![self.expr(a), self.expr(b)],
            },
            ExprKind::Binary(op, a, b) => {
                let value = Expr::Binary {
                    binary: *op,
                    left: Box::new(self.expr(a)),
                    right: Box::new(self.expr(b)),
                };
                // `2s * 1.5` is 3000 milliseconds, not 3000.0.
                match op {
                    BinaryOp::Mul | BinaryOp::Div => {
                        self.by_unit(e, value, [Function::Round, Function::Round])
                    }
                    _ => value,
                }
            }
        }
    }

    fn string(&self, parts: &[StrPart]) -> Expr {
        let parts: Vec<Expr> = parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => Expr::value(t.clone()),
                StrPart::Interp(e) => self.by_unit(
                    e,
                    self.expr(e),
                    [Function::DurationText, Function::SizeText],
                ),
            })
            .collect();
        if parts
            .iter()
            .all(|p| matches!(p.as_value(), Some(Value::String(_))))
        {
            let text: String = parts
                .iter()
                .filter_map(|p| p.as_value().and_then(Value::as_str))
                .collect();
            return Expr::value(text);
        }
        Expr::Concat { parts }
    }

    fn path(&self, path: &ast::Path) -> Expr {
        let first = &path.segments[0];
        if let Some(local) = self
            .locals
            .get(&first.text)
            .or_else(|| self.outer.as_ref().and_then(|o| o.get(&first.text)))
        {
            let base = match local {
                Local::Param => Expr::Param {
                    name: first.text.clone(),
                },
                Local::Step(i) => Expr::Step { step: *i },
                Local::Named => Expr::Local {
                    name: first.text.clone(),
                },
                Local::Value(v) => Expr::value(v.clone()),
            };
            return fields(base, &path.segments[1..]);
        }
        let scope = crate::check::scope::scope(self.db, self.file);
        if first.text == "state" && path.segments.len() > 1 && !scope.names.contains_key("state") {
            let cell = scope
                .names
                .get(&path.segments[1].text)
                .map_or_else(String::new, |d| self.names.of(d.item));
            return fields(Expr::State { cell }, &path.segments[2..]);
        }
        match resolve_path(self.db, self.file, path) {
            Resolved::Item(def, used) => match def.kind {
                DefKind::Const if self.depth < MAX_CONST_DEPTH => {
                    // The value the checker computed: a constant used many times, or built
                    // from others, costs its value once instead of its expression each time.
                    let value = match const_json(self.db, def.item.file, def.item.index) {
                        Some(v) => Expr::value(v.clone()),
                        None => match item(self.db, def.item.file, def.item.index)
                            .as_ref()
                            .map(|i| &i.kind)
                        {
                            Some(ItemKind::Const(c)) => self.nested(def.item.file).expr(&c.value),
                            _ => Expr::value(Value::Null),
                        },
                    };
                    fields(value, &path.segments[used..])
                }
                DefKind::Enum => match path.segments.get(used) {
                    Some(variant) => fields(
                        Expr::value(variant.text.clone()),
                        &path.segments[used + 1..],
                    ),
                    None => Expr::value(Value::Null),
                },
                _ => Expr::value(Value::Null),
            },
            Resolved::Unknown => Expr::value(Value::Null),
        }
    }

    /// A typed record literal with its fields in declaration order, defaults filled in and
    /// optional fields left out set to `none`.
    fn typed_record(&self, path: &ast::Path, given: &[FieldInit]) -> Expr {
        let decl = match resolve_path(self.db, self.file, path) {
            Resolved::Item(def, _) if def.kind == DefKind::Type => {
                item(self.db, def.item.file, def.item.index)
                    .as_ref()
                    .and_then(|i| match &i.kind {
                        ItemKind::Type(t) => Some((def.item.file, t.clone())),
                        _ => None,
                    })
            }
            _ => None,
        };
        let Some((file, decl)) = decl else {
            return fold_record(
                given
                    .iter()
                    .map(|f| (f.name.text.clone(), self.expr(&f.value)))
                    .collect(),
            );
        };
        let defaults = self.nested(file);
        let fields = decl
            .fields
            .iter()
            .map(|f| {
                let value = match given.iter().find(|g| g.name.text == f.name.text) {
                    Some(g) => self.expr(&g.value),
                    None => match &f.default {
                        Some(d) => defaults.expr(d),
                        None => Expr::value(Value::Null),
                    },
                };
                (f.name.text.clone(), value)
            })
            .collect();
        fold_record(fields)
    }

    /// The plan type of a checked type.
    pub fn ty(&self, ty: &Ty) -> Type {
        lower_type(self.names, ty)
    }
}

/// The plan type of a checked type.
pub fn lower_type(names: &Names, ty: &Ty) -> Type {
    match ty {
        Ty::Str => Type::String,
        Ty::Int => Type::Int,
        Ty::Float => Type::Float,
        Ty::Bool => Type::Bool,
        Ty::Duration => Type::Duration,
        Ty::Size => Type::Size,
        Ty::List(t) => Type::List(Box::new(lower_type(names, t))),
        Ty::Map(t) => Type::Map(Box::new(lower_type(names, t))),
        Ty::Optional(t) => Type::Optional(Box::new(lower_type(names, t))),
        Ty::Record(n) => Type::Record(names.of(n.item)),
        Ty::Enum(n) => Type::Enum(names.of(n.item)),
        Ty::Anon(fields) => Type::Fields(
            fields
                .iter()
                .map(|(n, t)| (n.clone(), lower_type(names, t)))
                .collect(),
        ),
        Ty::Json | Ty::NoneLit | Ty::Range | Ty::Priority | Ty::Error => Type::Json,
    }
}

fn fields(mut base: Expr, segments: &[ast::Name]) -> Expr {
    for s in segments {
        base = Expr::Field {
            of: Box::new(base),
            field: s.text.clone(),
        };
    }
    base
}

/// A list whose elements are all values is itself a value.
fn fold_list(items: Vec<Expr>) -> Expr {
    if items.iter().all(|i| i.as_value().is_some()) {
        return Expr::value(Value::Array(
            items
                .into_iter()
                .filter_map(|i| i.as_value().cloned())
                .collect(),
        ));
    }
    Expr::List { items }
}

/// A record whose fields are all values is itself a value.
fn fold_record(fields: Vec<(String, Expr)>) -> Expr {
    if fields.iter().all(|(_, e)| e.as_value().is_some()) {
        let map = fields
            .into_iter()
            .filter_map(|(n, e)| Some((n, e.as_value()?.clone())))
            .collect();
        return Expr::value(Value::Object(map));
    }
    Expr::Record { fields }
}
