//! `hivec fmt`: fixtures `tests/fmt/*.hive` and their canonical layout, side by side in a
//! snapshot; formatting is idempotent; every example is kept formatted.

use hive_compiler::format::format;
use hive_tests::{hive_files, repo};
use std::path::Path;

fn formatted(path: &Path) -> String {
    let source = std::fs::read_to_string(path).unwrap_or_default();
    format(&source).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn fixtures_format_to_their_snapshots_and_stay_put() {
    let fixtures = hive_files(&repo().join("tests/fmt"));
    assert!(fixtures.len() >= 3);
    for path in fixtures {
        let out = formatted(&path);
        assert_eq!(
            format(&out).unwrap_or_else(|e| panic!("{}: again: {e}", path.display())),
            out,
            "{}: formatting twice changes the result",
            path.display()
        );
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("fixture");
        insta::with_settings!({
            snapshot_path => "snapshots/fmt",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, format!("{source}\n---- hivec fmt ----\n{out}"));
        });
    }
}

#[test]
fn every_example_is_formatted() {
    let mut files = hive_files(&repo().join("examples"));
    files.extend(hive_files(&repo().join("examples/lib")));
    files.extend(hive_files(&repo().join("tests/errors")));
    files.extend(hive_files(&repo().join("stdlib")));
    let mut unformatted = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        match format(&source) {
            Ok(out) if out != source => unformatted.push(path.display().to_string()),
            // Fixtures of syntax errors cannot be formatted, by design.
            Ok(_) | Err(hive_compiler::format::FormatError::Syntax(_)) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    assert!(
        unformatted.is_empty(),
        "not formatted (run `hivec fmt examples stdlib`): {unformatted:?}"
    );
}

#[test]
fn a_file_with_a_syntax_error_is_refused() {
    assert!(matches!(
        format("agent a { exec: \"x\"\nworkflow"),
        Err(hive_compiler::format::FormatError::Syntax(_))
    ));
}
