#!/usr/bin/env python3
"""Stand-in reader for research_report.hive: `read_source(source, question) -> Notes`.

Nothing is fetched. The notes are written from the source's title and the question; the
credibility comes from the kind of site (journal > agency > encyclopedia > other), nudged
by a stable hash of the URL.
"""

import os
import sys
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

KINDS = [
    ("journal", 0.85, "peer-reviewed study"),
    ("agency", 0.78, "agency report"),
    ("gov", 0.78, "government report"),
    ("edu", 0.75, "university page"),
    ("encyclopedia", 0.6, "encyclopedia article"),
    ("wiki", 0.6, "encyclopedia article"),
]


def _kind(url):
    host = urlsplit(url).netloc.lower() or url.lower()
    for marker, credibility, label in KINDS:
        if marker in host:
            return credibility, label
    return 0.5, "web page"


def read_source(inp, flags):
    source = inp["source"]
    if not isinstance(source, dict):
        raise hive_agent.TaskError("source must be a Source record", retryable=False)
    url = str(source.get("url") or "")
    if not url:
        raise hive_agent.TaskError("the source has no url", retryable=False)
    title = str(source.get("title") or url)
    published = source.get("published")
    question = str(inp["question"]).strip()
    base, label = _kind(url)
    credibility = round(min(1.0, max(0.0, base + (hive_agent.stable_int(url) % 11 - 5) / 100.0)), 2)
    topic = " ".join(hive_agent.keywords(question, 5)) or "the question"
    words = hive_agent.keywords(title + " " + question)
    focus = words[hive_agent.stable_int(url, "focus") % len(words)] if words else "the topic"
    dated = " (published %s)" % published if published else " (undated)"
    summary = "%s, a %s%s, addresses %s and is most detailed on %s." % (title, label, dated, topic, focus)
    claims = [
        "%s reports measurements on %s." % (title, topic),
        "%s finds that results on %s depend on operating conditions." % (title, focus),
    ]
    if credibility >= 0.75:
        claims.append("%s gives quantitative evidence on %s from more than one site." % (title, topic))
    return {"url": url, "summary": summary, "claims": claims, "credibility": float(credibility)}


if __name__ == "__main__":
    hive_agent.serve({"read_source": read_source})
