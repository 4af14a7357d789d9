//! A plan with topics and its listener, run in one process and in distributed mode.

/// A listener that serves no capability. For every `requests` event it publishes each of the
/// payload's `attempts` (raw `publish` messages) in turn and keeps the answers, then, unless
/// the file `quiet` exists, publishes an approval to `approvals` carrying those answers, and
/// creates `quiet`.
pub const LISTENER: &str = r#"import json, os, sys
def send(m):
    print(json.dumps(m), flush=True)
def answer():
    while True:
        m = json.loads(sys.stdin.readline())
        if m["type"] in ("published", "publish_refused"):
            return m
while True:
    line = sys.stdin.readline()
    if not line:
        break
    msg = json.loads(line)
    if msg["type"] == "hello":
        send({"type": "ready", "capabilities": []})
    elif msg["type"] == "event" and msg["topic"] == "requests":
        answers = []
        for attempt in msg["payload"]["attempts"]:
            send(dict(attempt, type="publish"))
            a = answer()
            answers.append({k: a[k] for k in ("type", "reason") if k in a})
        if not os.path.exists("quiet"):
            open("quiet", "w").close()
            send({"type": "publish", "topic": "approvals", "key": msg["payload"]["ticket"],
                  "payload": {"ticket": msg["payload"]["ticket"], "answers": answers}})
            answer()
    elif msg["type"] == "shutdown":
        break
"#;

pub const HIVE: &str = r#"
type Request { ticket: string, attempts: json }
type Approval { ticket: string, answers: json }

topic requests: Request { retain: 1h }
topic approvals: Approval { retain: 1h, dedupe: 10m }

agent listener { provides: [], subscribes: [requests], exec: "python3 listener.py" }

workflow main(ticket: string, attempts: json = []) -> Approval {
  step asked = publish requests(Request { ticket: ticket, attempts: attempts })
  step decision = receive approvals(where: it.ticket == ticket) with { timeout: 10s }
  output decision
}

workflow person(ticket: string) -> Approval {
  step decision = receive approvals(where: it.ticket == ticket) with { timeout: 60s }
  output decision
}

workflow wait(ticket: string) -> Approval {
  step decision = receive approvals(where: it.ticket == ticket) with {
    timeout: 200ms
    fallback: Approval { ticket: ticket, answers: "none came" }
  }
  output decision
}

workflow strict(ticket: string) -> Approval {
  step decision = receive approvals(where: it.ticket == ticket) with { timeout: 200ms }
  output decision
}

workflow keyed(ticket: string) -> list<string> {
  step first = publish approvals(Approval { ticket: ticket, answers: 1 }) with { key: ticket }
  step second = publish approvals(Approval { ticket: ticket, answers: 2 }) with { key: ticket, after: [first] }
  step other = publish approvals(Approval { ticket: "other", answers: 3 }) with { key: "other", after: [second] }
  output [first, second, other]
}

workflow retained(ticket: string) -> Approval {
  step early = publish approvals(Approval { ticket: "x", answers: "not this one" })
  step sent = publish approvals(Approval { ticket: ticket, answers: "this one" })
  step nap = std.sleep(duration: 300ms) with { after: [early, sent] }
  step late = receive approvals(where: it.ticket == ticket) with { after: [nap], timeout: 1s }
  output late
}
"#;
