//! docs/language.md: the agent it shows in its protocol section runs as written, and its
//! tables list every built-in function and strategy the plan's tables have (as do the
//! editors' grammars).

use std::process::Command;

#[test]
fn the_agent_of_the_protocol_section_serves_its_capability() {
    let docs = std::fs::read_to_string("../docs/language.md").expect("docs");
    let section = &docs[docs.find("## 13. Exec agents").expect("section 13")..];
    let agent: String = section
        .lines()
        .skip_while(|l| *l != "```python")
        .skip(1)
        .take_while(|l| *l != "```")
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(agent.contains("flush=True"), "{agent}");
    let dir = std::env::temp_dir().join(format!("hive-docs-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("double.py"), agent).expect("write");
    std::fs::write(
        dir.join("main.hive"),
        "capability double(n: int) -> int\n\nagent doubler {\n  provides: [double]\n  exec: \"python3 double.py\"\n}\n\nworkflow main(n: int) -> int {\n  step a = double(n: n) with { timeout: 10s }\n  output a\n}\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(["run", "main.hive", "--input", "n=21"])
        .current_dir(&dir)
        // As on a machine where Python buffers its output to a pipe.
        .env_remove("PYTHONUNBUFFERED")
        .output()
        .expect("run hivec");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "42",
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each function a file may call has a row in section 10's table, and each strategy a row in
/// the pools' table of strategies.
#[test]
fn every_built_in_function_and_strategy_is_documented() {
    let docs = std::fs::read_to_string("../docs/language.md").expect("docs");
    let section = |from: &str, to: &str| {
        let start = docs.find(from).unwrap_or_else(|| panic!("{from}"));
        let end = docs[start..].find(to).map_or(docs.len(), |e| start + e);
        docs[start..end].to_string()
    };
    let functions = section("## 10. Built-in functions", "## 11.");
    for f in hive_plan::Function::all_written() {
        let row = format!("`{}(", f.name());
        assert!(functions.contains(&row), "section 10 lists no {row}…`");
    }
    let strategies = section("| strategy | picks |", "\n\n");
    for s in hive_plan::StrategyKind::ALL {
        let row = format!("| `{}", s.name());
        assert!(
            strategies.contains(&row),
            "the strategy table has no row {row}`"
        );
    }
}

/// The editors' grammars highlight each function and strategy of the plan's tables.
#[test]
fn every_built_in_function_and_strategy_is_highlighted() {
    let names: Vec<&str> = hive_plan::Function::all_written()
        .map(hive_plan::Function::name)
        .chain(hive_plan::StrategyKind::ALL.map(hive_plan::StrategyKind::name))
        .collect();
    for grammar in [
        "../editors/vim/syntax/hive.vim",
        "../editors/tree-sitter-hive/queries/highlights.scm",
        "../editors/vscode/syntaxes/hive.tmLanguage.json",
    ] {
        let text = std::fs::read_to_string(grammar).expect(grammar);
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        for name in &names {
            let whole = text.match_indices(name).any(|(at, _)| {
                !text[..at].ends_with(is_word) && !text[at + name.len()..].starts_with(is_word)
            });
            assert!(whole, "{grammar} does not name `{name}`");
        }
    }
}
