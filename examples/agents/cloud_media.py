#!/usr/bin/env python3
"""Stand-in hosted media service for task_auction.hive: `transcode` and `transcribe`, with
the outputs of transcoder.py and transcribe.py but stored on the service's CDN
(`https://cdn.media-cloud.example.net/...`). It bids high (five times the on-demand GPU
price, four times the large speech model's), so in an auction it wins only when the cheaper
workers cannot take the task. `MEDIA_API_KEY` is not needed."""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402
import transcoder  # noqa: E402
import transcribe  # noqa: E402

CDN = "https://cdn.media-cloud.example.net"
TRANSCODE_MARKUP = 5.0
TRANSCRIBE_MARKUP = 4.0


def bid(capability, inp, flags):
    if capability == "transcode":
        return round(transcoder.base_cost(inp) * TRANSCODE_MARKUP, 4)
    transcribe.language_of(inp)
    return round(transcribe.MODEL_PRICE["large"] * TRANSCRIBE_MARKUP * transcribe.minutes(inp), 4)


if __name__ == "__main__":
    hive_agent.serve(
        {
            "transcode": lambda inp, flags: transcoder.transcode(inp, flags, prefix=CDN),
            "transcribe": lambda inp, flags: transcribe.transcribe(inp, flags, prefix=CDN),
        },
        bid=bid,
    )
