"""Protocol side of build.sh: `compile(target, commit) -> string` for coordinator.hive.

Nothing is compiled: the answer is the path the artifact would have,
`artifacts/COMMIT/hive-TARGET.tar.gz` (`.zip` for Windows targets).
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


def compile_target(inp, flags):
    target = str(inp["target"]).strip()
    commit = str(inp["commit"]).strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", target):
        raise hive_agent.TaskError("not a target triple: %r" % target, retryable=False)
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", commit):
        raise hive_agent.TaskError("not a commit: %r" % commit, retryable=False)
    ext = "zip" if "windows" in target else "tar.gz"
    return "artifacts/%s/hive-%s.%s" % (commit[:12].replace("/", "-"), target, ext)


if __name__ == "__main__":
    hive_agent.serve({"compile": compile_target})
