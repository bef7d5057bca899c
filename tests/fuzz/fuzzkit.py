"""What the atheris fuzz targets share: argument defaults, the seed corpus, the memory
bound, and a record of consistency findings.

A target (tests/fuzz/fuzz_*.py) runs its input through tests/hostile.py. A broken
*robustness* promise (an exception escaping, a packet lost without a reason, memory past
the bound, an input taking longer than -timeout) stops the fuzzer with the crashing input
written out, as libFuzzer does. A broken *consistency* promise (two paths that should agree
and do not) is recorded in the findings directory (the input and the message, at most
3 inputs per kind) and fuzzing goes on, so a known disagreement does not hide new crashes.

Defaults added to libFuzzer's arguments unless given: the corpus directory
$TMPDIR/tcp-lab-fuzz/<target> (seeded on first use), -rss_limit_mb=1024, -timeout=10,
-max_len=16384.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))

#: The peak RSS a target may reach (MiB); the 2 GB caplen must not come near it.
RSS_LIMIT_MB = 1024


class Findings:
    """Consistency failures met while fuzzing, kept on disk for tests/fuzz/minimize.py."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.kinds: Counter[str] = Counter()
        self.total = 0
        atexit.register(self.report)

    def add(self, data: bytes, message: str) -> None:
        self.total += 1
        kind = re.split(r"\d", message, maxsplit=1)[0].strip()[:100]
        self.kinds[kind] += 1
        if self.kinds[kind] == 1:  # said at once: a run stopped by a signal skips atexit
            print(f"\n#finding: {message[:300]} (inputs in {self.dir})", file=sys.stderr, flush=True)
        if self.kinds[kind] <= 3:
            self.dir.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha1(data).hexdigest()[:16]
            (self.dir / f"{name}.bin").write_bytes(data)
            (self.dir / f"{name}.txt").write_text(message + "\n")

    def report(self) -> None:
        if self.total:
            print(f"\n#findings: {self.total} consistency failures in {len(self.kinds)} kinds, inputs in {self.dir}",
                  file=sys.stderr)
            for kind, n in self.kinds.most_common():
                print(f"#  {n:8d}  {kind}", file=sys.stderr)
        else:
            print("\n#findings: no consistency failure", file=sys.stderr)


def setup(target: str, seeds: dict[str, bytes]) -> tuple[list[str], Findings]:
    """libFuzzer's argv with our defaults, the seed corpus written, the findings store."""
    argv = list(sys.argv)
    flags = [a for a in argv[1:] if a.startswith("-")]
    dirs = [a for a in argv[1:] if not a.startswith("-")]
    base = Path(os.environ.get("TCP_LAB_FUZZ_DIR", Path(tempfile.gettempdir()) / "tcp-lab-fuzz"))
    if not dirs:
        corpus = base / target
        corpus.mkdir(parents=True, exist_ok=True)
        if not any(corpus.iterdir()):
            for name, data in seeds.items():
                (corpus / name).write_bytes(data)
        argv.append(str(corpus))
    for flag, value in (("-rss_limit_mb", "1024"), ("-timeout", "10"), ("-max_len", "16384")):
        if not any(f.startswith(flag + "=") for f in flags):
            argv.insert(1, f"{flag}={value}")
    return argv, Findings(base / f"findings-{target}")


def check_memory() -> None:
    from hostile import peak_rss_mb

    peak = peak_rss_mb()
    if peak > RSS_LIMIT_MB:
        raise MemoryError(f"peak RSS {peak:.0f} MiB > {RSS_LIMIT_MB} MiB")
