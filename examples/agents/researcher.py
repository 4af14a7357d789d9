#!/usr/bin/env python3
"""Stand-in researcher for research_team.hive: `research(topic, angle) -> int`.

Finds two things about the topic from its angle (made up from the words of both, the same
every run) and appends them to the shared `notes` cell with one `put`; the cell's `merge:
append` keeps the notes of every researcher, whichever writes first. Returns how many it added.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

ASPECTS = ["what it costs to get right", "what is usually overlooked"]


def research(inp, flags):
    topic, angle = str(inp["topic"]), str(inp["angle"])
    words = hive_agent.keywords(topic, 3)
    findings = [
        {"angle": angle, "text": "%s of %s: %s" % (angle.capitalize(), " ".join(words), aspect)}
        for aspect in ASPECTS
    ]
    answer = hive_agent.put("notes", findings)
    if not answer["ok"]:
        raise hive_agent.TaskError("notes refused: %s" % answer["reason"])
    return len(findings)


if __name__ == "__main__":
    hive_agent.serve({"research": research})
