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

/// A workspace of one file `a.hive` holding `text`, with the standard library.
fn one_file(db: &Database, text: &str) -> (SourceFile, Workspace) {
    let std = SourceFile::new(
        db,
        "<std>/std.hive".into(),
        hive_compiler::workspace::STD_SOURCE.into(),
        vec![],
        true,
    );
    let file = SourceFile::new(
        db,
        "a.hive".into(),
        text.into(),
        vec![hive_compiler::db::ImportTarget::File(std)],
        false,
    );
    (file, Workspace::new(db, vec![file, std]))
}

#[test]
fn editing_one_workflow_rechecks_only_that_workflow() {
    let mut db = Database::with_execution_log();
    let (file, ws) = one_file(&db, SOURCE);
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
    file.set_text(&mut db).to(broken.clone());
    let diagnostics = workspace_diagnostics(&db, ws);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        diagnostics[0].code,
        hive_compiler::codes::Code::TypeMismatch
    );

    // A new timeout for `second`: its step is routed and its bounds worked out again, and
    // those of `first` are not.
    db.take_executed();
    let retimed = broken.replace("timeout: 1s }\n  output b", "timeout: 2s }\n  output b");
    file.set_text(&mut db).to(retimed);
    assert_eq!(workspace_diagnostics(&db, ws).len(), 1);
    let log = db.take_executed();
    for query in ["check_workflow", "check_routing_of", "check_bounds_of"] {
        let runs = log.iter().filter(|q| q.starts_with(query)).count();
        assert_eq!(runs, 1, "{query} runs for `second` alone: {log:#?}");
    }
}

/// In an editor's database, a one-line edit re-parses only the piece of the file around it:
/// the other pieces come from earlier parses.
#[test]
fn an_edit_reparses_one_piece_of_a_large_file() {
    let mut db = Database::with_execution_log();
    db.reuse_pieces();
    let mut text = String::from(
        "capability work(n: int) -> int\nagent worker { provides: [work], simulate: { latency: 10ms } }\n\n",
    );
    for k in 0..60 {
        text.push_str(&format!(
            "workflow w{k}(n: int) -> int {{\n  step a = work(n: n + {k}) with {{ timeout: 1s }}\n  step b = work(n: a) with {{ timeout: 2s, retry: 1 }}\n  output a + b\n}}\n\n"
        ));
    }
    let (file, ws) = one_file(&db, &text);
    let first: Vec<String> = workspace_diagnostics(&db, ws)
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert!(first.is_empty(), "{first:#?}");
    let pieces = executed(&db, "parse_piece");
    assert!(
        pieces > 3,
        "the file is parsed in several pieces ({pieces})"
    );

    file.set_text(&mut db)
        .to(text.replace("n + 30)", "n + 31)"));
    assert!(workspace_diagnostics(&db, ws).is_empty());
    let log = db.take_executed();
    let count = |name: &str| log.iter().filter(|q| q.starts_with(name)).count();
    assert_eq!(count("parse_piece"), 1, "{log:#?}");
    assert_eq!(count("check_workflow"), 1, "{log:#?}");
}
