#!/usr/bin/env python3
"""Stand-in hosted browser grid for browser_fleet.hive: the capabilities of browser.py on
the `grid` engine (slower page loads, screenshots under `screenshots/grid/`). The grid token
(`GRID_TOKEN`) is not needed."""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402
import hive_agent  # noqa: E402

if __name__ == "__main__":
    hive_agent.serve(browser.handlers("grid"))
