"""The regression corpus: every input that ever broke a promise, kept small, replayed.

tests/regressions/ holds capture files (*.pcap, *.pcapng, *.bin: raw bytes as the fuzzer
or a user had them) and segment streams (*.segments.json: flat segment tuples, for the
tracker alone). Each one runs through every check of tests/hostile.py, and each capture
also through the real `tcp-lab replay` command. tests/regressions/README.md says what
each file broke and where it was fixed; a file missing there fails a test.

To add one: shrink it with `uv run python tests/fuzz/minimize.py CRASH tests/regressions/NAME.pcap
--check robust|consistent|summary`, then add its line to the README.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import hostile  # noqa: E402
from hostile_cli import assert_clean, run_tcp_lab  # noqa: E402

CORPUS = HERE / "regressions"
CAPTURES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".pcap", ".pcapng", ".bin"))
STREAMS = sorted(CORPUS.glob("*.segments.json"))


def test_every_regression_is_documented():
    readme = (CORPUS / "README.md").read_text()
    missing = [p.name for p in CAPTURES + STREAMS if f"`{p.name}`" not in readme]
    assert not missing, f"add these to tests/regressions/README.md: {missing}"
    assert CAPTURES and STREAMS


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_capture_regression(path):
    data = path.read_bytes()
    hostile.check_capture(data, cuts=[len(data) // 3, len(data) // 2 + 1])
    for args in (["--format", "json"], ["--format", "text", "--conversations"]):
        run = run_tcp_lab(["replay", str(path), *args])
        assert_clean(run)
        stdin = run_tcp_lab(["replay", "-", *args], stdin=data)
        assert_clean(stdin)


def _segments(path: Path) -> list[tuple]:
    doc = json.loads(path.read_text())
    fields = doc["fields"]
    out = []
    for row in doc["segments"]:
        item = dict(zip(fields, row))
        for key in ("src", "dst", "options"):
            item[key] = bytes.fromhex(item[key])
        out.append(tuple(item[f] for f in fields))
    return out


@pytest.mark.parametrize("path", STREAMS, ids=[p.name for p in STREAMS])
def test_segment_stream_regression(path):
    items = _segments(path)
    hostile.check_segments(items)
    hostile.check_segments(items, batches=[1])
