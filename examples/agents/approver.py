#!/usr/bin/env python3
"""Stand-in approver for ticket_approval.hive: it serves no capability, it listens.

For every message of `approval_requests` it is sent, it publishes an approval to `approvals`
when the fix is not risky, keyed by the ticket so a repeated request approves once. Risky
fixes are left to a person. A refused approval is logged.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


def on_event(topic, payload, message_id, flags):
    if topic != "approval_requests" or payload.get("risky"):
        return
    approval = {"ticket": payload["ticket"], "approved": True, "by": "approver", "note": "low risk"}
    answer = hive_agent.publish("approvals", approval, key=payload["ticket"])
    if not answer["ok"]:
        hive_agent.log("approval refused: %s" % answer["reason"], "warn")


if __name__ == "__main__":
    hive_agent.serve({}, events=on_event)
