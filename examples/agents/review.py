#!/usr/bin/env python3
"""Stand-in reviewer for code_review.hive: `review(code, focus) -> Review`.

The score starts at 8, loses points for size and for findings of the requested focus, and
`--model small` scores one point lower than `medium` and `large`. Findings (and therefore
`approved` and `comments`) do not depend on the model, so for the same code the medium and
large reviewers return identical reviews: the `consensus: majority` vote of the example has a
majority. Clean code is approved by every model.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

FOCI = ("correctness", "security", "style")
MODEL_BIAS = {"small": -1, "medium": 0, "large": 0}
APPROVE_AT = 6

SECURITY = [
    (r"\beval\s*\(", "eval() runs arbitrary input as code"),
    (r"\bexec\s*\(", "exec() runs arbitrary input as code"),
    (r"\bos\.system\s*\(|shell\s*=\s*True", "shell commands built from data invite injection"),
    (r"\bpickle\.loads?\s*\(|\byaml\.load\s*\(", "deserialising untrusted data can run code"),
    (r"\bunsafe\s*\{", "unsafe block: justify every invariant it relies on"),
    (r"(?i)(password|secret|api_key|token)\s*=\s*[\"'][^\"']+[\"']", "a credential is written in the code"),
    (r"(?i)\bmd5\b|\bsha1\b", "weak hash function"),
]
CORRECTNESS = [
    (r"\bTODO\b|\bFIXME\b", "unfinished code (TODO/FIXME)"),
    (r"\btodo!\(|\bunimplemented!\(|raise NotImplementedError", "a code path is not implemented"),
    (r"\.unwrap\(\)", "unwrap() panics on bad input: return an error instead"),
    (r"except\s*:", "a bare except hides real errors"),
]


def _lines(code):
    return code.splitlines()


def review(inp, flags):
    code = str(inp["code"])
    focus = inp.get("focus") or "correctness"
    if focus not in FOCI:
        raise hive_agent.TaskError("unknown focus %r (one of %s)" % (focus, ", ".join(FOCI)), retryable=False)
    model = str(flags.get("model", "medium"))
    lines = [l for l in _lines(code) if l.strip()]
    score = 8
    blocking = False
    comments = []
    if not lines:
        return {"approved": False, "score": 0, "comments": ["there is no code to review"]}
    if len(lines) > 400:
        score -= 2
        comments.append("the change is large (%d lines): split it to review it properly" % len(lines))
    elif len(lines) > 150:
        score -= 1
        comments.append("the change is long (%d lines)" % len(lines))
    if focus == "security":
        for pattern, why in SECURITY:
            hits = [i + 1 for i, l in enumerate(_lines(code)) if re.search(pattern, l)]
            if hits:
                score -= 3
                blocking = True
                comments.append("line %s: %s" % (", ".join(map(str, hits[:5])), why))
    elif focus == "correctness":
        for pattern, why in CORRECTNESS:
            hits = [i + 1 for i, l in enumerate(_lines(code)) if re.search(pattern, l)]
            if hits:
                score -= 2
                comments.append("line %s: %s" % (", ".join(map(str, hits[:5])), why))
    else:
        long_lines = [i + 1 for i, l in enumerate(_lines(code)) if len(l) > 100]
        if long_lines:
            score -= 1
            comments.append("%d line(s) longer than 100 characters, first at line %d" % (len(long_lines), long_lines[0]))
        trailing = [i + 1 for i, l in enumerate(_lines(code)) if l != l.rstrip()]
        if trailing:
            comments.append("trailing whitespace on %d line(s)" % len(trailing))
        if any("\t" in l[: len(l) - len(l.lstrip())] for l in _lines(code)) and any(
            l.startswith("    ") for l in _lines(code)
        ):
            score -= 1
            comments.append("indentation mixes tabs and spaces")
    score = max(0, min(10, score + MODEL_BIAS.get(model, 0)))
    return {"approved": score >= APPROVE_AT and not blocking, "score": score, "comments": comments}


if __name__ == "__main__":
    hive_agent.serve({"review": review})
