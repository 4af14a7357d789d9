#!/usr/bin/env python3
"""Stand-in headless browser for browser_fleet.hive (`--browser chromium|firefox`).

- `check_page(url, wait_for) -> PageCheck`: status 200, except 404 for paths that mention
  `404`, `missing` or `not-found` and 500 for `500` or `error`; the title comes from the
  path; the load time from the engine, the URL and what is waited for.
- `fill_form(url, fields, submit) -> FormResult`: a field whose name contains `email` must
  look like an address; the form is submitted when `submit` is true and nothing is wrong,
  and lands on the `welcome` page next to the form.
- `screenshot(url, full_page) -> string`: the path the image would be written to, under
  `screenshots/ENGINE/`. No file is written.

browser_grid.py serves the same capabilities with the `grid` engine.
"""

import os
import re
import sys
from urllib.parse import urlsplit, urlunsplit

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

ENGINES = {"chromium": 180, "firefox": 240, "grid": 650}
WAIT_MS = {"domcontentloaded": 0, "load": 120, "networkidle": 300}


def _engine(flags, default="chromium"):
    engine = flags.get("browser", default)
    if engine is True or engine not in ENGINES:
        raise hive_agent.TaskError("unknown browser %r (chromium, firefox)" % engine, retryable=False)
    return engine


def _url(inp):
    url = str(inp["url"]).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise hive_agent.TaskError("not an http(s) URL: %r" % url, retryable=False)
    return url, parts


def _status(path):
    p = path.lower()
    if re.search(r"404|missing|not-found", p):
        return 404
    if re.search(r"500|error", p):
        return 500
    return 200


def check_page(inp, flags, engine=None):
    engine = engine or _engine(flags)
    url, parts = _url(inp)
    wait_for = str(inp.get("wait_for") or "networkidle")
    status = _status(parts.path)
    segments = [s for s in parts.path.split("/") if s]
    page = segments[-1].replace("-", " ").replace("_", " ").capitalize() if segments else "Home"
    if status == 404:
        title = "Page not found | %s" % parts.netloc
    elif status == 500:
        title = "Something went wrong | %s" % parts.netloc
    else:
        title = "%s | %s" % (page, parts.netloc)
    load_ms = (
        ENGINES[engine]
        + 6 * len(url)
        + WAIT_MS.get(wait_for, 200)  # anything else is a selector to wait for
        + hive_agent.stable_int(engine, url) % 150
    )
    errors = []
    if status != 200:
        errors.append("Failed to load resource: the server responded with a status of %d (%s)" % (status, url))
    return {"url": url, "status": status, "title": title, "load_ms": int(load_ms), "console_errors": errors}


def fill_form(inp, flags, engine=None):
    engine = engine or _engine(flags)
    url, parts = _url(inp)
    fields = inp.get("fields") or {}
    if not isinstance(fields, dict):
        raise hive_agent.TaskError("fields must be a map of strings", retryable=False)
    submit = inp.get("submit")
    submit = True if submit is None else bool(submit)
    errors = []
    for name in sorted(fields):
        value = "" if fields[name] is None else str(fields[name])
        if "email" in name.lower():
            if not value.strip():
                errors.append("%s: this field is required" % name)
            elif not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value.strip()):
                errors.append("%s: %r is not an email address" % (name, value))
    if _status(parts.path) != 200:
        errors.append("the form page answered %d" % _status(parts.path))
    submitted = submit and not errors
    final_url = url
    if submitted:
        path = parts.path.rstrip("/")
        path = (path.rsplit("/", 1)[0] if "/" in path else "") + "/welcome"
        final_url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return {"submitted": submitted, "final_url": final_url, "errors": errors}


def screenshot(inp, flags, engine=None):
    engine = engine or _engine(flags)
    url, parts = _url(inp)
    full_page = bool(inp.get("full_page"))
    name = re.sub(r"[^A-Za-z0-9.]+", "_", parts.netloc + parts.path).strip("_") or "page"
    return "screenshots/%s/%s%s.png" % (engine, name, "_full" if full_page else "")


def handlers(engine=None):
    """The three capabilities, bound to `engine` (or to the `--browser` flag when None)."""
    if engine is None:
        return {"check_page": check_page, "fill_form": fill_form, "screenshot": screenshot}
    return {
        "check_page": lambda inp, flags: check_page(inp, flags, engine),
        "fill_form": lambda inp, flags: fill_form(inp, flags, engine),
        "screenshot": lambda inp, flags: screenshot(inp, flags, engine),
    }


if __name__ == "__main__":
    hive_agent.serve(handlers())
