//! `hivec check`.

use crate::{CheckFormat, Color};
use hive_compiler::db::{Database, Loc};
use hive_compiler::diagnostic::{Diagnostic, Severity};
use hive_compiler::queries::{check_file, workspace_diagnostics};
use hive_compiler::render::{Style, human, json};
use hive_compiler::workspace::{Disk, load};
use rayon::prelude::*;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Loads and checks `paths`; returns every diagnostic (load errors first) and how many files
/// could not be loaded at all.
pub fn check_paths(
    paths: &[PathBuf],
    root: Option<&Path>,
) -> (Database, Vec<Diagnostic<Loc>>, usize) {
    let loaded = load(&Disk, paths, root);
    let files = loaded.workspace.files(&loaded.db).clone();
    // Files are checked side by side, each worker on its own database handle.
    files.par_iter().for_each_with(loaded.db.clone(), |db, f| {
        check_file(db, *f);
    });
    let unloadable = loaded.errors.len();
    let mut diagnostics = loaded.errors;
    diagnostics.extend(workspace_diagnostics(&loaded.db, loaded.workspace));
    (loaded.db, diagnostics, unloadable)
}

/// Runs `hivec check`.
pub fn run(paths: &[PathBuf], format: CheckFormat, root: Option<&Path>, color: Color) -> ExitCode {
    let (db, diagnostics, unloadable) = check_paths(paths, root);
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut out = std::io::stdout().lock();
    let mut errors = 0;
    let mut warnings = 0;
    for d in &diagnostics {
        match d.severity() {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
        let text = match format {
            CheckFormat::Human => human(&db, d, Style { color }),
            CheckFormat::Json => format!("{}\n", json(&db, d)),
        };
        if out.write_all(text.as_bytes()).is_err() {
            return ExitCode::from(2);
        }
    }
    if matches!(format, CheckFormat::Human) {
        let files = paths.len();
        eprintln!(
            "{} error{}, {} warning{} in {} path{}",
            errors,
            if errors == 1 { "" } else { "s" },
            warnings,
            if warnings == 1 { "" } else { "s" },
            files,
            if files == 1 { "" } else { "s" }
        );
    }
    if unloadable > 0 {
        ExitCode::from(2)
    } else if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
