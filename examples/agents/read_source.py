#!/usr/bin/env python3
"""Stand-in reader for research_report.hive: `read_source(source, question) -> Notes`.

Nothing is fetched. The notes are written from the source's title and the question's
subject (as search.py finds it); the credibility comes from the kind of site (journal >
agency > encyclopedia > other), nudged by a stable hash of the URL.
"""

import os
import sys
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402
import search  # noqa: E402

KINDS = [
    ("journal", 0.85, "a peer-reviewed study"),
    ("agency", 0.78, "an agency report"),
    ("gov", 0.78, "a government report"),
    ("edu", 0.75, "a university page"),
    ("encyclopedia", 0.6, "an encyclopedia article"),
    ("wiki", 0.6, "an encyclopedia article"),
]


def _kind(url):
    host = urlsplit(url).netloc.lower() or url.lower()
    for marker, credibility, label in KINDS:
        if marker in host:
            return credibility, label
    return 0.5, "a web page"


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
    subject = search.subject(question)
    dated = "published %s" % published if published else "undated"
    summary = '"%s" is %s (%s) on %s, relevant to the question "%s".' % (title, label, dated, subject, question)
    name = "The " + label.split(" ", 1)[1]  # "an agency report" -> "The agency report"
    claims = [
        "%s on %s reports field measurements." % (name, subject),
        "%s finds that the performance of %s depends on operating conditions." % (name, subject),
    ]
    if credibility >= 0.75:
        claims.append("%s gives quantitative evidence on %s from more than one site." % (name, subject))
    return {"url": url, "summary": summary, "claims": claims, "credibility": float(credibility)}


if __name__ == "__main__":
    hive_agent.serve({"read_source": read_source})
