"""The JSON-lines agent protocol, shared by every stand-in agent in this directory.

An agent script builds a table of handlers, one per capability, and calls `serve`:

    import os, sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import hive_agent

    def review(input, flags):
        return {"approved": True, "score": 8, "comments": []}

    if __name__ == "__main__":
        hive_agent.serve({"review": review})

`serve` answers `hello` with `ready` (the keys of the table, in order), runs every `task`
through its handler and answers `result`, or `error` when the handler raises, answers `bid`
through the optional `bid(capability, input, flags)` callback, ignores `cancel` (tasks are
handled one at a time, in the order they arrive, so a cancel always names a task that is
already answered) and returns on `shutdown` or at the end of stdin. A line that is not a
protocol message is reported with a `log` message and skipped: the agent keeps running.

A handler may read and write the run's shared state while it runs: `get(key)` returns a
cell's value and version, `put(key, value, expect=None, token=None)` writes one and returns
the runtime's answer (`{"ok": True, "version": n}`, or `{"ok": False, "reason": ...}` with
the cell's current `version` and `value` when the write was refused), and `lock(name, ttl_ms)`
/ `unlock(name, token)` hold a lease whose token fences writes to the cell of that name:

    def take_note(input, flags):
        answer = hive_agent.put("notes", [input["text"]])
        return answer["ok"]

An agent whose declaration has `subscribes: [topic]` is sent every message of those topics
as an `event`; `serve(handlers, events=on_event)` calls `on_event(topic, payload, id, flags)`
for each (between tasks). Any agent may `publish(topic, payload, key=None)`, from a handler or
from `on_event`; it returns `{"ok": True, "id": id}` or `{"ok": False, "reason": ...}` when the
runtime refused the message (an undeclared topic, a payload of the wrong type):

    def on_event(topic, payload, id, flags):
        if topic == "tickets" and payload["severity"] != "critical":
            hive_agent.publish("approvals", {"ticket": payload["id"], "approved": True})

`flags` is the script's command line as a dict: `--model large` gives `{"model": "large"}`,
a flag without a value (`--spot`) gives `True`.

While it runs, the agent sends a `heartbeat` every second (the environment variable
`HIVE_AGENT_HEARTBEAT_MS` changes the interval; `0` turns heartbeats off).

Standard library only. Nothing here reads the clock for its answers: outputs depend on the
input and the flags alone.
"""

import collections
import json
import math
import os
import re
import sys
import threading
import traceback
import zlib

PROTOCOL = 1
HEARTBEAT_ENV = "HIVE_AGENT_HEARTBEAT_MS"
DEFAULT_HEARTBEAT_MS = 1000


class TaskError(Exception):
    """Raised by a handler to fail a task with a chosen message and `retryable` flag."""

    def __init__(self, message, retryable=True):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


def parse_flags(argv=None):
    """`--name value`, `--name=value` and bare `--name` (true) into a dict."""
    if argv is None:
        argv = sys.argv[1:]
    flags = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("--") or arg == "--":
            continue
        name, eq, value = arg[2:].partition("=")
        if eq:
            flags[name] = value
        elif i < len(argv) and not argv[i].startswith("--"):
            flags[name] = argv[i]
            i += 1
        else:
            flags[name] = True
    return flags


# ---------------------------------------------------------------------------------------------
# Small deterministic helpers shared by the scripts (never Python's salted `hash`).


def stable_int(*parts):
    """A hash of `parts` that is the same in every process."""
    text = "\x1f".join(str(p) for p in parts)
    return zlib.crc32(text.encode("utf-8"))


STOPWORDS = frozenset(
    """a about above after all an and any are as at be below before between by can could did do
    does during each for from has have how if in into is it its more most not of on or over per
    should some such than that the their then there these this those to under was were what when
    where which who why will with without would""".split()
)


def keywords(text, limit=None):
    """Lower-case words of `text` without stop words, in order of appearance, without repeats."""
    seen = dict.fromkeys(
        w for w in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", str(text).lower()) if w not in STOPWORDS and len(w) > 1
    )
    words = list(seen)
    return words if limit is None else words[:limit]


def slugify(text, max_words=6):
    return "-".join(keywords(text, max_words)) or "untitled"


def truncate_words(text, n):
    words = str(text).split()
    if n <= 0:
        return ""
    if len(words) <= n:
        return " ".join(words)
    return " ".join(words[:n]).rstrip(",;:") + "..."


def sentences(text):
    parts = re.split(r"(?<=[.!?])\s+|\n\s*\n", str(text))
    return [p.strip() for p in parts if p and p.strip()]


# ---------------------------------------------------------------------------------------------
# The protocol.


class _Channel:
    """Writes one JSON object per line to the real stdout, flushing each line."""

    def __init__(self, out):
        self._out = out
        self._lock = threading.Lock()
        self._broken = False

    def send(self, message):
        data = (json.dumps(message, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        with self._lock:
            if self._broken:
                raise BrokenPipeError("the runtime closed the agent's stdout")
            try:
                self._out.write(data)
                # At once: to a pipe, Python's stdout is buffered, and a line the runtime does
                # not receive is an answer it never sees.
                self._out.flush()
            except OSError:
                # Point fd 1 at /dev/null so that the flush at interpreter exit cannot fail again.
                self._broken = True
                try:
                    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
                except OSError:
                    pass
                raise BrokenPipeError("the runtime closed the agent's stdout")


_channel = None
# While a handler waits for the answer to a state request, other messages (a `cancel`, the
# next task) may arrive: they are kept here, in order, for `serve`.
_stdin = None
_backlog = collections.deque()
_current_task = None


class StateRefused(TaskError):
    """Raised by `get` when the runtime refuses to read a cell for this capability."""


def _request(message, answers):
    """Sends a state request on behalf of the task being handled and waits for its answer."""
    if _channel is None or _stdin is None:
        raise RuntimeError("state requests are answered only while `serve` runs a task")
    if _current_task is not None:
        message["id"] = _current_task
    _channel.send(message)
    return _answer(answers, "id", message.get("id"))


def _answer(answers, field, value):
    """Reads until a message of a type in `answers` whose `field` is `value` arrives; the
    messages read meanwhile are kept, in order, for `serve`."""
    while True:
        raw = _stdin.readline()
        if not raw:
            raise BrokenPipeError("the runtime closed the agent's stdin")
        try:
            msg = json.loads(raw)
        except ValueError:
            msg = None
        if isinstance(msg, dict) and msg.get("type") in answers and msg.get(field) == value:
            return msg
        _backlog.append(raw)


def get(key):
    """The value and version of state cell `key`."""
    answer = _request({"type": "get", "key": key}, ("value", "get_refused"))
    if answer["type"] == "get_refused":
        raise StateRefused("cannot read state `%s`: %s" % (key, answer.get("reason")), False)
    return answer.get("value"), answer.get("version", 0)


def put(key, value, expect=None, token=None):
    """Writes state cell `key`; returns `{"ok": True, "version": n}` or the refusal."""
    message = {"type": "put", "key": key, "value": value}
    if expect is not None:
        message["expect"] = expect
    if token is not None:
        message["token"] = token
    answer = _request(message, ("put_ok", "put_refused"))
    if answer["type"] == "put_ok":
        return {"ok": True, "version": answer.get("version")}
    return {
        "ok": False,
        "reason": answer.get("reason"),
        "version": answer.get("version"),
        "value": answer.get("value"),
    }


def lock(name, ttl_ms, mode="exclusive"):
    """Waits for the lease of lock `name` for `ttl_ms` milliseconds; returns its fencing token."""
    answer = _request({"type": "lock", "name": name, "mode": mode, "ttl": int(ttl_ms)}, ("locked", "lock_refused"))
    if answer["type"] == "lock_refused":
        raise StateRefused("cannot lock `%s`: %s" % (name, answer.get("reason")), False)
    return answer["token"]


_next_ref = 0


def publish(topic, payload, key=None):
    """Publishes `payload` to `topic`; returns `{"ok": True, "id": id}` or the refusal."""
    global _next_ref
    if _channel is None or _stdin is None:
        raise RuntimeError("messages are published only while `serve` runs")
    _next_ref += 1
    ref = "publish-%d" % _next_ref
    message = {"type": "publish", "topic": topic, "payload": payload, "ref": ref}
    if key is not None:
        message["key"] = key
    _channel.send(message)
    msg = _answer(("published", "publish_refused"), "ref", ref)
    if msg["type"] == "published":
        return {"ok": True, "id": msg.get("id")}
    return {"ok": False, "reason": msg.get("reason")}


def unlock(name, token):
    """Ends the lease of `token` on lock `name` (there is no answer)."""
    _channel.send({"type": "unlock", "name": name, "token": token})


def log(message, level="info"):
    """Sends a `log` message (or writes to stderr outside `serve`)."""
    if _channel is not None:
        _channel.send({"type": "log", "level": level, "message": str(message)})
    else:
        print("[%s] %s" % (level, message), file=sys.stderr)


def _program():
    return os.path.basename(sys.argv[0]) or "agent"


def _lookup(handlers, capability):
    """Exact name first; then without a plan suffix (`name@path`) or an import alias (`alias.name`)."""
    if not isinstance(capability, str):
        return None, None
    candidates = [capability, capability.split("@", 1)[0]]
    candidates.append(candidates[-1].rsplit(".", 1)[-1])
    for name in candidates:
        if name in handlers:
            return name, handlers[name]
    return None, None


def _valid_id(value):
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _heartbeat_interval():
    raw = os.environ.get(HEARTBEAT_ENV, "")
    try:
        ms = float(raw) if raw.strip() else DEFAULT_HEARTBEAT_MS
    except ValueError:
        ms = DEFAULT_HEARTBEAT_MS
    return ms / 1000.0 if ms > 0 else None


def _start_heartbeat(channel, stop):
    interval = _heartbeat_interval()
    if interval is None:
        return None

    def beat():
        while not stop.wait(interval):
            try:
                channel.send({"type": "heartbeat"})
            except (OSError, ValueError):
                return

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread


def _error(channel, task_id, message, retryable):
    channel.send({"type": "error", "id": task_id, "message": message, "retryable": bool(retryable)})


def _run_task(channel, handlers, flags, msg):
    task_id = msg.get("id")
    if not _valid_id(task_id):
        log("task without a valid id ignored: %s" % json.dumps(msg)[:200], "warn")
        return
    requested = msg.get("capability")
    name, handler = _lookup(handlers, requested)
    if handler is None:
        _error(
            channel,
            task_id,
            "%s: unknown capability %s (serves %s)" % (_program(), json.dumps(requested), ", ".join(handlers)),
            False,
        )
        return
    task_input = msg.get("input")
    if task_input is None:
        task_input = {}
    if not isinstance(task_input, dict):
        _error(channel, task_id, "%s: input must be an object of named arguments" % name, False)
        return
    global _current_task
    _current_task = task_id
    try:
        output = handler(task_input, flags)
    except TaskError as e:
        _error(channel, task_id, "%s: %s" % (name, e.message), e.retryable)
        return
    except KeyError as e:
        _error(channel, task_id, "%s: missing input field %s" % (name, e), True)
        return
    except Exception as e:  # a bug or a bad input: report it, keep serving
        traceback.print_exc(file=sys.stderr)
        _error(channel, task_id, "%s: %s: %s" % (name, type(e).__name__, e), True)
        return
    finally:
        _current_task = None
    try:
        channel.send({"type": "result", "id": task_id, "output": output})
    except (TypeError, ValueError) as e:
        _error(channel, task_id, "%s: output is not JSON: %s" % (name, e), False)


def _answer_bid(channel, handlers, flags, bid, msg):
    bid_id = msg.get("id")
    if not _valid_id(bid_id):
        log("bid without a valid id ignored", "warn")
        return
    name, _ = _lookup(handlers, msg.get("capability"))
    if bid is None or name is None:
        _error(channel, bid_id, "%s does not bid for %s" % (_program(), json.dumps(msg.get("capability"))), False)
        return
    bid_input = msg.get("input")
    if not isinstance(bid_input, dict):
        bid_input = {}
    try:
        cost = bid(name, bid_input, flags)
        cost = float(cost)
        if not math.isfinite(cost) or cost < 0:
            raise ValueError("cost %r is not a finite, non-negative number" % cost)
    except Exception as e:
        _error(channel, bid_id, "%s: cannot bid: %s: %s" % (name, type(e).__name__, e), False)
        return
    channel.send({"type": "bid", "id": bid_id, "cost": round(cost, 6)})


def serve(handlers, bid=None, argv=None, events=None):
    """Runs the protocol on stdin/stdout until `shutdown` or the end of stdin."""
    global _channel, _stdin
    flags = parse_flags(argv)
    channel = _Channel(sys.stdout.buffer)
    _channel = channel
    # Anything a handler prints goes to the log, never into the protocol stream.
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer
    _stdin = stdin
    stop = threading.Event()
    heartbeat = None
    try:
        while True:
            raw = _backlog.popleft() if _backlog else stdin.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except ValueError as e:
                log("malformed line skipped (%s): %s" % (e, line[:200]), "warn")
                continue
            if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                log("line without a message type skipped: %s" % line[:200], "warn")
                continue
            kind = msg["type"]
            if kind == "hello":
                if msg.get("protocol", PROTOCOL) != PROTOCOL:
                    log("runtime speaks protocol %r, this agent %d" % (msg.get("protocol"), PROTOCOL), "warn")
                channel.send({"type": "ready", "capabilities": list(handlers)})
                if heartbeat is None:
                    heartbeat = _start_heartbeat(channel, stop)
            elif kind == "task":
                _run_task(channel, handlers, flags, msg)
            elif kind == "bid":
                _answer_bid(channel, handlers, flags, bid, msg)
            elif kind == "cancel":
                pass  # every task is answered before the next line is read
            elif kind == "event":
                if events is not None:
                    try:
                        events(msg.get("topic"), msg.get("payload"), msg.get("id"), flags)
                    except Exception:  # a bug in the listener: report it, keep serving
                        traceback.print_exc(file=sys.stderr)
            elif kind == "shutdown":
                break
            else:
                log("unknown message type %s skipped" % json.dumps(kind), "warn")
    except BrokenPipeError:
        pass  # the runtime went away: nothing left to answer
    except KeyboardInterrupt:
        stop.set()
        sys.exit(130)
    finally:
        stop.set()
        _channel = None
