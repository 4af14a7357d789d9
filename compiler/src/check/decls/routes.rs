//! Routes: which capability goes to which target, and when.

use super::*;

/// A checked route.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteDecl {
    /// The routed capability.
    pub capability: Option<ItemRef>,
    /// The agent or pool it goes to.
    pub target: Option<(DefKind, ItemRef)>,
    /// Strategy override.
    pub strategy: Option<Strategy>,
    /// Fallback agent or pool.
    pub fallback: Option<(DefKind, ItemRef)>,
    /// Whether it is conditional.
    pub conditional: bool,
}

/// A checked route, if `index` is a route.
#[salsa::tracked(returns(ref))]
pub fn route(db: &dyn Db, file: SourceFile, index: u32) -> Option<RouteDecl> {
    let Some(ItemKind::Route(r)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return None;
    };
    let owner = ItemRef { file, index };
    let capability = expect_item(
        db,
        file,
        owner,
        &r.capability,
        &[DefKind::Capability],
        "capability",
    )
    .map(|d| d.item);
    if let Some(c) = capability {
        crate::check::unused::mark_used(db, c);
    }
    let target = expect_item(
        db,
        file,
        owner,
        &r.target,
        &[DefKind::Agent, DefKind::Pool],
        "agent or pool",
    )
    .map(|d| (d.kind, d.item));
    let props = props::index(db, owner, &r.properties, props::ROUTE, "a route");
    let input = capability
        .and_then(|c| capability_signature(db, c.file, c.index).as_ref())
        .map_or(Ty::Json, |s| s.input_type());
    let strategy = props
        .get("strategy")
        .and_then(|p| strategy(db, file, owner, p, input.clone()));
    let fallback = props.get("fallback").and_then(|p| match &p.value.kind {
        ExprKind::Path(path) => expect_item(
            db,
            file,
            owner,
            path,
            &[DefKind::Agent, DefKind::Pool],
            "agent or pool",
        )
        .map(|d| (d.kind, d.item)),
        _ => {
            Values { db, file, owner }.ill_typed(
                "fallback",
                "an agent or pool name",
                &p.value,
                None,
            );
            None
        }
    });
    if let Some(p) = props.get("when") {
        let mut cx = ExprCx::new(db, file, owner);
        cx.locals.insert(
            "input".into(),
            Local {
                ty: input,
                kind: LocalKind::Context,
            },
        );
        cx.locals.insert(
            "priority".into(),
            Local {
                ty: Ty::Priority,
                kind: LocalKind::Context,
            },
        );
        for level in props::PRIORITIES {
            cx.locals.insert(
                level.to_string(),
                Local {
                    ty: Ty::Priority,
                    kind: LocalKind::Context,
                },
            );
        }
        cx.check(&p.value, &Ty::Bool, "a route's `when`");
    }
    Some(RouteDecl {
        capability,
        target,
        strategy,
        fallback,
        conditional: props.contains_key("when"),
    })
}
