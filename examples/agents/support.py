#!/usr/bin/env python3
"""Stand-in support agent for ticket_approval.hive: `triage(ticket) -> Triage` and
`ship(ticket, fix) -> bool`.

Triage calls a ticket risky when it is not of low severity or its title names something that
touches money or data; the fix it proposes is made from the title's words.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

RISKY_WORDS = {"payment", "payments", "refund", "database", "migration", "delete", "security"}


def triage(inp, flags):
    ticket = inp["ticket"]
    words = set(hive_agent.keywords(ticket["title"]))
    risky = ticket["severity"] != "low" or bool(words & RISKY_WORDS)
    return {
        "ticket": ticket["id"],
        "risky": risky,
        "summary": "%s (%s, reported by %s)" % (ticket["title"], ticket["severity"], ticket["customer"]),
        "fix": "fix-" + hive_agent.slugify(ticket["title"]),
    }


def ship(inp, flags):
    return bool(inp["fix"])


if __name__ == "__main__":
    hive_agent.serve({"triage": triage, "ship": ship})
