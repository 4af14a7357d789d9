//! `hivec plan`.

use crate::check::{Checked, check_paths, use_color};
use crate::out::{self, errln};
use crate::{Color, PlanFormat};
use hive_compiler::diagnostic::Severity;
use hive_compiler::lower::take_plan;
use hive_compiler::render::{Renderer, Style};
use std::io::IsTerminal;
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
        out::stderr(&render.human(d));
    }
    drop(render);
    if unloadable > 0 {
        return Err(ExitCode::from(2));
    }
    if errors > 0 {
        errln!(
            "no plan: {errors} error{} in {}",
            if errors == 1 { "" } else { "s" },
            file.display()
        );
        return Err(ExitCode::from(1));
    }
    let Some(root_file) = roots.first() else {
        errln!("error: {} is not a .hive file", file.display());
        return Err(ExitCode::from(2));
    };
    Ok(take_plan(db, *root_file))
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
        errln!("error: {e}");
        return ExitCode::from(2);
    }
    let text = match format {
        PlanFormat::Text => hive_plan::text(&plan),
        PlanFormat::Json => match serde_json::to_string_pretty(&saved(plan)) {
            Ok(json) => json + "\n",
            Err(e) => {
                errln!("error: cannot write the plan as JSON: {e}");
                return ExitCode::from(2);
            }
        },
        PlanFormat::Dot => hive_plan::dot(&plan),
        PlanFormat::Mermaid => hive_plan::mermaid(&plan),
    };
    out::stdout(&text);
    ExitCode::SUCCESS
}

/// The plan as `--format json` saves it: its `base` absolute, so that the saved plan runs
/// from any directory, wherever it is saved.
fn saved(mut plan: hive_plan::Plan) -> hive_plan::Plan {
    let base = match plan.base.as_str() {
        "" => Path::new("."),
        base => Path::new(base),
    };
    if let Ok(absolute) = std::path::absolute(base) {
        plan.base = absolute.display().to_string();
    }
    plan
}
