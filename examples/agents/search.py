#!/usr/bin/env python3
"""Stand-in web search for research_report.hive: `search(query, limit) -> list<Source>`.

Returns min(limit, 3) hits derived from the query: an encyclopedia article on its subject
(no date), an agency report and a journal review, on reserved `example` domains.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


def subject(query):
    """The first two keywords, usually the question's subject: `heat pumps`."""
    words = [w for w in hive_agent.keywords(query) if not w.isdigit()][:2]
    return " ".join(words) if words else "the question"


def _date(query, salt):
    h = hive_agent.stable_int(query, salt)
    return "%04d-%02d-%02d" % (2018 + h % 7, 1 + (h >> 4) % 12, 1 + (h >> 8) % 28)


def search(inp, flags):
    query = str(inp["query"]).strip()
    limit = inp.get("limit")
    limit = 8 if limit is None else int(limit)
    if not query:
        raise hive_agent.TaskError("the query is empty", retryable=False)
    slug = hive_agent.slugify(query)
    topic = subject(query)
    title = topic[:1].upper() + topic[1:]
    asked = query.rstrip("?!. ")
    hits = [
        {
            "url": "https://encyclopedia.example.org/wiki/%s" % slug.replace("-", "_").capitalize(),
            "title": "%s - Encyclopedia" % title,
            "published": None,
        },
        {
            "url": "https://agency.example.net/reports/%s" % slug,
            "title": "%s: field measurements and findings" % title,
            "published": _date(query, "agency"),
        },
        {
            "url": "https://journal.example.org/articles/%d-%s" % (hive_agent.stable_int(query) % 9000 + 1000, slug),
            "title": "%s: a systematic review" % (asked[:1].upper() + asked[1:]),
            "published": _date(query, "journal"),
        },
    ]
    return hits[: max(0, min(limit, len(hits)))]


if __name__ == "__main__":
    hive_agent.serve({"search": search})
