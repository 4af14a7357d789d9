#!/usr/bin/env python3
"""Stand-in cache node for cache_invalidation.hive (`--node NAME --region REGION`):
`invalidate(prefix) -> int`, the number of keys it dropped.

Each node starts with the keys a read-through cache in front of the example's services would
hold: every service's settings, price lists and rendered pages, of which each node (by its
name) holds its own share. `invalidate` drops the keys that start with the prefix and answers
how many it dropped; the keys stay dropped for the life of the process, so asking again drops
none. A node named in the environment variable `CACHE_NODES_DOWN` (comma-separated, e.g.
`CACHE_NODES_DOWN=cache_ap`) refuses every task, as a node whose cache server is down would:
that is how the example shows a broadcast member that fails.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

SERVICES = ("pricing", "checkout", "catalog", "search")
SECTIONS = {
    "settings": ("currency", "tax", "rounding", "limits", "features", "regions"),
    "plans": ("free", "starter", "team", "business", "enterprise"),
    "pages": ("home", "compare", "faq", "terms", "contact", "careers", "blog", "status"),
}
LOCALES = ("en", "de", "fr", "ja", "pt")

CACHE = None


def warm(node):
    """The keys `node` holds at start: about half of every service's keys, chosen by name."""
    keys = set()
    for service in SERVICES:
        for section, names in SECTIONS.items():
            for name in names:
                for locale in LOCALES:
                    key = "%s/%s/%s/%s" % (service, section, name, locale)
                    if hive_agent.stable_int(node, key) % 2 == 0:
                        keys.add(key)
    return keys


def down(node):
    listed = os.environ.get("CACHE_NODES_DOWN", "")
    return node in {n.strip() for n in listed.split(",") if n.strip()}


def invalidate(inp, flags):
    global CACHE
    node = str(flags.get("node", "cache"))
    prefix = str(inp["prefix"])
    if not prefix:
        raise hive_agent.TaskError("an empty prefix would drop the whole cache", retryable=False)
    if down(node):
        region = flags.get("region", "?")
        raise hive_agent.TaskError("connection refused: the cache server of %s (%s) is down" % (node, region))
    if CACHE is None:
        CACHE = warm(node)
    dropped = {k for k in CACHE if k.startswith(prefix)}
    CACHE -= dropped
    return len(dropped)


if __name__ == "__main__":
    hive_agent.serve({"invalidate": invalidate})
