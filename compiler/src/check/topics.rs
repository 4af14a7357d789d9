//! Topics: `topic` items (message type, retention, dedupe window), the topics agents
//! subscribe to, and the `publish` and `receive` steps of workflows.

use super::expr::{ExprCx, Local, LocalKind};
use super::props::{self, PropSpec, Values};
use super::scope::{DefKind, ItemRef};
use super::types::{Ty, assignable, resolve_type};
use crate::codes::Code;
use crate::db::{Db, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::item;
use crate::syntax::Span;
use crate::syntax::ast::{
    Call, Expr, ExprKind, ItemKeyword, ItemKind, Name, Property, Step, TopicOp,
};

/// Properties of `topic` items.
pub const TOPIC: &[PropSpec] = &[
    PropSpec {
        name: "retain",
        doc: "how long a message stays for `receive` steps that start later (default: the whole run)",
    },
    PropSpec {
        name: "dedupe",
        doc: "a message whose `key` was published within this window is dropped (default: no dedupe)",
    },
];

/// Options of `publish` and `receive` steps.
pub const TOPIC_STEP: &[PropSpec] = &[
    PropSpec {
        name: "timeout",
        doc: "for `receive`: how long to wait for a matching message",
    },
    PropSpec {
        name: "fallback",
        doc: "for `receive`: the value when no message came within the timeout",
    },
    PropSpec {
        name: "after",
        doc: "steps that must finish first, without using their values",
    },
    PropSpec {
        name: "when",
        doc: "condition; when false the step is skipped and its value is `none`",
    },
    PropSpec {
        name: "key",
        doc: "for `publish`: the message's key, dropped when repeated within the topic's `dedupe`",
    },
];

/// A `topic` item after checking.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopicDecl {
    /// Its name.
    pub name: String,
    /// The type of its messages.
    pub ty: Ty,
    /// `retain`, ms.
    pub retain_ms: Option<u64>,
    /// `dedupe`, ms.
    pub dedupe_ms: Option<u64>,
}

/// The `topic` item `index` of `file`.
#[salsa::tracked(returns(ref))]
pub fn topic_decl(db: &dyn Db, file: SourceFile, index: u32) -> Option<TopicDecl> {
    let it = item(db, file, index).as_ref()?;
    let ItemKind::Topic(t) = &it.kind else {
        return None;
    };
    let owner = ItemRef { file, index };
    let ty = resolve_type(db, file, owner, &t.ty);
    let props = props::index(db, owner, &t.properties, TOPIC, "a topic");
    let v = Values { db, file, owner };
    Some(TopicDecl {
        name: t.name.text.clone(),
        ty,
        retain_ms: props
            .get("retain")
            .and_then(|p| v.duration("retain", &p.value)),
        dedupe_ms: props
            .get("dedupe")
            .and_then(|p| v.duration("dedupe", &p.value)),
    })
}

/// A topic's declaration by its item.
pub fn topic(db: &dyn Db, r: ItemRef) -> Option<&TopicDecl> {
    topic_decl(db, r.file, r.index).as_ref()
}

/// The topic `name` names, or an `unknown-topic` diagnostic with the closest topic as its fix.
pub fn resolve_topic(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    name: &Name,
) -> Option<ItemRef> {
    let kind = (DefKind::Topic, Code::UnknownTopic, "topic");
    super::scope::resolve_named(db, file, owner, name, kind)
}

/// The topic a `publish` or `receive` step names, if it resolves.
pub fn step_topic(db: &dyn Db, file: SourceFile, owner: ItemRef, call: &Call) -> Option<ItemRef> {
    match call.callee.segments.as_slice() {
        [name] => resolve_topic(db, file, owner, name),
        _ => {
            let joined = Name {
                text: call.callee.text(),
                span: call.callee.span,
            };
            resolve_topic(db, file, owner, &joined)
        }
    }
}

/// The type of a topic step's value: the message id for `publish`, the message for `receive`.
pub fn step_type(db: &dyn Db, op: TopicOp, topic: Option<ItemRef>) -> Ty {
    match op {
        TopicOp::Publish => Ty::Str,
        TopicOp::Receive => topic
            .and_then(|r| self::topic(db, r))
            .map_or(Ty::Error, |t| t.ty.clone()),
    }
}

/// The topics an agent's `subscribes: [..]` names.
pub fn subscribes(db: &dyn Db, file: SourceFile, owner: ItemRef, p: &Property) -> Vec<ItemRef> {
    let v = Values { db, file, owner };
    let ExprKind::List(items) = &p.value.kind else {
        v.ill_typed("subscribes", "a list of topic names", &p.value, None);
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in items {
        match &e.kind {
            ExprKind::Path(path) if path.segments.len() == 1 => {
                if let Some(r) = resolve_topic(db, file, owner, &path.segments[0]) {
                    // A listener is started by the run: it is used as soon as it listens.
                    super::unused::mark_used(db, owner);
                    out.push(r);
                }
            }
            _ => v.ill_typed("subscribes", "a list of topic names", e, None),
        }
    }
    out
}

/// Checks the arguments of a `publish` step (one value of the topic's type) or a `receive`
/// step (an optional `where:` predicate on `it`, the message).
pub fn check_topic_call(cx: &mut ExprCx, op: TopicOp, call: &Call, topic: Option<ItemRef>) {
    let db = cx.db;
    let owner = cx.owner;
    let decl = topic.and_then(|r| self::topic(db, r)).cloned();
    let ty = decl.as_ref().map_or(Ty::Error, |d| d.ty.clone());
    let name = call.callee.text();
    match op {
        TopicOp::Publish => {
            let mut values = call.args.iter();
            let Some(first) = values.next() else {
                arguments(
                    cx,
                    call.span,
                    &format!("`publish {name}` needs the message"),
                    format!("write `publish {name}(value)`"),
                );
                return;
            };
            if let Some(n) = &first.name {
                arguments(
                    cx,
                    n.span,
                    &format!("the message of `publish {name}` is not named"),
                    format!("write `publish {name}(value)`"),
                );
            }
            for extra in values {
                cx.infer(&extra.value);
                arguments(
                    cx,
                    extra.span,
                    &format!("`publish {name}` takes one message"),
                    "build a record to send several values".to_string(),
                );
            }
            let found = cx.infer(&first.value);
            if !assignable(db, &found, &ty) {
                let mut d = Diagnostic::new(
                    Code::TopicTypeMismatch,
                    owner.loc(first.value.span),
                    format!("topic `{name}` carries `{ty}`, but this message is `{found}`"),
                    format!("this is `{found}`"),
                )
                .with_help(format!("publish a value of type `{ty}`"));
                if let Some(r) = topic {
                    d = d.with_label(
                        super::state::cell_loc(db, r),
                        format!("`{ty}` declared here"),
                    );
                }
                report(db, d);
            }
        }
        TopicOp::Receive => {
            let mut seen = false;
            for a in &call.args {
                match &a.name {
                    Some(n) if n.text == "where" && !seen => {
                        seen = true;
                        predicate(cx, &a.value, &ty);
                    }
                    _ => {
                        cx.infer(&a.value);
                        arguments(
                            cx,
                            a.span,
                            &format!("`receive {name}` takes only `where:`"),
                            "filter the messages with `where: it.field == value`".to_string(),
                        );
                    }
                }
            }
        }
    }
}

/// `where: pred`, with `it` bound to the message.
fn predicate(cx: &mut ExprCx, e: &Expr, message: &Ty) {
    let shadowed = cx.locals.get("it").cloned();
    cx.locals.insert(
        "it".to_string(),
        Local {
            ty: message.clone(),
            kind: LocalKind::LoopVar,
        },
    );
    let found = cx.infer(e);
    match shadowed {
        Some(l) => cx.locals.insert("it".to_string(), l),
        None => cx.locals.remove("it"),
    }
    if !assignable(cx.db, &found, &Ty::Bool) {
        report(
            cx.db,
            Diagnostic::new(
                Code::PredicateNotBool,
                cx.owner.loc(e.span),
                format!("`where` must be a `bool`, found `{found}`"),
                format!("this is `{found}`"),
            )
            .with_help("compare the message with a value: `where: it.ticket == ticket.id`"),
        );
    }
}

fn arguments(cx: &ExprCx, span: Span, message: &str, help: String) {
    report(
        cx.db,
        Diagnostic::new(
            Code::TopicArguments,
            cx.owner.loc(span),
            message.to_string(),
            "here",
        )
        .with_help(help),
    );
}

/// A `receive` without a `timeout` in a workflow without one waits for ever.
pub fn check_wait(cx: &ExprCx, step: &Step, op: TopicOp, workflow_timeout: Option<u64>) {
    if op != TopicOp::Receive
        || workflow_timeout.is_some()
        || step.options.iter().any(|o| o.name.text == "timeout")
    {
        return;
    }
    let call = step.body.call();
    let at = match step.options.is_empty() {
        true => Some(Span::new(step.span.end, step.span.end)),
        false => None,
    };
    let mut d = Diagnostic::new(
        Code::ReceiveWithoutTimeout,
        cx.owner.loc(call.span),
        format!("`receive {}` may wait for ever", call.callee.text()),
        "no `timeout`",
    )
    .with_help("add `with { timeout: 1h, fallback: … }`, or a `timeout` to the workflow");
    if let Some(at) = at {
        d = d.with_fix(cx.owner.loc(at), " with { timeout: 1h }");
    }
    report(cx.db, d);
}

/// Checks every topic item of `file`.
#[salsa::tracked]
pub fn check_topics(db: &dyn Db, file: SourceFile) {
    let heads = crate::queries::item_heads(db, file);
    for (index, (keyword, _)) in heads.iter().enumerate() {
        if *keyword == ItemKeyword::Topic {
            topic_decl(db, file, index as u32);
        }
    }
}
