#!/usr/bin/env python3
"""Stand-in summarizer for lib/common.hive: `summarize(article, tone, max_words) -> Summary`.

The summary opens with a few words that set the tone and continues with the article's body,
cut so that it has at most `max_words` words; `words` is its word count.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

OPENERS = {"neutral": "", "friendly": "Worth a read:", "formal": "In summary,"}


def summarize(inp, flags):
    article = inp["article"]
    if not isinstance(article, dict):
        raise hive_agent.TaskError("article must be an Article record", retryable=False)
    tone = inp.get("tone") or "neutral"
    if tone not in OPENERS:
        raise hive_agent.TaskError("unknown tone %r (one of %s)" % (tone, ", ".join(OPENERS)), retryable=False)
    max_words = inp.get("max_words")
    max_words = 80 if max_words is None else int(max_words)
    title = str(article.get("title") or "").strip()
    body = str(article.get("body") or "").strip()
    sentences = hive_agent.sentences(body)
    if sentences and title and sentences[0].rstrip(".") == title.rstrip("."):
        sentences = sentences[1:]  # the body repeats the title
    if OPENERS[tone] and sentences and sentences[0][1:2].islower():
        sentences[0] = sentences[0][:1].lower() + sentences[0][1:]  # "In summary, this post ..."
    text = " ".join(([OPENERS[tone]] if OPENERS[tone] else []) + sentences) or title
    text = hive_agent.truncate_words(text, max_words)
    return {
        "url": str(article.get("url") or ""),
        "title": title,
        "text": text,
        "words": len(text.split()),
    }


if __name__ == "__main__":
    hive_agent.serve({"summarize": summarize})
