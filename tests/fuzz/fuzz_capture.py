"""Coverage-guided fuzzing of the whole replay path with atheris: capture bytes ->
reader/decoder (core/tcpscan.py, and core/pcapfile.py + core/decode.py beside it) ->
tracker -> replay timelines (every Frame materialised) -> JSON and text writers.

    uv run --group fuzz python tests/fuzz/fuzz_capture.py -atheris_runs=1000000

Seeds: captures/*.pcap, their `editcap -F pcapng` conversions and the malformed corpus
(tests/make_malformed.py), written to $TMPDIR/tcp-lab-fuzz/capture on first use. Each
input is also read in chunks cut where its CRC says (chunking must not matter). See
tests/fuzz/fuzzkit.py for what stops the fuzzer and what is only recorded.
"""

from __future__ import annotations

import sys
import zlib

import atheris

import fuzzkit

with atheris.instrument_imports(include=["tcp_lab", "hostile"]):
    import hostile

FINDINGS: fuzzkit.Findings


def cuts_for(data: bytes) -> list[int]:
    crc = zlib.crc32(data)
    n = len(data)
    if not n:
        return []
    return [(crc >> shift) % (n + 1) for shift in (0, 11, 22)[: crc % 4]]


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    replay = hostile.check_capture_robust(data, mismatch=lambda message: FINDINGS.add(data, message))
    try:
        hostile.check_capture_consistent(data, replay, cuts_for(data), outputs=False)
    except AssertionError as exc:
        FINDINGS.add(data, str(exc))
    fuzzkit.check_memory()


def main() -> None:
    global FINDINGS
    argv, FINDINGS = fuzzkit.setup("capture", hostile.seed_captures())
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
