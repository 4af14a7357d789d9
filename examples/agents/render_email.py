#!/usr/bin/env python3
"""Stand-in e-mail renderer for newsletter.hive: `render(subject, intro, items) -> string`.

Returns a self-contained HTML document: the subject as title and heading, the intro (one
paragraph per blank-line-separated block) and one entry per summary, linked to its article.
Every text is HTML-escaped.
"""

import html
import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


def render(inp, flags):
    subject = str(inp["subject"])
    intro = str(inp.get("intro") or "")
    items = inp.get("items") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise hive_agent.TaskError("items must be a list of Summary records", retryable=False)
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>%s</title></head>' % e(subject),
        '<body style="font-family: sans-serif; max-width: 40em; margin: auto">',
        "<h1>%s</h1>" % e(subject),
    ]
    out += ["<p>%s</p>" % e(" ".join(p.split())) for p in re.split(r"\n\s*\n", intro) if p.strip()]
    if items:
        out.append("<ul>")
        for item in items:
            out.append(
                '<li><h2><a href="%s">%s</a></h2><p>%s</p></li>'
                % (e(str(item.get("url") or "#")), e(str(item.get("title") or "")), e(str(item.get("text") or "")))
            )
        out.append("</ul>")
    else:
        out.append("<p>No articles this time.</p>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    hive_agent.serve({"render": render})
