#!/usr/bin/env python3
"""Stand-in writer for coordinator.hive and newsletter.hive.

Without flags it is coordinator's `writer` and serves:
- `summarize_commits(commits, audience) -> string`: a markdown changelog grouped into
  features, fixes and other changes for `developers` (with commit hashes); a short paragraph
  for `customers`.
- `edit(text, style) -> string`: tidies whitespace, drops filler words when the style asks
  for `concise`, turns sentences like "X was fixed" into "we fixed X" for `active voice`, and capitalises
  sentences. Markdown structure (headings, bullets) is kept.

With `--task intro` it is newsletter's `editor` and serves:
- `write_intro(items, tone) -> string`: an opening paragraph in the `neutral`, `friendly` or
  `formal` tone that names the first three stories.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402
import release_planner  # noqa: E402

AUDIENCES = ("developers", "customers")
TONES = ("neutral", "friendly", "formal")
FILLERS = re.compile(r"\b(very|really|just|basically|actually|quite|simply|in order)\s+", re.I)
PASSIVE = re.compile(
    r"^(?P<subject>[^,;:]+?)\s+(?:was|were|has been|have been)\s+"
    r"(?P<verb>fixed|added|improved|removed|updated|changed|rewritten)\b",
    re.I,
)


def _commit_hash(commit):
    m = re.match(r"([0-9a-f]{7,40})\s", str(commit).strip())
    return m.group(1)[:7] if m else None


def _groups(commits):
    groups = {0: [], 1: [], 2: []}
    for c in commits:
        s = release_planner.subject(c)
        if s:
            groups[release_planner._kind(s)].append((s, _commit_hash(c)))
    return groups


def _strip_verb(subject):
    return re.sub(r"^(feat|add|adds|added|new|introduce|support|fix|fixes|fixed|bug|repair|correct)\b:?\s*", "", subject, flags=re.I)


def summarize_commits(inp, flags):
    commits = [str(c) for c in inp.get("commits") or []]
    audience = inp.get("audience")
    if audience not in AUDIENCES:
        raise hive_agent.TaskError("unknown audience %r (one of %s)" % (audience, ", ".join(AUDIENCES)), retryable=False)
    groups = _groups(commits)
    if not any(groups.values()):
        return "No changes in this release." if audience == "customers" else "## Changes\n\nNone.\n"
    if audience == "developers":
        out = []
        for kind, heading in ((0, "Features"), (1, "Fixes"), (2, "Other changes")):
            if groups[kind]:
                out += ["## %s" % heading, ""]
                out += ["- %s%s" % (s, " (%s)" % h if h else "") for s, h in groups[kind]]
                out.append("")
        return "\n".join(out)
    parts = []
    if groups[0]:
        parts.append("This release adds %s." % _join([_strip_verb(s) for s, _ in groups[0]]))
    if groups[1]:
        parts.append("It fixes %s." % _join([_strip_verb(s) for s, _ in groups[1]]))
    if groups[2]:
        parts.append("It also brings %d smaller improvement%s." % (len(groups[2]), "" if len(groups[2]) == 1 else "s"))
    text = " ".join(parts)
    return text[:1].upper() + text[1:]


def _join(items):
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _capitalise_sentences(line):
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), line)


def _active(sentence):
    """`the cache bug was fixed` -> `we fixed the cache bug`."""
    m = PASSIVE.match(sentence)
    if not m:
        return sentence
    subject = m.group("subject")
    if not re.match(r"[A-Z]{2}", subject):  # keep acronyms
        subject = subject[:1].lower() + subject[1:]
    return "we %s %s%s" % (m.group("verb").lower(), subject, sentence[m.end():])


def edit(inp, flags):
    text = str(inp["text"])
    style = str(inp.get("style") or "").lower()
    out = []
    for line in text.splitlines():
        m = re.match(r"(\s*(?:#+\s+|[-*]\s+|\d+\.\s+)?)(.*)", line)
        prefix, body = m.group(1), " ".join(m.group(2).split())
        if "concise" in style:
            body = FILLERS.sub("", body)
        if "active" in style:
            body = " ".join(_active(sentence) for sentence in re.split(r"(?<=[.!?])\s+", body))
        out.append((prefix + _capitalise_sentences(body)).rstrip())
    edited = "\n".join(out).strip("\n")
    edited = re.sub(r"\n{3,}", "\n\n", edited)
    return edited + ("\n" if text.endswith("\n") else "")


def write_intro(inp, flags):
    items = inp.get("items") or []
    tone = inp.get("tone") or "neutral"
    if tone not in TONES:
        raise hive_agent.TaskError("unknown tone %r (one of %s)" % (tone, ", ".join(TONES)), retryable=False)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise hive_agent.TaskError("items must be a list of Summary records", retryable=False)
    n = len(items)
    titles = [str(i.get("title") or "").strip() for i in items if str(i.get("title") or "").strip()]
    quoted = ['"%s"' % t for t in titles[:3]]
    if len(titles) > 3:
        quoted.append("%d more" % (len(titles) - 3))
    named = _join(quoted) or "untitled stories"
    if n == 0:
        return {
            "neutral": "A quiet week: there are no new articles in this issue.",
            "friendly": "Hi there! It was a quiet week, so no new stories this time. See you next week!",
            "formal": "Dear reader, no new articles were published during this period.",
        }[tone]
    if tone == "friendly":
        return "Hi there! We picked %d stor%s for you this week: %s. Grab a coffee and enjoy!" % (
            n, "y" if n == 1 else "ies", named)
    if tone == "formal":
        return "Dear reader, this issue presents %d article%s: %s. We trust you will find them informative." % (
            n, "" if n == 1 else "s", named)
    return "This issue covers %d article%s: %s." % (n, "" if n == 1 else "s", named)


if __name__ == "__main__":
    flags = hive_agent.parse_flags()
    task = flags.get("task")
    if task is None:
        served = {"summarize_commits": summarize_commits, "edit": edit}
    elif task == "intro":
        served = {"write_intro": write_intro}
    else:
        print("writer.py: unknown --task %r (known: intro)" % task, file=sys.stderr)
        sys.exit(2)
    hive_agent.serve(served)
