//! Bad input never panics: deep nesting, non-UTF-8, oversized files, and mutations of every
//! example.

use hive_compiler::codes::Code;
use hive_compiler::diagnostic::Severity;
use hive_compiler::pipeline;
use hive_compiler::syntax::parse;
use hive_compiler::workspace::Disk;
use hive_tests::{check, hive_files, repo};
use proptest::prelude::*;
use std::path::PathBuf;

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

#[test]
fn ten_thousand_deep_nesting_is_a_clear_error() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{ a: ", "}")] {
        let expr = format!("{}1{}", open.repeat(10_000), close.repeat(10_000));
        let src = format!("const x: json = {expr}\n");
        let parsed = parse(&src);
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].code, Code::NestingTooDeep);
    }
    let src = format!("const x: bool = {}true\n", "!".repeat(10_000));
    assert_eq!(parse(&src).diagnostics[0].code, Code::NestingTooDeep);
    let src = format!("const x: int = 1{}\n", " + 1".repeat(10_000));
    assert_eq!(parse(&src).diagnostics[0].code, Code::NestingTooDeep);
    let src = format!("const x: int = 1{}\n", " ?? 1".repeat(10_000));
    assert_eq!(parse(&src).diagnostics[0].code, Code::NestingTooDeep);
    let src = format!("{}\nconst x: int = 1\n", "/*".repeat(10_000));
    assert_eq!(parse(&src).diagnostics[0].code, Code::NestingTooDeep);
    let src = format!(
        "const x: {}int{} = []\n",
        "list<".repeat(10_000),
        ">".repeat(10_000)
    );
    assert_eq!(parse(&src).diagnostics[0].code, Code::NestingTooDeep);
}

/// The parser has no stack probe of its own: the limits must keep the deepest accepted input
/// within a small thread stack (rayon's workers get 2 MiB; this uses half that).
#[test]
fn deepest_accepted_nesting_fits_a_small_stack() {
    let depth = hive_compiler::syntax::limits::MAX_NESTING;
    let mut sources = Vec::new();
    for (open, close) in [
        ("(", ")"),
        ("[", "]"),
        ("{ a: ", "}"),
        ("\"${", "}\""),
        ("f(", ")"),
        ("T { a: ", "}"),
    ] {
        let expr = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        sources.push(format!("const x: json = {expr}\n"));
    }
    sources.push(format!(
        "{}{}\nconst x: int = 1\n",
        "/*".repeat(depth),
        "*/".repeat(depth)
    ));
    sources.push(format!(
        "const x: {}int{} = []\n",
        "list<".repeat(depth - 1),
        ">".repeat(depth - 1)
    ));
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            sources
                .iter()
                .map(|s| {
                    parse(s)
                        .diagnostics
                        .iter()
                        .map(|d| d.code)
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .expect("spawn");
    let codes = handle.join().expect("parse on a 1 MiB stack");
    for c in &codes {
        assert!(!c.contains(&Code::NestingTooDeep), "{codes:?}");
    }
}

#[test]
fn nesting_just_under_the_limit_is_fine() {
    let depth = hive_compiler::syntax::limits::MAX_NESTING - 1;
    let src = format!(
        "const x: int = {}1{}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let (_, diagnostics) = check(&[temp_file("deep.hive", src.as_bytes())]);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
}

#[test]
fn non_utf8_file_is_a_clear_error() {
    let path = temp_file("latin1.hive", b"type A { name: string }\n// caf\xe9\n");
    let (_, diagnostics) = check(&[path]);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, Code::NotUtf8);
    assert!(
        diagnostics[0].message.contains("offset 30"),
        "{}",
        diagnostics[0].message
    );
}

#[test]
fn oversized_file_is_a_clear_error() {
    let big = vec![b'\n'; hive_compiler::syntax::limits::MAX_FILE_BYTES + 1];
    let (_, diagnostics) = check(&[temp_file("big.hive", &big)]);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, Code::FileTooLarge);
    let text = "\n".repeat(hive_compiler::syntax::limits::MAX_FILE_BYTES + 1);
    insta::assert_snapshot!("file_too_large", rendered("big.hive", text).concat());
}

#[test]
fn missing_file_is_an_error_not_a_panic() {
    let (_, diagnostics) = check(&[PathBuf::from("../examples/no-such-file.hive")]);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, Code::UnreadableFile);
    let (db, diagnostics) = check(&[PathBuf::from("../examples/no-such-file.hive")]);
    let mut render =
        hive_compiler::render::Renderer::new(&db, hive_compiler::render::Style { color: false });
    let shown: String = diagnostics.iter().map(|d| render.human(d)).collect();
    insta::assert_snapshot!("unreadable_file", shown);
}

fn example_sources() -> Vec<String> {
    let mut files = hive_files(&repo().join("examples"));
    files.extend(hive_files(&repo().join("tests/errors")));
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Truncations and random byte-level edits of every example go through the whole
    /// pipeline, lowering and formatting included, without a panic.
    #[test]
    fn mutated_examples_never_panic(which in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>(),
                                    edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec!["", "{", "}", "(", ")", "\"", "${", ",", "..", "step", "-", "!", "\n", "é", "//", "/*"])), 0..6)) {
        let sources = example_sources();
        let mut text = sources[which.index(sources.len())].clone();
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) { at -= 1; }
        if edits.is_empty() { text.truncate(at); }
        for (pos, insert) in edits {
            let mut p = pos.index(text.len() + 1);
            while !text.is_char_boundary(p) { p -= 1; }
            let end = (p + 3).min(text.len());
            let mut end = end;
            while !text.is_char_boundary(end) { end -= 1; }
            text.replace_range(p..end, insert);
        }
        // The formatter takes every mutant that parses, and its result is a fixed point.
        match hive_compiler::format::format(&text) {
            Ok(out) => prop_assert_eq!(hive_compiler::format::format(&out).ok(), Some(out)),
            Err(hive_compiler::format::FormatError::Syntax(_)) => {}
            Err(e) => prop_assert!(false, "{e}\n{text}"),
        }
        let path = temp_file(&format!("mutant-{}.hive", std::thread::current().name().unwrap_or("t").replace("::", "_")), text.as_bytes());
        // Mutants that still check clean are lowered too.
        let loaded = pipeline::check(&Disk, &[path], None);
        let diagnostics = loaded.diagnostics();
        if !diagnostics.iter().any(|d| d.severity() == Severity::Error)
            && let Some(root) = loaded.roots.first()
        {
            let _ = hive_compiler::lower::plan(&loaded.db, *root);
        }
    }
}

/// Files held in memory, at the paths the test names.
struct Memory(Vec<(PathBuf, String)>);

impl hive_compiler::workspace::FileSource for Memory {
    fn read(&self, path: &std::path::Path) -> Result<Vec<u8>, hive_compiler::workspace::ReadError> {
        self.0
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, text)| text.clone().into_bytes())
            .ok_or(hive_compiler::workspace::ReadError::NotFound)
    }
    fn list(&self, _: &std::path::Path) -> Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }
    fn is_dir(&self, _: &std::path::Path) -> bool {
        false
    }
}

/// What `hivec check` prints for `text`, as `name`, one string per diagnostic.
fn rendered(name: &str, text: String) -> Vec<String> {
    let loaded = pipeline::check(&Memory(vec![(name.into(), text)]), &[name.into()], None);
    let diagnostics = loaded.diagnostics();
    let mut render = hive_compiler::render::Renderer::new(
        &loaded.db,
        hive_compiler::render::Style { color: false },
    );
    diagnostics.iter().map(|d| render.human(d)).collect()
}

/// Past a hundred diagnostics in a file, one more says how many were left out and where the
/// first of them is: an error when errors were left out, otherwise a warning.
#[test]
fn diagnostics_past_a_hundred_per_file_are_summed_up() {
    let max = hive_compiler::queries::MAX_DIAGNOSTICS_PER_FILE;
    let errors: String = (0..max + 50)
        .map(|i| format!("const c{i}: int = \"a\"\n"))
        .collect();
    let shown = rendered("errors.hive", errors);
    assert_eq!(shown.len(), max + 1);
    insta::assert_snapshot!("more_errors_than_shown", shown[max]);

    let mut warnings: String = (0..max + 20)
        .map(|i| format!("agent a{i} {{ builtin: \"std\", provides: [std.shell] }}\n"))
        .collect();
    warnings.push_str("workflow w() -> int {\n  output 1\n}\n");
    let shown = rendered("warnings.hive", warnings);
    assert_eq!(shown.len(), max + 1);
    insta::assert_snapshot!("more_warnings_than_shown", shown[max]);
}

/// An import path with interpolations is one mistake, reported once however many there are.
#[test]
fn an_interpolated_import_path_is_one_error() {
    let text = format!("import \"{}\"\n", "${a}/".repeat(10_000));
    let parsed = parse(&text);
    assert_eq!(parsed.diagnostics.len(), 1);
    assert_eq!(parsed.diagnostics[0].code, Code::InvalidLiteral);
    assert_eq!(parsed.diagnostics[0].label, "10000 interpolations here");
}
