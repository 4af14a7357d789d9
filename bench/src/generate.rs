//! Large, realistic `.hive` inputs that check clean: many types, capabilities, agents, pools,
//! routes and workflows with steps of every kind.

use std::fmt::Write;

/// One stage: a record, an enum, three capabilities, two agents, a weighted pool, a route and
/// a workflow of `steps` steps (a map, a chain of scoring steps with options, a merge). Every
/// item is used, so the stage checks without warnings. `sub` names an earlier stage whose
/// workflow this one calls.
pub fn stage(out: &mut String, k: usize, steps: usize, sub: Option<usize>) {
    let _ = write!(
        out,
        r#"/// A document as stage {k} sees it.
type Doc{k} {{
  id: string
  body: string
  /// Filled in by scoring.
  score: int = 0
  tags: list<string> = []
}}

enum Level{k} {{ low, mid, high }}

/// Fetches one document.
capability fetch{k}(id: string) -> Doc{k}
/// Scores a document at a level.
capability score{k}(doc: Doc{k}, level: Level{k}, hint: string = "") -> int
/// Merges documents into one.
capability merge{k}(docs: list<Doc{k}>, total: int) -> Doc{k}

agent worker{k} {{
  provides: [fetch{k}, score{k}, merge{k}]
  exec: "python3 agents/worker.py --stage {k}"
  replicas: 2
  concurrency: 4
  resources: {{ cpu: 2, memory: 4gb, tokens: 20_000 }}
  simulate: {{ latency: 200ms, jitter: 50ms, failure_rate: 0.01 }}
}}

agent helper{k} {{
  provides: [score{k}]
  exec: "python3 agents/helper.py --stage {k}"
  weight: 3
  concurrency: 2
}}

pool scorers{k} {{ members: [worker{k}, helper{k}], strategy: weighted, max_queue: 100 }}

route score{k} -> scorers{k} {{ strategy: least_busy }}

/// Stage {k}: fetch, score in a chain, merge.
workflow flow{k}(ids: list<string>, level: Level{k} = Level{k}.mid) -> Doc{k} {{
  priority: high
  timeout: 2h
  budget: {{ tokens: 1_000_000 }}

  step docs = for id in ids {{ fetch{k}(id: id) }} with {{
    timeout: 30s, retry: 2, backoff: exponential(1s, max: 10s), concurrency: 8
  }}
"#
    );
    let chain = steps.saturating_sub(2).max(1);
    for i in 0..chain {
        // Steps with `when` are optional: later steps read them through `??`.
        let prev = |i: usize| {
            if i % 3 == 1 {
                format!("(s{i} ?? 0)")
            } else {
                format!("s{i}")
            }
        };
        let (doc, hint) = if i == 0 {
            ("docs[0]".to_string(), "\"first\"".to_string())
        } else {
            (
                format!(
                    "Doc{k} {{ id: \"${{docs[0].id}}-{i}\", body: docs[0].body, score: {} }}",
                    prev(i - 1)
                ),
                format!("\"after ${{to_string({})}}\"", prev(i - 1)),
            )
        };
        let options = match i % 3 {
            0 => "timeout: 10s, retry: 1, backoff: fixed(2s)".to_string(),
            1 => format!("timeout: 15s, when: s{} > 3 || len(ids) > 10", i - 1),
            _ => "timeout: 20s, priority: urgent, resources: { tokens: 1_000 }".to_string(),
        };
        let _ = writeln!(
            out,
            "  step s{i} = score{k}(doc: {doc}, level: level, hint: {hint}) with {{ {options} }}"
        );
    }
    let mut total = String::from("0");
    for i in 0..chain {
        let _ = write!(
            total,
            " + {}",
            if i % 3 == 1 {
                format!("(s{i} ?? 0)")
            } else {
                format!("s{i}")
            }
        );
    }
    let _ = writeln!(
        out,
        "  step merged = merge{k}(docs: docs, total: {total}) with {{ timeout: 1m, resources: {{ tokens: 5_000 }} }}"
    );
    if let Some(j) = sub {
        let _ = writeln!(
            out,
            "  step earlier = flow{j}(ids: [merged.id], level: Level{j}.high)"
        );
        let _ = writeln!(
            out,
            "  output Doc{k} {{ id: \"merged-${{merged.id}}-${{earlier.id}}\", body: merged.body, score: merged.score + earlier.score }}"
        );
    } else {
        let _ = writeln!(
            out,
            "  output Doc{k} {{ id: \"merged-${{merged.id}}\", body: upper(merged.body), score: merged.score, tags: [\"stage-{k}\"] }}"
        );
    }
    out.push_str("}\n\n");
}

/// A single file of about `lines` lines: stages of 20 steps, every tenth calling the stage
/// before it (so sub-workflows nest, but shallowly, as in real files).
pub fn single_file(lines: usize) -> String {
    let mut out = String::from("// Generated benchmark input: one large file.\n\n");
    let mut k = 0;
    while out.lines().count() < lines {
        let sub = (k % 10 == 9).then(|| k - 1);
        stage(&mut out, k, 20, sub);
        k += 1;
    }
    out
}

/// A workspace of `files` files, each of `stages_per_file` stages, all importing one shared
/// library (as projects do) whose workflow each file calls once.
pub fn workspace(files: usize, stages_per_file: usize) -> Vec<(String, String)> {
    let mut shared = String::from("// Shared library of the generated workspace.\n\n");
    stage(&mut shared, 0, 8, None);
    let mut out = vec![("shared.hive".to_string(), shared)];
    for f in 0..files {
        let mut text = String::from("import \"shared.hive\" as shared\n\n");
        for s in 0..stages_per_file {
            let k = 1 + f * stages_per_file + s;
            stage(&mut text, k, 12, None);
        }
        let first = 1 + f * stages_per_file;
        let _ = write!(
            text,
            "workflow main(ids: list<string>) -> string {{\n  step local = flow{first}(ids: ids)\n  step common = shared.flow0(ids: ids)\n  output \"${{local.id}} ${{common.id}}\"\n}}\n"
        );
        out.push((format!("f{f:04}.hive"), text));
    }
    out
}
