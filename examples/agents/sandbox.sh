#!/bin/sh
# Stand-in agent: the protocol is spoken by _sandbox.py next to this script (stdin stays the protocol).
exec python3 "$(dirname "$0")/_sandbox.py" "$@"
