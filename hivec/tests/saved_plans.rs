//! A plan saved with `hivec plan --format json` runs from any directory, wherever it is
//! saved; a relative `base` in a saved plan is relative to the plan file; an agent whose
//! command cannot start is reported with the directory it was started in.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "common/project.rs"]
mod project;

use project::{DOUBLE, hivec};

const WORKFLOW: &str = r#"capability double(n: int) -> int

agent doubler {
  provides: [double]
  exec: "python3 agents/double.py"
}

workflow main(n: int) -> int {
  step a = double(n: n) with { timeout: 10s }
  output a
}
"#;

/// A fresh scratch directory with `project/main.hive`, its agent in `project/agents/`, and
/// empty `saved/` and `elsewhere/deeper/` next to it.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-saved-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["project/agents", "saved", "elsewhere/deeper"] {
        std::fs::create_dir_all(dir.join(sub)).expect("dir");
    }
    std::fs::write(dir.join("project/main.hive"), WORKFLOW).expect("write");
    std::fs::write(dir.join("project/agents/double.py"), DOUBLE).expect("write");
    dir
}

/// Plans `project/main.hive` from inside `project` into `saved/plan.json`.
fn save_plan(dir: &Path) -> Value {
    let out = hivec(
        &dir.join("project"),
        &["plan", "main.hive", "--format", "json"],
    );
    assert!(out.status.success(), "{out:?}");
    std::fs::write(dir.join("saved/plan.json"), &out.stdout).expect("save");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn run_saved(dir: &Path) -> Output {
    let plan = dir.join("saved/plan.json").display().to_string();
    hivec(
        &dir.join("elsewhere/deeper"),
        &["run", &plan, "--input", "n=21"],
    )
}

/// The run succeeded and doubled 21.
fn assert_doubled(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
}

#[test]
fn a_saved_plan_runs_from_anywhere() {
    let dir = scratch("anywhere");
    save_plan(&dir);
    let out = run_saved(&dir);
    assert_doubled(&out);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Saves the plan with `base` set to `base`, and runs it from `elsewhere/deeper`.
fn run_with_base(dir: &Path, base: &str) -> Output {
    let mut plan = save_plan(dir);
    plan["base"] = Value::from(base);
    std::fs::write(dir.join("saved/plan.json"), plan.to_string()).expect("write");
    run_saved(dir)
}

#[test]
fn a_relative_base_is_relative_to_the_plan_file() {
    let dir = scratch("relative");
    let out = run_with_base(&dir, "../project");
    assert_doubled(&out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_agent_that_cannot_start_is_reported_with_its_directory() {
    let dir = scratch("missing");
    let gone = dir.join("moved-away");
    let out = run_with_base(&dir, &gone.display().to_string());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot start `python3 agents/double.py` in {}",
            gone.display()
        )),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
