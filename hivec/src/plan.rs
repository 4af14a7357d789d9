//! `hivec plan`.

use crate::check::{Checked, check_paths, use_color};
use crate::{Color, PlanFormat};
use hive_compiler::diagnostic::Severity;
use hive_compiler::lower::plan;
use hive_compiler::render::{Renderer, Style};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Checks `file` and lowers it. Diagnostics go to stderr; on errors the exit code to give:
/// 1 for errors in the sources, 2 for files that cannot be read.
pub fn compile(
    file: &Path,
    root: Option<&Path>,
    color: Color,
) -> Result<hive_plan::Plan, ExitCode> {
    let Checked {
        db,
        roots,
        diagnostics,
        unloadable,
    } = check_paths(&[PathBuf::from(file)], root);
    let style = Style {
        color: use_color(color, std::io::stderr().is_terminal()),
    };
    let mut errors = 0;
    let mut render = Renderer::new(&db, style);
    for d in &diagnostics {
        if d.severity() == Severity::Error {
            errors += 1;
        }
        eprint!("{}", render.human(d));
    }
    drop(render);
    if unloadable > 0 {
        return Err(ExitCode::from(2));
    }
    if errors > 0 {
        eprintln!(
            "no plan: {errors} error{} in {}",
            if errors == 1 { "" } else { "s" },
            file.display()
        );
        return Err(ExitCode::from(1));
    }
    let Some(root_file) = roots.first() else {
        eprintln!("error: {} is not a .hive file", file.display());
        return Err(ExitCode::from(2));
    };
    Ok(plan(&db, *root_file).clone())
}

/// Checks `file`; without errors, prints its plan. Diagnostics go to stderr, the plan alone to
/// stdout.
pub fn run(
    file: &Path,
    workflow: Option<&str>,
    format: PlanFormat,
    root: Option<&Path>,
    color: Color,
) -> ExitCode {
    let mut plan = match compile(file, root, color) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    if let Some(w) = workflow
        && let Err(e) = plan.retain_workflow(w)
    {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let out = match format {
        PlanFormat::Text => hive_plan::text(&plan),
        PlanFormat::Json => match serde_json::to_string_pretty(&plan) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("error: cannot write the plan as JSON: {e}");
                return ExitCode::from(2);
            }
        },
        PlanFormat::Dot => hive_plan::dot(&plan),
        PlanFormat::Mermaid => hive_plan::mermaid(&plan),
    };
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
