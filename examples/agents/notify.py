#!/usr/bin/env python3
"""Stand-in notifier for incident_response.hive (`--channel pagerduty|slack`):
`page(team, message, severity) -> bool`.

Nothing is sent: the page is written to the run's log (a `log` message) and `true` is
returned. `PAGERDUTY_TOKEN` and `SLACK_WEBHOOK` are not needed.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

CHANNELS = ("pagerduty", "slack")
SEVERITIES = ("sev1", "sev2", "sev3")


def page(inp, flags):
    channel = flags.get("channel", "slack")
    if channel not in CHANNELS:
        raise hive_agent.TaskError("unknown channel %r (one of %s)" % (channel, ", ".join(CHANNELS)), retryable=False)
    team = str(inp["team"]).strip()
    message = str(inp["message"]).strip()
    severity = inp.get("severity")
    if not team:
        raise hive_agent.TaskError("no team to page", retryable=False)
    if severity not in SEVERITIES:
        raise hive_agent.TaskError("unknown severity %r (one of %s)" % (severity, ", ".join(SEVERITIES)), retryable=False)
    hive_agent.log("%s -> %s [%s]: %s" % (channel, team, severity, message))
    return True


if __name__ == "__main__":
    hive_agent.serve({"page": page})
