#!/usr/bin/env python3
"""Stand-in analyst for research_report.hive.

- `analyze(question, notes) -> Analysis`: themes are the question's keywords that the notes
  discuss, disagreements come from sources of unequal credibility, and the confidence is the
  mean credibility, discounted below three sources and by the model (`--model large` trusts
  its reading most).
- `fact_check(text, notes) -> list<string>`: every bullet (`- ` or `* `) of the text is a claim;
  it is supported when one note states it, or shares most of its words with one note's
  claim. The unsupported claims are returned in the order of the text.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

MODEL_FACTOR = {"small": 0.85, "medium": 0.95, "large": 1.0}


def _notes(inp):
    notes = inp.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, dict) for n in notes):
        raise hive_agent.TaskError("notes must be a list of Notes records", retryable=False)
    return notes


def _note_text(note):
    return " ".join([str(note.get("summary") or "")] + [str(c) for c in note.get("claims") or []])


def analyze(inp, flags):
    question = str(inp["question"])
    notes = _notes(inp)
    if not notes:
        return {"themes": [], "disagreements": ["no sources could be read"], "confidence": 0.0}
    texts = [set(hive_agent.keywords(_note_text(n))) for n in notes]
    words = [w for w in hive_agent.keywords(question) if not w.isdigit()]
    # the subject (first two keywords) is one theme, every other keyword another
    candidates = [words[:2]] + [[w] for w in words[2:]] if words else []
    counted = []
    for phrase in candidates:
        k = sum(1 for t in texts if all(w in t for w in phrase))
        if k:
            counted.append((k, " ".join(phrase)))
    counted.sort(key=lambda kw: -kw[0])  # stable: ties keep the question's order
    themes = ["%s (discussed by %d of %d sources)" % (w, k, len(notes)) for k, w in counted[:4]]
    if not themes:
        themes = ["the sources do not address the question directly"]
    ranked = sorted(notes, key=lambda n: (float(n.get("credibility") or 0.0), str(n.get("url"))))
    low, high = ranked[0], ranked[-1]
    disagreements = []
    lo, hi = float(low.get("credibility") or 0.0), float(high.get("credibility") or 0.0)
    if hi - lo >= 0.15:
        disagreements.append(
            "the source %s (credibility %.2f) is less reliable than %s (credibility %.2f); where they differ, the latter is preferred"
            % (low.get("url"), lo, high.get("url"), hi)
        )
    if len(notes) == 1:
        disagreements.append("only one source: nothing could be cross-checked")
    mean = sum(float(n.get("credibility") or 0.0) for n in notes) / len(notes)
    coverage = min(1.0, len(notes) / 3.0)
    factor = MODEL_FACTOR.get(str(flags.get("model", "medium")), 0.95)
    confidence = round(max(0.0, min(1.0, mean * coverage * factor)), 2)
    return {"themes": themes, "disagreements": disagreements, "confidence": float(confidence)}


def _normalise(text):
    text = re.sub(r"\s*\[\d+(?:\s*,\s*\d+)*\]", "", str(text))  # citation markers
    return " ".join(text.lower().split()).rstrip(".")


def fact_check(inp, flags):
    text = str(inp["text"])
    notes = _notes(inp)
    stated = [_normalise(c) for n in notes for c in n.get("claims") or []]
    stated += [_normalise(n.get("summary") or "") for n in notes]
    stated_words = [set(hive_agent.keywords(s)) for s in stated]
    unsupported = []
    for line in text.splitlines():
        m = re.match(r"\s*[-*]\s+(.*\S)", line)
        if not m:
            continue
        claim = _normalise(m.group(1))
        if claim in stated:
            continue
        words = set(hive_agent.keywords(claim))
        if words and any(len(words & w) >= 0.8 * len(words) for w in stated_words):
            continue
        unsupported.append(m.group(1).strip())
    return unsupported


if __name__ == "__main__":
    hive_agent.serve({"analyze": analyze, "fact_check": fact_check})
