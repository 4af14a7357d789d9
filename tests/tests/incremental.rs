//! Editing one workflow's body re-runs that workflow's checks and not the others'.

use hive_compiler::db::{Database, SourceFile, Workspace};
use hive_compiler::queries::workspace_diagnostics;
use salsa::Setter;

const SOURCE: &str = r#"
capability work(n: int) -> int
agent worker { provides: [work], simulate: { latency: 10ms } }

workflow first(n: int) -> int {
  step a = work(n: n) with { timeout: 1s }
  output a
}

workflow second(n: int) -> int {
  step b = work(n: n + 1) with { timeout: 1s }
  output b
}
"#;

fn executed(db: &Database, name: &str) -> usize {
    db.take_executed()
        .iter()
        .filter(|q| q.starts_with(name))
        .count()
}

#[test]
fn editing_one_workflow_rechecks_only_that_workflow() {
    let mut db = Database::with_execution_log();
    let std = SourceFile::new(
        &db,
        "<std>/std.hive".into(),
        hive_compiler::workspace::STD_SOURCE.into(),
        vec![],
        true,
    );
    let file = SourceFile::new(
        &db,
        "a.hive".into(),
        SOURCE.into(),
        vec![hive_compiler::db::ImportTarget::File(std)],
        false,
    );
    let ws = Workspace::new(&db, vec![file, std]);
    assert!(workspace_diagnostics(&db, ws).is_empty());
    assert_eq!(
        executed(&db, "check_workflow"),
        2,
        "both workflows checked at first"
    );

    // Grow the body of `first`: every later item moves, but `second` is unchanged.
    let edited = SOURCE.replace("output a", "// the result\n  output a");
    file.set_text(&mut db).to(edited);
    let diagnostics = workspace_diagnostics(&db, ws);
    assert!(diagnostics.is_empty());
    let log = db.take_executed();
    let rechecked: Vec<&String> = log
        .iter()
        .filter(|q| q.starts_with("check_workflow"))
        .collect();
    assert_eq!(rechecked.len(), 1, "only `first` is re-checked: {log:#?}");

    // An edit that changes `second` re-checks it too, and its diagnostics point at the new text.
    let broken = SOURCE.replace("work(n: n + 1)", "work(n: \"x\")");
    file.set_text(&mut db).to(broken);
    let diagnostics = workspace_diagnostics(&db, ws);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        diagnostics[0].code,
        hive_compiler::codes::Code::TypeMismatch
    );
}
