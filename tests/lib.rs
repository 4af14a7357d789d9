//! Helpers shared by the fixture tests: load files the way `hivec` does and render what it
//! would print.

use hive_compiler::db::{Database, Loc};
use hive_compiler::diagnostic::Diagnostic;
use hive_compiler::pipeline;
use hive_compiler::render::{Renderer, Style, human};
use hive_compiler::workspace::Disk;
use std::path::{Path, PathBuf};

/// The repository root, relative to the test crate (so rendered paths are stable).
pub fn repo() -> PathBuf {
    PathBuf::from("..")
}

/// Checks `paths` as `hivec check` does; returns the database and every diagnostic.
pub fn check(paths: &[PathBuf]) -> (Database, Vec<Diagnostic<Loc>>) {
    let loaded = pipeline::check(&Disk, paths, None);
    let diagnostics = loaded.diagnostics();
    (loaded.db, diagnostics)
}

/// What `hivec check --color never` prints for `path`.
pub fn render_check(path: &Path) -> String {
    let (db, diagnostics) = check(&[path.to_path_buf()]);
    let mut render = Renderer::new(&db, Style { color: false });
    diagnostics.iter().map(|d| render.human(d)).collect()
}

/// The `.hive` files directly in `dir`, sorted.
pub fn hive_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == "hive"));
    out.sort();
    out
}

/// The plan `hivec plan` makes of `path`, with `base` shown as the repository sees it.
/// Panics with the rendered diagnostics if the file has errors, and with the problems if the
/// plan would not pass the validation of a saved plan (which every lowered plan passes).
pub fn plan_of(path: &Path) -> hive_plan::Plan {
    let loaded = pipeline::check(&Disk, &[path.to_path_buf()], None);
    let errors: String = loaded
        .diagnostics()
        .iter()
        .filter(|d| d.severity() == hive_compiler::diagnostic::Severity::Error)
        .map(|d| human(&loaded.db, d, Style { color: false }))
        .collect();
    assert!(
        errors.is_empty(),
        "{} has errors:\n{errors}",
        path.display()
    );
    let mut plan = hive_compiler::lower::plan(&loaded.db, loaded.roots[0]).clone();
    let problems = hive_plan::validate(&plan);
    assert!(
        problems.is_empty(),
        "the plan of {} fails validation: {problems:#?}",
        path.display()
    );
    plan.base = plan
        .base
        .strip_prefix("../")
        .unwrap_or(&plan.base)
        .to_string();
    plan
}
