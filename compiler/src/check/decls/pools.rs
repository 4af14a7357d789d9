//! Pools: their members, strategy and queue.

use super::*;

/// A checked pool.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolDecl {
    /// Its name.
    pub name: String,
    /// Member agents (unknown ones left out, already reported).
    pub members: Vec<ItemRef>,
    /// The strategy, default `least_busy`.
    pub strategy: Strategy,
    /// Bound on waiting tasks.
    pub max_queue: Option<u32>,
}

/// A checked pool, if `index` is a pool.
#[salsa::tracked(returns(ref))]
pub fn pool(db: &dyn Db, file: SourceFile, index: u32) -> Option<PoolDecl> {
    let Some(ItemKind::Pool(block)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return None;
    };
    let owner = ItemRef { file, index };
    let props = props::index(db, owner, &block.properties, props::POOL, "a pool");
    let v = Values { db, file, owner };
    let mut members = Vec::new();
    match props.get("members") {
        None => missing(
            db,
            owner,
            block,
            "members",
            "list its agents: `members: [a, b]`",
        ),
        Some(p) => match &p.value.kind {
            ExprKind::List(items) => {
                for e in items {
                    let ExprKind::Path(path) = &e.kind else {
                        v.ill_typed("members", "a list of agent names", e, None);
                        continue;
                    };
                    match crate::check::scope::resolve_path(db, file, path) {
                        crate::check::scope::Resolved::Item(def, n)
                            if n == path.segments.len() && def.kind == DefKind::Agent =>
                        {
                            if members.contains(&def.item) {
                                report(
                                    db,
                                    Diagnostic::twice(
                                        format!("`{}`", path.text()),
                                        "listed",
                                        owner.loc(e.span),
                                        None,
                                    ),
                                );
                            }
                            members.push(def.item);
                        }
                        crate::check::scope::Resolved::Item(def, n) if n == path.segments.len() => {
                            report(
                                db,
                                Diagnostic::new(
                                    Code::InvalidPoolMember,
                                    owner.loc(e.span),
                                    format!(
                                        "pool member `{}` is {}, not an agent",
                                        path.text(),
                                        def.kind.a_word()
                                    ),
                                    "not an agent",
                                )
                                .with_help("pools group agents; routes can target pools directly"),
                            )
                        }
                        _ => {
                            let names = scope(db, file);
                            let candidates: Vec<&str> = names.names_of(&[DefKind::Agent]).collect();
                            report(
                                db,
                                Diagnostic::new(
                                    Code::InvalidPoolMember,
                                    owner.loc(e.span),
                                    format!(
                                        "pool member `{}` is not a declared agent",
                                        path.text()
                                    ),
                                    "unknown agent",
                                )
                                .with_did_you_mean(&path.text(), candidates),
                            );
                        }
                    }
                }
            }
            _ => v.ill_typed("members", "a list of agent names", &p.value, None),
        },
    }
    let strategy = props
        .get("strategy")
        .and_then(|p| strategy(db, file, owner, p, Ty::Json))
        .unwrap_or(Strategy::LeastBusy);
    let max_queue = props
        .get("max_queue")
        .and_then(|p| v.int("max_queue", &p.value, 1))
        .map(clamp_u32);
    if strategy == Strategy::Weighted && members.len() > 1 {
        let weights: Vec<u32> = members
            .iter()
            .filter_map(|m| self::agent(db, m.file, m.index).as_ref().map(|a| a.weight))
            .collect();
        if weights.windows(2).all(|w| w[0] == w[1]) {
            report(
                db,
                Diagnostic::new(
                    Code::EqualWeights,
                    owner.loc(
                        props
                            .get("strategy")
                            .map_or(block.name.span, |p| p.value.span),
                    ),
                    format!(
                        "pool `{}` is weighted, but all its members weigh {}",
                        block.name.text,
                        weights.first().copied().unwrap_or(1)
                    ),
                    "equal weights make this round robin",
                )
                .with_help("give members different `weight`s, or use `strategy: round_robin`"),
            );
        }
    }
    Some(PoolDecl {
        name: block.name.text.clone(),
        members,
        strategy,
        max_queue,
    })
}
