#!/usr/bin/env python3
"""Tests of the stand-in agents, through the JSON-lines protocol, as the runtime runs them.

    cd examples && python3 agents/test_agents.py

The agents to start, their commands, capabilities, record and enum types are read from the
example files themselves (`examples/*.hive`, `examples/lib/common.hive`), so a field renamed
in an example and not in its script fails here. Every command runs with `sh -c` in the
directory of the file that declares the agent, like the runtime does.

- `ExampleFilesTest`: every `exec:` names a script here, every script of the README exists,
  the sample inputs below match the capabilities' parameters.
- `EveryAgentTest`: every declared agent answers `hello` with its `provides`, answers a task
  of each capability with an output of the return type, bids when it is in an auction pool,
  exits 0 on `shutdown`, and answers the same in two processes with different hash seeds.
- `ProtocolTest`: unknown capabilities, malformed lines, pipelined tasks, ids, cancel, EOF,
  bids to non-bidders, heartbeats, another working directory.
- `BehaviourTest`: what the examples rely on (approvals, consensus, bids, chunk sizes, ...).
- `WorkflowTest`: each example's workflow, played step by step against the agents.
"""

import glob
import json
import os
import queue
import re
import subprocess
import sys
import threading
import unittest

AGENTS_DIR = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.dirname(AGENTS_DIR)
TIMEOUT = 20.0

# ---------------------------------------------------------------------------------------------
# A small reader of the example files: types, enums, capabilities, agents, pools, imports.


def strip_comments(text):
    """Removes `//` and (nested) `/* */` comments, leaving strings alone."""
    out = []
    i, n, depth, in_string = 0, len(text), 0, False
    while i < n:
        c = text[i]
        if depth:
            if text.startswith("/*", i):
                depth, i = depth + 1, i + 2
            elif text.startswith("*/", i):
                depth, i = depth - 1, i + 2
            else:
                if c == "\n":
                    out.append(c)
                i += 1
        elif in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
            i += 1
        elif c == '"':
            in_string = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching(text, start):
    """Index of the bracket closing the one at `start`."""
    pairs = {"{": "}", "(": ")", "[": "]", "<": ">"}
    stack, i, in_string = [], start, False
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{([":
            stack.append(pairs[c])
        elif c in "})]":
            if not stack or stack.pop() != c:
                raise ValueError("unbalanced %r at %d" % (c, i))
            if not stack:
                return i
        i += 1
    raise ValueError("unclosed bracket at %d" % start)


def split_top(text, separators=",\n"):
    """Splits at separators outside brackets and strings."""
    parts, depth, current, in_string = [], 0, [], False
    for c in text:
        if in_string:
            current.append(c)
            if c == '"':
                in_string = False
            continue
        if c == '"':
            in_string = True
        elif c in "{([<":
            depth += 1
        elif c in "})]>":
            depth -= 1
        if c in separators and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(c)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _fields(body):
    fields = []
    for part in split_top(body):
        m = re.fullmatch(r"(\w+)\s*:\s*([^=]+?)\s*(?:=\s*(.+))?", part, re.S)
        if not m:
            raise ValueError("cannot read field %r" % part)
        fields.append((m.group(1), m.group(2).strip(), m.group(3) is not None))
    return fields


class HiveFile:
    def __init__(self, path, cache):
        self.path = os.path.abspath(path)
        self.dir = os.path.dirname(self.path)
        self.name = os.path.relpath(self.path, EXAMPLES)
        cache[self.path] = self
        with open(self.path, encoding="utf-8") as f:
            text = strip_comments(f.read())
        self.enums, self.types, self.caps, self.agents, self.pools, self.imports = {}, {}, {}, {}, {}, {}
        for m in re.finditer(r'^\s*import\s+"([^"]+)"\s+as\s+(\w+)', text, re.M):
            target = os.path.abspath(os.path.join(self.dir, m.group(1)))
            self.imports[m.group(2)] = cache.get(target) or HiveFile(target, cache)
        for m in re.finditer(r"^\s*enum\s+(\w+)\s*\{", text, re.M):
            body = text[m.end() : matching(text, m.end() - 1)]
            self.enums[m.group(1)] = split_top(body)
        for m in re.finditer(r"^\s*type\s+(\w+)\s*\{", text, re.M):
            body = text[m.end() : matching(text, m.end() - 1)]
            self.types[m.group(1)] = _fields(body)
        for m in re.finditer(r"^\s*capability\s+([\w.]+)\s*\(", text, re.M):
            close = matching(text, m.end() - 1)
            ret = re.match(r"\s*->\s*([\w.<>?]+)", text[close + 1 :])
            self.caps[m.group(1)] = (_fields(text[m.end() : close]), ret.group(1))
        for m in re.finditer(r"^\s*agent\s+(\w+)\s*\{", text, re.M):
            body = text[m.end() : matching(text, m.end() - 1)]
            exec_ = re.search(r'\bexec\s*:\s*"((?:[^"\\]|\\.)*)"', body)
            provides = re.search(r"\bprovides\s*:\s*\[([^\]]*)\]", body)
            self.agents[m.group(1)] = {
                "exec": exec_.group(1) if exec_ else None,
                "provides": split_top(provides.group(1)) if provides else [],
            }
        for m in re.finditer(r"^\s*pool\s+(\w+)\s*\{", text, re.M):
            body = text[m.end() : matching(text, m.end() - 1)]
            members = re.search(r"\bmembers\s*:\s*\[([^\]]*)\]", body)
            strategy = re.search(r"\bstrategy\s*:\s*(\w+)", body)
            self.pools[m.group(1)] = {
                "members": split_top(members.group(1)) if members else [],
                "strategy": strategy.group(1) if strategy else None,
            }

    def resolve(self, name):
        """('enum', values) or ('record', fields) and the file declaring it."""
        if "." in name:
            alias, rest = name.split(".", 1)
            return self.imports[alias].resolve(rest)
        if name in self.enums:
            return "enum", self.enums[name], self
        if name in self.types:
            return "record", self.types[name], self
        raise KeyError("%s: unknown type %s" % (self.name, name))

    def capability(self, name):
        if name in self.caps:
            return self.caps[name], self
        for imported in self.imports.values():
            try:
                return imported.capability(name)
            except KeyError:
                pass
        raise KeyError("%s: unknown capability %s" % (self.name, name))

    def auction_members(self):
        return {m for p in self.pools.values() if p["strategy"] == "auction" for m in p["members"]}


def load_examples():
    cache = {}
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "*.hive"))) + [os.path.join(EXAMPLES, "lib", "common.hive")]:
        if os.path.abspath(path) not in cache:
            HiveFile(path, cache)
    return cache


FILES = load_examples()


def hive(name):
    return FILES[os.path.abspath(os.path.join(EXAMPLES, name))]


# Examples whose agents read and write shared state: their tasks need the runtime to answer
# `get`/`put`/`lock`, so they are run by the example tests through `hivec run`, not here.
SHARED_STATE = {"research_team.hive"}


def exec_agents():
    """(file, agent name, declaration) of every agent that runs a process."""
    for hf in sorted(FILES.values(), key=lambda f: f.name):
        for name, decl in sorted(hf.agents.items()):
            if decl["exec"]:
                yield hf, name, decl


def type_errors(value, typ, hf, where="output"):
    """Why `value` is not a JSON value of the .hive type `typ` (an empty list if it is)."""
    typ = typ.strip()
    if typ.endswith("?"):
        return [] if value is None else type_errors(value, typ[:-1], hf, where)
    m = re.fullmatch(r"(list|map)<(.+)>", typ)
    if m:
        if m.group(1) == "list":
            if not isinstance(value, list):
                return ["%s: expected a list, got %s" % (where, json.dumps(value)[:80])]
            return [e for i, v in enumerate(value) for e in type_errors(v, m.group(2), hf, "%s[%d]" % (where, i))]
        if not isinstance(value, dict):
            return ["%s: expected an object, got %s" % (where, json.dumps(value)[:80])]
        return [e for k, v in value.items() for e in type_errors(v, m.group(2), hf, "%s.%s" % (where, k))]
    if typ == "json":
        return []
    checks = {
        "string": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "duration": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "size": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, float),
    }
    if typ in checks:
        ok = checks[typ](value)
        return [] if ok else ["%s: expected %s, got %s" % (where, typ, json.dumps(value)[:80])]
    kind, spec, declared = hf.resolve(typ)
    if kind == "enum":
        return [] if value in spec else ["%s: %s is not a %s (%s)" % (where, json.dumps(value), typ, ", ".join(spec))]
    if not isinstance(value, dict):
        return ["%s: expected a %s object, got %s" % (where, typ, json.dumps(value)[:80])]
    names = [f for f, _, _ in spec]
    errors = []
    missing = [f for f in names if f not in value]
    extra = sorted(k for k in value if k not in names)
    if missing:
        errors.append("%s: %s lacks field(s) %s" % (where, typ, ", ".join(missing)))
    if extra:
        errors.append("%s: %s has unknown field(s) %s" % (where, typ, ", ".join(extra)))
    for f, ftype, _ in spec:
        if f in value:
            errors += type_errors(value[f], ftype, declared, "%s.%s" % (where, f))
    return errors


def input_errors(inp, params, hf):
    names = [p for p, _, _ in params]
    errors = []
    if sorted(inp) != sorted(names):
        errors.append("input has %s, the capability takes %s" % (sorted(inp), sorted(names)))
    for p, ptype, _ in params:
        if p in inp:
            errors += type_errors(inp[p], ptype, hf, "input.%s" % p)
    return errors


# ---------------------------------------------------------------------------------------------
# Sample inputs, one realistic task per capability (every parameter given, as the runtime does).

CODE = 'def normalise(name: str) -> str:\n    """Collapses whitespace."""\n    return " ".join(name.split())\n'
TESTS = 'from solution import normalise\n\n\ndef test_normalise():\n    assert normalise(" a  b ") == "a b"\n'
QUESTION = "How do heat pumps perform below -20 °C?"
SOURCE = {"url": "https://journal.example.org/articles/4711-heat-pumps", "title": "Cold-climate heat pumps in the field", "published": None}
NOTES = [
    {"url": SOURCE["url"], "summary": "A field study of cold-climate heat pumps.", "claims": ["Heat pumps keep a COP above 1.5 at -20 °C."], "credibility": 0.86},
    {"url": "https://encyclopedia.example.org/wiki/Heat_pump", "summary": "An overview of heat pumps.", "claims": ["Efficiency falls as the outdoor temperature drops."], "credibility": 0.6},
]
ANALYSIS = {"themes": ["heat (discussed by 2 of 2 sources)"], "disagreements": [], "confidence": 0.7}
CONTRACT = (
    "Master Services Agreement\n\n"
    "1. Services. The Supplier shall provide the services described in Schedule A. "
    "The Supplier must meet the service levels in Schedule B.\n\n"
    "2. Fees. The Customer agrees to pay each invoice within 30 days. "
    "Late payments accrue interest at 1.5% per month.\n\n"
    "3. Term and termination. Either party may terminate this agreement with 90 days notice. "
    "The Customer may terminate at once for material breach.\n\n"
    "4. Liability. Neither party is liable for indirect damages. Service credits are the sole "
    "remedy for missed service levels, capped at 10% of monthly fees as a penalty.\n"
)
PARTIAL = {"index": 0, "summary": "Part 1: fees and payment.", "obligations": ["The Customer agrees to pay each invoice within 30 days."], "risks": ["Late payments accrue interest at 1.5% per month."]}
RENDITION = {"profile": "hd_1080p", "url": "s3://media/renditions/keynote/hd_1080p.mp4", "bytes": 1350000000, "seconds": 1800.0}
CAPTIONS = {"language": "en", "url": "s3://media/captions/keynote/en.vtt"}
COMMITS = ["9f1c2e7 fix cache eviction", "41aa0d3 add ARM builds"]
PLAN = {"version": "2.4.0", "targets": ["x86_64-unknown-linux-gnu"], "risky": False, "highlights": ["Add ARM builds"]}
BUILD = {"target": "x86_64-unknown-linux-gnu", "artifact": "artifacts/9f1c2e7/hive-x86_64-unknown-linux-gnu.tar.gz", "passed": True, "failures": []}
ARTICLE = {
    "url": "https://blog.rust-lang.org/posts/release-notes-1",
    "title": "Release notes from Rust-lang",
    "body": "Release notes from Rust-lang. This post covers what changed in the latest release. It explains how to upgrade.",
    "published": "2025-01-28",
}
SUMMARY = {"url": ARTICLE["url"], "title": ARTICLE["title"], "text": "Worth a read: what changed in the latest release.", "words": 9}

SAMPLES = {
    "generate": {"spec": "Add a function that normalises whitespace in user names before they are stored.", "language": "python", "temperature": 0.2},
    "review": {"code": CODE, "focus": "security"},
    "run_tests": {"patch": {"language": "python", "code": CODE, "tests": TESTS}},
    "search": {"query": QUESTION, "limit": 12},
    "read_source": {"source": SOURCE, "question": QUESTION},
    "analyze": {"question": QUESTION, "notes": NOTES},
    "fact_check": {"text": "# Report\n\n- Heat pumps keep a COP above 1.5 at -20 °C [1]\n- Heat pumps never fail.\n", "notes": NOTES},
    "write_report": {"question": QUESTION, "analysis": ANALYSIS, "notes": NOTES, "words": 1200},
    "check_page": {"url": "https://staging.example.com/pricing", "wait_for": "networkidle"},
    "fill_form": {"url": "https://staging.example.com/signup", "fields": {"email": "smoke@example.com", "password": "", "plan": "free"}, "submit": True},
    "screenshot": {"url": "https://staging.example.com/welcome", "full_page": True},
    "split": {"text": CONTRACT, "max_tokens": 6000},
    "extract": {"chunk": {"index": 0, "text": CONTRACT, "tokens": 120}, "instructions": "List the obligations, deadlines and penalties in this part of the document."},
    "reduce": {"partials": [PARTIAL], "instructions": "Merge into one digest about obligations, deadlines and penalties."},
    "transcode": {"source": "s3://media/raw/keynote.mov", "profile": "hd_1080p"},
    "transcribe": {"source": "s3://media/raw/keynote.mov", "language": "de"},
    "package": {"renditions": [RENDITION], "captions": [CAPTIONS], "name": "keynote-2025"},
    "plan_release": {"version": "2.4.0", "commits": COMMITS},
    "approve": {"plan": PLAN, "builds": [BUILD], "notes": "This release adds ARM builds."},
    "compile": {"target": "x86_64-unknown-linux-gnu", "commit": "9f1c2e7"},
    "test": {"artifact": BUILD["artifact"], "target": BUILD["target"], "suite": "full"},
    "summarize_commits": {"commits": COMMITS, "audience": "customers"},
    "edit": {"text": "This release was basically very good.\n\n- the cache bug was fixed\n", "style": "concise, active voice"},
    "write_intro": {"items": [SUMMARY], "tone": "friendly"},
    "diagnose": {"service": "checkout", "severity": "sev1", "logs": "Jan 31 kernel: Out of memory: Killed process 4711 (checkout)", "metrics": ""},
    "page": {"team": "sre-oncall", "message": "checkout: memory exhaustion", "severity": "sev1"},
    "rollback": {"service": "checkout", "host": "web-3.internal"},
    "collect": {"feeds": ["https://blog.rust-lang.org/feed.xml", "https://lwn.net/headlines/rss"], "since_days": 7},
    "render": {"subject": "This week, issue #42", "intro": "Hi there!", "items": [SUMMARY]},
    "summarize": {"article": ARTICLE, "tone": "friendly", "max_words": 80},
    "triage": {"ticket": {"id": "T-1042", "title": "Typo in the invoice footer", "severity": "low", "customer": "Acme Heating"}},
    "ship": {"ticket": "T-1042", "fix": "fix-typo-invoice-footer"},
    "deploy_config": {"service": "pricing", "settings": {"currency": "EUR", "plans": "free,starter,team,business"}},
    "invalidate": {"prefix": "pricing/plans/"},
}

# ---------------------------------------------------------------------------------------------
# Talking to an agent.


class Agent:
    """One agent process started like the runtime does: `sh -c COMMAND` in `cwd`."""

    def __init__(self, command, cwd, env=None):
        self.command = command
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            ["sh", "-c", command], cwd=cwd, env=full_env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.lines = queue.Queue()
        self.stderr = []
        self.logs = []
        self.heartbeats = 0
        self.next_id = 0
        self.pumps = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append), daemon=True),
        ]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream, sink):
        for line in iter(stream.readline, b""):
            sink(line)
        stream.close()
        sink(None)

    def send(self, message):
        line = message if isinstance(message, str) else json.dumps(message)
        self.proc.stdin.write((line + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def recv(self, timeout=TIMEOUT):
        """The next message that is not a heartbeat or a log (those are counted and kept)."""
        while True:
            try:
                raw = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("%s: no answer within %ss; stderr: %s" % (self.command, timeout, self.err()))
            if raw is None:
                raise AssertionError("%s closed its stdout; stderr: %s" % (self.command, self.err()))
            try:
                msg = json.loads(raw.decode("utf-8"))
            except ValueError:
                raise AssertionError("%s wrote a line that is not JSON: %r" % (self.command, raw))
            if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                raise AssertionError("%s wrote a line that is not a message: %r" % (self.command, raw))
            if msg["type"] == "heartbeat":
                self.heartbeats += 1
            elif msg["type"] == "log":
                assert isinstance(msg.get("level"), str) and isinstance(msg.get("message"), str), msg
                self.logs.append(msg)
            else:
                return msg

    def err(self):
        return b"".join(l for l in self.stderr if l).decode("utf-8", "replace")[-2000:]

    def hello(self, agent="test", instance=0):
        self.send({"type": "hello", "protocol": 1, "agent": agent, "instance": instance})
        msg = self.recv()
        assert msg["type"] == "ready", msg
        return msg

    def task(self, capability, inp, task_id=None, attempt=1):
        if task_id is None:
            self.next_id += 1
            task_id = self.next_id
        self.send({"type": "task", "id": task_id, "capability": capability, "input": inp, "attempt": attempt, "deadline_ms": 60000})
        return task_id

    def call(self, capability, inp, task_id=None):
        task_id = self.task(capability, inp, task_id)
        msg = self.recv()
        assert msg.get("id") == task_id, "answer %r to task %r" % (msg, task_id)
        return msg

    def bid(self, capability, inp, bid_id="bid-1"):
        self.send({"type": "bid", "id": bid_id, "capability": capability, "input": inp})
        msg = self.recv()
        assert msg.get("id") == bid_id, msg
        return msg

    def shutdown(self, timeout=TIMEOUT):
        try:
            self.send({"type": "shutdown"})
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        return self.wait(timeout)

    def wait(self, timeout=TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s did not exit" % self.command)

    def kill(self):
        """Cleanup: end the process (closing its stdin first) and the reader threads."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pump in self.pumps:
            pump.join(5)


class AgentTestCase(unittest.TestCase):
    def start(self, command, cwd=EXAMPLES, env=None):
        agent = Agent(command, cwd, env)
        self.addCleanup(agent.kill)
        return agent

    def start_declared(self, hf, name, env=None):
        return self.start(hf.agents[name]["exec"], hf.dir, env)

    def finish(self, agent):
        rc = agent.shutdown()
        self.assertEqual(rc, 0, "%s exited with %s; stderr: %s" % (agent.command, rc, agent.err()))
        self.assertNotIn("Traceback", agent.err(), agent.command)

    def result(self, msg):
        self.assertEqual(msg.get("type"), "result", msg)
        self.assertIn("output", msg)
        return msg["output"]

    def assertType(self, value, typ, hf, where="output"):
        errors = type_errors(value, typ, hf, where)
        self.assertEqual(errors, [], "%s: %s" % (typ, json.dumps(value)[:400]))


# ---------------------------------------------------------------------------------------------


class ExampleFilesTest(unittest.TestCase):
    def test_every_exec_names_a_script_here(self):
        seen = 0
        for hf, name, decl in exec_agents():
            with self.subTest(file=hf.name, agent=name):
                words = decl["exec"].split()
                script = words[1] if words[0] == "python3" else words[0]
                path = os.path.normpath(os.path.join(hf.dir, script))
                self.assertEqual(os.path.dirname(path), AGENTS_DIR, decl["exec"])
                self.assertTrue(os.path.isfile(path), path)
                if words[0] != "python3":
                    self.assertTrue(os.access(path, os.X_OK), "%s is not executable" % path)
                seen += 1
        self.assertGreaterEqual(seen, 20)

    def test_readme_lists_existing_scripts_used_by_examples(self):
        with open(os.path.join(AGENTS_DIR, "README.md"), encoding="utf-8") as f:
            rows = [l for l in f if l.startswith("| `")]
        scripts = [re.match(r"\| `([^`]+)`", r).group(1) for r in rows]
        used = {os.path.basename(d["exec"].split()[1] if d["exec"].startswith("python3") else d["exec"].split()[0])
                for _, _, d in exec_agents()}
        self.assertGreaterEqual(len(scripts), 20)
        for script in scripts:
            with self.subTest(script=script):
                self.assertTrue(os.path.isfile(os.path.join(AGENTS_DIR, script)), script)
                self.assertIn(script, used)
        self.assertEqual(sorted(used - set(scripts)), [], "scripts used by the examples but not in the README")

    def test_samples_match_the_capabilities(self):
        for hf, name, decl in exec_agents():
            if hf.name in SHARED_STATE:
                continue
            for cap in decl["provides"]:
                with self.subTest(file=hf.name, capability=cap):
                    (params, _), declared = hf.capability(cap)
                    self.assertEqual(input_errors(SAMPLES[cap], params, declared), [])


class EveryAgentTest(AgentTestCase):
    def run_agent(self, hf, name, decl, seed):
        agent = self.start(decl["exec"], hf.dir, env={"PYTHONHASHSEED": str(seed)})
        ready = agent.hello(agent=name, instance=seed)
        self.assertEqual(sorted(ready.get("capabilities") or []), sorted(decl["provides"]), "ready of %s" % name)
        outputs = {}
        for cap in decl["provides"]:
            (params, ret), declared = hf.capability(cap)
            msg = agent.call(cap, SAMPLES[cap], task_id=len(outputs) + 1)
            output = self.result(msg)
            self.assertType(output, ret, declared, "%s.%s" % (name, cap))
            outputs[cap] = output
            if name in hf.auction_members():
                reply = agent.bid(cap, SAMPLES[cap], bid_id="bid-%s" % cap)
                self.assertEqual(reply.get("type"), "bid", reply)
                cost = reply.get("cost")
                self.assertTrue(isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost > 0, reply)
                outputs["bid:" + cap] = cost
        self.assertEqual([l for l in agent.logs if l["level"] in ("warn", "error")], [])
        self.finish(agent)
        return outputs

    def test_every_declared_agent(self):
        count = 0
        for hf, name, decl in exec_agents():
            if hf.name in SHARED_STATE:
                continue
            with self.subTest(file=hf.name, agent=name, exec=decl["exec"]):
                first = self.run_agent(hf, name, decl, seed=1)
                second = self.run_agent(hf, name, decl, seed=2)
                self.assertEqual(first, second, "outputs differ between two processes")
                count += 1
        self.assertGreaterEqual(count, 20)


class ProtocolTest(AgentTestCase):
    COMMAND = "python3 agents/review.py --model small"

    def test_ready_and_result_fields(self):
        agent = self.start(self.COMMAND)
        self.assertEqual(agent.hello(), {"type": "ready", "capabilities": ["review"]})
        msg = agent.call("review", SAMPLES["review"], task_id=7)
        self.assertEqual(sorted(msg), ["id", "output", "type"])
        self.finish(agent)

    def test_unknown_capability_is_an_error(self):
        agent = self.start(self.COMMAND)
        agent.hello()
        msg = agent.call("translate", {"text": "hello"}, task_id=1)
        self.assertEqual(msg["type"], "error", msg)
        self.assertIsInstance(msg.get("message"), str)
        self.assertIn("translate", msg["message"])
        self.assertIs(msg.get("retryable"), False)
        self.result(agent.call("review", SAMPLES["review"], task_id=2))
        self.finish(agent)

    def test_malformed_lines_do_not_kill_the_agent(self):
        agent = self.start(self.COMMAND)
        agent.hello()
        for line in ["not json", "", "[1, 2]", '{"no": "type"}', '{"type": "gossip"}', "{\"type\": \"task\""]:
            agent.send(line)
        self.result(agent.call("review", SAMPLES["review"], task_id=3))
        self.assertGreaterEqual(len(agent.logs), 5, agent.logs)
        self.finish(agent)

    def test_bad_inputs_are_errors(self):
        agent = self.start(self.COMMAND)
        agent.hello()
        cases = [
            ({"focus": "security"}, True),  # missing field: reported, retryable like any failure
            ({"code": CODE, "focus": "speed"}, False),  # not a Focus
        ]
        for i, (inp, retryable) in enumerate(cases):
            msg = agent.call("review", inp, task_id=i + 1)
            self.assertEqual(msg["type"], "error", msg)
            self.assertIs(msg["retryable"], retryable, msg)
        agent.send({"type": "task", "id": 9, "capability": "review", "input": [1, 2], "attempt": 1, "deadline_ms": 1000})
        msg = agent.recv()
        self.assertEqual((msg["type"], msg["id"]), ("error", 9))
        self.result(agent.call("review", SAMPLES["review"], task_id=10))
        self.finish(agent)

    def test_pipelined_tasks_keep_their_ids(self):
        agent = self.start(self.COMMAND)
        agent.hello()
        ids = [1, "two", 3, "task-4", 5]
        foci = ["security", "correctness", "style", "security", "correctness"]
        for task_id, focus in zip(ids, foci):
            agent.task("review", {"code": CODE, "focus": focus}, task_id=task_id)
        answers = [agent.recv() for _ in ids]
        self.assertEqual([a["id"] for a in answers], ids)
        self.assertTrue(all(a["type"] == "result" for a in answers), answers)
        self.assertEqual(answers[0]["output"], answers[3]["output"])
        self.finish(agent)

    def test_cancel_is_ignored_and_checkpoint_accepted(self):
        agent = self.start(self.COMMAND)
        agent.hello()
        self.result(agent.call("review", SAMPLES["review"], task_id=1))
        agent.send({"type": "cancel", "id": 1})
        agent.send({"type": "cancel", "id": "never-sent"})
        agent.send({"type": "task", "id": 2, "capability": "review", "input": SAMPLES["review"], "attempt": 2,
                    "deadline_ms": 1000, "checkpoint": {"done": 1}})
        msg = agent.recv()
        self.assertEqual((msg["type"], msg["id"]), ("result", 2))
        self.finish(agent)

    def test_end_of_input_exits_zero(self):
        agent = self.start(self.COMMAND)
        agent.hello()
        agent.proc.stdin.close()
        self.assertEqual(agent.wait(), 0)

    def test_exits_without_hello(self):
        agent = self.start(self.COMMAND)
        self.assertEqual(agent.shutdown(), 0)

    def test_bid_to_an_agent_that_does_not_bid(self):
        agent = self.start(self.COMMAND)
        agent.hello()
        msg = agent.bid("review", SAMPLES["review"], bid_id=11)
        self.assertEqual(msg["type"], "error", msg)
        self.finish(agent)

    def test_bid_for_a_capability_not_served(self):
        agent = self.start("python3 agents/transcribe.py --model medium")
        agent.hello()
        self.assertEqual(agent.bid("transcode", SAMPLES["transcode"])["type"], "error")
        self.assertEqual(agent.bid("transcribe", SAMPLES["transcribe"], bid_id="b2")["type"], "bid")
        self.finish(agent)

    def test_heartbeats(self):
        agent = self.start(self.COMMAND, env={"HIVE_AGENT_HEARTBEAT_MS": "30"})
        agent.hello()
        beats = 0
        while beats < 3:
            raw = agent.lines.get(timeout=TIMEOUT)
            self.assertIsNotNone(raw, agent.err())
            self.assertEqual(json.loads(raw), {"type": "heartbeat"})
            beats += 1
        # heartbeats never get in the way of answers
        self.result(agent.call("review", SAMPLES["review"]))
        self.finish(agent)

    def test_no_heartbeat_when_disabled(self):
        agent = self.start(self.COMMAND, env={"HIVE_AGENT_HEARTBEAT_MS": "0"})
        agent.hello()
        self.result(agent.call("review", SAMPLES["review"]))
        self.finish(agent)
        self.assertEqual(agent.heartbeats, 0)

    def test_runs_from_any_directory(self):
        for script in ("review.py --model large", "sandbox.sh"):
            with self.subTest(script=script):
                command = os.path.join(AGENTS_DIR, script)
                if script.endswith(".py --model large"):
                    command = "python3 " + command
                agent = self.start(command, cwd="/")
                agent.hello()
                cap = "review" if "review" in script else "run_tests"
                self.result(agent.call(cap, SAMPLES[cap]))
                self.finish(agent)

    def test_dotted_and_suffixed_capability_names(self):
        agent = self.start("python3 ../agents/summarize.py", cwd=os.path.join(EXAMPLES, "lib"))
        agent.hello()
        self.result(agent.call("common.summarize", SAMPLES["summarize"], task_id=1))
        self.result(agent.call("summarize@lib/common.hive", SAMPLES["summarize"], task_id=2))
        self.finish(agent)


class BehaviourTest(AgentTestCase):
    def generated_patch(self, language):
        agent = self.start("python3 agents/generate.py --model large")
        agent.hello()
        inp = dict(SAMPLES["generate"], language=language)
        patch = self.result(agent.call("generate", inp))
        self.finish(agent)
        return patch

    def reviewers(self):
        hf = hive("code_review.hive")
        agents = {}
        for name in ("reviewer_small", "reviewer_medium", "reviewer_large"):
            agents[name] = self.start_declared(hf, name)
            agents[name].hello()
        return agents

    def test_generated_code_is_approved_and_security_has_a_majority(self):
        for language in ("python", "rust", "go", "typescript"):
            with self.subTest(language=language):
                patch = self.generated_patch(language)
                agents = self.reviewers()
                for focus in ("security", "correctness", "style"):
                    reviews = [self.result(a.call("review", {"code": patch["code"], "focus": focus})) for a in agents.values()]
                    self.assertTrue(all(r["approved"] for r in reviews), reviews)
                    encoded = [json.dumps(r, sort_keys=True) for r in reviews]
                    self.assertGreaterEqual(max(encoded.count(e) for e in encoded), 2, reviews)
                for a in agents.values():
                    self.finish(a)

    def test_dangerous_code_is_rejected_by_every_model(self):
        agents = self.reviewers()
        code = "import os\n\ndef run(cmd):\n    return eval(cmd)\n"
        reviews = [self.result(a.call("review", {"code": code, "focus": "security"})) for a in agents.values()]
        self.assertFalse(any(r["approved"] for r in reviews), reviews)
        self.assertTrue(all(r["comments"] for r in reviews))
        scores = [r["score"] for r in reviews]
        self.assertEqual(scores[1], scores[2])
        self.assertLess(scores[0], scores[1])

    def test_sandbox(self):
        sandbox = self.start("./agents/sandbox.sh")
        sandbox.hello()
        for language in ("python", "rust", "go", "javascript"):
            with self.subTest(language=language):
                run = self.result(sandbox.call("run_tests", {"patch": self.generated_patch(language)}))
                self.assertTrue(run["passed"], run)
                self.assertIn("passed", run["log"])
        run = self.result(sandbox.call("run_tests", {"patch": {"language": "python", "code": CODE, "tests": ""}}))
        self.assertFalse(run["passed"])
        self.finish(sandbox)

    def test_search_returns_at_most_three_and_at_most_limit(self):
        agent = self.start("python3 agents/search.py")
        agent.hello()
        for limit in (0, 1, 2, 3, 12):
            hits = self.result(agent.call("search", {"query": QUESTION, "limit": limit}))
            self.assertEqual(len(hits), min(limit, 3))
        other = self.result(agent.call("search", {"query": "Rust async runtimes compared", "limit": 3}))
        self.assertNotEqual([h["url"] for h in hits], [h["url"] for h in other])
        self.finish(agent)

    def test_diagnosis_is_confident(self):
        hf = hive("incident_response.hive")
        for name in ("senior_sre", "sre_a", "sre_b"):
            agent = self.start_declared(hf, name)
            agent.hello()
            for logs in ("", SAMPLES["diagnose"]["logs"], "upstream request timed out after 30s"):
                d = self.result(agent.call("diagnose", dict(SAMPLES["diagnose"], logs=logs)))
                self.assertTrue(d["confident"], d)
                self.assertIn("checkout", d["cause"])
                if not logs:
                    self.assertTrue(d["rollback_safe"], d)
            self.finish(agent)

    def test_cache_nodes_drop_their_own_share_once(self):
        hf = hive("cache_invalidation.hive")
        dropped = {}
        for name in ("cache_eu", "cache_us", "cache_ap"):
            agent = self.start_declared(hf, name)
            agent.hello()
            dropped[name] = self.result(agent.call("invalidate", {"prefix": "pricing/plans/"}))
            self.assertEqual(self.result(agent.call("invalidate", {"prefix": "pricing/plans/"})), 0)
            self.assertGreater(self.result(agent.call("invalidate", {"prefix": "pricing/"})), 0)
            self.assertEqual(agent.call("invalidate", {"prefix": ""})["type"], "error")
            self.finish(agent)
        # 5 plans in 5 locales: each node holds a share of the 25 keys, not all the same.
        self.assertTrue(all(0 < n < 25 for n in dropped.values()), dropped)
        self.assertGreater(len(set(dropped.values())), 1, dropped)

    def test_a_cache_node_that_is_down_refuses(self):
        hf = hive("cache_invalidation.hive")
        down = self.start_declared(hf, "cache_ap", env={"CACHE_NODES_DOWN": "cache_eu, cache_ap"})
        down.hello()
        msg = down.call("invalidate", {"prefix": "pricing/plans/"})
        self.assertEqual(msg["type"], "error", msg)
        self.assertTrue(msg["retryable"], msg)
        self.assertIn("cache_ap", msg["message"])
        self.finish(down)
        up = self.start_declared(hf, "cache_us", env={"CACHE_NODES_DOWN": "cache_ap"})
        up.hello()
        self.result(up.call("invalidate", {"prefix": "pricing/plans/"}))
        self.finish(up)

    def test_config_store_versions_by_content(self):
        store = self.start_declared(hive("cache_invalidation.hive"), "config_store")
        store.hello()
        first = self.result(store.call("deploy_config", SAMPLES["deploy_config"]))
        self.assertEqual(first["changed"], ["plans"])
        again = self.result(store.call("deploy_config", SAMPLES["deploy_config"]))
        self.assertEqual(again, {"version": first["version"], "changed": []})
        self.assertEqual(store.call("deploy_config", {"service": "billing", "settings": {"a": "b"}})["type"], "error")
        self.finish(store)

    def test_bids(self):
        hf = hive("task_auction.hive")
        encoders = {n: self.start_declared(hf, n) for n in ("onprem_gpu", "spot_gpu", "cloud_media")}
        for a in encoders.values():
            a.hello()
        costs = {}
        for profile in ("uhd_2160p", "hd_1080p", "hd_720p", "sd_480p"):
            inp = {"source": "s3://media/raw/keynote.mov", "profile": profile}
            costs[profile] = {n: a.bid("transcode", inp)["cost"] for n, a in encoders.items()}
            c = costs[profile]
            self.assertLess(c["spot_gpu"], c["onprem_gpu"], c)
            self.assertLess(c["onprem_gpu"], c["cloud_media"], c)
        for name in encoders:
            ladder = [costs[p][name] for p in ("sd_480p", "hd_720p", "hd_1080p", "uhd_2160p")]
            self.assertEqual(ladder, sorted(ladder), name)
            self.assertEqual(len(set(ladder)), 4, name)
        bad = encoders["onprem_gpu"].bid("transcode", {"source": "x.mov", "profile": "8k"})
        self.assertEqual(bad["type"], "error")
        whisper = self.start_declared(hf, "whisper")
        whisper.hello()
        inp = SAMPLES["transcribe"]
        self.assertLess(whisper.bid("transcribe", inp)["cost"], encoders["cloud_media"].bid("transcribe", inp)["cost"])
        for a in list(encoders.values()) + [whisper]:
            self.finish(a)

    def test_split_respects_max_tokens(self):
        agent = self.start_declared(hive("document_mapreduce.hive"), "cpu_box")
        agent.hello()
        for max_tokens in (6000, 40, 7):
            chunks = self.result(agent.call("split", {"text": CONTRACT, "max_tokens": max_tokens}))
            self.assertEqual([c["index"] for c in chunks], list(range(len(chunks))))
            self.assertTrue(all(0 < c["tokens"] <= max_tokens for c in chunks), chunks)
            self.assertEqual(" ".join(c["text"] for c in chunks).split(), CONTRACT.split())
        self.assertGreater(len(chunks), 3)
        self.assertEqual(self.result(agent.call("split", {"text": "", "max_tokens": 100})), [])
        self.finish(agent)

    def test_extract_finds_obligations_and_risks(self):
        agent = self.start_declared(hive("document_mapreduce.hive"), "big_gpu")
        agent.hello()
        partial = self.result(agent.call("extract", SAMPLES["extract"]))
        self.assertEqual(partial["index"], 0)
        self.assertTrue(any("shall provide" in o for o in partial["obligations"]), partial)
        self.assertTrue(any("interest" in r for r in partial["risks"]), partial)
        self.assertEqual(agent.call("split", SAMPLES["split"])["type"], "error")  # only cpu_box splits
        self.finish(agent)

    def test_writer_modes(self):
        coordinator = self.start("python3 agents/writer.py")
        self.assertEqual(coordinator.hello()["capabilities"], ["summarize_commits", "edit"])
        notes = self.result(coordinator.call("summarize_commits", dict(SAMPLES["summarize_commits"], audience="developers")))
        self.assertIn("9f1c2e7", notes)
        edited = self.result(coordinator.call("edit", SAMPLES["edit"]))
        self.assertNotIn("basically", edited)
        self.assertEqual(edited, "This release was good.\n\n- We fixed the cache bug\n")
        self.finish(coordinator)
        editor = self.start("python3 agents/writer.py --task intro")
        self.assertEqual(editor.hello()["capabilities"], ["write_intro"])
        for tone in ("neutral", "friendly", "formal"):
            self.assertIn(SUMMARY["title"], self.result(editor.call("write_intro", dict(SAMPLES["write_intro"], tone=tone))))
        self.assertIsInstance(self.result(editor.call("write_intro", {"items": [], "tone": "formal"})), str)
        self.finish(editor)

    def test_summaries_respect_max_words(self):
        agent = self.start("python3 ../agents/summarize.py", cwd=os.path.join(EXAMPLES, "lib"))
        agent.hello()
        for max_words in (5, 80, 200):
            s = self.result(agent.call("summarize", dict(SAMPLES["summarize"], max_words=max_words)))
            self.assertLessEqual(s["words"], max_words)
            self.assertEqual(s["words"], len(s["text"].split()))
        self.finish(agent)

    def test_render_escapes(self):
        agent = self.start("python3 agents/render_email.py")
        agent.hello()
        html = self.result(agent.call("render", dict(SAMPLES["render"], subject="<script>")))
        self.assertNotIn("<script>", html)
        self.assertIn("&lt;script&gt;", html)
        self.finish(agent)


class Fleet:
    """The exec agents of one example file, started on first use."""

    def __init__(self, case, file):
        self.case, self.hf, self.agents, self.ids = case, hive(file), {}, 0

    def declaring(self, name, hf=None):
        hf = hf or self.hf
        if name in hf.agents:
            return hf
        for imported in hf.imports.values():
            found = self.declaring(name, imported)
            if found:
                return found
        return None

    def agent(self, name):
        if name not in self.agents:
            self.agents[name] = self.case.start_declared(self.declaring(name), name)
            self.agents[name].hello(agent=name)
        return self.agents[name]

    def call(self, name, capability, /, **inp):
        (params, ret), declared = self.hf.capability(capability)
        self.case.assertEqual(input_errors(inp, params, declared), [], "input of %s" % capability)
        self.ids += 1
        output = self.case.result(self.agent(name).call(capability, inp, task_id=self.ids))
        self.case.assertType(output, ret, declared, "%s.%s" % (name, capability))
        return output

    def auction(self, members, capability, /, **inp):
        """Calls the member with the lowest bid."""
        costs = {m: self.agent(m).bid(capability, inp, bid_id="bid-%d" % self.ids)["cost"] for m in members}
        winner = min(members, key=lambda m: costs[m])
        return winner, self.call(winner, capability, **inp)

    def close(self):
        for agent in self.agents.values():
            self.case.finish(agent)


class WorkflowTest(AgentTestCase):
    def test_code_review(self):
        f = Fleet(self, "code_review.hive")
        patch = f.call("coder", "generate", spec="Validate e-mail addresses on sign-up.", language="rust", temperature=0.2)
        votes = [f.call(r, "review", code=patch["code"], focus="security") for r in ("reviewer_small", "reviewer_medium", "reviewer_large")]
        encoded = [json.dumps(v, sort_keys=True) for v in votes]
        majority = [v for v, e in zip(votes, encoded) if encoded.count(e) * 2 > len(votes)]
        self.assertTrue(majority, votes)
        security = majority[0]
        reviews = [f.call("reviewer_medium", "review", code=patch["code"], focus=a) for a in ("correctness", "style")]
        self.assertTrue(security["approved"])
        tests = f.call("sandbox", "run_tests", patch=patch)
        self.assertTrue(security["approved"] and tests["passed"] and reviews[0]["approved"])
        f.close()

    def test_research_report(self):
        f = Fleet(self, "research_report.hive")
        hits = f.call("searcher", "search", query=QUESTION, limit=12)
        self.assertEqual(len(hits), 3)
        notes = [f.call("reader", "read_source", source=h, question=QUESTION) for h in hits]
        analysis = f.call("analyst", "analyze", question=QUESTION, notes=notes)
        self.assertGreater(analysis["confidence"], 0.5)
        draft = f.call("writer", "write_report", question=QUESTION, analysis=analysis, notes=notes, words=1200)
        self.assertTrue(draft.startswith("# " + QUESTION))
        self.assertLessEqual(len(draft.split()), 1200)
        self.assertEqual(f.call("analyst", "fact_check", text=draft, notes=notes), [])
        self.assertEqual(f.call("analyst", "fact_check", text=draft + "\n- Heat pumps run on moonlight.\n", notes=notes),
                         ["Heat pumps run on moonlight."])
        f.close()

    def test_browser_fleet(self):
        f = Fleet(self, "browser_fleet.hive")
        base = "https://staging.example.com"
        for member in ("chrome_a", "chrome_b", "firefox", "grid"):
            pages = [f.call(member, "check_page", url=base + p, wait_for="networkidle") for p in ("/", "/pricing", "/docs", "/login")]
            self.assertTrue(all(p["status"] == 200 and not p["console_errors"] for p in pages), pages)
            signup = f.call(member, "fill_form", url=base + "/signup",
                            fields={"email": "smoke@example.com", "password": "", "plan": "free"}, submit=True)
            self.assertEqual(signup, {"submitted": True, "final_url": base + "/welcome", "errors": []})
            shot = f.call(member, "screenshot", url=signup["final_url"], full_page=True)
            self.assertTrue(shot.endswith(".png"), shot)
        bad = f.call("chrome_a", "fill_form", url=base + "/signup", fields={"email": "nobody"}, submit=True)
        self.assertFalse(bad["submitted"])
        self.assertTrue(bad["errors"])
        missing = f.call("firefox", "check_page", url=base + "/missing-page", wait_for="load")
        self.assertEqual(missing["status"], 404)
        f.close()

    def test_document_mapreduce(self):
        f = Fleet(self, "document_mapreduce.hive")
        chunks = f.call("cpu_box", "split", text=CONTRACT * 3, max_tokens=150)
        self.assertGreater(len(chunks), 1)
        workers = ("big_gpu", "mid_gpu", "cpu_box")
        instructions = "List the obligations, deadlines and penalties in this part of the document."
        partials = [f.call(workers[i % 3], "extract", chunk=c, instructions=instructions) for i, c in enumerate(chunks)]
        digest = f.call("big_gpu", "reduce", partials=list(reversed(partials)),
                        instructions="Merge into one digest about obligations, deadlines and penalties.")
        self.assertEqual(digest["chunks"], len(chunks))
        self.assertEqual(digest["title"], "Digest: obligations, deadlines and penalties")
        self.assertTrue(digest["obligations"] and digest["risks"])
        self.assertEqual(len(digest["risks"]), len({r.lower() for r in digest["risks"]}))
        f.close()

    def test_task_auction(self):
        f = Fleet(self, "task_auction.hive")
        source = "s3://media/raw/keynote.mov"
        renditions, winners = [], set()
        for profile in ("uhd_2160p", "hd_1080p", "hd_720p", "sd_480p"):
            winner, r = f.auction(("onprem_gpu", "spot_gpu", "cloud_media"), "transcode", source=source, profile=profile)
            self.assertEqual(r["profile"], profile)
            renditions.append(r)
            winners.add(winner)
        self.assertEqual(winners, {"spot_gpu"})
        sizes = [r["bytes"] for r in renditions]
        self.assertEqual(sizes, sorted(sizes, reverse=True))
        captions = [f.auction(("whisper", "cloud_media"), "transcribe", source=source, language=l)[1] for l in ("en", "de", "ja")]
        self.assertEqual([c["language"] for c in captions], ["en", "de", "ja"])
        manifest = f.call("packager", "package", renditions=renditions, captions=captions, name="keynote-2025")
        self.assertEqual(manifest, "s3://media/packages/keynote-2025/master.m3u8")
        cloud = f.call("cloud_media", "transcode", source=source, profile="sd_480p")
        self.assertEqual(cloud["bytes"], renditions[-1]["bytes"])
        f.close()

    def test_coordinator(self):
        f = Fleet(self, "coordinator.hive")
        plan = f.call("planner", "plan_release", version="2.4.0", commits=COMMITS)
        self.assertIn("aarch64-unknown-linux-gnu", plan["targets"])
        self.assertFalse(plan["risky"])
        builds = []
        for target in plan["targets"]:
            artifact = f.call("builder", "compile", target=target, commit="9f1c2e7")
            builds.append(f.call("tester", "test", artifact=artifact, target=target, suite="full"))
        self.assertTrue(all(b["passed"] for b in builds), builds)
        notes = {}
        for audience in ("customers", "developers"):
            draft = f.call("writer", "summarize_commits", commits=COMMITS, audience=audience)
            notes[audience] = f.call("writer", "edit", text=draft, style="concise, active voice")
            self.assertTrue(notes[audience].strip())
        approval = f.call("planner", "approve", plan=plan, builds=builds, notes=notes["customers"])
        self.assertTrue(approval["approved"], approval)
        refused = f.call("planner", "approve", plan=plan, builds=builds[:1], notes=notes["customers"])
        self.assertFalse(refused["approved"])
        self.assertTrue(f.call("planner", "plan_release", version="3.0.0", commits=COMMITS)["risky"])
        f.close()

    def test_incident_response(self):
        f = Fleet(self, "incident_response.hive")
        for severity, diagnoser in (("sev1", "senior_sre"), ("sev2", "sre_a"), ("sev3", "sre_b")):
            # offline, the ssh and curl evidence is empty
            d = f.call(diagnoser, "diagnose", service="checkout", severity=severity, logs="", metrics="")
            self.assertTrue(d["confident"])
            for channel in ("pagerduty", "slack"):
                self.assertIs(f.call(channel, "page", team="sre-oncall", message="checkout: " + d["cause"], severity=severity), True)
            if d["rollback_safe"] and severity != "sev3":
                self.assertIs(f.call("deployer", "rollback", service="checkout", host="web-3.internal"), True)
        self.assertTrue(any("sre-oncall" in l["message"] for l in f.agent("pagerduty").logs))
        f.close()

    def test_cache_invalidation(self):
        f = Fleet(self, "cache_invalidation.hive")
        with open(os.path.join(EXAMPLES, "inputs", "config_change.json")) as fh:
            change = json.load(fh)
        deployed = f.call("config_store", "deploy_config", service=change["service"], settings=change["settings"])
        self.assertEqual(deployed["changed"], ["plans"])
        prefix = "%s/%s" % (change["service"], change["prefix"])
        dropped = {n: f.call(n, "invalidate", prefix=prefix) for n in ("cache_eu", "cache_us", "cache_ap")}
        self.assertTrue(all(n > 0 for n in dropped.values()), dropped)
        f.close()

    def test_newsletter(self):
        f = Fleet(self, "newsletter.hive")
        feeds = ["https://blog.rust-lang.org/feed.xml", "https://lwn.net/headlines/rss"]
        articles = f.call("feed_reader", "collect", feeds=feeds, since_days=7)
        self.assertEqual(len(articles), 4)
        self.assertEqual(len({a["url"] for a in articles}), 4)
        self.assertTrue(all("2025-01-24" <= a["published"] <= "2025-01-31" for a in articles), articles)
        items = [f.call("summarizer", "summarize", article=a, tone="friendly", max_words=80) for a in articles]
        lead = f.call("summarizer", "summarize", article=articles[0], tone="formal", max_words=200)
        self.assertTrue(lead["text"].startswith("In summary"))
        intro = f.call("editor", "write_intro", items=items, tone="friendly")
        html = f.call("renderer", "render", subject="This week, issue #42", intro=intro, items=items)
        self.assertIn("<h1>This week, issue #42</h1>", html)
        self.assertEqual(html.count("<li>"), 4)
        self.assertEqual(f.call("feed_reader", "collect", feeds=feeds, since_days=0), [])
        f.close()


if __name__ == "__main__":
    os.chdir(EXAMPLES)
    unittest.main(verbosity=1)
