//! Every example checks clean; every error fixture reports what its name says, rendered.

use hive_compiler::codes::Code;
use hive_tests::{check, hive_files, render_check, repo};

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

#[test]
fn error_fixtures_render() {
    let mut fixtures = hive_files(&repo().join("examples/errors"));
    fixtures.push(repo().join("examples/errors/import-cycle/a.hive"));
    for path in fixtures {
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
        let name = path
            .strip_prefix(repo().join("examples"))
            .unwrap_or(&path)
            .display()
            .to_string();
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
            insta::assert_snapshot!(name.replace('/', "__"), shown);
        });
    }
}

/// Every code of the registry shows in a rendered snapshot: an error fixture's (named after
/// it) or, for what no file of the repository can hold, one of `robustness.rs`'s.
#[test]
fn every_code_has_a_rendered_snapshot() {
    let mut shown = String::new();
    let dirs = [
        repo().join("tests/tests/snapshots"),
        repo().join("tests/tests/snapshots/errors"),
    ];
    for dir in dirs {
        for entry in std::fs::read_dir(&dir)
            .expect("snapshot directory")
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "snap") {
                shown.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let missing: Vec<String> = Code::ALL
        .iter()
        .map(|c| format!("[{}/{}]", c.code(), c.name()))
        .filter(|c| !shown.contains(c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "no rendered snapshot shows {missing:?}: add a fixture to examples/errors/ named after it"
    );
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
