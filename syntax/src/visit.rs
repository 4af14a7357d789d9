//! The expressions of an item in one order: roots in source order, each expression before its
//! subexpressions. The builder numbers them in this order ([`ExprId`]); readers find them by it.

use super::ast::*;

/// Writes the visitors twice, reading and mutating, so the two orders cannot drift apart.
macro_rules! visitors {
    ($roots:ident, $children:ident $(, $m:ident)?) => {
        impl Item {
            /// Calls `f` with each outermost expression of the item, in source order.
            pub fn $roots<'a>(&'a $($m)? self, f: &mut impl FnMut(&'a $($m)? Expr)) {
                match & $($m)? self.kind {
                    ItemKind::Import(_) | ItemKind::Enum(_) => {}
                    ItemKind::Const(c) => f(& $($m)? c.value),
                    ItemKind::Type(t) => {
                        for field in & $($m)? t.fields {
                            if let Some(d) = & $($m)? field.default {
                                f(d);
                            }
                        }
                    }
                    ItemKind::Capability(c) => {
                        for p in & $($m)? c.params {
                            if let Some(d) = & $($m)? p.default {
                                f(d);
                            }
                        }
                    }
                    ItemKind::Agent(b) | ItemKind::Pool(b) => {
                        for p in & $($m)? b.properties {
                            f(& $($m)? p.value);
                        }
                    }
                    ItemKind::Route(r) => {
                        for p in & $($m)? r.properties {
                            f(& $($m)? p.value);
                        }
                    }
                    ItemKind::Workflow(w) => {
                        for p in & $($m)? w.params {
                            if let Some(d) = & $($m)? p.default {
                                f(d);
                            }
                        }
                        for p in & $($m)? w.properties {
                            f(& $($m)? p.value);
                        }
                        for step in & $($m)? w.steps {
                            let call = match & $($m)? step.body {
                                StepBody::For { iter, call, .. } => {
                                    f(iter);
                                    call
                                }
                                StepBody::Call(c) | StepBody::Publish(c) | StepBody::Receive(c) => c,
                            };
                            for a in & $($m)? call.args {
                                f(& $($m)? a.value);
                            }
                            for p in & $($m)? step.options {
                                f(& $($m)? p.value);
                            }
                        }
                        for o in & $($m)? w.outputs {
                            f(o);
                        }
                    }
                    ItemKind::State(s) => {
                        if let Some(d) = & $($m)? s.default {
                            f(d);
                        }
                        for p in & $($m)? s.properties {
                            f(& $($m)? p.value);
                        }
                    }
                    ItemKind::Topic(t) => {
                        for p in & $($m)? t.properties {
                            f(& $($m)? p.value);
                        }
                    }
                }
            }
        }

        impl Expr {
            /// Calls `f` with each direct subexpression, in source order.
            pub fn $children<'a>(&'a $($m)? self, f: &mut impl FnMut(&'a $($m)? Expr)) {
                match & $($m)? self.kind {
                    ExprKind::Int(_)
                    | ExprKind::Float(_)
                    | ExprKind::Bool(_)
                    | ExprKind::None
                    | ExprKind::Duration(_)
                    | ExprKind::Size(_)
                    | ExprKind::Path(_)
                    | ExprKind::Error => {}
                    ExprKind::String(parts) => {
                        for p in parts {
                            if let StrPart::Interp(e) = p {
                                f(e);
                            }
                        }
                    }
                    ExprKind::List(items) => {
                        for e in items {
                            f(e);
                        }
                    }
                    ExprKind::Record(fields) | ExprKind::TypedRecord(_, fields) => {
                        for field in fields {
                            f(& $($m)? field.value);
                        }
                    }
                    ExprKind::Field(base, _) | ExprKind::Unary(_, base) => f(base),
                    ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                        f(a);
                        f(b);
                    }
                    ExprKind::Call(call) => {
                        for a in & $($m)? call.args {
                            f(& $($m)? a.value);
                        }
                    }
                }
            }
        }
    };
}

visitors!(for_each_root, for_each_child);
visitors!(for_each_root_mut, for_each_child_mut, mut);

impl Item {
    /// Calls `f` with every expression of the item, each before its subexpressions: the order
    /// of their [`ExprId`]s. Recursion is bounded by [`crate::limits::MAX_EXPR_DEPTH`].
    pub fn for_each_expr<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        fn each<'a>(e: &'a Expr, f: &mut impl FnMut(&'a Expr)) {
            f(e);
            e.for_each_child(&mut |c| each(c, f));
        }
        self.for_each_root(&mut |e| each(e, f));
    }

    /// The item of `kind`, its expressions numbered by position (so equal trees get equal
    /// numbers): what every builder of an item makes.
    pub(crate) fn numbered(doc: Option<String>, kind: ItemKind, span: crate::Span) -> Item {
        let mut item = Item {
            doc,
            kind,
            span,
            exprs: 0,
        };
        item.number_exprs();
        item
    }

    /// Numbers the item's expressions in the order of [`Item::for_each_expr`] and records
    /// how many there are.
    fn number_exprs(&mut self) {
        fn each(e: &mut Expr, next: &mut u32) {
            e.id = ExprId(*next);
            *next += 1;
            e.for_each_child_mut(&mut |c| each(c, next));
        }
        let mut next = 0;
        self.for_each_root_mut(&mut |e| each(e, &mut next));
        self.exprs = next;
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{ExprId, ExprKind};
    use crate::parse;

    fn ids(text: &str) -> Vec<Vec<(u32, String)>> {
        let parsed = parse(text);
        assert_eq!(parsed.diagnostics, []);
        parsed
            .items
            .iter()
            .map(|item| {
                let mut out = Vec::new();
                item.for_each_expr(&mut |e| {
                    let what = match &e.kind {
                        ExprKind::Path(p) => p.text(),
                        ExprKind::Int(i) => i.to_string(),
                        other => format!("{other:?}").chars().take(4).collect(),
                    };
                    out.push((e.id.0, what));
                });
                out
            })
            .collect()
    }

    /// Every expression of an item has its own number, from 0 up without gaps, each before
    /// its subexpressions; the numbers restart in every item.
    #[test]
    fn expressions_are_numbered_densely_per_item_outside_in() {
        let text = "const a: int = 1 + 2\n\
                    workflow w(n: int = 3) -> int {\n  \
                      step s = for x in [n, 4] { c(x: x * -5) } with { timeout: 1s }\n  \
                      output len(\"${s}\")\n}\n";
        let got = ids(text);
        let numbers = |item: &[(u32, String)]| item.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        assert_eq!(numbers(&got[0]), [0, 1, 2]);
        assert_eq!(got[0][1].1, "1");
        let wf = &got[1];
        assert_eq!(numbers(wf), (0..wf.len() as u32).collect::<Vec<_>>());
        let names: Vec<&str> = wf.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(
            names,
            [
                "3", "List", "n", "4", "Bina", "x", "Unar", "5", "Dura", "Call", "Stri", "s"
            ]
        );
    }

    /// The numbers come from the tree alone: the same item written with other spacing, or
    /// after other items, has the same numbers.
    #[test]
    fn numbers_depend_on_the_tree_alone() {
        let one = ids("const a: int = f(x: 1 + 2, y: [3])\n");
        let spaced = ids("\n\nconst b: int = 0\nconst a: int = f( x: 1+2,\n  y: [ 3 ] )\n");
        assert_eq!(one[0], spaced[1]);
        assert_eq!(ExprId::default(), ExprId(0));
    }
}
