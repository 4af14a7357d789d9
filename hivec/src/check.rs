//! `hivec check`.

use crate::out::{self, errln};
use crate::{CheckFormat, Color};
use hive_compiler::db::{Database, Loc, SourceFile};
use hive_compiler::diagnostic::{Diagnostic, Severity};
use hive_compiler::pipeline;
use hive_compiler::render::{Renderer, Style};
use hive_compiler::workspace::Disk;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A checked workspace.
pub struct Checked {
    /// The database, for rendering and lowering.
    pub db: Database,
    /// The files named on the command line.
    pub roots: Vec<SourceFile>,
    /// Every diagnostic, load errors first.
    pub diagnostics: Vec<Diagnostic<Loc>>,
    /// How many named files could not be loaded at all.
    pub unloadable: usize,
}

/// Loads and checks `paths`, files side by side.
pub fn check_paths(paths: &[PathBuf], root: Option<&Path>) -> Checked {
    let loaded = pipeline::check(&Disk, paths, root);
    let diagnostics = loaded.diagnostics();
    Checked {
        unloadable: loaded.errors.len(),
        db: loaded.db,
        roots: loaded.roots,
        diagnostics,
    }
}

/// Whether colour is wanted on a stream that is or is not a terminal.
pub fn use_color(color: Color, terminal: bool) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Runs `hivec check`.
pub fn run(paths: &[PathBuf], format: CheckFormat, root: Option<&Path>, color: Color) -> ExitCode {
    let Checked {
        db,
        diagnostics,
        unloadable,
        ..
    } = check_paths(paths, root);
    let color = use_color(color, std::io::stdout().is_terminal());
    let mut render = Renderer::new(&db, Style { color });
    let mut errors = 0;
    let mut warnings = 0;
    for d in &diagnostics {
        // The summary counts what a file's last diagnostic says was left out, not that one.
        match (d.left_out, d.severity()) {
            (Some((e, w)), _) => {
                errors += e;
                warnings += w;
            }
            (None, Severity::Error) => errors += 1,
            (None, Severity::Warning) => warnings += 1,
        }
        let text = match format {
            CheckFormat::Human => render.human(d),
            CheckFormat::Json => format!("{}\n", render.json(d)),
        };
        if !out::stdout(&text) {
            return ExitCode::from(2);
        }
    }
    if matches!(format, CheckFormat::Human) {
        let files = paths.len();
        errln!(
            "{} error{}, {} warning{} in {} path{}",
            errors,
            if errors == 1 { "" } else { "s" },
            warnings,
            if warnings == 1 { "" } else { "s" },
            files,
            if files == 1 { "" } else { "s" }
        );
    }
    drop(render);
    // The process ends here: freeing every query result one by one would only cost time.
    std::mem::forget(db);
    if unloadable > 0 {
        ExitCode::from(2)
    } else if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
