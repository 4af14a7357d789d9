//! The workflows `hivec serve` runs: every workflow of the files named at start, each with
//! the plan of the file it was found in.

use crate::Color;
use crate::check::{Checked, check_paths, use_color};
use crate::out::{self, errln};
use hive_compiler::diagnostic::Severity;
use hive_compiler::lower::plan;
use hive_compiler::render::{Renderer, Style};
use hive_plan::Plan;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Workflow name → the plan that has it and the file it came from.
pub struct Workflows {
    by_name: BTreeMap<String, (Arc<Plan>, PathBuf)>,
}

impl Workflows {
    /// Checks every file of `paths` and lowers each; diagnostics go to stderr. Any error, or
    /// one workflow name with two different definitions, is exit 2: the server does not start.
    pub fn compile(paths: &[PathBuf], root: Option<&Path>, color: Color) -> Result<Self, ExitCode> {
        let Checked {
            db,
            roots,
            diagnostics,
            unloadable,
        } = check_paths(paths, root);
        let style = Style {
            color: use_color(color, std::io::stderr().is_terminal()),
        };
        let mut errors = 0;
        let mut render = Renderer::new(&db, style);
        for d in &diagnostics {
            errors += usize::from(d.severity() == Severity::Error);
            out::stderr(&render.human(d));
        }
        drop(render);
        if unloadable > 0 || errors > 0 {
            errln!(
                "error: not serving: {errors} error{} in the files",
                if errors == 1 { "" } else { "s" }
            );
            return Err(ExitCode::from(2));
        }
        let mut by_name: BTreeMap<String, (Arc<Plan>, PathBuf)> = BTreeMap::new();
        for file in roots {
            let path = file.path(&db).clone();
            let lowered = Arc::new(plan(&db, file).clone());
            for (name, workflow) in &lowered.workflows {
                match by_name.get(name) {
                    // The same workflow reached through a shared import.
                    Some((other, _)) if other.workflows.get(name) == Some(workflow) => {}
                    Some((_, first)) => {
                        errln!(
                            "error: not serving: workflow `{name}` is defined differently in {} and {}; serve one of them, or rename one",
                            first.display(),
                            path.display()
                        );
                        return Err(ExitCode::from(2));
                    }
                    None => {
                        by_name.insert(name.clone(), (lowered.clone(), path.clone()));
                    }
                }
            }
        }
        if by_name.is_empty() {
            errln!("error: not serving: the files have no workflow");
            return Err(ExitCode::from(2));
        }
        Ok(Workflows { by_name })
    }

    /// The plan that has workflow `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Plan>> {
        self.by_name.get(name).map(|(plan, _)| plan)
    }

    /// The workflows' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// How many workflows there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }
}
