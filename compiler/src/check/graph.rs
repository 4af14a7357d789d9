//! Every dependency graph of the language — steps, workflow calls, imports — and their cycles.
//!
//! One generic routine finds cycles with petgraph's `tarjan_scc` and returns each as the
//! ordered list of its edges, each edge carrying the place that creates it; callers turn that
//! into a diagnostic with names, never node indices.

use super::scope::{DefKind, ItemRef, decl_name, decl_span};
use super::workflow::{CheckedStep, check_workflow};
use crate::codes::Code;
use crate::db::{Db, ImportTarget, Loc, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::parse;
use crate::syntax::ast::{ItemKind, Workflow};
use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

/// Cycles of a graph given as `edges` between nodes `0..n`, each cycle as its edges in order,
/// starting from its lowest node. Deterministic.
pub fn cycles<E: Clone>(n: usize, edges: &[(usize, usize, E)]) -> Vec<Vec<(usize, usize, E)>> {
    // Edges that all lead to lower nodes (steps using only steps written above them, the
    // common case) close no cycle.
    if edges.iter().all(|(a, b, _)| b < a) {
        return Vec::new();
    }
    let mut g: DiGraph<usize, usize> = DiGraph::with_capacity(n, edges.len());
    let nodes: Vec<NodeIndex> = (0..n).map(|i| g.add_node(i)).collect();
    for (k, (a, b, _)) in edges.iter().enumerate() {
        g.add_edge(nodes[*a], nodes[*b], k);
    }
    // Each node's outgoing edges (in the order given) and component: scanning every edge for
    // each component would cost the square of a long chain of steps.
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, (a, _, _)) in edges.iter().enumerate() {
        outgoing[*a].push(k);
    }
    let mut out = Vec::new();
    let mut sccs = tarjan_scc(&g);
    for scc in &mut sccs {
        scc.sort();
    }
    sccs.sort();
    let mut component = vec![usize::MAX; n];
    for (c, scc) in sccs.iter().enumerate() {
        for i in scc {
            component[g[*i]] = c;
        }
    }
    for (c, scc) in sccs.iter().enumerate() {
        let start = g[scc[0]];
        if scc.len() == 1 {
            if let Some(k) = outgoing[start].iter().find(|k| edges[**k].1 == start) {
                out.push(vec![edges[*k].clone()]);
            }
            continue;
        }
        // Shortest way around: breadth-first from `start` back to it, inside the component.
        let mut prev: BTreeMap<usize, usize> = BTreeMap::new(); // node -> edge that reached it
        let mut queue = VecDeque::from([start]);
        let mut closing = None;
        while let Some(at) = queue.pop_front() {
            for &k in &outgoing[at] {
                let b = edges[k].1;
                if component[b] != c {
                    continue;
                }
                if b == start {
                    closing = Some(k);
                    break;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(b) {
                    e.insert(k);
                    queue.push_back(b);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        let Some(mut k) = closing else { continue };
        let mut cycle = vec![edges[k].clone()];
        while edges[k].0 != start {
            k = prev[&edges[k].0];
            cycle.push(edges[k].clone());
        }
        cycle.reverse();
        out.push(cycle);
    }
    out
}

/// The nodes `0..n` in an order where every edge goes forward, `None` if there is a cycle;
/// among nodes ready at the same time the lowest comes first, so an order written by a person
/// is kept wherever the edges allow it.
pub fn stable_topo_order<E>(n: usize, edges: &[(usize, usize, E)]) -> Option<Vec<usize>> {
    let mut g: DiGraph<usize, ()> = DiGraph::with_capacity(n, edges.len());
    let nodes: Vec<NodeIndex> = (0..n).map(|i| g.add_node(i)).collect();
    for (a, b, _) in edges {
        g.update_edge(nodes[*a], nodes[*b], ());
    }
    let mut waiting: Vec<usize> = nodes
        .iter()
        .map(|v| g.neighbors_directed(*v, Direction::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|i| waiting[*i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for next in g.neighbors_directed(nodes[i], Direction::Outgoing) {
            let j = g[next];
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push(Reverse(j));
            }
        }
    }
    (order.len() == n).then_some(order)
}

/// Reports cycles among a workflow's steps; returns whether there was one.
pub fn step_cycles(db: &dyn Db, owner: ItemRef, wf: &Workflow, steps: &[CheckedStep]) -> bool {
    let mut edges = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        for (dep, span) in &s.deps {
            // Edge from the user to the used: "i needs dep", placed where i mentions dep.
            edges.push((i, *dep, *span));
        }
    }
    let found = cycles(steps.len(), &edges);
    for cycle in &found {
        let names: Vec<&str> = cycle
            .iter()
            .map(|(a, _, _)| wf.steps[*a].name.text.as_str())
            .collect();
        let mut path = names.join(" → ");
        path.push_str(&format!(" → {}", names[0]));
        let (first_from, first_to, first_span) = cycle[0];
        let mut d = Diagnostic::new(
            Code::StepCycle,
            owner.loc(first_span),
            format!("steps depend on each other in a cycle: {path}"),
            format!(
                "`{}` needs `{}` here",
                steps[first_from].name, steps[first_to].name
            ),
        );
        for (a, b, span) in &cycle[1..] {
            d = d.with_label(
                owner.loc(*span),
                format!("`{}` needs `{}` here", steps[*a].name, steps[*b].name),
            );
        }
        d = d.with_help(
            "a workflow is a DAG: remove one of these uses, or move the work into one step",
        );
        report(db, d);
    }
    !found.is_empty()
}

/// Files reachable from `file` through imports, `file` first (the standard library included).
#[salsa::tracked(returns(ref))]
pub fn file_closure(db: &dyn Db, file: SourceFile) -> Vec<SourceFile> {
    let mut seen = vec![file];
    let mut i = 0;
    while i < seen.len() {
        for t in seen[i].imports(db).clone() {
            if let ImportTarget::File(f) = t
                && !seen.contains(&f)
            {
                seen.push(f);
            }
        }
        i += 1;
    }
    seen
}

/// Reports an import cycle through `file`, once, at the file of the cycle that sorts first.
#[salsa::tracked]
pub fn import_cycles(db: &dyn Db, file: SourceFile) {
    let files = file_closure(db, file).clone();
    let mut edges = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let parsed = parse(db, *f);
        let mut position = 0;
        for (index, it) in parsed.items.iter().enumerate() {
            let ItemKind::Import(import) = &it.kind else {
                continue;
            };
            if let Some(ImportTarget::File(t)) = f.imports(db).get(position)
                && let Some(j) = files.iter().position(|g| g == t)
            {
                edges.push((i, j, Loc::item(*f, index as u32, import.path_span)));
            }
            position += 1;
        }
    }
    for cycle in cycles(files.len(), &edges) {
        if !cycle.iter().any(|(a, _, _)| files[*a] == file) {
            continue;
        }
        // Report once: from the file whose path sorts first.
        let first = cycle.iter().map(|(a, _, _)| files[*a].path(db)).min();
        if first != Some(file.path(db)) {
            continue;
        }
        let start = cycle
            .iter()
            .position(|(a, _, _)| files[*a] == file)
            .unwrap_or(0);
        let ordered: Vec<_> = cycle[start..]
            .iter()
            .chain(&cycle[..start])
            .cloned()
            .collect();
        let name = |i: usize| file_name(db, files[i]);
        let mut path: Vec<String> = ordered.iter().map(|(a, _, _)| name(*a)).collect();
        path.push(name(ordered[0].0));
        let (_, b0, at0) = ordered[0];
        let mut d = Diagnostic::new(
            Code::ImportCycle,
            at0,
            format!("files import each other in a cycle: {}", path.join(" → ")),
            format!("imports `{}`", name(b0)),
        );
        for (_, b, at) in &ordered[1..] {
            d = d.with_label(*at, format!("imports `{}`", name(*b)));
        }
        report(
            db,
            d.with_help("move what both files need into a third file that imports neither"),
        );
    }
}

fn file_name(db: &dyn Db, f: SourceFile) -> String {
    f.path(db).file_name().map_or_else(
        || f.path(db).display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Reports recursion among workflows (a workflow calling itself through steps), once per
/// cycle, in the file of the cycle's first workflow.
#[salsa::tracked]
pub fn workflow_recursion(db: &dyn Db, file: SourceFile) {
    let mut nodes: Vec<ItemRef> = Vec::new();
    for f in file_closure(db, file) {
        for index in super::decls::decls(db, *f).workflows.keys() {
            nodes.push(ItemRef {
                file: *f,
                index: *index,
            });
        }
    }
    let mut edges = Vec::new();
    for (i, wf) in nodes.iter().enumerate() {
        let checked = check_workflow(db, wf.file, wf.index);
        for s in &checked.steps {
            if let Some((DefKind::Workflow, target)) = s.callee
                && let Some(j) = nodes.iter().position(|n| *n == target)
            {
                edges.push((i, j, wf.loc(s.call_span)));
            }
        }
    }
    for cycle in cycles(nodes.len(), &edges) {
        let (a0, b0, at0) = cycle[0];
        if nodes[a0].file != file {
            continue;
        }
        let name = |i: usize| decl_name(db, nodes[i]);
        let mut path: Vec<String> = cycle.iter().map(|(a, _, _)| name(*a)).collect();
        path.push(name(a0));
        let message = if cycle.len() == 1 {
            format!("workflow `{}` calls itself", name(a0))
        } else {
            format!("workflows call each other in a cycle: {}", path.join(" → "))
        };
        let mut d = Diagnostic::new(
            Code::WorkflowRecursion,
            at0,
            message,
            format!("`{}` calls `{}` here", name(a0), name(b0)),
        )
        .with_label(nodes[a0].loc(decl_span(db, nodes[a0])), "declared here");
        for (a, b, at) in &cycle[1..] {
            d = d.with_label(*at, format!("`{}` calls `{}` here", name(*a), name(*b)));
        }
        report(db, d.with_help("workflows cannot recurse: a run's graph must be finite; use a `for` step over a list instead"));
    }
}
