//! One workflow: its properties, each step's call, arguments and options, its output, and the
//! dependency graph of its steps.

use super::decls::{Resources, Signature, callee_signature, resources};
use super::expr::{ExprCx, Local, LocalKind, Locals, SharedLocals};
use super::props::{self, Values};
use super::scope::{DefKind, ItemRef, Resolved, resolve_path, scope, unknown_name};
use super::types::Ty;
use crate::codes::Code;
use crate::db::{Db, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::item;
use crate::syntax::Span;
use crate::syntax::ast::{Call, ExprId, ExprKind, ItemKind, Step, StepBody, TopicOp, Workflow};
use hive_plan::{Backoff, Consensus, Priority};
use rustc_hash::FxHashMap;

/// A step after checking.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CheckedStep {
    /// Its name.
    pub name: String,
    /// The capability or workflow it calls, if that resolved.
    pub callee: Option<(DefKind, ItemRef)>,
    /// The type of its value.
    pub ty: Ty,
    /// Steps it depends on: index, and the place that creates the edge.
    pub deps: Vec<(usize, Span)>,
    /// `retry`
    pub retry: u32,
    /// `timeout` per attempt, ms.
    pub timeout_ms: Option<u64>,
    /// Delay between attempts.
    pub backoff: Backoff,
    /// `priority`, if the step overrides the workflow's.
    pub priority: Option<Priority>,
    /// `consensus`
    pub consensus: Option<Consensus>,
    /// `replicas`
    pub replicas: u32,
    /// `resources` demand.
    pub resources: Resources,
    /// `on` override.
    pub on: Option<(DefKind, ItemRef)>,
    /// The span of the `on` option's value.
    pub on_span: Option<Span>,
    /// `on: [a, b]`: the targets of a multicast.
    pub multicast: Vec<super::broadcast::Listed>,
    /// `broadcast: true`: the task goes to every member of the target.
    pub broadcast: bool,
    /// Whether it maps over a list, and the list's length when known.
    pub map: Option<Option<u64>>,
    /// `concurrency` of a map.
    pub concurrency: Option<u32>,
    /// The span of the call, for routing diagnostics.
    pub call_span: Span,
    /// The span of the `resources` option.
    pub resources_span: Option<Span>,
    /// The span of the `replicas` option.
    pub replicas_span: Option<Span>,
    /// For `publish` and `receive` steps: which, and the topic when it resolved.
    pub topic: Option<(TopicOp, Option<ItemRef>)>,
}

/// A workflow after checking.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CheckedWorkflow {
    /// Its name.
    pub name: String,
    /// Steps in source order.
    pub steps: Vec<CheckedStep>,
    /// `timeout`, ms.
    pub timeout_ms: Option<u64>,
    /// `budget.tokens`
    pub budget_tokens: Option<u64>,
    /// `priority`
    pub priority: Option<Priority>,
    /// Whether its step graph has a cycle (bounds are then not computed).
    pub cyclic: bool,
    /// Reads of state cells in its expressions (`state.notes`), with their places.
    pub state_reads: Vec<(String, Span)>,
    /// The type of every expression the check inferred (step arguments and options, `for`
    /// lists, the output and everything inside them): what lowering and hover read.
    pub types: ExprTypes,
    /// See [`CheckedWorkflow::order`].
    order: Option<Vec<usize>>,
}

/// The types the checker inferred for the expressions of one item, by [`ExprId`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExprTypes(Vec<Option<Ty>>);

impl ExprTypes {
    /// A table with room for `len` expressions, numbered from 0: recording one of them
    /// never grows it.
    pub fn with_len(len: u32) -> ExprTypes {
        ExprTypes(vec![None; len as usize])
    }

    /// The type inferred for expression `id`, if it was inferred.
    pub fn get(&self, id: ExprId) -> Option<&Ty> {
        self.0.get(id.0 as usize)?.as_ref()
    }

    /// Records `ty` for `id`, unless a type is recorded for it already: an expression
    /// inferred twice keeps its first type.
    pub fn record(&mut self, id: ExprId, ty: &Ty) {
        let i = id.0 as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, None);
        }
        if self.0[i].is_none() {
            self.0[i] = Some(ty.clone());
        }
    }

    /// How many expressions have a type.
    pub fn len(&self) -> usize {
        self.0.iter().flatten().count()
    }

    /// Whether no expression has a type.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CheckedWorkflow {
    /// Step indices with every step after its dependencies, ties in source order; `None` if
    /// the steps form a cycle.
    pub fn order(&self) -> Option<&[usize]> {
        self.order.as_deref()
    }
}

/// [`CheckedWorkflow::order`] of `steps`, computed once: bounds, races and lowering read it.
fn step_order(steps: &[CheckedStep]) -> Option<Vec<usize>> {
    let edges: Vec<(usize, usize, ())> = steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.deps.iter().map(move |(d, _)| (*d, i, ())))
        .collect();
    super::graph::stable_topo_order(steps.len(), &edges)
}

/// Checks workflow `index` of `file`, recording the type of every expression it infers.
/// Reads only this workflow's tree and the signatures it uses, so editing another workflow
/// does not re-run it.
#[salsa::tracked(returns(ref))]
pub fn check_workflow(db: &dyn Db, file: SourceFile, index: u32) -> CheckedWorkflow {
    walk(db, file, index)
}

#[cfg(test)]
thread_local! {
    /// How many times this thread checked a workflow's body: the test that hover and
    /// lowering read the table instead of checking again counts them.
    pub(crate) static WALKS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn walk(db: &dyn Db, file: SourceFile, index: u32) -> CheckedWorkflow {
    #[cfg(test)]
    WALKS.with(|w| w.set(w.get() + 1));
    let Some((it, ItemKind::Workflow(wf))) = item(db, file, index).as_ref().map(|i| (i, &i.kind))
    else {
        return CheckedWorkflow::default();
    };
    let owner = ItemRef { file, index };
    let sig = super::decls::workflow_signature(db, file, index).clone();
    let mut out = CheckedWorkflow {
        name: wf.name.text.clone(),
        ..CheckedWorkflow::default()
    };
    out.steps.reserve_exact(wf.steps.len());
    let mut types = Some(ExprTypes::with_len(it.exprs));
    workflow_properties(db, file, owner, wf, &mut out);

    // Every step's type comes from its callee alone, so all are known before any expression
    // is checked and steps may refer to each other in any order.
    let mut locals: FxHashMap<String, Local> =
        FxHashMap::with_capacity_and_hasher(wf.steps.len() + wf.params.len(), Default::default());
    if let Some(sig) = &sig {
        for p in &sig.params {
            locals.insert(
                p.name.clone(),
                Local {
                    ty: p.ty.clone(),
                    kind: LocalKind::Param,
                },
            );
        }
    }
    let mut callees = Vec::with_capacity(wf.steps.len());
    let mut known = Callees::default();
    let mut first_of: FxHashMap<&str, &Step> =
        FxHashMap::with_capacity_and_hasher(wf.steps.len(), Default::default());
    for (index, step) in wf.steps.iter().enumerate() {
        let first = *first_of.entry(&step.name.text).or_insert(step);
        if !std::ptr::eq(first, step) {
            report(
                db,
                Diagnostic::new(
                    Code::DuplicateName,
                    owner.loc(step.name.span),
                    format!("step `{}` is declared more than once", step.name.text),
                    "declared again here",
                )
                .with_label(owner.loc(first.name.span), "first declared here")
                .with_help("give each step its own name"),
            );
        }
        if locals
            .get(&step.name.text)
            .is_some_and(|l| l.kind == LocalKind::Param)
        {
            report(
                db,
                Diagnostic::new(
                    Code::DuplicateName,
                    owner.loc(step.name.span),
                    format!("step `{}` has the name of a parameter", step.name.text),
                    "step declared here",
                )
                .with_help("rename the step; a name refers to one thing in a workflow"),
            );
        }
        let (callee, topic) = match step.body.topic() {
            Some((op, call)) => (
                None,
                Some((op, super::topics::step_topic(db, file, owner, call))),
            ),
            None => (known.resolve(db, file, owner, step.body.call()), None),
        };
        let sig = callee.and_then(|(k, r)| known.signature(db, k, r));
        let mut ty = match topic {
            Some((op, t)) => super::topics::step_type(db, op, t),
            None => sig.map_or(Ty::Error, |s| s.ret.clone()),
        };
        if matches!(step.body, StepBody::For { .. }) {
            ty = Ty::List(Box::new(ty));
        } else if matches!(callee, Some((DefKind::Capability, _)))
            && super::broadcast::declared(db, file, step)
        {
            ty = Ty::Map(Box::new(ty));
        }
        if step.options.iter().any(|o| o.name.text == "when") {
            ty = ty.optional();
        }
        locals.entry(step.name.text.clone()).or_insert(Local {
            ty: ty.clone(),
            kind: LocalKind::Step(index),
        });
        callees.push((callee, topic, sig, ty));
    }
    let step_index: FxHashMap<&str, usize> = wf
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.text.as_str(), i))
        .rev()
        .collect();

    // Shared by every step's context: a copy for each step would cost the square of a long
    // workflow.
    let locals = SharedLocals::new(locals);
    for (step, (callee, topic, sig, ty)) in wf.steps.iter().zip(callees) {
        let mut cx = ExprCx::new(db, file, owner);
        cx.locals = Locals::shared(locals.clone());
        cx.types = types.take();
        let mut checked = match topic {
            Some((op, t)) => {
                super::topics::check_wait(&cx, step, op, out.timeout_ms);
                check_topic_step(&mut cx, step, (op, t), ty, &step_index)
            }
            None => check_step(&mut cx, step, callee, sig, ty, &step_index),
        };
        checked.topic = topic;
        types = cx.types.take();
        out.state_reads.append(&mut cx.state_refs);
        out.steps.push(checked);
    }

    match wf.outputs.as_slice() {
        [] => report(
            db,
            Diagnostic::new(
                Code::MissingOutput,
                owner.loc(wf.header),
                format!("workflow `{}` has no `output`", wf.name.text),
                "declared here",
            )
            .with_help("end the workflow with `output expr`, the value it returns"),
        ),
        [output, rest @ ..] => {
            for extra in rest {
                report(
                    db,
                    Diagnostic::new(
                        Code::MissingOutput,
                        owner.loc(extra.span),
                        format!("workflow `{}` has more than one `output`", wf.name.text),
                        "second output",
                    )
                    .with_label(owner.loc(output.span), "first output")
                    .with_help("keep one `output`; build a record to return several values"),
                );
            }
            let mut cx = ExprCx::new(db, file, owner);
            cx.locals = Locals::shared(locals.clone());
            cx.types = types.take();
            let found = cx.infer(output);
            types = cx.types.take();
            out.state_reads.append(&mut cx.state_refs);
            if let Some(sig) = &sig
                && !super::types::assignable(db, &found, &sig.ret)
            {
                let optional =
                    matches!(&found, Ty::Optional(t) if super::types::assignable(db, t, &sig.ret));
                report(
                    db,
                    Diagnostic::new(
                        Code::OutputTypeMismatch,
                        owner.loc(output.span),
                        format!(
                            "workflow `{}` returns `{}`, but its output is `{found}`",
                            wf.name.text, sig.ret
                        ),
                        format!("this is `{found}`"),
                    )
                    .with_label(owner.loc(wf.ret.span), "return type declared here")
                    .with_help_opt(
                        optional.then(|| {
                            "the output may be `none`: give a default with `??`".to_string()
                        }),
                    ),
                );
            }
        }
    }
    out.cyclic = super::graph::step_cycles(db, owner, wf, &out.steps);
    out.order = step_order(&out.steps);
    out.types = types.unwrap_or_default();
    out
}

fn workflow_properties(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    wf: &Workflow,
    out: &mut CheckedWorkflow,
) {
    let props = props::index(db, owner, &wf.properties, props::WORKFLOW, "a workflow");
    let v = Values { db, file, owner };
    if let Some(p) = props.get("priority") {
        out.priority = v
            .word("priority", &p.value, props::PRIORITIES)
            .and_then(|w| Priority::parse(&w));
    }
    if let Some(p) = props.get("timeout") {
        out.timeout_ms = v.duration("timeout", &p.value);
    }
    if let Some(p) = props.get("budget") {
        for (_, value) in v.record("budget", &p.value, &["tokens"]) {
            out.budget_tokens = v.int("budget.tokens", value, 1).map(|t| t as u64);
        }
    }
}

/// The callees of a workflow's steps resolved so far, with their signatures: steps calling
/// the same callee resolve it once. A name that does not resolve is not kept, so that every
/// step naming it reports it.
#[derive(Default)]
struct Callees<'db> {
    by_name: FxHashMap<String, (DefKind, ItemRef)>,
    /// The callee's name being looked up: a step's call allocates nothing once its callee
    /// is known.
    name: String,
    signatures: FxHashMap<ItemRef, Option<&'db Signature>>,
}

impl<'db> Callees<'db> {
    /// [`resolve_callee`], marking the callee used the first time.
    fn resolve(
        &mut self,
        db: &dyn Db,
        file: SourceFile,
        owner: ItemRef,
        call: &Call,
    ) -> Option<(DefKind, ItemRef)> {
        call.callee.write_text(&mut self.name);
        if let Some(found) = self.by_name.get(self.name.as_str()) {
            return Some(*found);
        }
        let found = resolve_callee(db, file, owner, call)?;
        super::unused::mark_used(db, found.1);
        self.by_name.insert(self.name.clone(), found);
        Some(found)
    }

    /// The signature of callee `r` of kind `kind`.
    fn signature(&mut self, db: &'db dyn Db, kind: DefKind, r: ItemRef) -> Option<&'db Signature> {
        *self
            .signatures
            .entry(r)
            .or_insert_with(|| callee_signature(db, r, kind))
    }
}

/// Resolves the callee of a step: a capability or a workflow.
fn resolve_callee(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    call: &Call,
) -> Option<(DefKind, ItemRef)> {
    let path = &call.callee;
    match resolve_path(db, file, path) {
        Resolved::Item(def, used)
            if used == path.segments.len()
                && matches!(def.kind, DefKind::Capability | DefKind::Workflow) =>
        {
            Some((def.kind, def.item))
        }
        Resolved::Item(def, _) if def.kind == DefKind::Module && def.module.is_none() => None,
        Resolved::Item(def, used) if used == path.segments.len() => {
            report(
                db,
                Diagnostic::new(
                    Code::NotCallable,
                    owner.loc(path.span),
                    format!(
                        "`{}` is {}, not a capability or workflow",
                        path.text(),
                        def.kind.a_word()
                    ),
                    "a step calls a capability or a workflow",
                ),
            );
            None
        }
        _ => {
            let text = path.text();
            if hive_plan::Function::written(&text).is_some() {
                report(
                    db,
                    Diagnostic::new(
                        Code::NotCallable,
                        owner.loc(path.span),
                        format!("`{text}` is a pure function, not a capability or workflow"),
                        "a step calls a capability or a workflow",
                    )
                    .with_help("use pure functions inside arguments or the output"),
                );
                return None;
            }
            unknown_name(
                db,
                owner.loc(path.span),
                &text,
                "capability or workflow",
                scope(db, file).suggestible(&[DefKind::Capability, DefKind::Workflow]),
            );
            None
        }
    }
}

/// A `publish` or `receive` step: its topic call and the options that apply to it.
fn check_topic_step(
    cx: &mut ExprCx,
    step: &Step,
    (op, topic): (TopicOp, Option<ItemRef>),
    ty: Ty,
    step_index: &FxHashMap<&str, usize>,
) -> CheckedStep {
    let db = cx.db;
    let call = step.body.call();
    super::topics::check_topic_call(cx, op, call, topic);
    let block = format!("a `{}` step", op.word());
    let props = props::index(
        db,
        cx.owner,
        &step.options,
        super::topics::TOPIC_STEP,
        &block,
    );
    let v = Values {
        db,
        file: cx.file,
        owner: cx.owner,
    };
    let mut checked = blank_step(step, None, ty.clone(), None, call.callee.span);
    for (key, only) in [
        ("timeout", TopicOp::Receive),
        ("fallback", TopicOp::Receive),
        ("key", TopicOp::Publish),
    ] {
        if let Some(p) = props.get(key).filter(|_| op != only) {
            v.out_of_range(
                key,
                &format!("applies only to `{}` steps", only.word()),
                p.name.span,
                None,
            );
        }
    }
    if let Some(p) = props.get("timeout") {
        checked.timeout_ms = v.duration("timeout", &p.value);
    }
    if let Some(p) = props.get("fallback") {
        cx.check(&p.value, &ty.unwrap_optional().clone(), "`fallback`");
    }
    if let Some(p) = props.get("when") {
        cx.check(&p.value, &Ty::Bool, "`when`");
    }
    if let Some(p) = props.get("key") {
        cx.check(&p.value, &Ty::Str, "`key`");
    }
    if let Some(p) = props.get("after") {
        after(cx, &v, p, step_index, &mut checked);
    }
    take_step_refs(cx, &mut checked);
    checked
}

/// A checked step with the defaults of every option.
fn blank_step(
    step: &Step,
    callee: Option<(DefKind, ItemRef)>,
    ty: Ty,
    map: Option<Option<u64>>,
    call_span: Span,
) -> CheckedStep {
    CheckedStep {
        name: step.name.text.clone(),
        callee,
        ty,
        deps: Vec::new(),
        retry: 0,
        timeout_ms: None,
        backoff: Backoff::None,
        priority: None,
        consensus: None,
        replicas: 1,
        resources: Resources::default(),
        on: None,
        on_span: None,
        multicast: Vec::new(),
        broadcast: false,
        map,
        concurrency: None,
        call_span,
        resources_span: None,
        replicas_span: None,
        topic: None,
    }
}

fn check_step(
    cx: &mut ExprCx,
    step: &Step,
    callee: Option<(DefKind, ItemRef)>,
    sig: Option<&Signature>,
    ty: Ty,
    step_index: &FxHashMap<&str, usize>,
) -> CheckedStep {
    let db = cx.db;
    let owner = cx.owner;
    let call = step.body.call();
    let mut map = None;
    if let StepBody::For { var, iter, .. } = &step.body {
        let list_ty = cx.infer(iter);
        let elem = match &list_ty {
            Ty::List(e) => (**e).clone(),
            Ty::Json | Ty::Error => list_ty.clone(),
            other => {
                cx.expect(
                    iter.span,
                    other,
                    &Ty::List(Box::new(Ty::Json)),
                    "`for … in`",
                );
                Ty::Error
            }
        };
        map = Some(match &iter.kind {
            ExprKind::List(items) => Some(items.len() as u64),
            _ => match super::consts::eval(db, cx.file, iter) {
                Some(super::consts::Const::List(items)) => Some(items.len() as u64),
                _ => None,
            },
        });
        cx.locals.insert(
            var.text.clone(),
            Local {
                ty: elem,
                kind: LocalKind::LoopVar,
            },
        );
    }
    check_arguments(cx, call, sig);
    if let Some((_, r)) = callee
        && r.file.is_std(db)
        && sig.is_some_and(|s| s.name == "std.shell")
    {
        super::shell::check_command(cx, call);
    }

    let props = props::index(db, owner, &step.options, props::STEP, "a step");
    let v = Values {
        db,
        file: cx.file,
        owner,
    };
    let mut checked = blank_step(step, callee, ty.clone(), map, call.callee.span);
    if let Some(p) = props.get("retry") {
        checked.retry = v
            .int("retry", &p.value, 0)
            .map_or(0, |r| u32::try_from(r).unwrap_or(u32::MAX));
    }
    if let Some(p) = props.get("timeout") {
        checked.timeout_ms = v.duration("timeout", &p.value);
    }
    if let Some(p) = props.get("backoff") {
        checked.backoff = super::backoff::backoff(&v, &p.value);
    }
    if let Some(p) = props.get("priority") {
        checked.priority = v
            .word("priority", &p.value, props::PRIORITIES)
            .and_then(|w| Priority::parse(&w));
    }
    if let Some(p) = props.get("on") {
        checked.on_span = Some(p.value.span);
        checked.on = match &p.value.kind {
            ExprKind::Path(path) => super::scope::expect_item(
                db,
                cx.file,
                owner,
                path,
                &[DefKind::Agent, DefKind::Pool],
                "agent or pool",
            )
            .map(|d| (d.kind, d.item)),
            ExprKind::List(items) => {
                checked.multicast = super::broadcast::multicast(cx, &v, &p.value, items);
                None
            }
            _ => {
                v.ill_typed(
                    "on",
                    "an agent or pool name, or a list of them",
                    &p.value,
                    None,
                );
                None
            }
        };
    }
    super::broadcast::check_options(&v, &props, step, &mut checked);
    if let Some(p) = props.get("after") {
        after(cx, &v, p, step_index, &mut checked);
    }
    if let Some(p) = props.get("when") {
        cx.check(&p.value, &Ty::Bool, "`when`");
    }
    if let Some(p) = props.get("fallback") {
        // The call's return type: on a map, the fallback stands in for one element; on a
        // broadcast, for the whole map.
        let mut ret = sig.map_or(Ty::Error, |s| s.ret.clone());
        if checked.broadcast && checked.map.is_none() {
            ret = Ty::Map(Box::new(ret));
        }
        cx.check(&p.value, &ret, "`fallback`");
    }
    if let Some(p) = props.get("replicas") {
        checked.replicas = v
            .int("replicas", &p.value, 1)
            .map_or(1, |r| u32::try_from(r).unwrap_or(u32::MAX));
        checked.replicas_span = Some(p.value.span);
    }
    if let Some(p) = props.get("consensus") {
        match &p.value.kind {
            ExprKind::Call(c) if c.callee.text() == "quorum" => {
                let n = c.args.first().and_then(|a| v.int("quorum", &a.value, 1));
                if c.args.len() != 1 {
                    v.ill_typed("consensus", "`quorum(n)` with one count", &p.value, None);
                }
                if let Some(n) = n
                    && props.contains_key("replicas")
                    && n as u64 > u64::from(checked.replicas)
                {
                    v.out_of_range(
                        "quorum",
                        &format!(
                            "of {n} cannot be reached with {} replicas",
                            checked.replicas
                        ),
                        p.value.span,
                        Some(format!("raise `replicas` to {n} or lower the quorum")),
                    );
                }
                checked.consensus = n.and_then(|n| u32::try_from(n).ok()).map(Consensus::Quorum);
            }
            _ => {
                checked.consensus = v
                    .word(
                        "consensus",
                        &p.value,
                        &["majority", "unanimous", "first", "quorum"],
                    )
                    .and_then(|w| match w.as_str() {
                        "majority" => Some(Consensus::Majority),
                        "unanimous" => Some(Consensus::Unanimous),
                        "first" => Some(Consensus::First),
                        _ => None,
                    });
            }
        }
        if !props.contains_key("replicas") {
            v.out_of_range(
                "consensus",
                "needs `replicas` of 2 or more",
                p.name.span,
                Some("add `replicas: 3` so there are answers to agree on".into()),
            );
        }
    }
    if let Some(p) = props.get("resources") {
        checked.resources = resources(&v, p);
        checked.resources_span = Some(p.value.span);
    }
    if let Some(p) = props.get("concurrency") {
        if checked.map.is_none() {
            v.out_of_range(
                "concurrency",
                "applies only to `for` steps",
                p.name.span,
                Some("limit an agent's parallelism with its own `concurrency`".into()),
            );
        }
        checked.concurrency = v
            .int("concurrency", &p.value, 1)
            .map(|c| u32::try_from(c).unwrap_or(u32::MAX));
    }
    if let Some(p) = props.get("key") {
        cx.check(&p.value, &Ty::Str, "`key`");
    }
    take_step_refs(cx, &mut checked);
    checked
}

/// The data dependencies of a step: every step its expressions name, after its `after:`
/// ones; moved, not copied, when it has none of those.
fn take_step_refs(cx: &mut ExprCx, checked: &mut CheckedStep) {
    if checked.deps.is_empty() {
        checked.deps = std::mem::take(&mut cx.step_refs);
    } else {
        checked.deps.append(&mut cx.step_refs);
    }
}

/// `after: [steps]`: edges to the named steps.
fn after(
    cx: &ExprCx,
    v: &Values,
    p: &crate::syntax::ast::Property,
    step_index: &FxHashMap<&str, usize>,
    checked: &mut CheckedStep,
) {
    let (db, owner) = (cx.db, cx.owner);
    match &p.value.kind {
        ExprKind::List(items) => {
            for e in items {
                match &e.kind {
                    ExprKind::Path(path) if path.segments.len() == 1 => {
                        let name = &path.segments[0].text;
                        match step_index.get(name.as_str()) {
                            Some(i) => checked.deps.push((*i, e.span)),
                            None => {
                                report(
                                    db,
                                    Diagnostic::new(
                                        Code::UnknownName,
                                        owner.loc(e.span),
                                        format!("unknown step `{name}`"),
                                        "no step of this name",
                                    )
                                    .with_did_you_mean(name, step_index.keys().copied()),
                                );
                            }
                        }
                    }
                    _ => v.ill_typed("after", "a list of step names", e, None),
                }
            }
        }
        _ => v.ill_typed("after", "a list of step names", &p.value, None),
    }
}

/// Named arguments against the callee's parameters: unknown, missing, repeated, ill-typed.
fn check_arguments(cx: &mut ExprCx, call: &Call, sig: Option<&Signature>) {
    let db = cx.db;
    let owner = cx.owner;
    let Some(sig) = sig else {
        for a in &call.args {
            cx.infer(&a.value);
        }
        return;
    };
    let mut given: Vec<&str> = Vec::new();
    for a in &call.args {
        let Some(name) = &a.name else {
            cx.infer(&a.value);
            let hint = sig.params.get(given.len()).map(|p| p.name.clone());
            report(
                db,
                Diagnostic::new(
                    Code::PositionalArgument,
                    owner.loc(a.span),
                    format!("arguments to `{}` must be named", sig.name),
                    "unnamed argument",
                )
                .with_help_opt(hint.map(|h| format!("write `{h}: …`"))),
            );
            continue;
        };
        if given.contains(&name.text.as_str()) {
            report(
                db,
                Diagnostic::twice(
                    format!("argument `{}`", name.text),
                    "given",
                    owner.loc(name.span),
                    None,
                ),
            );
        }
        given.push(&name.text);
        match sig.params.iter().find(|p| p.name == name.text) {
            Some(p) => {
                cx.check(
                    &a.value,
                    &p.ty,
                    format_args!("argument `{}` of `{}`", p.name, sig.name),
                );
            }
            None => {
                cx.infer(&a.value);
                let params = sig
                    .params
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                report(
                    db,
                    Diagnostic::new(
                        Code::UnknownArgument,
                        owner.loc(name.span),
                        format!("`{}` has no parameter `{}`", sig.name, name.text),
                        "unknown argument",
                    )
                    .with_did_you_mean(&name.text, sig.params.iter().map(|p| p.name.as_str()))
                    .or_help(format!("its parameters are: {params}")),
                );
            }
        }
    }
    let missing: Vec<&str> = sig
        .params
        .iter()
        .filter(|p| !p.has_default && !p.ty.is_optional() && !given.contains(&p.name.as_str()))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let example = missing
            .iter()
            .map(|m| format!("{m}: …"))
            .collect::<Vec<_>>()
            .join(", ");
        report(
            db,
            Diagnostic::new(
                Code::MissingArgument,
                owner.loc(call.span),
                format!("`{}` is missing {list}", sig.name),
                format!("missing {list}"),
            )
            .with_help(format!("add {example}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::syntax::ast::Expr;
    use crate::workspace::{FileSource, ReadError, load};
    use std::path::{Path, PathBuf};

    /// One file in memory.
    struct One(&'static str);

    impl FileSource for One {
        fn read(&self, _: &Path) -> Result<Vec<u8>, ReadError> {
            Ok(self.0.as_bytes().to_vec())
        }
        fn list(&self, _: &Path) -> Result<Vec<PathBuf>, String> {
            Ok(Vec::new())
        }
        fn is_dir(&self, _: &Path) -> bool {
            false
        }
    }

    const SRC: &str = "capability c(x: int, d: duration, note: string) -> int\n\
        agent a { provides: [c], simulate: { latency: 1ms } }\n\
        workflow w(n: int, xs: list<int>) -> int {\n  \
          step s = c(x: n * 2, d: 2s * 1.5, note: \"took ${3s} for ${-n}\")\n  \
          step m = for x in xs { c(x: [x, s][0], d: 1s, note: to_string({ k: x })) } with { when: n > 0 }\n  \
          output s + len(xs)\n\
        }\n";

    /// Every expression inside `e`, `e` included.
    fn all<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        out.push(e);
        e.for_each_child(&mut |c| all(c, out));
    }

    /// The check records a type for every expression it infers, and hover and lowering read
    /// that table: after checking, neither checks the workflow again.
    #[test]
    fn one_walk_types_every_expression_for_hover_and_lowering() {
        WALKS.with(|w| w.set(0));
        let loaded = load(&One(SRC), &[PathBuf::from("w.hive")], None);
        let (db, file) = (&loaded.db, loaded.roots[0]);
        let errors: Vec<String> = crate::queries::workspace_diagnostics(db, loaded.workspace)
            .into_iter()
            .filter(|d| d.severity() == Severity::Error)
            .map(|d| d.message)
            .collect();
        assert_eq!(errors, Vec::<String>::new());
        assert_eq!(WALKS.with(|w| w.get()), 1);

        let index = 2;
        let checked = check_workflow(db, file, index);
        let Some(ItemKind::Workflow(wf)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
            panic!("item 2 is the workflow");
        };
        let mut inferred = Vec::new();
        for step in &wf.steps {
            if let StepBody::For { iter, .. } = &step.body {
                all(iter, &mut inferred);
            }
            for a in &step.body.call().args {
                all(&a.value, &mut inferred);
            }
            for o in step.options.iter().filter(|o| o.name.text == "when") {
                all(&o.value, &mut inferred);
            }
        }
        wf.outputs.iter().for_each(|o| all(o, &mut inferred));
        let untyped: Vec<Span> = inferred
            .iter()
            .filter(|e| checked.types.get(e.id).is_none())
            .map(|e| e.span)
            .collect();
        assert_eq!(untyped, []);
        assert_eq!(checked.types.len(), inferred.len());
        let item_start = crate::queries::parse(db, file).offsets[index as usize] as usize;
        let type_of = |text: &str| {
            let e = inferred
                .iter()
                .find(|e| &SRC[item_start..][e.span.start as usize..e.span.end as usize] == text)
                .unwrap_or_else(|| panic!("no expression `{text}`"));
            checked.types.get(e.id).map(|t| t.to_string())
        };
        assert_eq!(type_of("n * 2").as_deref(), Some("int"));
        assert_eq!(type_of("2s * 1.5").as_deref(), Some("duration"));
        assert_eq!(type_of("3s").as_deref(), Some("duration"));
        assert_eq!(type_of("[x, s]").as_deref(), Some("list<int>"));
        assert_eq!(type_of("n > 0").as_deref(), Some("bool"));

        let at = SRC.find("* 1.5").expect("in the source") as u32;
        let (span, text) = crate::ide::hover::hover(db, file, at).expect("a hover");
        assert_eq!(&SRC[span.start as usize..span.end as usize], "2s * 1.5");
        assert!(text.contains("2s * 1.5: duration"), "{text}");
        let plan = crate::lower::plan(db, file);
        let json = serde_json::to_string(plan).expect("a plan serializes");
        // The duration times a float is rounded to whole milliseconds: lowering read its type.
        assert!(json.contains("round"), "{json}");
        assert_eq!(WALKS.with(|w| w.get()), 1, "checked the workflow again");
    }
}
