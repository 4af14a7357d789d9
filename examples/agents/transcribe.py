#!/usr/bin/env python3
"""Stand-in speech-to-text worker for task_auction.hive (`--model small|medium|large`).

`transcribe(source, language) -> Captions`: nothing is transcribed; the captions' URL is
`captions/NAME/LANGUAGE.vtt` next to the source. Bids cost per minute of video, more for
larger models; cloud_media.py bids higher.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402
import transcoder  # noqa: E402

MODEL_PRICE = {"tiny": 0.0005, "small": 0.001, "medium": 0.002, "large": 0.004}


def language_of(inp):
    language = str(inp.get("language") or "").strip()
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", language):
        raise hive_agent.TaskError("not a language tag: %r" % language, retryable=False)
    return language


def transcribe(inp, flags, prefix=None):
    source = str(inp["source"])
    language = language_of(inp)
    own_prefix, stem = transcoder.source_parts(source)
    base = own_prefix if prefix is None else prefix
    path = "captions/%s/%s.vtt" % (stem, language.lower())
    return {"language": language, "url": "%s/%s" % (base, path) if base else path}


def minutes(inp):
    return transcoder.duration_seconds(str(inp.get("source") or "")) / 60.0


def bid(capability, inp, flags):
    language_of(inp)
    price = MODEL_PRICE.get(str(flags.get("model", "medium")), MODEL_PRICE["medium"])
    return round(price * minutes(inp), 4)


if __name__ == "__main__":
    hive_agent.serve({"transcribe": transcribe}, bid=bid)
