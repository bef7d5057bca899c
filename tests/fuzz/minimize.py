"""Shrink an input that breaks a promise to a small one for tests/regressions/.

    uv run python tests/fuzz/minimize.py crash-file OUT [--check robust|consistent|summary]

Removes whole pcap records first (when the input parses as a pcap), then runs of bytes
(halving the run length down to one byte), keeping each cut that still fails the same way
(the same exception type, or the same assertion message up to its first number).
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import hostile  # noqa: E402


def outcome(data: bytes, check: str) -> str | None:
    """None when every promise holds; else a signature of the failure."""
    try:
        replay = hostile.check_capture_robust(data)
        if check == "consistent":
            hostile.check_capture_consistent(data, replay, summary=False)
        elif check == "summary":
            hostile.check_summary_tracker(hostile.slow_segments(data)[0], replay)
    except AssertionError as exc:
        return "AssertionError: " + re.split(r"\d", str(exc), maxsplit=1)[0]
    except Exception as exc:  # noqa: BLE001 - any escape is what we shrink for
        return type(exc).__name__
    return None


def pcap_records(data: bytes) -> tuple[bytes, list[bytes]] | None:
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return None
    recs, pos = [], 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        if pos + 16 + caplen > len(data):
            break
        recs.append(data[pos : pos + 16 + caplen])
        pos += 16 + caplen
    return data[:24], recs + ([data[pos:]] if pos < len(data) else [])


def minimize(data: bytes, check: str) -> bytes:
    want = outcome(data, check)
    if want is None:
        raise SystemExit("this input breaks no promise")
    parsed = pcap_records(data)
    if parsed:
        head, recs = parsed
        changed = True
        while changed:
            changed = False
            for i in range(len(recs)):
                cand = recs[:i] + recs[i + 1 :]
                if outcome(head + b"".join(cand), check) == want:
                    recs, changed = cand, True
                    break
        data = head + b"".join(recs)
    size = max(1, len(data) // 2)
    while size >= 1:
        i = 0
        while i < len(data):
            cand = data[:i] + data[i + size :]
            if outcome(cand, check) == want:
                data = cand
            else:
                i += size
        size //= 2
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--check", choices=("robust", "consistent", "summary"), default="robust")
    args = ap.parse_args()
    data = args.input.read_bytes()
    small = minimize(data, args.check)
    args.output.write_bytes(small)
    print(f"{len(data)} -> {len(small)} bytes: {outcome(small, args.check)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
