//! Every example checks clean; every error fixture (in `tests/errors/`) reports what its name
//! says, rendered; every diagnostic code has a fixture.

use hive_compiler::codes::Code;
use hive_tests::{check, hive_files, render_check, repo};
use std::path::{Path, PathBuf};

#[test]
fn every_example_checks_clean() {
    let examples = hive_files(&repo().join("examples"));
    assert!(examples.len() >= 8, "expected at least eight examples");
    for path in examples {
        let (db, diagnostics) = check(std::slice::from_ref(&path));
        let rendered: String = diagnostics
            .iter()
            .map(|d| {
                hive_compiler::render::human(&db, d, hive_compiler::render::Style { color: false })
            })
            .collect();
        assert!(
            diagnostics.is_empty(),
            "{} is not clean:\n{rendered}",
            path.display()
        );
    }
}

/// The error fixtures: every `.hive` file of `tests/errors/`, and the importing file of the
/// import cycle.
fn fixtures() -> Vec<PathBuf> {
    let mut fixtures = hive_files(&repo().join("tests/errors"));
    fixtures.push(repo().join("tests/errors/import-cycle/a.hive"));
    fixtures
}

/// A fixture's snapshot name: its path under `tests/`, `/` replaced by `__`.
fn snapshot_name(path: &Path) -> String {
    path.strip_prefix(repo().join("tests"))
        .unwrap_or(path)
        .display()
        .to_string()
        .replace('/', "__")
}

#[test]
fn error_fixtures_render() {
    for path in fixtures() {
        let rendered = render_check(&path);
        assert!(!rendered.is_empty(), "{} reports nothing", path.display());
        // A fixture named after a diagnostic must report that diagnostic.
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if let Some(code) = Code::lookup(&stem) {
            assert!(
                rendered.contains(&format!("{}/{}", code.code(), code.name())),
                "{} does not report {}:\n{rendered}",
                path.display(),
                code.code()
            );
        }
        // Lossy, so that the fixture of a file that is not UTF-8 shows what it holds.
        let source =
            String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
        // The source and what `hivec check` prints for it, side by side in one file.
        let shown = format!("{source}\n---- hivec check ----\n{rendered}");
        insta::with_settings!({
            snapshot_path => "snapshots/errors",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(snapshot_name(&path), shown);
        });
    }
}

/// The codes no file of the repository can show (a file too large to hold, one that cannot
/// be read, more diagnostics than are shown), each with the snapshot of `robustness.rs` that
/// renders it.
const SHOWN_BY_ROBUSTNESS: &[(Code, &str)] = &[
    (Code::FileTooLarge, "robustness__file_too_large.snap"),
    (Code::UnreadableFile, "robustness__unreadable_file.snap"),
    (
        Code::TooManyErrors,
        "robustness__more_errors_than_shown.snap",
    ),
    (
        Code::TooManyWarnings,
        "robustness__more_warnings_than_shown.snap",
    ),
];

/// Every code of the registry is reported by an error fixture (whose rendered output the
/// test above snapshots) or, for what no file can hold, shown in its robustness snapshot.
/// The fixtures are checked here, not their snapshot files, so a fixture removed with a
/// snapshot left behind does not count.
#[test]
fn every_code_has_a_fixture_with_a_rendered_snapshot() {
    let rendered: String = fixtures().iter().map(|p| render_check(p)).collect();
    let mut missing = Vec::new();
    for code in Code::ALL {
        let shown = format!("[{}/{}]", code.code(), code.name());
        let found = match SHOWN_BY_ROBUSTNESS.iter().find(|(c, _)| c == code) {
            Some((_, snap)) => {
                std::fs::read_to_string(repo().join("tests/tests/snapshots").join(snap))
                    .unwrap_or_default()
                    .contains(&shown)
            }
            None => rendered.contains(&shown),
        };
        if !found {
            missing.push(shown);
        }
    }
    assert!(
        missing.is_empty(),
        "no error fixture reports {missing:?}: add one to tests/errors/ named after it"
    );
}

/// Every snapshot of `snapshots/errors/` belongs to a fixture that still exists.
#[test]
fn every_error_snapshot_has_its_fixture() {
    let names: Vec<String> = fixtures().iter().map(|p| snapshot_name(p)).collect();
    let dir = repo().join("tests/tests/snapshots/errors");
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&dir)
        .expect("snapshot directory")
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file.strip_suffix(".snap") else {
            continue;
        };
        if !names.iter().any(|n| n == name) {
            stale.push(file);
        }
    }
    assert!(stale.is_empty(), "snapshots without a fixture: {stale:?}");
}

#[test]
fn every_code_has_an_explanation() {
    for code in Code::ALL {
        let text = code.explanation();
        assert!(
            text.starts_with(&format!("# {}", code.code())),
            "{} explanation",
            code.code()
        );
    }
}
