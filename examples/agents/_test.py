"""Protocol side of test.sh: `test(artifact, target, suite) -> Build` for coordinator.hive.

Nothing is run: a build passes when its artifact is named and was built for the target it is
tested on; otherwise `failures` says why.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

SUITES = ("full", "smoke", "unit", "integration")


def test(inp, flags):
    artifact = str(inp["artifact"]).strip()
    target = str(inp["target"]).strip()
    suite = str(inp.get("suite") or "full")
    failures = []
    if suite not in SUITES:
        failures.append("unknown suite %r (one of %s)" % (suite, ", ".join(SUITES)))
    if not artifact:
        failures.append("no artifact to test")
    elif target and target not in artifact:
        failures.append("artifact %s was not built for %s" % (artifact, target))
    return {"target": target, "artifact": artifact, "passed": not failures, "failures": failures}


if __name__ == "__main__":
    hive_agent.serve({"test": test})
