#!/usr/bin/env python3
"""Stand-in report writer for research_report.hive:
`write_report(question, analysis, notes, words) -> string` (markdown).

The report has a summary built from the analysis, the notes' claims as bullets with numbered
citations (claims are copied verbatim, so `fact_check` finds them supported), the
disagreements and the list of sources. Findings are dropped from the end while the report
is longer than `words`.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


def _render(question, analysis, notes, findings):
    themes = [str(t) for t in analysis.get("themes") or []]
    disagreements = [str(d) for d in analysis.get("disagreements") or []]
    confidence = float(analysis.get("confidence") or 0.0)
    out = ["# %s" % question, "", "## Summary", ""]
    if notes:
        out.append(
            "This report draws on %d source(s). The main themes are %s. Overall confidence: %.0f%%."
            % (len(notes), "; ".join(themes) if themes else "not clear", confidence * 100)
        )
    else:
        out.append("No source could be read, so this report cannot answer the question yet.")
    if findings:
        out += ["", "## Key findings", ""]
        out += ["- %s [%d]" % (claim, i) for claim, i in findings]
    if disagreements:
        out += ["", "## Disagreements", ""]
        out += [" ".join(d[:1].upper() + d[1:].rstrip(".") + "." for d in disagreements)]
    if notes:
        out += ["", "## Sources", ""]
        out += ["%d. <%s>" % (i + 1, n.get("url")) for i, n in enumerate(notes)]
    return "\n".join(out) + "\n"


def write_report(inp, flags):
    question = str(inp["question"]).strip() or "Untitled question"
    analysis = inp.get("analysis") or {}
    notes = inp.get("notes") or []
    if not isinstance(analysis, dict) or not isinstance(notes, list):
        raise hive_agent.TaskError("analysis must be an Analysis and notes a list of Notes", retryable=False)
    words = inp.get("words")
    words = 1500 if words is None else int(words)
    findings = []
    seen = set()
    for i, note in enumerate(notes):
        for claim in note.get("claims") or []:
            claim = str(claim).strip()
            if claim and claim.lower() not in seen:
                seen.add(claim.lower())
                findings.append((claim.rstrip("."), i + 1))
    text = _render(question, analysis, notes, findings)
    while findings and len(text.split()) > words:
        findings.pop()
        text = _render(question, analysis, notes, findings)
    return text


if __name__ == "__main__":
    hive_agent.serve({"write_report": write_report})
