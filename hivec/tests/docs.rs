//! The agent that docs/language.md shows in its protocol section runs as written.

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
