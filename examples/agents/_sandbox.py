"""Protocol side of sandbox.sh: `run_tests(patch) -> TestRun` for code_review.hive.

Nothing is executed: the stand-in finds the test functions of the patch (Python `def test_*`,
Rust `#[test]`, Go `func Test*`, JavaScript `test(`/`it(`), and reports each as passed. A
patch without code or without tests fails, and so does one whose code is visibly
unfinished (`todo!()`, `unimplemented!()`, `raise NotImplementedError`).
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

TEST_PATTERNS = [
    r"^\s*(?:async\s+)?def\s+(test\w*)\s*\(",
    r"#\[(?:tokio::)?test\]\s*(?:async\s+)?fn\s+(\w+)",
    r"^\s*func\s+(Test\w*)\s*\(",
    r"""^\s*(?:test|it)\s*\(\s*["'`]([^"'`]+)["'`]""",
]
UNFINISHED = r"\btodo!\(|\bunimplemented!\(|raise NotImplementedError"


def run_tests(inp, flags):
    patch = inp["patch"]
    if not isinstance(patch, dict):
        raise hive_agent.TaskError("patch must be a Patch record", retryable=False)
    language = str(patch.get("language") or "unknown")
    code = str(patch.get("code") or "")
    tests = str(patch.get("tests") or "")
    names = []
    for pattern in TEST_PATTERNS:
        for name in re.findall(pattern, tests, flags=re.MULTILINE):
            if name not in names:
                names.append(name)
    log = ["sandbox: %s, %d line(s) of code, %d test(s) found" % (language, len(code.splitlines()), len(names))]
    if not code.strip():
        log.append("error: the patch has no code")
        return {"passed": False, "log": "\n".join(log)}
    if not names:
        log.append("error: no tests found in the patch")
        return {"passed": False, "log": "\n".join(log)}
    unfinished = re.search(UNFINISHED, code) is not None
    for name in names:
        log.append("test %s ... %s" % (name, "FAILED (not implemented)" if unfinished else "ok"))
    failed = len(names) if unfinished else 0
    log.append("test result: %s. %d passed; %d failed" % ("FAILED" if failed else "ok", len(names) - failed, failed))
    return {"passed": failed == 0, "log": "\n".join(log)}


if __name__ == "__main__":
    hive_agent.serve({"run_tests": run_tests})
