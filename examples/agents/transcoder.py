#!/usr/bin/env python3
"""Stand-in GPU transcoder for task_auction.hive (`--device cuda|cpu`, `--spot`).

`transcode(source, profile) -> Rendition`: nothing is encoded. The source's duration is
derived from its name (5 to 60 minutes); `seconds` is that duration, `bytes` follows from
the profile's bitrate, and `url` puts the rendition next to the source, under
`renditions/NAME/PROFILE.mp4`.

Bids: the cost is proportional to the minutes of video and the profile's bitrate (so it grows
with the resolution); the CPU is four times as expensive as CUDA, and `--spot` capacity bids
40 % of the on-demand price. cloud_media.py bids higher still.
"""

import os
import posixpath
import sys
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402

# profile -> video bitrate in kbit/s
PROFILES = {"uhd_2160p": 16000, "hd_1080p": 6000, "hd_720p": 3000, "sd_480p": 1200}
DEVICE_FACTOR = {"cuda": 1.0, "cpu": 4.0}
SPOT_FACTOR = 0.4
# price of one minute of video at 1 Mbit/s
PRICE = 0.002


def source_parts(source):
    """(prefix, stem) of a media location: `s3://media/raw/keynote.mov` -> (`s3://media`, `keynote`)."""
    source = str(source).strip()
    if not source:
        raise hive_agent.TaskError("the source is empty", retryable=False)
    parts = urlsplit(source)
    path = parts.path if parts.scheme else source
    stem = posixpath.splitext(posixpath.basename(path.rstrip("/")))[0] or "media"
    prefix = "%s://%s" % (parts.scheme, parts.netloc) if parts.scheme else ""
    return prefix, stem


def duration_seconds(source):
    h = hive_agent.stable_int("duration", source)
    return float(300 + h % 3300) + (h >> 12) % 10 / 10.0


def profile_of(inp):
    profile = inp.get("profile")
    if profile not in PROFILES:
        raise hive_agent.TaskError(
            "unknown profile %r (one of %s)" % (profile, ", ".join(PROFILES)), retryable=False
        )
    return profile


def transcode(inp, flags, prefix=None):
    source = str(inp["source"])
    profile = profile_of(inp)
    own_prefix, stem = source_parts(source)
    base = own_prefix if prefix is None else prefix
    seconds = duration_seconds(source)
    size = int(PROFILES[profile] * 1000 / 8 * seconds)
    url = "%s/renditions/%s/%s.mp4" % (base, stem, profile) if base else "renditions/%s/%s.mp4" % (stem, profile)
    return {"profile": profile, "url": url, "bytes": size, "seconds": seconds}


def base_cost(inp):
    """On-demand CUDA price of a transcode task."""
    profile = profile_of(inp)
    minutes = duration_seconds(str(inp.get("source") or "")) / 60.0
    return PRICE * minutes * PROFILES[profile] / 1000.0


def bid(capability, inp, flags):
    device = flags.get("device", "cuda")
    cost = base_cost(inp) * DEVICE_FACTOR.get(device, DEVICE_FACTOR["cpu"])
    if flags.get("spot"):
        cost *= SPOT_FACTOR
    return round(cost, 4)


if __name__ == "__main__":
    hive_agent.serve({"transcode": transcode}, bid=bid)
