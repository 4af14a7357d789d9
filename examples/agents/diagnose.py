#!/usr/bin/env python3
"""Stand-in SRE model for incident_response.hive (`--model medium|large`, `--region eu`):
`diagnose(service, severity, logs, metrics) -> Diagnosis`.

The logs and metrics are matched against known failure signatures (memory exhaustion, disk
full, refused connections, timeouts, errors after a deploy); the first that matches names
the cause and says whether rolling back helps. Without evidence (the example's `ssh` and
`curl` fail offline) the recent deploy is blamed and a rollback is considered safe. The
diagnosis is always confident; `--model large` adds the evidence it relied on and `--region`
is named in the cause.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

SEVERITIES = ("sev1", "sev2", "sev3")
SIGNATURES = [
    (r"out of memory|oom-?kill|\boom\b|killed process|memoryerror|heap space", "memory exhaustion: {s} is being OOM-killed", True),
    (r"no space left|disk full|enospc", "the disk of {s}'s host is full", False),
    (r"connection refused|econnrefused|no route to host|connection reset", "a dependency of {s} refuses connections", False),
    (r"timed? ?out|deadline exceeded|etimedout|504", "calls from {s} to an upstream service time out", False),
    (r"\b5\d\d\b|internal server error|panic|exception|traceback|segfault", "{s} fails requests after its latest deploy", True),
    (r"latency|p99|slow", "{s} is slower than usual since its latest deploy", True),
]


def diagnose(inp, flags):
    service = str(inp["service"]).strip()
    severity = inp.get("severity")
    if not service:
        raise hive_agent.TaskError("the service is empty", retryable=False)
    if severity not in SEVERITIES:
        raise hive_agent.TaskError("unknown severity %r (one of %s)" % (severity, ", ".join(SEVERITIES)), retryable=False)
    logs = str(inp.get("logs") or "")
    metrics = str(inp.get("metrics") or "")
    evidence = logs + "\n" + metrics
    cause, rollback_safe, matched = None, True, None
    for pattern, template, safe in SIGNATURES:
        m = re.search(pattern, evidence, re.I)
        if m:
            cause, rollback_safe = template.format(s=service), safe
            line = next((l for l in evidence.splitlines() if re.search(pattern, l, re.I)), m.group(0))
            matched = hive_agent.truncate_words(line.strip(), 16)
            break
    if cause is None:
        cause = "the latest deploy of %s is the most likely cause (no logs or metrics were available)" % service
        if evidence.strip():
            cause = "the latest deploy of %s is the most likely cause (nothing unusual in the logs)" % service
    region = flags.get("region")
    if isinstance(region, str):
        cause += " in region %s" % region
    if flags.get("model") == "large" and matched:
        cause += "; evidence: %s" % matched
    return {"cause": cause, "confident": True, "rollback_safe": rollback_safe}


if __name__ == "__main__":
    hive_agent.serve({"diagnose": diagnose})
