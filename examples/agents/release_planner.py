#!/usr/bin/env python3
"""Stand-in release planner for coordinator.hive.

- `plan_release(version, commits) -> Plan`: Linux, macOS and Windows on x86_64, plus the
  aarch64 targets when a commit mentions ARM/aarch64 and wasm32 when one mentions wasm. A
  release is risky when it is a new major version (`N.0.0`, N >= 1) or a commit looks breaking
  (`breaking`, `!:`, `migrate`, `remove`, `drop`). Highlights are up to five commit subjects,
  features first, then fixes.
- `approve(plan, builds, notes) -> Approval`: approved when every planned target has a build
  and every build passed, and the notes are not empty.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

BASE_TARGETS = ["x86_64-unknown-linux-gnu", "x86_64-apple-darwin", "x86_64-pc-windows-msvc"]
ARM_TARGETS = ["aarch64-unknown-linux-gnu", "aarch64-apple-darwin"]
WASM_TARGETS = ["wasm32-unknown-unknown"]
BREAKING = re.compile(r"breaking|!:|\bmigrat\w*|\bremove[sd]?\b|\bdrop(s|ped)?\b", re.I)


def subject(commit):
    """`9f1c2e7 fix cache eviction` -> `fix cache eviction`."""
    text = str(commit).strip()
    m = re.match(r"[0-9a-f]{7,40}\s+(.*)", text)
    return (m.group(1) if m else text).strip()


def _kind(text):
    t = text.lower()
    if re.match(r"(feat|add|new|introduce|support)\b", t):
        return 0
    if re.match(r"(fix|bug|repair|correct)\b", t):
        return 1
    return 2


def plan_release(inp, flags):
    version = str(inp["version"]).strip()
    commits = [str(c) for c in inp.get("commits") or []]
    if not version:
        raise hive_agent.TaskError("the version is empty", retryable=False)
    text = " ".join(commits).lower()
    targets = list(BASE_TARGETS)
    if re.search(r"\barm\w*|aarch64", text):
        targets += ARM_TARGETS
    if "wasm" in text:
        targets += WASM_TARGETS
    m = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version)
    major_release = bool(m) and int(m.group(1)) >= 1 and m.group(2) == "0" and m.group(3) == "0"
    risky = major_release or any(BREAKING.search(subject(c)) for c in commits)
    subjects = [s for s in dict.fromkeys(subject(c) for c in commits) if s]
    ranked = sorted(subjects, key=_kind)  # stable: commit order within a kind
    highlights = [s[:1].upper() + s[1:] for s in ranked[:5]]
    return {"version": version, "targets": targets, "risky": bool(risky), "highlights": highlights}


def approve(inp, flags):
    plan = inp["plan"]
    builds = inp.get("builds") or []
    notes = str(inp.get("notes") or "")
    if not isinstance(plan, dict) or not isinstance(builds, list):
        raise hive_agent.TaskError("plan must be a Plan and builds a list of Build", retryable=False)
    targets = [str(t) for t in plan.get("targets") or []]
    built = {str(b.get("target")) for b in builds if isinstance(b, dict)}
    failed = [str(b.get("target")) for b in builds if isinstance(b, dict) and not b.get("passed")]
    missing = [t for t in targets if t not in built]
    version = plan.get("version") or "the release"
    if failed:
        return {"approved": False, "reason": "tests failed on %s" % ", ".join(failed)}
    if missing:
        return {"approved": False, "reason": "no build for %s" % ", ".join(missing)}
    if not notes.strip():
        return {"approved": False, "reason": "the release notes are empty"}
    reason = "%s: all %d target(s) built and passed their tests" % (version, len(targets))
    if plan.get("risky"):
        reason += "; risky release, roll out gradually"
    return {"approved": True, "reason": reason}


if __name__ == "__main__":
    hive_agent.serve({"plan_release": plan_release, "approve": approve})
