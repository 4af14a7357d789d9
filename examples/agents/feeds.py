#!/usr/bin/env python3
"""Stand-in feed reader for newsletter.hive: `collect(feeds, since_days) -> list<Article>`.

Nothing is fetched. Every feed yields 1 + since_days // 7 articles (at most 5, none when
`since_days` is 0 or less), in feed order. Articles are written from the feed's address, and
are dated within `since_days` of a fixed reference day, 2025-01-31 (the stand-in never
reads the clock).
"""

import datetime
import os
import re
import sys
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

REFERENCE_DAY = datetime.date(2025, 1, 31)
SUBJECTS = [
    ("Release notes", "what changed in the latest release, what was deprecated and how to upgrade"),
    ("Security advisory", "a vulnerability, the versions it affects and the fixed releases"),
    ("Performance deep dive", "where the time goes in a common workload and how it was made faster"),
    ("Community update", "new maintainers, upcoming events and the projects that need help"),
    ("Tutorial", "a step-by-step walk through a feature that readers asked about"),
    ("Interview", "a conversation with a long-time contributor about design decisions"),
]


def _site(feed):
    parts = urlsplit(feed)
    host = parts.netloc or feed.split("/")[0] or "feed"
    scheme = parts.scheme or "https"
    name = re.sub(r"^(www|blog|news)\.", "", host).split(".")[0]
    return scheme, host, name


def collect(inp, flags):
    feeds = inp.get("feeds") or []
    if not isinstance(feeds, list):
        raise hive_agent.TaskError("feeds must be a list of URLs", retryable=False)
    since_days = inp.get("since_days")
    since_days = 7 if since_days is None else int(since_days)
    per_feed = 0 if since_days <= 0 else min(5, 1 + since_days // 7)
    articles = []
    for feed in feeds:
        feed = str(feed).strip()
        if not feed:
            continue
        scheme, host, name = _site(feed)
        seed = hive_agent.stable_int(feed)
        for k in range(per_feed):
            kind, about = SUBJECTS[(seed + k) % len(SUBJECTS)]
            title = "%s: %s" % (name.capitalize(), kind.lower()) if k else "%s from %s" % (kind, name.capitalize())
            published = REFERENCE_DAY - datetime.timedelta(days=hive_agent.stable_int(feed, k) % since_days)
            body = (
                "%s. This post from %s covers %s. "
                "It explains the background first, then the details that matter in practice. "
                "The authors link to the discussion and invite feedback from readers. "
                "A short list of further reading closes the post."
            ) % (title, host, about)
            articles.append(
                {
                    "url": "%s://%s/posts/%s-%d" % (scheme, host, hive_agent.slugify(kind), k + 1),
                    "title": title,
                    "body": body,
                    "published": published.isoformat(),
                }
            )
    return articles


if __name__ == "__main__":
    hive_agent.serve({"collect": collect})
