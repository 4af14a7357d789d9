//! Values read with `env()` never reach stderr (errors, `-v` logs of agents' stderr and
//! `log` messages, `std.log`, the summary) or the trace; the journal, which holds outputs,
//! is readable by its owner only. A real exec agent echoes the secret everywhere it can.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const SECRET: &str = "s3cr3tVALUE42";

const LEAKY: &str = r#"import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        print(json.dumps({"type": "ready", "capabilities": ["leak"]}), flush=True)
    elif msg["type"] == "task":
        token = msg["input"]["token"]
        print("stderr: got " + token, file=sys.stderr, flush=True)
        print(json.dumps({"type": "log", "level": "info", "message": "log: got " + token}), flush=True)
        print(json.dumps({"type": "error", "id": msg["id"], "message": "refused " + token, "retryable": False}), flush=True)
    elif msg["type"] == "shutdown":
        break
"#;

#[test]
fn env_values_are_masked_in_errors_logs_and_traces() {
    let dir = std::env::temp_dir().join(format!("hive-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("leaky.py"), LEAKY).expect("agent");
    std::fs::write(
        dir.join("main.hive"),
        r#"capability leak(token: string) -> string
agent leaky { provides: [leak], exec: "python3 leaky.py", env: { TOKEN: env("HIVE_SECRET") } }
workflow main() -> string {
  step said = std.log(message: env("HIVE_SECRET"))
  step l = leak(token: "Bearer " + env("HIVE_SECRET")) with { after: [said] }
  output l
}
"#,
    )
    .expect("source");
    let out = Command::new(env!("CARGO_BIN_EXE_hivec"))
        .args(["run", "main.hive", "-v", "--trace-out", "trace.json"])
        .args(["--journal", "run.jsonl"])
        .current_dir(&dir)
        .env("HIVE_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .output()
        .expect("hivec run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Each place the agent and std.log put it, masked.
    for seen in [
        "stderr: got Bearer ***",
        "log: got Bearer ***",
        "refused Bearer ***",
    ] {
        assert!(stderr.contains(seen), "no `{seen}` in:\n{stderr}");
    }
    assert!(!stderr.contains(SECRET), "{stderr}");
    let trace = std::fs::read_to_string(dir.join("trace.json")).expect("trace");
    assert!(trace.contains("refused Bearer ***"), "{trace}");
    assert!(!trace.contains(SECRET), "{trace}");
    let mode = std::fs::metadata(dir.join("run.jsonl"))
        .expect("journal")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "journal mode {mode:o}");
    let _ = std::fs::remove_dir_all(&dir);
}
