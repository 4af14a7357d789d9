//! The workflows `hivec serve` runs: every workflow of the files named at start (checked
//! again at `POST /v1/reload`), each with the plan of the file it was found in.

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

/// Why the files cannot be served: a message, and the diagnostics of the files, rendered
/// for a person and as JSON (the objects of `hivec check --format json`).
pub struct Refused {
    /// What is wrong, in one line.
    pub message: String,
    /// Every diagnostic, warnings included, for a person.
    pub human: String,
    /// Every diagnostic, warnings included, as JSON.
    pub diagnostics: Vec<serde_json::Value>,
}

impl Workflows {
    /// Checks every file of `paths` and lowers each; diagnostics go to stderr. Any error, or
    /// one workflow name with two different definitions, is exit 2: the server does not start.
    pub fn compile(paths: &[PathBuf], root: Option<&Path>, color: Color) -> Result<Self, ExitCode> {
        let style = Style {
            color: use_color(color, std::io::stderr().is_terminal()),
        };
        match Workflows::check(paths, root, style) {
            Ok((workflows, warnings)) => {
                out::stderr(&warnings);
                Ok(workflows)
            }
            Err(refused) => {
                out::stderr(&refused.human);
                errln!("error: not serving: {}", refused.message);
                Err(ExitCode::from(2))
            }
        }
    }

    /// Checks every file of `paths` and lowers each: the workflows and the warnings
    /// rendered in `style`, or why they cannot be served (an error in the files, or one
    /// workflow name with two different definitions).
    pub fn check(
        paths: &[PathBuf],
        root: Option<&Path>,
        style: Style,
    ) -> Result<(Self, String), Refused> {
        let Checked {
            db,
            roots,
            diagnostics,
            unloadable,
        } = check_paths(paths, root);
        let mut errors = 0;
        let mut human = String::new();
        let mut json = Vec::new();
        let mut render = Renderer::new(&db, style);
        for d in &diagnostics {
            errors += usize::from(d.severity() == Severity::Error);
            human.push_str(&render.human(d));
            json.push(render.json(d));
        }
        drop(render);
        let refused = |message: String| Refused {
            message,
            human: human.clone(),
            diagnostics: json.clone(),
        };
        if unloadable > 0 || errors > 0 {
            return Err(refused(format!(
                "{errors} error{} in the files",
                if errors == 1 { "" } else { "s" }
            )));
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
                        return Err(refused(format!(
                            "workflow `{name}` is defined differently in {} and {}; serve one of them, or rename one",
                            first.display(),
                            path.display()
                        )));
                    }
                    None => {
                        by_name.insert(name.clone(), (lowered.clone(), path.clone()));
                    }
                }
            }
        }
        if by_name.is_empty() {
            return Err(refused("the files have no workflow".to_string()));
        }
        Ok((Workflows { by_name }, human))
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
