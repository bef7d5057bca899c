"""Coverage-guided fuzzing of the tracker (core/tracker.py, core/inference.py,
core/analysis.py) and what is built on it (core/replay.py timelines, the JSON and text
writers), with atheris, fed segment streams made straight from the fuzzer's bytes (no
decoder in the way: any flags, SEQ/ACK anywhere, odd options, several conversations).

    uv run --group fuzz python tests/fuzz/fuzz_tracker.py -atheris_runs=1000000

The bytes drive tests/hostile.build_segments. A broken robustness promise stops the
fuzzer; a consistency difference (writers, batching, the summary-only tracker) is recorded
(tests/fuzz/fuzzkit.py).
"""

from __future__ import annotations

import random

import atheris

import fuzzkit

with atheris.instrument_imports(include=["tcp_lab", "hostile"]):
    import hostile

FINDINGS: fuzzkit.Findings


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    fdp = atheris.FuzzedDataProvider(data)
    items = hostile.build_segments(lambda lo, hi: fdp.ConsumeIntInRange(lo, hi), max_segments=60)
    half = len(items) // 2
    replay = hostile.check_segments_robust(items, [half], mismatch=lambda message: FINDINGS.add(data, message))
    try:
        hostile.check_segments_consistent(items, replay, outputs=False)
    except AssertionError as exc:
        FINDINGS.add(data, str(exc))
    fuzzkit.check_memory()


def seeds() -> dict[str, bytes]:
    rng = random.Random(6)
    return {f"random-{i}": bytes(rng.randrange(256) for _ in range(rng.randrange(16, 600))) for i in range(64)}


def main() -> None:
    global FINDINGS
    argv, FINDINGS = fuzzkit.setup("tracker", seeds())
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
