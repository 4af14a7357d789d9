//! Checker rules that have no fixture of their own: each writes a file and reads what
//! `hivec check` would print.

mod common;

use common::write;
use hive_tests::{plan_of, render_check};

const PROFILE: &str = r#"
capability profile(user: string, region: string) -> string
agent a { provides: [profile], simulate: { latency: 1ms } }
agent b { provides: [profile], simulate: { latency: 1ms } }
"#;

#[test]
fn a_pool_s_hash_key_is_checked_against_each_capability_routed_to_it() {
    let bad = format!(
        "{PROFILE}pool shards {{ members: [a, b], strategy: hash(key: input.usr) }}\nroute profile -> shards\n"
    );
    let out = render_check(&write("pool-hash-bad", &bad));
    assert!(out.contains("`usr`"), "{out}");
    assert!(out.contains("strategy: hash(key: input.usr)"), "{out}");

    let good = bad.replace("input.usr", "input.user");
    let out = render_check(&write("pool-hash-good", &good));
    assert!(!out.contains("Error"), "{out}");

    // A route with its own strategy does not use the pool's key.
    let own = bad.replace(
        "route profile -> shards",
        "route profile -> shards { strategy: round_robin }",
    );
    let out = render_check(&write("pool-hash-overridden", &own));
    assert!(!out.contains("Error"), "{out}");
}

#[test]
fn a_route_to_an_agent_that_lacks_the_capability_says_so() {
    let source = format!("{PROFILE}capability other(x: int) -> int\nroute other -> a\n");
    let out = render_check(&write("route-lacks", &source));
    assert!(out.contains("agent `a` does not provide `other`"), "{out}");
}

/// A capability that a malformed agent or route mentions is reported with that item alone,
/// not again as provided by no agent (E0401), for a call and for a broadcast; a malformed
/// item of another kind, or one that does not mention it, leaves E0401 in place.
#[test]
fn a_capability_of_a_malformed_agent_is_not_reported_as_unprovided_again() {
    let calls = "capability review(x: int) -> int\n\n{broken}\nworkflow main() -> int {\n  step a = review(x: 1)\n  step b = review(x: 2) with { broadcast: true, on: [r] }\n  output a\n}\n";
    for (broken, unprovided) in [
        ("agent r {\n  provides: [review]\n  concurrency: 2\n", false),
        ("pool p {\n  members: [review\n", true),
        ("route review -> r {\n", false),
        ("agent r {\n  provides: [other]\n", true),
        ("type T {\n  review: int\n", true),
    ] {
        let source = calls.replace("{broken}", broken);
        let out = render_check(&write("broken-provider", &source));
        assert!(out.contains("never closed"), "{out}");
        assert_eq!(out.contains("E0401"), unprovided, "{broken}: {out}");
    }
}

/// A `for` over `range` of constants has a known length, so its tokens count once per
/// element against the budget, as the same list written out does.
#[test]
fn a_map_over_a_constant_range_counts_its_tokens_per_element() {
    let source = |list: &str| {
        format!(
            "capability score(n: int) -> int\nagent a {{ provides: [score], simulate: {{ latency: 1ms }} }}\nconst top: int = 10\nworkflow main() -> list<int> {{\n  budget: {{ tokens: 50 }}\n  step xs = for i in {list} {{ score(n: i) }} with {{ timeout: 1s, resources: {{ tokens: 10 }} }}\n  output xs\n}}\n"
        )
    };
    let written: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let written = format!("[{}]", written.join(", "));
    for (tag, list) in [
        ("range-written", written.as_str()),
        ("range-literal", "range(0, 10)"),
        ("range-const", "range(0, top)"),
    ] {
        let out = render_check(&write(tag, &source(list)));
        assert!(
            out.contains("[E0503/budget-exceeded]")
                && out.contains("may use 100 tokens, above its budget of 50"),
            "{list}: {out}"
        );
    }
    // A list known only at run time counts once.
    let out = render_check(&write(
        "range-input",
        &source("range(0, 10)")
            .replace("main()", "main(n: int)")
            .replace("range(0, 10)", "range(0, n)"),
    ));
    assert!(!out.contains("E0503"), "{out}");
}

/// The worst-case time of a map with `concurrency` is that many waves of its tasks.
#[test]
fn a_map_with_concurrency_counts_its_waves() {
    let source = |concurrency: &str| {
        format!(
            "capability score(n: int) -> int\nagent a {{ provides: [score], simulate: {{ latency: 1ms }} }}\nworkflow main() -> list<int> {{\n  step xs = for i in range(0, 10) {{ score(n: i) }} with {{ timeout: 1s, retry: 1{concurrency} }}\n  output xs\n}}\n"
        )
    };
    let worst = |tag: &str, concurrency: &str| {
        plan_of(&write(tag, &source(concurrency))).workflows["main"]
            .bounds
            .worst_case_ms
    };
    // Two attempts of 1 s per wave.
    assert_eq!(worst("waves-3", ", concurrency: 3"), Some(4 * 2_000));
    assert_eq!(worst("waves-10", ", concurrency: 10"), Some(2_000));
    assert_eq!(worst("waves-none", ""), Some(2_000));
}

/// Malformed sources, each with one syntax error whose message lists what was expected.
const MALFORMED: &[&str] = &[
    "workflow main() -> int {\n  output s $\n}\n",
    "workflow main() -> int {\n  step s = f(x: 1 $)\n  output s\n}\n",
    "agent a {\n  provides: [x]\n  workflow main\n}\n",
    "agent a {\n  provides [x]\n}\n",
    "workflow main() -> int {\n  output 1 +\n}\n",
    "workflow quick(code: string) -> {\n  output 1\n}\n",
    "capability f(x: int) int\n",
];

/// "expected …" names each thing once, in words or as a token, never the `|` that only
/// starts an operator, and never the position inside a word after a keyword.
#[test]
fn expected_tokens_are_listed_once_and_in_words() {
    for text in MALFORMED {
        let parsed = hive_compiler::syntax::parse(text);
        let [d] = parsed.diagnostics.as_slice() else {
            panic!(
                "one diagnostic expected for {text:?}: {:?}",
                parsed.diagnostics
            );
        };
        let expected = d
            .message
            .strip_prefix("expected ")
            .and_then(|m| m.split(", found").next())
            .unwrap_or_else(|| panic!("{text:?}: {}", d.message));
        let items: Vec<&str> = expected.split(", ").flat_map(|i| i.split(" or ")).collect();
        let mut unique = items.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), items.len(), "{text:?}: {}", d.message);
        assert!(!items.contains(&"`|`"), "{text:?}: {}", d.message);
        assert!(!d.message.contains("found ` `"), "{text:?}: {}", d.message);
    }
}

/// A reserved word where a name is written gets one message at that word, whatever names
/// it there, with the fix that writes another name; a record key may be a reserved word.
#[test]
fn a_reserved_word_in_a_name_s_place_is_named_with_its_fix() {
    for (text, word) in [
        ("agent for {\n  replicas: 1\n}\n", "for"),
        ("agent a {\n  workflow: 1\n}\n", "workflow"),
        ("type T {\n  in: int\n}\n", "in"),
        ("capability f(step: int) -> int\n", "step"),
        (
            "workflow main() -> int {\n  step as = f(x: 1)\n  output 1\n}\n",
            "as",
        ),
        (
            "workflow main() -> int {\n  step s = for with in xs { f(x: 1) }\n  output 1\n}\n",
            "with",
        ),
        ("workflow main() -> int {\n  output 1 + pool\n}\n", "pool"),
        ("workflow main() -> int {\n  output x.route\n}\n", "route"),
        (
            "workflow main() -> int {\n  step s = f(enum: 1)\n  output s\n}\n",
            "enum",
        ),
    ] {
        let parsed = hive_compiler::syntax::parse(text);
        let [d] = parsed.diagnostics.as_slice() else {
            panic!(
                "one diagnostic expected for {text:?}: {:?}",
                parsed.diagnostics
            );
        };
        assert_eq!(
            d.message,
            format!("`{word}` is a reserved word, not a name"),
            "{text:?}"
        );
        let at = &text[d.at.start as usize..d.at.end as usize];
        assert_eq!(at, word, "{text:?}");
        let fix = d.fix.as_ref().expect("a fix");
        assert_eq!(
            (fix.at, fix.replacement.as_str()),
            (d.at, format!("{word}_").as_str())
        );
    }
    let keys =
        "const c: int = 1\nworkflow main() -> int {\n  output { output: 1, for: 2 }.for\n}\n";
    let parsed = hive_compiler::syntax::parse(keys);
    assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
    assert_eq!(
        parsed.diagnostics[0].message, "`for` is a reserved word, not a name",
        "a key may be a reserved word, a field read by `.` may not"
    );
}

/// `///` after an expression starts the next member's doc comment, not a division: a doc
/// comment on a property or step that follows another property parses.
#[test]
fn a_doc_comment_after_an_expression_documents_the_next_member() {
    let text = "agent a {\n  replicas: 2\n  /// How many at once.\n  concurrency: 3\n}\nworkflow main() -> int {\n  timeout: 5s\n  /// The first.\n  step s = f(x: 1)\n  output s / 2 //// a comment\n}\n";
    let parsed = hive_compiler::syntax::parse(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let printed = format!("{:?}", parsed.items);
    assert!(printed.contains("\"concurrency\""), "{printed}");
    assert!(printed.contains("The first."), "{printed}");
    assert!(
        printed.contains("Div"),
        "`s / 2` is still a division: {printed}"
    );
}

/// A missing closer is reported at the bracket left open, in the item it belongs to, with
/// the edit that adds it; applying that edit leaves a file that parses.
#[test]
fn a_missing_closer_points_at_the_bracket_left_open() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "agent a {\n  provides: [x]\n  simulate: { latency: 1s }\n\nworkflow main() -> int {\n  output 1\n}\n",
            "unclosed `{` in agent `a`",
            "agent a {",
        ),
        (
            "agent a {\n  simulate: { latency: 1s\n}\n",
            "unclosed `{` in agent `a`",
            "  simulate: {",
        ),
        (
            "workflow main() -> int {\n  step s = f(x: 1) with { timeout: 1s\n  output s\n}\n",
            "unclosed `{` in workflow `main`",
            "  step s = f(x: 1) with {",
        ),
        (
            "/// Docs.\nworkflow main() -> int {\n  step s = f(x: 1\n  output s\n}\n",
            "unclosed `(` in workflow `main`",
            "  step s = f(",
        ),
        (
            "type T {\n  a: int\n",
            "unclosed `{` in type `T`",
            "type T {",
        ),
    ];
    for (text, message, open) in cases {
        let parsed = hive_compiler::syntax::parse(text);
        let [d] = parsed.diagnostics.as_slice() else {
            panic!(
                "one diagnostic expected for {text:?}: {:?}",
                parsed.diagnostics
            );
        };
        assert_eq!(d.message, *message, "{text:?}");
        assert_eq!(
            d.at.end as usize,
            open.len() + text.find(open).expect("opener"),
            "{text:?}"
        );
        assert!(
            d.help
                .as_deref()
                .is_some_and(|h| h.starts_with("close it with")),
            "{d:?}"
        );
        let fix = d.fix.as_ref().expect("a fix");
        let mut fixed = text.to_string();
        fixed.replace_range(fix.at.start as usize..fix.at.end as usize, &fix.replacement);
        let again = hive_compiler::syntax::parse(&fixed);
        assert!(
            again.diagnostics.is_empty(),
            "{fixed:?}: {:?}",
            again.diagnostics
        );
    }
}

/// Every "did you mean" is also a fix that writes the name meant over the name written (the
/// diagnostic's place): in each error fixture, and from each kind of place that suggests one.
#[test]
fn every_did_you_mean_is_a_fix_writing_the_name_meant() {
    let base = "capability c(text: string) -> int\ntype R { score: int }\ntopic events: int\nagent alpha { provides: [c], simulate: { latency: 1ms } }\nagent beta { provides: [c], simulate: { latency: 1ms } }\n";
    let main = |body: &str| format!("workflow main(x: int) -> int {{\n{body}\n}}\n");
    let places: Vec<(&str, String)> = vec![
        (
            "item-keyword",
            "workflw main() -> int {\n  output 1\n}\n".into(),
        ),
        (
            "property",
            "agent gamma { provides: [c], concurency: 2 }\n".into(),
        ),
        (
            "record-key",
            "agent gamma { provides: [c], resources: { cpuu: 1 } }\n".into(),
        ),
        ("word", main("  priority: hihg\n  output x")),
        (
            "strategy",
            "pool p { members: [alpha, beta], strategy: round_robbin }\nroute c -> p\n".into(),
        ),
        (
            "pool-member",
            "pool p { members: [alpa, beta] }\nroute c -> p\n".into(),
        ),
        (
            "after",
            main(
                "  step first = c(text: \"a\")\n  step second = c(text: \"b\") with { after: [firt] }\n  output first + second",
            ),
        ),
        ("argument", main("  step s = c(txt: \"a\")\n  output s")),
        ("field", main("  output R { score: x }.scor")),
        ("record-field", main("  output R { scor: x }.score")),
        ("function", main("  output lenn(\"abc\")")),
        ("name", main("  output xx")),
        ("topic", main("  step p = publish evnts(1)\n  output x")),
    ];
    let mut paths: Vec<std::path::PathBuf> = places
        .iter()
        .map(|(tag, text)| write(&format!("fix-{tag}"), &format!("{base}{text}")))
        .collect();
    let suggesting = paths.len();
    paths.extend(hive_tests::hive_files(
        &hive_tests::repo().join("tests/errors"),
    ));
    let mut suggested = std::collections::BTreeSet::new();
    for path in &paths {
        let (db, diagnostics) = hive_tests::check(std::slice::from_ref(path));
        for d in &diagnostics {
            let Some(name) = d
                .help
                .as_deref()
                .and_then(|h| h.strip_prefix("did you mean `"))
                .and_then(|h| h.strip_suffix("`?"))
            else {
                continue;
            };
            let fix = d.fix.as_ref().unwrap_or_else(|| panic!("no fix: {d:?}"));
            assert_eq!(fix.replacement, name, "{d:?}");
            assert_eq!(fix.at, d.at, "{d:?}");
            // The fix replaces the name written, and nothing around it.
            let span = fix.at.absolute(&db);
            let written = &d.at.file.text(&db)[span.start as usize..span.end as usize];
            assert!(
                written != name
                    && !written.is_empty()
                    && written
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'),
                "the fix replaces {written:?}: {d:?}"
            );
            if d.at.file.path(&db) == path {
                suggested.insert(path.clone());
            }
        }
    }
    for path in &paths[..suggesting] {
        assert!(
            suggested.contains(path),
            "no \"did you mean\" in {}",
            path.display()
        );
    }
}
