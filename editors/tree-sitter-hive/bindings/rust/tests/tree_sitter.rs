//! The committed parser against real files: every example and the standard library parse
//! without an `ERROR` or `MISSING` node, the corpus tests hold, and the queries compile.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use tree_sitter::{Language, Node, Parser, Query, Tree};

fn language() -> Language {
    tree_sitter_hive::LANGUAGE.into()
}

fn parse(text: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&language())
        .expect("ABI of the committed parser");
    parser
        .parse(text, None)
        .expect("no timeout or cancellation is set")
}

/// The repository root, two levels above this crate.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `.hive` files under `dir`, recursively, sorted.
fn hive_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            hive_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "hive") {
            out.push(path);
        }
    }
}

/// Every `ERROR` or `MISSING` node under `node`, as `line:col: what` with the source line.
fn problems(node: Node, text: &str, out: &mut Vec<String>) {
    if node.is_error() || node.is_missing() {
        let at = node.start_position();
        let what = if node.is_missing() {
            format!("missing {}", node.kind())
        } else {
            "ERROR".to_string()
        };
        let line = text.lines().nth(at.row).unwrap_or("");
        out.push(format!(
            "{}:{}: {what}\n    {line}",
            at.row + 1,
            at.column + 1
        ));
        return;
    }
    if !node.has_error() {
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        problems(child, text, out);
    }
}

#[test]
fn every_example_and_the_stdlib_parse_without_errors() {
    let root = root();
    let mut files = Vec::new();
    hive_files(&root.join("examples"), &mut files);
    hive_files(&root.join("stdlib"), &mut files);
    hive_files(&root.join("tests/fmt"), &mut files);
    assert!(files.len() >= 12, "too few files found: {files:?}");

    let mut report = String::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let mut found = Vec::new();
        problems(parse(&text).root_node(), &text, &mut found);
        for p in found {
            let _ = writeln!(
                report,
                "{}:{p}",
                path.strip_prefix(&root).unwrap().display()
            );
        }
    }
    assert!(report.is_empty(), "tree-sitter-hive fails on:\n{report}");
}

/// One test of `test/corpus/*.txt`, in the tree-sitter CLI's format.
struct Case {
    name: String,
    input: String,
    /// The expected tree; `None` for `:error` cases, which only require an error somewhere.
    expected: Option<String>,
}

/// Splits a corpus file: `===` header with the name (and attributes), input, `---`, tree.
fn cases(text: &str) -> Vec<Case> {
    let is_rule = |line: &str, c: char| line.len() >= 3 && line.chars().all(|x| x == c);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_rule(lines[i], '=') {
            i += 1;
            continue;
        }
        let mut header = Vec::new();
        i += 1;
        while i < lines.len() && !is_rule(lines[i], '=') {
            header.push(lines[i].trim());
            i += 1;
        }
        i += 1;
        let start = i;
        while i < lines.len() && !is_rule(lines[i], '-') {
            i += 1;
        }
        let input = lines[start..i].join("\n");
        i += 1;
        let start = i;
        while i < lines.len() && !is_rule(lines[i], '=') {
            i += 1;
        }
        let tree = lines[start..i].join(" ");
        let error = header.contains(&":error");
        out.push(Case {
            name: header.first().copied().unwrap_or("").to_string(),
            input: input.trim().to_string(),
            expected: (!error).then(|| normalize(&tree)),
        });
    }
    out
}

/// One space between tokens and none inside parentheses, as the CLI compares trees.
fn normalize(sexp: &str) -> String {
    let spaced = sexp.split_whitespace().collect::<Vec<_>>().join(" ");
    spaced.replace("( ", "(").replace(" )", ")")
}

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test/corpus");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut ran, mut failures) = (0, String::new());
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for case in cases(&fs::read_to_string(&path).unwrap()) {
            ran += 1;
            let tree = parse(&case.input);
            let root = tree.root_node();
            match &case.expected {
                None if !root.has_error() => {
                    let _ = writeln!(failures, "{file}: {}: expected an error", case.name);
                }
                Some(expected) if normalize(&root.to_sexp()) != *expected => {
                    let _ = writeln!(
                        failures,
                        "{file}: {}\n  expected {expected}\n  actual   {}",
                        case.name,
                        normalize(&root.to_sexp())
                    );
                }
                _ => {}
            }
        }
    }
    assert!(ran >= 50, "only {ran} corpus cases found");
    assert!(failures.is_empty(), "corpus failures:\n{failures}");
}

#[test]
fn queries_compile() {
    for (name, source) in [
        ("highlights", tree_sitter_hive::HIGHLIGHTS_QUERY),
        ("locals", tree_sitter_hive::LOCALS_QUERY),
    ] {
        let query = Query::new(&language(), source).unwrap_or_else(|e| panic!("{name}.scm: {e}"));
        assert!(query.pattern_count() > 0, "{name}.scm has no patterns");
    }
}

#[test]
fn a_broken_item_is_an_error_node() {
    // The check above could pass vacuously if `problems` never saw an error.
    let text = "type Review {\n  score: int\n  approved bool\n}\n";
    let mut found = Vec::new();
    problems(parse(text).root_node(), text, &mut found);
    assert!(!found.is_empty());
    assert!(found[0].starts_with("3:"), "{found:?}");
}
