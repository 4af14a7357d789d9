//! `hivec lsp` driven over stdio as an editor drives it: initialize, open, change, wait for
//! diagnostics, hover, definition, references, completion, outline, formatting, quick fix,
//! rename, shutdown.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

const LIB: &str = r#"/// What a reviewer thinks of a change.
type Review {
  /// Out of ten.
  score: int
  approved: bool
}

/// Reads code and judges it.
capability review(code: string) -> Review
"#;

const MAIN: &str = r#"import "lib.hive"

agent reviewer { provides: [review], simulate: { latency: 1s } }
agent backup { provides: [review], simulate: { latency: 2s } }
pool reviewers { members: [reviewer, backup], strategy: least_busy }
route review -> reviewers

workflow main(code: string) -> int {
  /// The first opinion.
  step r = review(code: code) with { retry: 1, on: reviewrs }
  output r.score
}
"#;

struct Client {
    child: Child,
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for something else.
    seen: Vec<Value>,
}

impl Client {
    fn start(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hivec"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("hivec lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, inbox) = channel();
        std::thread::spawn(move || {
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        len = n.parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                if stdout.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                    return;
                };
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            inbox,
            next_id: 0,
            seen: Vec::new(),
        }
    }

    /// A server for a scratch directory `hive-lsp-{tag}-{pid}` holding `main.hive` with
    /// `text`, initialized and with the file open: the client, the file's URI and the dir.
    fn open(tag: &str, text: &str) -> (Client, String, PathBuf) {
        let dir = std::env::temp_dir().join(format!("hive-lsp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("main.hive"), text).expect("write");
        let uri = format!("file://{}", dir.join("main.hive").display());
        let mut c = Client::start(&dir);
        c.request(
            "initialize",
            json!({ "processId": null, "rootUri": format!("file://{}", dir.display()), "capabilities": {} }),
        );
        c.notify("initialized", json!({}));
        c.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "hive", "version": 1, "text": text } }),
        );
        (c, uri, dir)
    }

    /// Shuts the server down, which must then exit 0, and removes `dir`.
    fn close(mut self, dir: &Path) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let status = self.child.wait().expect("exit");
        assert!(status.success());
        let _ = std::fs::remove_dir_all(dir);
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let msg = self.next();
            if msg["id"] == json!(id) {
                assert!(msg.get("error").is_none(), "{method} failed: {msg}");
                return msg["result"].clone();
            }
            self.seen.push(msg);
        }
    }

    fn next(&mut self) -> Value {
        self.inbox
            .recv_timeout(Duration::from_secs(20))
            .expect("the server answers within 20 s")
    }

    /// The labels completed `chars` characters into the first `needle` of `text`.
    fn completion(&mut self, uri: &str, text: &str, needle: &str, chars: u64) -> Vec<String> {
        let mut at = position_of(text, needle, 0);
        at["character"] = json!(at["character"].as_u64().unwrap_or(0) + chars);
        let items = self.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": uri }, "position": at }),
        );
        items
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["label"].as_str().map(str::to_string))
            .collect()
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        if let Some(i) = self.seen.iter().position(|m| is_diagnostics_for(m, uri)) {
            let m = self.seen.remove(i);
            return m["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        loop {
            let m = self.next();
            if is_diagnostics_for(&m, uri) {
                return m["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
        }
    }
}

fn is_diagnostics_for(m: &Value, uri: &str) -> bool {
    m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
}

fn position_of(text: &str, needle: &str, nth: usize) -> Value {
    let at = text
        .match_indices(needle)
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": col })
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hive-lsp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("lib.hive"), LIB).expect("write");
    std::fs::write(dir.join("main.hive"), MAIN).expect("write");
    dir
}

#[test]
fn an_editor_session() {
    let dir = scratch();
    let uri = format!("file://{}", dir.join("main.hive").display());
    let lib_uri = format!("file://{}", dir.join("lib.hive").display());
    let mut c = Client::start(&dir);
    let init = c.request(
        "initialize",
        json!({ "processId": null, "rootUri": format!("file://{}", dir.display()), "capabilities": {} }),
    );
    assert_eq!(init["capabilities"]["hoverProvider"], true);
    c.notify("initialized", json!({}));

    // Open: the misspelled pool is reported as `hivec check` reports it, with a quick fix.
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "hive", "version": 1, "text": MAIN } }),
    );
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["code"], "E0101");
    assert_eq!(d["source"], "hivec");
    assert_eq!(d["range"]["start"], position_of(MAIN, "reviewrs", 0));
    let related = d["relatedInformation"].to_string();
    assert!(related.contains("did you mean `reviewers`?"), "{related}");
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": d["range"], "context": { "diagnostics": [d] } }),
    );
    assert_eq!(actions[0]["title"], "Change to `reviewers`");
    assert_eq!(
        actions[0]["edit"]["changes"][&uri][0]["newText"],
        "reviewers"
    );

    // Change: the fixed text has no diagnostics.
    let fixed = MAIN.replace("reviewrs", "reviewers");
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": fixed }] }),
    );
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());

    // Hover: a step's type, doc and where its tasks go; a capability's signature and doc.
    let h = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "r = review", 0) }),
    );
    let text = h["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("step r: Review"), "{text}");
    assert!(text.contains("The first opinion."), "{text}");
    assert!(text.contains("pool `reviewers`"), "{text}");
    let h = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "review(", 0) }),
    );
    let text = h["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        text.contains("capability review(code: string) -> Review"),
        "{text}"
    );
    assert!(text.contains("Reads code and judges it."), "{text}");
    let h = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "score", 0) }),
    );
    let text = h["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        text.contains("score: int") && text.contains("Out of ten."),
        "{text}"
    );

    // Definition across files, and references of a step.
    let def = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "review(", 0) }),
    );
    assert_eq!(def["uri"], lib_uri);
    assert_eq!(def["range"]["start"], position_of(LIB, "review(", 0));
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "r.score", 0),
                "context": { "includeDeclaration": true } }),
    );
    assert_eq!(refs.as_array().map(Vec::len), Some(2), "{refs}");

    // Completion: fields after `.`, step options in `with { … }`, strategies.
    let typing = fixed.replace("output r.score", "output r.");
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 3 }, "contentChanges": [{ "text": typing }] }),
    );
    let labels = c.completion(&uri, &typing, "r.\n", 2);
    assert_eq!(labels, ["score", "approved"]);
    let labels = c.completion(&uri, &typing, "retry", 2);
    assert!(
        labels.contains(&"retry".to_string()) && labels.contains(&"consensus".to_string()),
        "{labels:?}"
    );
    let labels = c.completion(&uri, &typing, "least_busy", 3);
    assert!(
        labels.contains(&"auction".to_string()) && labels.contains(&"round_robin".to_string()),
        "{labels:?}"
    );

    // Outline.
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 4 }, "contentChanges": [{ "text": fixed }] }),
    );
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "\"lib.hive\"",
            "reviewer",
            "backup",
            "reviewers",
            "review -> reviewers",
            "main"
        ]
    );
    let main = &symbols[5];
    let children: Vec<&str> = main["children"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(children, ["code", "r"]);

    // Formatting: one edit to the canonical layout.
    let messy = fixed.replace("agent backup { provides", "agent backup{provides");
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 5 }, "contentChanges": [{ "text": messy }] }),
    );
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(edits[0]["newText"], fixed.as_str());

    // Rename a step: its declaration and its use.
    let edit = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&messy, "r.score", 0), "newName": "opinion" }),
    );
    let changes = edit["changes"][&uri]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(changes.len(), 2, "{edit}");
    assert!(changes.iter().all(|e| e["newText"] == "opinion"));

    // Definition into the standard library: its read-only copy; hover of an expression.
    let with_std = fixed.replace(
        "  output r.score",
        "  step e = std.echo(value: code)\n  output r.score + len(code) * 2",
    );
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 6 }, "contentChanges": [{ "text": with_std }] }),
    );
    let def = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&with_std, "echo(", 0) }),
    );
    let std_uri = def["uri"].as_str().unwrap_or_default();
    assert!(std_uri.ends_with("/std.hive"), "{def}");
    let std_text = std::fs::read_to_string(std_uri.trim_start_matches("file://")).expect("copy");
    assert_eq!(def["range"]["start"], position_of(&std_text, "echo(", 0));
    let h = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": std_uri }, "position": def["range"]["start"] }),
    );
    let text = h["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        text.contains("capability std.echo(value: json) -> json"),
        "{text}"
    );
    let h = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&with_std, "* 2", 0) }),
    );
    let text = h["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("len(code) * 2: int"), "{text}");

    // Shutdown and exit end the process.
    c.request("shutdown", Value::Null);
    c.notify("exit", Value::Null);
    let status = c.child.wait().expect("exit");
    assert!(status.success());
}

/// A malformed frame is answered with a JSON-RPC error and the server reads on: a bad or
/// missing `Content-Length`, a length past the limit, a line that is no header, a body that is
/// not JSON, JSON that is not a message.
#[test]
fn malformed_frames_are_answered_and_the_server_goes_on() {
    let dir = std::env::temp_dir().join(format!("hive-lsp-frames-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("lib.hive"), LIB).expect("write");
    let uri = format!("file://{}", dir.join("main.hive").display());
    let mut c = Client::start(&dir);
    c.request(
        "initialize",
        json!({ "processId": null, "rootUri": format!("file://{}", dir.display()), "capabilities": {} }),
    );
    c.notify("initialized", json!({}));

    let framed = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
    // After a malformed header the server skips to the next `Content-Length`, so each is
    // followed by a well-formed frame.
    let frames: Vec<(String, Value, i64)> = vec![
        ("Content-Length: abc\r\n\r\n{}".into(), Value::Null, -32700),
        (
            "Content-Length: 10\r\n\r\n{\"jsonrpc\"".into(),
            Value::Null,
            -32700,
        ),
        (framed("[1, 2, 3]"), Value::Null, -32600),
        ("this is no header\r\n\r\n".into(), Value::Null, -32700),
        (framed("42"), Value::Null, -32600),
        (
            "Content-Length: 99999999999\r\n\r\n".into(),
            Value::Null,
            -32700,
        ),
        (
            framed(r#"{"jsonrpc":"2.0","id":9,"method":5}"#),
            json!(9),
            -32600,
        ),
        (
            "Content-Length: 99999999999999999999999\r\n\r\n".into(),
            Value::Null,
            -32700,
        ),
        (framed(r#"{"jsonrpc":"2.0"}"#), Value::Null, -32600),
        ("Content-Type: x\r\n\r\n{}".into(), Value::Null, -32700),
    ];
    for (frame, id, code) in frames {
        c.stdin.write_all(frame.as_bytes()).expect("write");
        c.stdin.flush().expect("flush");
        let answer = c.next();
        assert_eq!(answer["id"], id, "{frame:?}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{frame:?}: {answer}");
    }

    // Still serving: a document opened now is checked.
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "hive", "version": 1, "text": MAIN } }),
    );
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    c.close(&dir);
}

/// A `std.shell` command built from an input is a warning whose quick fix rewrites the whole
/// call as `std.exec`.
#[test]
fn an_interpolated_shell_command_has_a_quick_fix() {
    let text = "workflow main(name: string) -> ShellResult {\n  step greet = std.shell(command: \"echo ${name}\")\n  output greet\n}\n";
    let (mut c, uri, dir) = Client::open("shell", text);
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["code"], "W0006");
    assert_eq!(d["range"]["start"], position_of(text, "name}", 0));
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": d["range"], "context": { "diagnostics": [d] } }),
    );
    let edit = &actions[0]["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], r#"std.exec(argv: ["echo", name])"#);
    assert_eq!(edit["range"]["start"], position_of(text, "std.shell", 0));
    assert_eq!(edit["range"]["end"], position_of(text, "\n  output", 0));
    c.close(&dir);
}

/// A misspelt strategy's "did you mean" is a quick fix: the diagnostic carries the edit, and
/// the code action writes the strategy meant over the one written.
#[test]
fn a_misspelt_strategy_has_a_quick_fix() {
    let text = "capability c(x: int) -> int\nagent a { provides: [c], simulate: { latency: 1ms } }\nagent b { provides: [c], simulate: { latency: 1ms } }\npool p { members: [a, b], strategy: round_robbin }\nroute c -> p\nworkflow main(x: int) -> int {\n  step s = c(x: x)\n  output s\n}\n";
    let (mut c, uri, dir) = Client::open("strategy-fix", text);
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["code"], "E0305");
    assert_eq!(d["data"]["fix"], "round_robin");
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": d["range"], "context": { "diagnostics": [d] } }),
    );
    assert_eq!(actions[0]["title"], "Change to `round_robin`");
    let edit = &actions[0]["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], "round_robin");
    assert_eq!(edit["range"]["start"], position_of(text, "round_robbin", 0));
    assert_eq!(edit["range"]["end"], position_of(text, " }\nroute", 0));
    c.close(&dir);
}

#[test]
fn state_cells_are_known_to_hover_definition_references_and_rename() {
    let text = "/// Shared notes.\nstate notes: list<string> = [] { merge: append }\ncapability note(text: string) -> bool writes [notes]\nagent a { provides: [note], simulate: { latency: 1ms } }\nworkflow main(t: string) -> int {\n  step n = note(text: t)\n  output len(state.notes)\n}\n";
    let (mut c, uri, dir) = Client::open("state", text);
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());
    let read = position_of(text, "notes)", 0);
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": read }),
    );
    let shown = hover["contents"].to_string();
    assert!(
        shown.contains("list<string>") && shown.contains("Shared notes."),
        "{hover}"
    );
    let definition = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": read }),
    );
    assert_eq!(definition["range"]["start"], position_of(text, "notes:", 0));
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": uri }, "position": read, "context": { "includeDeclaration": true } }),
    );
    assert_eq!(refs.as_array().map(Vec::len), Some(3), "{refs}");
    let renamed = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri }, "position": read, "newName": "findings" }),
    );
    let edits = renamed["changes"][&uri]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edits.len(), 3, "{renamed}");
    assert!(edits.iter().all(|e| e["newText"] == "findings"));
    // Completion after `state.`: the cells.
    let typing = text.replace("output len(state.notes)", "output len(state.)");
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": typing }] }),
    );
    let labels = c.completion(&uri, &typing, "state.)", 6);
    assert_eq!(labels, ["notes"]);
    c.close(&dir);
}

#[test]
fn topics_are_known_to_hover_definition_references_and_rename() {
    let text = "type Approval { ticket: string, ok: bool }\n/// Decisions.\ntopic approvals: Approval { retain: 1h }\nagent a { provides: [], subscribes: [approvals], simulate: { latency: 1ms } }\nworkflow main(t: string) -> bool {\n  step sent = publish approvals(Approval { ticket: t, ok: true })\n  step got = receive approvals(where: it.ticket == t) with { timeout: 1s }\n  output got.ok\n}\n";
    let (mut c, uri, dir) = Client::open("topics", text);
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());
    let used = position_of(text, "approvals(where", 0);
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": used }),
    );
    let shown = hover["contents"].to_string();
    assert!(
        shown.contains("topic approvals: Approval") && shown.contains("Decisions."),
        "{hover}"
    );
    let it = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(text, "it.ticket", 0) }),
    );
    assert!(it["contents"].to_string().contains("it: Approval"), "{it}");
    let field = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": position_of(text, "ticket ==", 0) }),
    );
    assert_eq!(
        field["range"]["start"],
        position_of(text, "ticket: string", 0)
    );
    let definition = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": used }),
    );
    assert_eq!(
        definition["range"]["start"],
        position_of(text, "approvals:", 0)
    );
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": uri }, "position": used, "context": { "includeDeclaration": true } }),
    );
    // The declaration, `subscribes`, `publish` and `receive`.
    assert_eq!(refs.as_array().map(Vec::len), Some(4), "{refs}");
    let renamed = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri }, "position": used, "newName": "decisions" }),
    );
    let edits = renamed["changes"][&uri]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edits.len(), 4, "{renamed}");
    assert!(edits.iter().all(|e| e["newText"] == "decisions"));
    // Completion names topics, and only topics, in `subscribes` and after `publish`/`receive`.
    let typing = text
        .replace("subscribes: [approvals]", "subscribes: [ap]")
        .replace("receive approvals(", "receive ap(");
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": typing }] }),
    );
    assert_eq!(c.completion(&uri, &typing, "[ap]", 3), ["approvals"]);
    assert_eq!(c.completion(&uri, &typing, "receive ap", 10), ["approvals"]);
    c.close(&dir);
}

#[test]
fn a_broadcast_step_is_known_to_hover_completion_and_rename() {
    let text = "capability invalidate(prefix: string) -> int\nagent cache_eu { provides: [invalidate], simulate: { latency: 1ms } }\nagent cache_us { provides: [invalidate], simulate: { latency: 1ms } }\npool caches { members: [cache_eu, cache_us] }\nworkflow main(p: string) -> int {\n  step dropped = invalidate(prefix: p) with { on: caches, broadcast: true }\n  step again = invalidate(prefix: p) with { on: [cache_eu, cache_us], broadcast: true, after: [dropped] }\n  output len(dropped) + len(again)\n}\n";
    let (mut c, uri, dir) = Client::open("broadcast", text);
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());
    // The step's type is a map by member, and hover says who the members are.
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(text, "dropped =", 0) }),
    );
    let shown = hover["contents"].to_string();
    assert!(
        shown.contains("step dropped: map<int>")
            && shown.contains("broadcast to `cache_eu`, `cache_us`")
            && shown.contains("pool `caches` (set by `on`)"),
        "{hover}"
    );
    // `broadcast` is a step option, with its doc, and its values are `true` and `false`.
    let items = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": position_of(text, "broadcast: true }", 0) }),
    );
    let option = items
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["label"] == "broadcast")
        .unwrap_or_else(|| panic!("no `broadcast` among {items}"));
    assert!(
        option.to_string().contains("every member of the target"),
        "{option}"
    );
    let labels = c.completion(&uri, text, "true }", 0);
    assert!(
        labels.contains(&"true".to_string()) && labels.contains(&"false".to_string()),
        "{labels:?}"
    );
    // A name in an `on: [..]` list is a reference like any other.
    let renamed = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri }, "position": position_of(text, "cache_us]", 1), "newName": "cache_na" }),
    );
    let edits = renamed["changes"][&uri]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // The declaration, the pool's members and the multicast.
    assert_eq!(edits.len(), 3, "{renamed}");
    c.close(&dir);
}

/// A file as `hivec fmt` leaves it: one property a line, no trailing commas.
const FORMATTED: &str = r#"type Review {
  score: int
  approved: bool
}

capability review(code: string) -> Review
topic approvals: Review {
  retain: 1h
}

state notes: list<string> = [] {
  merge: append
}

agent reviewer {
  provides: [review]
  concurrency: 2
  simulate: {
    latency: 1s
    jitter: 1ms
  }
  resources: {
    cpu: 1
    memory: 1gb
  }
}

pool reviewers {
  members: [reviewer]
  strategy: least_busy
}

route review -> reviewers {
  strategy: round_robin
  when: input.code != ""
}

workflow main(code: string) -> bool {
  timeout: 1m
  step verdict = review(code: code) with {
    retry: 1
    timeout: 1s
  }
  step sent = publish approvals(verdict) with {
    key: code
  }
  step fixed = std.echo(value: Review {
    score: 1
  })
  output verdict.approved
}
"#;

/// The LSP position of byte `offset` of `text`.
fn position_at(text: &str, offset: usize) -> Value {
    let line = text[..offset].matches('\n').count();
    let col = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": col })
}

/// On a fresh line after the last property of each kind of block, formatted or with
/// trailing commas, completion offers the block's properties not yet written, with docs.
#[test]
fn a_fresh_line_in_a_block_offers_the_properties_not_yet_written() {
    let (mut c, uri, dir) = Client::open("fresh-lines", FORMATTED);
    // The file is formatted: the formatter has nothing to change.
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let changed = edits
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["newText"] != FORMATTED);
    assert!(!changed, "{edits}");
    // The last property of a block, the indentation of its fresh line, properties that must
    // be offered and properties (or other names) that must not.
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "  concurrency: 2\n",
            "  ",
            &["exec", "replicas", "heartbeat"],
            &["provides", "concurrency", "simulate", "review", "len"],
        ),
        (
            "    jitter: 1ms\n",
            "    ",
            &["failure_rate", "output"],
            &["latency", "jitter", "exec"],
        ),
        ("    memory: 1gb\n", "    ", &["tokens"], &["cpu", "memory"]),
        (
            "  strategy: least_busy\n",
            "  ",
            &["max_queue"],
            &["members", "strategy"],
        ),
        (
            "  when: input.code != \"\"\n",
            "  ",
            &["fallback"],
            &["strategy", "when"],
        ),
        (
            "  timeout: 1m\n",
            "  ",
            &["priority", "budget", "step"],
            &["timeout", "output", "retry"],
        ),
        (
            "    timeout: 1s\n",
            "    ",
            &["backoff", "consensus", "on"],
            &["retry", "timeout", "budget"],
        ),
        (
            "    key: code\n",
            "    ",
            &["after", "when"],
            &["key", "retry"],
        ),
        ("  retain: 1h\n", "  ", &["dedupe"], &["retain"]),
        (
            "  merge: append\n",
            "  ",
            &["conflict", "scope"],
            &["merge"],
        ),
        ("    score: 1\n", "    ", &["approved"], &["score", "code"]),
    ];
    let mut version = 1;
    for comma in ["", ","] {
        for (last, indent, offered, not) in cases {
            let at = FORMATTED.find(last).expect("case in the file") + last.len() - 1;
            let text = format!("{}{comma}\n{indent}{}", &FORMATTED[..at], &FORMATTED[at..]);
            version += 1;
            c.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
            );
            let cursor = at + comma.len() + 1 + indent.len();
            let items = c.request(
                "textDocument/completion",
                json!({ "textDocument": { "uri": uri }, "position": position_at(&text, cursor) }),
            );
            let labels: Vec<&str> = items
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["label"].as_str())
                .collect();
            for want in *offered {
                assert!(
                    labels.contains(want),
                    "`{want}` after {last:?}{comma}: {labels:?}"
                );
            }
            for unwanted in *not {
                assert!(
                    !labels.contains(unwanted),
                    "`{unwanted}` after {last:?}{comma}: {labels:?}"
                );
            }
            if *last == "  concurrency: 2\n" {
                let replicas = items
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|i| i["label"] == "replicas")
                    .map(|i| i["detail"].to_string())
                    .unwrap_or_default();
                assert!(replicas.contains("instances to start"), "{replicas}");
            }
        }
    }
    c.close(&dir);
}

/// After `verdict.` completion offers the record's fields, whether a name follows the cursor,
/// the cursor is inside one, or nothing follows yet.
#[test]
fn after_a_dot_the_fields_with_or_without_a_name_following() {
    let (mut c, uri, dir) = Client::open("dot-fields", FORMATTED);
    assert_eq!(
        c.completion(&uri, FORMATTED, "verdict.approved", 8),
        ["score", "approved"]
    );
    assert_eq!(
        c.completion(&uri, FORMATTED, "verdict.approved", 11),
        ["score", "approved"]
    );
    let typing = FORMATTED.replace("output verdict.approved", "output verdict.");
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": typing }] }),
    );
    assert_eq!(
        c.completion(&uri, &typing, "verdict.\n", 8),
        ["score", "approved"]
    );
    c.close(&dir);
}

/// In a call, the parameters not yet given are offered by name.
#[test]
fn a_call_offers_the_parameters_not_yet_given() {
    let text = "capability review(code: string, lines: int) -> int\nagent a { provides: [review], simulate: { latency: 1ms } }\nworkflow main(c: string) -> int {\n  step r = review(code: c, )\n  output r\n}\n";
    let (mut c, uri, dir) = Client::open("named-args", text);
    let labels = c.completion(&uri, text, "c, )", 3);
    assert!(labels.contains(&"lines: ".to_string()), "{labels:?}");
    assert!(!labels.contains(&"code: ".to_string()), "{labels:?}");
    assert!(labels.contains(&"c".to_string()), "{labels:?}");
    c.close(&dir);
}
