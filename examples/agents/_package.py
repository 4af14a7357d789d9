"""Protocol side of package.sh: `package(renditions, captions, name) -> string` for
task_auction.hive.

Nothing is written. The manifest's URL is `packages/NAME/master.m3u8` under the location of
the first rendition (or caption track); a package needs at least one rendition.
"""

import os
import re
import sys
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


def package(inp, flags):
    renditions = inp.get("renditions") or []
    captions = inp.get("captions") or []
    name = str(inp["name"]).strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise hive_agent.TaskError("not a package name: %r" % name, retryable=False)
    if not isinstance(renditions, list) or not isinstance(captions, list):
        raise hive_agent.TaskError("renditions and captions must be lists", retryable=False)
    if not renditions:
        raise hive_agent.TaskError("a package needs at least one rendition", retryable=False)
    for r in list(renditions) + list(captions):
        if not isinstance(r, dict) or not r.get("url"):
            raise hive_agent.TaskError("every rendition and caption track needs a url", retryable=False)
    parts = urlsplit(str(renditions[0]["url"]))
    base = "%s://%s/" % (parts.scheme, parts.netloc) if parts.scheme else ""
    hive_agent.log(
        "packaged %s: %d rendition(s), %d caption track(s)" % (name, len(renditions), len(captions))
    )
    return "%spackages/%s/master.m3u8" % (base, name)


if __name__ == "__main__":
    hive_agent.serve({"package": package})
