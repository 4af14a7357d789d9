"""Protocol side of rollback.sh: `rollback(service, host) -> bool` for incident_response.hive.

Nothing is deployed: the rollback is written to the run's log and reported as done.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


def rollback(inp, flags):
    service = str(inp["service"]).strip()
    host = str(inp["host"]).strip()
    if not re.fullmatch(r"[A-Za-z0-9_.@-]+", service):
        raise hive_agent.TaskError("not a service name: %r" % service, retryable=False)
    if not re.fullmatch(r"[A-Za-z0-9_.:-]+", host):
        raise hive_agent.TaskError("not a host name: %r" % host, retryable=False)
    hive_agent.log("rolled back %s on %s to its previous release" % (service, host))
    return True


if __name__ == "__main__":
    hive_agent.serve({"rollback": rollback})
