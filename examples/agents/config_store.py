#!/usr/bin/env python3
"""Stand-in configuration store for cache_invalidation.hive:
`deploy_config(service, settings) -> Deployment {version, changed}`.

It keeps each service's settings for the life of the process, starting from the defaults
below, and deploys a change by writing the new values: `changed` lists the settings whose
value differs from the one deployed before, in order, and `version` names the resulting
settings by their content (`cfg-` and eight hex digits), so deploying the same settings twice
gives the same version and changes nothing.
"""

import json
import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

DEFAULTS = {
    "pricing": {"currency": "EUR", "tax": "inclusive", "rounding": "0.01", "plans": "free,starter,team"},
    "checkout": {"currency": "EUR", "retries": "3", "timeout": "30s"},
    "catalog": {"page_size": "24", "sort": "popular"},
    "search": {"page_size": "20", "typo_tolerance": "on"},
}

STORE = {service: dict(settings) for service, settings in DEFAULTS.items()}


def deploy_config(inp, flags):
    service = str(inp["service"]).strip()
    settings = inp["settings"]
    if service not in STORE:
        raise hive_agent.TaskError(
            "unknown service %r (one of %s)" % (service, ", ".join(sorted(STORE))), retryable=False
        )
    if not isinstance(settings, dict) or not settings:
        raise hive_agent.TaskError("a change needs at least one setting", retryable=False)
    current = STORE[service]
    changed = sorted(k for k, v in settings.items() if current.get(k) != str(v))
    current.update({k: str(v) for k, v in settings.items()})
    content = json.dumps({"service": service, "settings": current}, sort_keys=True)
    return {"version": "cfg-%08x" % hive_agent.stable_int(content), "changed": changed}


if __name__ == "__main__":
    hive_agent.serve({"deploy_config": deploy_config})
