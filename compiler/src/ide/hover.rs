//! Hover text: what a name is, its type or signature, its doc comment, and for a step where
//! its tasks go.

use super::navigate::declaration;
use super::symbols::{Occurrence, Symbol, at, item_at};
use crate::check::decls::{pool, route};
use crate::check::routing::{candidates, routing_index};
use crate::check::scope::{DefKind, ItemRef, decl_name};
use crate::check::types::Ty;
use crate::check::workflow::check_workflow;
use crate::db::{Db, SourceFile};
use crate::queries::{item, parse};
use crate::syntax::Span;
use crate::syntax::ast::{Expr, ExprKind, Item, ItemKind};

/// Markdown describing the name at `offset`, and the span it describes.
pub fn hover(db: &dyn Db, file: SourceFile, offset: u32) -> Option<(Span, String)> {
    let Some(occ) = at(db, file, offset) else {
        return expression(db, file, offset);
    };
    let text = match &occ.symbol {
        Symbol::Item(r) => item_text(db, *r),
        Symbol::Member(r, name) => member_text(db, *r, name, &occ),
        Symbol::Step(r, name) => step_text(db, *r, name, &occ),
        Symbol::LoopVar(..) => typed(&source_of(db, file, occ.span), &occ, "loop variable"),
        Symbol::Message(..) => typed("it", &occ, "the message `receive` is matching"),
        Symbol::File(f) => Some(format!("imports `{}`", f.path(db).display())),
    }?;
    Some((occ.span, text))
}

/// The innermost expression at `offset` whose type the checker inferred: `a + b`, a call, a
/// literal, a record. Names are answered by the symbol index instead.
fn expression(db: &dyn Db, file: SourceFile, offset: u32) -> Option<(Span, String)> {
    let (index, base) = item_at(db, file, offset)?;
    let it = item(db, file, index).as_ref()?;
    if !matches!(it.kind, ItemKind::Workflow(_)) {
        return None;
    }
    let types = &check_workflow(db, file, index).types;
    let at = offset - base;
    let contains = |e: &Expr| e.span.start <= at && at < e.span.end;
    // Down from the outermost expression at the cursor, keeping the last one with a type.
    let mut found: Option<(&Expr, &Ty)> = None;
    let mut next: Option<&Expr> = None;
    it.for_each_root(&mut |e| {
        if next.is_none() && contains(e) {
            next = Some(e);
        }
    });
    while let Some(e) = next.take() {
        if let Some(ty) = types.get(e.id) {
            found = Some((e, ty));
        }
        e.for_each_child(&mut |c| {
            if next.is_none() && contains(c) {
                next = Some(c);
            }
        });
    }
    let (e, ty) = found?;
    let span = e.span.shift(base);
    let text = source_of(db, file, span);
    let shown = match text.lines().count() {
        0 | 1 => text,
        _ => format!("{} …", text.lines().next().unwrap_or_default().trim_end()),
    };
    // A call of a built-in function says what the function is, from the one table of them.
    let what = match &e.kind {
        ExprKind::Call(call) if call.callee.segments.len() == 1 => {
            hive_plan::Function::written(&call.callee.segments[0].text)
                .map(|f| format!("built-in function `{}`: {}", f.signature(), f.builtin().doc))
        }
        _ => None,
    };
    Some((
        span,
        format!(
            "{}\n\n{}",
            code(&format!("{shown}: {ty}")),
            what.as_deref().unwrap_or("expression")
        ),
    ))
}

fn source_of(db: &dyn Db, file: SourceFile, span: Span) -> String {
    file.text(db)
        .get(span.start as usize..span.end as usize)
        .unwrap_or_default()
        .to_string()
}

fn code(text: &str) -> String {
    format!("```hive\n{}\n```", text.trim_end())
}

fn with_doc(head: String, doc: Option<&String>) -> String {
    match doc {
        Some(d) => format!("{head}\n\n{d}"),
        None => head,
    }
}

fn typed(name: &str, occ: &Occurrence, what: &str) -> Option<String> {
    let ty = occ.ty.as_ref().map_or("?".to_string(), |t| t.to_string());
    Some(format!("{}\n\n{what}", code(&format!("{name}: {ty}"))))
}

/// The item's text without its doc comment (a workflow's header only; at most 12 lines).
fn item_text(db: &dyn Db, r: ItemRef) -> Option<String> {
    let it: &Item = item(db, r.file, r.index).as_ref()?;
    let base = *parse(db, r.file).offsets.get(r.index as usize)? as usize;
    let full = r.file.text(db).get(base..base + it.span.end as usize)?;
    // Skip the doc lines: the text from the keyword on.
    let start = full.find(it.kind.keyword().as_str()).unwrap_or(0);
    let mut shown = match &it.kind {
        ItemKind::Workflow(wf) => full.get(start..wf.header.end as usize).unwrap_or(full),
        _ => &full[start..],
    }
    .to_string();
    let lines: Vec<&str> = shown.lines().collect();
    if lines.len() > 12 {
        shown = format!("{}\n  …\n}}", lines[..11].join("\n"));
    }
    let mut out = with_doc(code(&shown), it.doc.as_ref());
    if r.file.is_std(db) {
        out.push_str("\n\n*standard library*");
    }
    Some(out)
}

fn member_text(db: &dyn Db, r: ItemRef, name: &str, occ: &Occurrence) -> Option<String> {
    let it = item(db, r.file, r.index).as_ref()?;
    let owner = decl_name(db, r);
    let decl = declaration(db, &Symbol::Member(r, name.to_string()));
    let ty = occ
        .ty
        .clone()
        .or_else(|| {
            let d = decl?;
            super::symbols::at(db, d.file, d.span.start)?.ty
        })
        .map(|t| t.to_string());
    let (fields, what) = match &it.kind {
        ItemKind::Enum(e) => {
            let doc = e.variants.iter().find(|(_, v)| v.text == name);
            let what = format!("value of enum `{owner}`");
            let head = code(&format!("{owner}.{name}"));
            return Some(with_doc(
                format!("{head}\n\n{what}"),
                doc.and_then(|(d, _)| d.as_ref()),
            ));
        }
        ItemKind::Type(t) => (&t.fields, "field of"),
        ItemKind::Capability(c) => (&c.params, "parameter of capability"),
        ItemKind::Workflow(w) => (&w.params, "parameter of workflow"),
        _ => return None,
    };
    let doc = fields
        .iter()
        .find(|f| f.name.text == name)
        .and_then(|f| f.doc.as_ref());
    let head = format!("{name}: {}", ty.unwrap_or_default());
    let what = format!("{what} `{owner}`");
    Some(with_doc(format!("{}\n\n{what}", code(&head)), doc))
}

fn step_text(db: &dyn Db, r: ItemRef, name: &str, occ: &Occurrence) -> Option<String> {
    let ItemKind::Workflow(wf) = &item(db, r.file, r.index).as_ref()?.kind else {
        return None;
    };
    let step = wf.steps.iter().find(|s| s.name.text == name)?;
    let checked = check_workflow(db, r.file, r.index);
    let c = checked.steps.iter().find(|s| s.name == name)?;
    let ty = occ.ty.as_ref().unwrap_or(&c.ty);
    let mut out = format!(
        "{}\n\nstep of workflow `{}`",
        code(&format!("step {name}: {ty}")),
        wf.name.text
    );
    if let Some(doc) = &step.doc {
        out.push_str(&format!("\n\n{doc}"));
    }
    match c.callee {
        Some((DefKind::Workflow, w)) => {
            out.push_str(&format!("\n\ncalls workflow `{}`", decl_name(db, w)));
        }
        Some((DefKind::Capability, cap)) => {
            out.push_str(&format!("\n\ncalls `{}`", decl_name(db, cap)));
            if c.broadcast {
                out.push_str(&crate::check::broadcast::describe(db, r.file, c, cap));
            } else {
                out.push_str(&targets(db, r.file, cap, c.on));
            }
        }
        _ => {}
    }
    Some(out)
}

/// Where tasks of `capability` go: the step's `on`, else the routes, else every provider.
fn targets(
    db: &dyn Db,
    file: SourceFile,
    capability: ItemRef,
    on: Option<(DefKind, ItemRef)>,
) -> String {
    let describe = |kind: DefKind, t: ItemRef, strategy: Option<&str>| -> String {
        match kind {
            DefKind::Pool => {
                let s = strategy
                    .map(str::to_string)
                    .or_else(|| {
                        pool(db, t.file, t.index)
                            .as_ref()
                            .map(|p| p.strategy.name().to_string())
                    })
                    .unwrap_or_default();
                format!("pool `{}` (strategy `{s}`)", decl_name(db, t))
            }
            _ => format!("agent `{}`", decl_name(db, t)),
        }
    };
    if let Some((kind, t)) = on {
        return format!(" on {} (set by `on`)", describe(kind, t, None));
    }
    let mut lines = Vec::new();
    for rr in routing_index(db, file)
        .routes
        .get(&capability)
        .into_iter()
        .flatten()
    {
        if let Some(rd) = route(db, rr.file, rr.index)
            && let Some((kind, t)) = rd.target
        {
            let cond = if rd.conditional {
                " when its condition holds"
            } else {
                ""
            };
            let strategy = rd.strategy.as_ref().map(|s| s.name());
            lines.push(format!("- routed to {}{cond}", describe(kind, t, strategy)));
        }
    }
    if lines.is_empty() {
        let (agents, _) = candidates(db, file, capability);
        let names: Vec<String> = agents
            .iter()
            .map(|a| format!("`{}`", decl_name(db, *a)))
            .collect();
        return if names.is_empty() {
            ", which no agent provides".to_string()
        } else {
            format!(
                " on agent {} (no route: least busy of them)",
                names.join(", ")
            )
        };
    }
    format!("\n\n{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Database;

    const SRC: &str =
        "workflow w(xs: list<string>, n: int) -> int {\n  output len(xs) + n * 2\n}\n";

    fn hover_at(needle: &str) -> (String, String) {
        let db = Database::default();
        let file = SourceFile::new(&db, "w.hive".into(), SRC.into(), vec![], false);
        let offset = SRC.find(needle).expect("needle") as u32;
        let (span, text) = hover(&db, file, offset).expect("a hover");
        (
            SRC[span.start as usize..span.end as usize].to_string(),
            text,
        )
    }

    #[test]
    fn expressions_show_their_type() {
        let (span, text) = hover_at("+ n");
        assert_eq!(span, "len(xs) + n * 2");
        assert!(text.contains("len(xs) + n * 2: int"), "{text}");
        let (span, _) = hover_at("* 2");
        assert_eq!(span, "n * 2");
        let (span, text) = hover_at("len(");
        assert_eq!(span, "len(xs)");
        assert!(text.contains(": int"), "{text}");
        assert!(
            text.contains("built-in function `len(x)`: the characters, elements or entries"),
            "{text}"
        );
        // A name inside is answered by the symbol index: a parameter, not an expression.
        let (span, text) = hover_at("xs)");
        assert_eq!(span, "xs");
        assert!(
            text.contains("xs: list<string>") && text.contains("parameter"),
            "{text}"
        );
    }
}
