#!/usr/bin/env python3
"""Stand-in model worker for document_mapreduce.hive (`--model 70b|8b|3b-q4`, `--cpu`).

- `split(text, max_tokens) -> list<Chunk>` (only with `--cpu`, like the example's `cpu_box`):
  paragraphs are packed into chunks of at most `max_tokens` tokens (a token is counted as
  0.75 of a word, rounded up); a paragraph longer than that is cut between words.
- `extract(chunk, instructions) -> Partial`: sentences with `shall`, `must`, `will`,
  `agrees to`, ... are obligations; sentences about penalties, liability, termination, late
  payment, breach, indemnities, damages or interest are risks. Larger models write longer
  summaries.
- `reduce(partials, instructions) -> Digest`: merges the partials in index order without
  repeating an obligation or a risk.

`ready` lists exactly the capabilities the example's agents provide: `extract` and `reduce`,
plus `split` with `--cpu`.
"""

import math
import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

OBLIGATION = re.compile(
    r"\b(shall|must|will|agrees? to|is required to|are required to|undertakes? to|is responsible for)\b", re.I
)
RISK = re.compile(r"\b(penalt\w*|liab\w*|terminat\w*|late\b|breach\w*|indemn\w*|damages|fines?\b|interest\b)", re.I)
MAX_ITEMS = 8


def tokens(text):
    words = len(str(text).split())
    return int(math.ceil(words / 0.75)) if words else 0


def _summary_words(flags):
    m = re.match(r"(\d+(?:\.\d+)?)b", str(flags.get("model", "8b")).lower())
    size = float(m.group(1)) if m else 8.0
    return 40 if size >= 30 else 28 if size >= 7 else 18


def split(inp, flags):
    text = str(inp["text"])
    max_tokens = int(inp["max_tokens"])
    if max_tokens < 2:
        raise hive_agent.TaskError("max_tokens must be at least 2", retryable=False)
    max_words = max(1, int(max_tokens * 0.75))
    pieces = []
    for para in re.split(r"\n\s*\n", text):
        words = para.split()
        for i in range(0, len(words), max_words):
            pieces.append(" ".join(words[i : i + max_words]))
    chunks = []
    current = []
    for piece in pieces:
        candidate = "\n\n".join(current + [piece])
        if current and tokens(candidate) > max_tokens:
            chunks.append("\n\n".join(current))
            current = [piece]
        else:
            current.append(piece)
    if current:
        chunks.append("\n\n".join(current))
    return [{"index": i, "text": c, "tokens": tokens(c)} for i, c in enumerate(chunks)]


def _clip(sentence):
    return hive_agent.truncate_words(sentence, 40)


def extract(inp, flags):
    chunk = inp["chunk"]
    if not isinstance(chunk, dict):
        raise hive_agent.TaskError("chunk must be a Chunk record", retryable=False)
    index = int(chunk.get("index") or 0)
    text = str(chunk.get("text") or "")
    said = hive_agent.sentences(text)
    clauses = [s for s in said if len(s.split()) >= 4]  # not headings such as "Term and termination."
    obligations = [_clip(s) for s in clauses if OBLIGATION.search(s)][:MAX_ITEMS]
    risks = [_clip(s) for s in clauses if RISK.search(s)][:MAX_ITEMS]
    if said:
        summary = "Part %d: %s" % (index + 1, hive_agent.truncate_words(" ".join(said), _summary_words(flags)))
    else:
        summary = "Part %d is empty." % (index + 1)
    return {"index": index, "summary": summary, "obligations": obligations, "risks": risks}


def _merge(lists):
    seen = {}
    for items in lists:
        for item in items or []:
            key = " ".join(str(item).lower().split())
            if key not in seen:
                seen[key] = str(item)
    return list(seen.values())


def reduce(inp, flags):
    partials = inp.get("partials") or []
    if not isinstance(partials, list) or not all(isinstance(p, dict) for p in partials):
        raise hive_agent.TaskError("partials must be a list of Partial records", retryable=False)
    instructions = str(inp.get("instructions") or "")
    ordered = sorted(partials, key=lambda p: int(p.get("index") or 0))
    m = re.search(r"\babout\s+(.+?)\.?\s*$", instructions)
    title = "Digest: %s" % m.group(1) if m else "Document digest"
    obligations = _merge(p.get("obligations") for p in ordered)
    risks = _merge(p.get("risks") for p in ordered)
    if ordered:
        summary = "%d part(s), %d obligation(s), %d risk(s). %s" % (
            len(ordered),
            len(obligations),
            len(risks),
            " ".join(str(p.get("summary") or "") for p in ordered[:3]),
        )
        summary = hive_agent.truncate_words(summary, 3 * _summary_words(flags))
    else:
        summary = "The document is empty: nothing to digest."
    return {
        "title": title,
        "summary": summary,
        "obligations": obligations,
        "risks": risks,
        "chunks": len(ordered),
    }


if __name__ == "__main__":
    flags = hive_agent.parse_flags()
    served = {"split": split} if flags.get("cpu") else {}
    served.update({"extract": extract, "reduce": reduce})
    hive_agent.serve(served)
