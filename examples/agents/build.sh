#!/bin/sh
# Stand-in agent: the protocol is spoken by _build.py next to this script (stdin stays the protocol).
exec python3 "$(dirname "$0")/_build.py" "$@"
