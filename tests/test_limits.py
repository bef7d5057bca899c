"""Bounded memory for long runs (core/limits.py, issue 6 item 4): a replay keeps at most
so many segments, segments per conversation and conversations; what it drops is said;
what it keeps stays exact (counts, states, summaries, the frames of the kept segments)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import longrun
from hostile import build_segments
from tcp_lab.core.limits import LIVE_LIMITS, Limits, resolve_limits
from tcp_lab.core.output import frame_json, frame_text
from tcp_lab.core.replay import Replay
from tcp_lab.core.tracker import Tracker

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
BATCH = 2000


def feed(replay: Replay, items: list[tuple], batch: int = BATCH) -> list[str]:
    """Feed in batches as a live capture does; returns the notices, in order."""
    notices = []
    for i in range(0, len(items), batch):
        replay.feed_segments(items[i : i + batch])
        notices += [n.text() for n in replay.take_notices()]
    return notices


def match(bounded: Replay, full: Replay):
    """(bounded, unbounded) conversation pairs that are the same connection: same
    4-tuple, same first segment (a conversation forgotten and seen again is a new one)."""
    def key(c):
        return (c.addr, c.port, c.first_frame, c.start, c.client_guess)

    index: dict = {}
    for c in full.tracker.conversations:
        index.setdefault(key(c), []).append(c)
    for conv in bounded.tracker.conversations:
        if conv is not None:
            found = index.get(key(conv), [])
            if len(found) == 1:  # not two alike (the same 4-tuple opened twice at once)
                yield conv, found[0]


def test_limits_are_positive_and_resolve_per_command():
    with pytest.raises(ValueError, match="positive"):
        Limits(max_conns=0)
    assert not Limits().active and LIVE_LIMITS.active
    assert resolve_limits(False) == Limits()
    assert resolve_limits(True) == LIVE_LIMITS
    assert resolve_limits(True, max_conns=0) == Limits(1_000_000, 100_000, None)
    assert resolve_limits(False, 5, None, 7) == Limits(5, None, 7)


def test_a_long_stream_keeps_what_the_limits_allow_and_it_stays_exact():
    items = list(longrun.segments(240_000))
    full = Replay("full")
    feed(full, items)
    limits = Limits(max_segments=30_000, max_segments_per_conn=8_000, max_conns=300)
    bounded = Replay("bounded", limits=limits)
    worst_rows = worst_convs = 0
    for i in range(0, len(items), BATCH):
        bounded.feed_segments(items[i : i + BATCH])
        worst_rows = max(worst_rows, len(bounded.store))
        worst_convs = max(worst_convs, bounded.tracker.live)
    # The store stays within the limit, its slack (a quarter) and one batch.
    assert worst_rows <= 30_000 + 30_000 // 4 + BATCH
    assert worst_convs <= 300 + 300 // 4 + BATCH // longrun.SHORT + 1
    evicted = bounded.evicted
    assert evicted.conversations > 10_000 and evicted.segments > 200_000
    assert evicted.segments == bounded.segments_tracked - len(bounded.store) == bounded.rows_dropped
    assert bounded.segments_tracked == len(full) == len(items)
    notices = [n.text() for n in bounded.take_notices()]
    assert any(n.startswith("kept the last 8,000 segments of conversation 0;") for n in notices)
    assert any(n.startswith("forgot the ") and "oldest closed conversations" in n for n in notices)
    assert bounded.memory_note().startswith("memory bound: ")
    assert bounded.memory_note("zh").startswith("内存上限")
    # Every conversation kept: the same counts, states and times as without limits.
    pairs = list(match(bounded, full))
    assert len(pairs) == bounded.tracker.live == len(bounded.conversations())
    for conv, other in pairs:
        assert conv.counts == other.counts
        assert conv.state_byte == other.state_byte
        assert conv.first_states == other.first_states
        assert (conv.first_ts, conv.last_ts) == (other.first_ts, other.last_ts)
    # The bulk transfer lost its oldest segments; the kept ones are the same frames.
    bulk = bounded.timeline(0)
    assert bulk.dropped > 0 and len(bulk) <= 8_000 + 30_000 // 4 + BATCH
    whole = full.timeline(0)
    assert bulk.dropped + len(bulk) == len(whole)
    for pos in (0, 1, 2, len(bulk) // 2, len(bulk) - 1):
        assert frame_json(bulk[pos]) == frame_json(whole[pos + bulk.dropped])
    # A forgotten conversation says so.
    gone = next(i for i, c in enumerate(bounded.tracker.conversations) if c is None)
    with pytest.raises(IndexError, match="forgotten"):
        bounded.timeline(gone)
    # The capture's timeline and the writers cover exactly the rows kept.
    tl = bounded.timeline()
    assert len(tl) == len(bounded.store)
    lines = list(bounded.json_lines())
    assert len(lines) == len(tl)
    for row in (0, len(tl) // 3, len(tl) - 1):
        assert json.loads(lines[row]) == json.loads(frame_json(tl[row]))
        assert list(bounded.text_lines(row, row + 1)) == [frame_text(tl[row])]


def test_headless_output_of_a_stream_is_unaffected_by_the_limits(tmp_path):
    """Rows are printed as they arrive, before a limit can drop them: `tcp-lab replay -`
    prints the same bytes with tiny limits as without any, and says what it dropped."""
    data = longrun.pcap(30_000)

    def run(*limits: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tcp_lab.tui.cli", "replay", "-", "--format", "json", *limits],
            input=data, capture_output=True, timeout=120,
        )  # fmt: skip

    unbounded = run("--max-segments", "0", "--max-segments-per-conn", "0", "--max-conns", "0")
    bounded = run("--max-segments", "3000", "--max-segments-per-conn", "1000", "--max-conns", "40")
    assert unbounded.returncode == bounded.returncode == 0
    assert bounded.stdout == unbounded.stdout
    assert len(bounded.stdout.splitlines()) == 30_000
    err = bounded.stderr.decode()
    assert "tcp-lab: the input: kept the last 1,000 segments of conversation 0;" in err
    assert "memory bound: " in err and "conversations forgotten (see --max-segments, --max-conns)." in err
    assert "Traceback" not in err and unbounded.stderr == b""


def test_a_file_with_limits_is_replayed_as_a_stream(tmp_path):
    path = tmp_path / "long.pcap"
    path.write_bytes(longrun.pcap(20_000))
    base = [sys.executable, "-m", "tcp_lab.tui.cli", "replay", str(path)]
    plain = subprocess.run(base + ["--format", "text"], capture_output=True, timeout=120)
    limited = subprocess.run(base + ["--format", "text", "--max-conns", "20"], capture_output=True, timeout=120)
    assert plain.returncode == limited.returncode == 0
    assert limited.stdout == plain.stdout
    assert "forgot the " in limited.stderr.decode()
    table = subprocess.run(base + ["--conversations", "--max-conns", "20"], capture_output=True, timeout=120)
    assert table.returncode == 0
    rows = table.stdout.decode().splitlines()[1:]
    assert 20 <= len(rows) <= 20 + 20 // 4 + 200  # the kept ones (limit, slack, one read)
    assert "conversations forgotten" in table.stderr.decode()


def test_hindsight_within_what_is_kept_still_rewrites_states():
    """A conversation trimmed to its last few segments still has a lost FIN found out
    when it is sent again (both copies kept), exactly as without limits."""
    path = CAPTURES / "lost-fin.pcap"
    full = Replay("full")
    full.feed(path.read_bytes())
    for per_conn in (4, 6, 9):
        bounded = Replay("b", max_segments_per_conn=per_conn)
        data = path.read_bytes()
        # One record at a time, so the limit applies between segments.
        from tcp_lab.core.tcpscan import TcpScanner

        items = TcpScanner(flat=True).feed(data)
        for item in items:
            bounded.feed_segments([item])
        for conv, other in match(bounded, full):
            assert conv.counts == other.counts
            if bounded.tracker.hindsight_lost == 0:
                assert conv.state_byte == other.state_byte


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    limits=st.tuples(st.integers(2, 40), st.integers(1, 12), st.integers(1, 3)),
    batch=st.integers(1, 9),
)
def test_any_segments_under_any_limits(data, limits, batch):
    """Made-up segment streams (tests/hostile.py) under tiny limits: nothing raises, what
    is kept is consistent (frames, writers, summaries), counts are exact, and states are
    exact whenever hindsight never needed a dropped segment."""
    items = build_segments(lambda lo, hi: data.draw(st.integers(lo, hi)), max_segments=60)
    full = Replay("full")
    full.feed_segments(list(items))
    bounded = Replay("b", limits=Limits(*limits))
    for i in range(0, len(items), batch):
        bounded.feed_segments(items[i : i + batch])
    assert bounded.segments_tracked == len(items)
    tl = bounded.timeline()
    lines = list(bounded.json_lines())
    assert len(lines) == len(tl) == len(bounded.store)
    for row, line in enumerate(lines):
        assert json.loads(line) == json.loads(frame_json(tl[row]))
    kept = 0
    for summary in bounded.conversations():
        ctl = bounded.timeline(summary.conn)
        kept += len(ctl)
        assert ctl.dropped + len(ctl) == summary.packets[0] + summary.packets[1]
        for k in range(len(ctl)):
            ctl[k]
    assert kept == len(bounded.store)
    for conv, other in match(bounded, full):
        assert conv.counts == other.counts
        if bounded.tracker.hindsight_lost == 0:
            assert conv.state_byte == other.state_byte
            assert conv.first_states == other.first_states
    summary_tracker = Tracker(summary_only=True, limits=Limits(*limits))
    for i in range(0, len(items), batch):
        summary_tracker.feed(items[i : i + batch])
    assert summary_tracker.tracked == len(items)


MEMORY_SCRIPT = r"""
import sys
sys.path.insert(0, {tests!r})
import longrun
from tcp_lab.core.limits import Limits
from tcp_lab.core.replay import Replay

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

replay = Replay("long", limits=Limits({max_segments}, {per_conn}, {max_conns}))
writer = replay.json_writer()
batch = []
marks = []
for item in longrun.segments({n}):
    batch.append(item)
    if len(batch) == 2000:
        added = replay.feed_segments(batch)
        end = len(replay)
        for chunk in writer.chunks(end - added, end, None):
            pass
        batch = []
        if replay.segments_tracked >= 125_000 * (len(marks) + 1):
            marks.append(round(rss_mb(), 1))
print(marks, len(replay.store), replay.tracker.live, replay.evicted.segments, replay.evicted.conversations)
"""


def test_a_million_segments_keep_memory_flat():
    """A million segments (an hour of some 300 segments a second; 67,000 short connections
    and a bulk transfer) through a replay and its JSON writer, as `tcp-lab sniff --format
    json` runs them, with a 100,000-segment bound: RSS stops growing once the store is
    full (without limits it grows by some 100 MB per million segments)."""
    script = MEMORY_SCRIPT.format(
        tests=str(Path(__file__).resolve().parent), n=1_000_000, max_segments=100_000, per_conn=50_000,
        max_conns=2_000,
    )  # fmt: skip
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300, text=True)
    assert out.returncode == 0, out.stderr
    marks_text, rows, live, dropped, forgotten = out.stdout.rsplit("]", 1)[0] + "]", *out.stdout.rsplit("]", 1)[1].split()
    marks = json.loads(marks_text)
    assert len(marks) == 8
    assert int(rows) <= 100_000 + 100_000 // 4 + 2000
    assert int(dropped) > 850_000 and int(forgotten) > 40_000
    settled = marks[2]  # after 375,000 segments the limits have long been reached
    assert max(marks[2:]) <= settled + 12, f"RSS kept growing: {marks} MB"
    assert max(marks) < 150, f"RSS {marks} MB"
    print("RSS (MB) every 125,000 segments:", marks)
