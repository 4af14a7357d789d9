#!/usr/bin/env python3
"""Stand-in editor for research_team.hive: `summarize(topic) -> string` and
`tighten(max_words) -> string`.

`summarize` reads every shared note (in a fixed order, so the summary does not depend on which
researcher wrote first) and writes the `summary` cell; `tighten` reads the summary back, cuts it
to `max_words` words and writes it again under a lock, fencing the write with the lock's token.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


def _write(text, token=None):
    answer = hive_agent.put("summary", text, token=token)
    if not answer["ok"]:
        raise hive_agent.TaskError("summary refused: %s" % answer["reason"])
    return text


def summarize(inp, flags):
    notes, _ = hive_agent.get("notes")
    notes = sorted(notes or [], key=lambda n: (n["angle"], n["text"]))
    angles = sorted({n["angle"] for n in notes})
    lines = ["%s." % n["text"] for n in notes]
    text = "%s, seen from %s: %s" % (inp["topic"], ", ".join(angles), " ".join(lines))
    return _write(text)


def tighten(inp, flags):
    token = hive_agent.lock("summary", ttl_ms=10_000)
    try:
        text, _ = hive_agent.get("summary")
        return _write(hive_agent.truncate_words(text or "", int(inp["max_words"])), token=token)
    finally:
        hive_agent.unlock("summary", token)


if __name__ == "__main__":
    hive_agent.serve({"summarize": summarize, "tighten": tighten})
