"""Property tests (hypothesis): hostile bytes and hostile segment streams never break
tcp-lab's replay path, and nothing is lost without a reason.

Fed with mutated real captures (captures/*.pcap, their `editcap -F pcapng` conversions and
the malformed corpus of tests/make_malformed.py), structured captures whose every length
field is chosen, raw frames for every link type, and made-up segment streams for the
tracker. The promises checked are in tests/hostile.py.

The default profile keeps the suite quick (a few hundred examples in all). For the long
run (100,000 examples in all; 33 minutes on a 2-core machine busy with other work):

    TCP_LAB_HYPOTHESIS=long uv run pytest tests/test_hostile_properties.py -q -p no:randomly
"""

from __future__ import annotations

import os
import struct
import sys
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import capbuild as cb  # noqa: E402
import hostile  # noqa: E402
from tcp_lab.core.decode import SUPPORTED_LINKTYPES, Decoded, decode  # noqa: E402
from tcp_lab.core.info import OptionEffects, options_text  # noqa: E402
from tcp_lab.core.options import options_dict  # noqa: E402
from tcp_lab.core.tcpscan import TcpScanner  # noqa: E402

#: Examples per test: (default, long). The long column sums to 100,000 (without "summary").
BUDGET = {
    "mutated": (120, 40_000),
    "structured": (60, 20_000),
    "frames": (80, 20_000),
    "segments": (40, 15_000),
    "options": (60, 5_000),
    # Outside the 100,000 (added later): the conversation table's summary tracker against
    # the full replay (its past failures are in tests/regressions/README.md).
    "summary": (100, 20_000),
}
PROFILE = os.environ.get("TCP_LAB_HYPOTHESIS", "default")
if PROFILE not in ("default", "long"):
    raise RuntimeError(f"TCP_LAB_HYPOTHESIS={PROFILE!r}: use 'default' or 'long'")


def budget(name: str) -> settings:
    quick, long = BUDGET[name]
    return settings(
        max_examples=long if PROFILE == "long" else quick,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


SEEDS = hostile.seed_captures()
SEED_NAMES = sorted(SEEDS)
SEED_BYTES = [SEEDS[n] for n in SEED_NAMES]

#: Memory allowed for one check: a fixed allowance plus a multiple of the input's size.
#: A reader that believed a 2 GB caplen would blow through it at once.
MEM_FIXED = 24 * 1024 * 1024
MEM_PER_BYTE = 400


def _memory_bounded(fn, size: int):
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= MEM_FIXED + MEM_PER_BYTE * size, f"{peak / 1e6:.1f} MB for a {size}-byte input"
    return result


def _picker(draw):
    return lambda lo, hi: draw(st.integers(lo, hi))


@budget("mutated")
@given(st.data())
def test_mutated_real_captures_keep_every_promise(data):
    """A real capture broken up to 6 ways, read in random chunks: no exception, every
    skipped packet has a reason, fast and slow paths agree, output is valid, memory
    stays within a bound proportional to the input."""
    pick = _picker(data.draw)
    seed = SEED_BYTES[pick(0, len(SEED_BYTES) - 1)]
    broken = hostile.mutate(pick, seed, SEED_BYTES)
    cuts = data.draw(st.lists(st.integers(0, len(broken)), max_size=4))
    _memory_bounded(lambda: hostile.check_capture(broken, cuts, summary=False), len(broken))


@st.composite
def structured_captures(draw) -> bytes:
    """A pcap or pcapng file whose headers and records carry chosen (often lying) values."""
    frames = [SEED_BYTES[0][40:114], cb.eth(cb.ipv4(cb.tcp(flags=0x12))), b"", b"\x00" * 13,
              cb.eth(cb.ipv6(cb.tcp(flags=0x11))), cb.sll2(cb.ipv4(cb.tcp(flags=0x04)))]
    u32 = st.one_of(st.sampled_from(hostile.INTERESTING_U32), st.integers(0, 0xFFFFFFFF))
    order = draw(st.sampled_from("<>"))
    if draw(st.booleans()):
        out = bytearray(struct.pack(order + "IHHiII", draw(st.sampled_from([0xA1B2C3D4, 0xA1B23C4D])),
                                    draw(st.sampled_from([2, 2, 2, 1, 3])), 4, 0, 0, draw(u32)))
        out += struct.pack(order + "I", draw(st.sampled_from(sorted(SUPPORTED_LINKTYPES) + [105, 0x04000001])))
        for _ in range(draw(st.integers(0, 12))):
            frame = draw(st.sampled_from(frames))
            caplen = draw(st.one_of(st.just(len(frame)), u32))
            wirelen = draw(st.one_of(st.just(len(frame)), u32))
            out += struct.pack(order + "IIII", draw(u32), draw(u32), caplen, wirelen) + frame
        return bytes(out)
    out = bytearray(cb.shb(order))
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 6))
        if kind == 0:
            out += cb.idb(draw(st.sampled_from(sorted(SUPPORTED_LINKTYPES))), draw(u32), order,
                          tsresol=draw(st.one_of(st.none(), st.integers(0, 255))),
                          tsoffset=draw(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))))
        elif kind == 1:
            out += cb.shb(draw(st.sampled_from("<>")))
        elif kind == 2:
            frame = draw(st.sampled_from(frames))
            out += cb.spb(frame, order, wirelen=draw(st.one_of(st.none(), u32)))
        elif kind == 3:
            out += cb.block(draw(u32), draw(st.binary(max_size=40)), order,
                            length=draw(st.one_of(st.none(), u32)), trailer=draw(st.one_of(st.none(), u32)))
        else:
            frame = draw(st.sampled_from(frames))
            out += cb.epb(frame, draw(st.sampled_from([0, 0, 1, 2, 0xFFFFFFFF])), draw(st.integers(0, 2**64 - 1)),
                          order, wirelen=draw(st.one_of(st.none(), u32)),
                          caplen=draw(st.one_of(st.none(), st.none(), u32)))
    return bytes(out)


@budget("structured")
@given(structured_captures(), st.lists(st.integers(0, 4000), max_size=3))
def test_structured_captures_with_lying_lengths(capture, cuts):
    _memory_bounded(lambda: hostile.check_capture(capture, cuts, summary=False), len(capture))


@st.composite
def frames_for_every_link(draw) -> tuple[int, bytes, int | None]:
    """A link type (every supported one, and others) and a frame: random bytes, or a real
    TCP/IP frame with one region overwritten."""
    linktype = draw(st.one_of(st.sampled_from(sorted(SUPPORTED_LINKTYPES)), st.integers(0, 0xFFFF)))
    if draw(st.booleans()):
        frame = draw(st.binary(max_size=200))
    else:
        ip = draw(st.sampled_from([
            cb.ipv4(cb.tcp(options=cb.MSS_1460, payload=b"x" * 10)),
            cb.ipv6(cb.tcp(flags=0x18, payload=b"hello")),
            cb.ipv6(cb.tcp(flags=0x11), ext=[(0, cb.ext_opts(1)), (51, cb.ext_ah())]),
            cb.ipv4(bytes((6,)) + cb.ext_ah() + cb.tcp(flags=0x10), proto=51),
        ]))
        frame = bytearray(draw(st.sampled_from([cb.eth(ip), cb.eth(ip, vlans=[(0x8100, 5), (0x88A8, 7)]), cb.sll(ip),
                                                cb.sll2(ip), cb.null(ip), cb.loop(ip), ip])))
        at = draw(st.integers(0, len(frame)))
        frame[at : at + draw(st.integers(0, 8))] = draw(st.binary(max_size=8))
        frame = bytes(frame[: draw(st.integers(0, len(frame)))]) if draw(st.booleans()) else bytes(frame)
    wirelen = draw(st.one_of(st.none(), st.integers(0, 70000)))
    return linktype, frame, wirelen


@budget("frames")
@given(frames_for_every_link())
def test_decoder_answers_every_frame(case):
    """decode() gives a segment or a one-line reason for any bytes on any link, the
    segment's fields are in range, and the fast path (a one-record pcap) agrees."""
    linktype, frame, wirelen = case
    seg = decode(linktype, frame, wirelen)
    if isinstance(seg, str):
        assert seg.strip() and "\n" not in seg
    else:
        assert isinstance(seg, Decoded)
        assert seg.ip_version in (4, 6) and len(seg.src) == len(seg.dst) == (4 if seg.ip_version == 4 else 16)
        assert 0 <= seg.sport <= 65535 and 0 <= seg.dport <= 65535
        assert 0 <= seg.seq <= 0xFFFFFFFF and 0 <= seg.ack <= 0xFFFFFFFF
        assert 0 <= seg.flags <= 0x1FF and 0 <= seg.win <= 0xFFFF
        assert seg.length >= 0 and len(seg.options) <= 40 and len(seg.options) % 4 == 0
        options_dict(seg.options)
    if 0 <= linktype <= 0xFFFF and linktype not in (12, 14):
        wl = len(frame) if wirelen is None or wirelen < len(frame) else wirelen
        capture = cb.pcap_header(linktype) + cb.pcap_record(1, 0, frame, wirelen=wl)
        scan = TcpScanner()
        out = scan.feed(capture)
        scan.finish()
        fast = out[0][1] if out else None
        slow = decode(linktype, frame, wl)
        assert fast == (None if isinstance(slow, str) else slow)
        hostile.check_reasons(scan.skipped, scan.frames, scan.segments)


@budget("segments")
@given(st.data())
def test_tracker_takes_any_segment_stream(data):
    """Made-up segments (any flags, SEQ/ACK anywhere, odd options, time going backwards,
    several conversations on the same addresses): every one is tracked, every timeline
    materialises, the writers agree, batching does not matter."""
    pick = _picker(data.draw)
    items = hostile.build_segments(pick)
    batches = data.draw(st.lists(st.integers(0, len(items)), max_size=3))
    replay = hostile.check_segments_robust(items, batches)
    hostile.check_segments_consistent(items, replay, summary=False)


@settings(budget("summary"), phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.data())
def test_conversation_table_ends_where_the_replay_ends(data):
    """`tcp-lab replay --conversations` uses the summary-only tracker: for any stream
    (made-up segments, or a mutated real capture) its final states must be those of the
    last row of the full replay. (No shrinking: a failure's input is written out whole;
    minimal known cases are in tests/regressions/.)"""
    pick = _picker(data.draw)
    if pick(0, 1):
        items = hostile.build_segments(pick)
        replay = hostile.check_segments_robust(items)
    else:
        broken = hostile.mutate(pick, SEED_BYTES[pick(0, len(SEED_BYTES) - 1)], SEED_BYTES)
        replay = hostile.check_capture_robust(broken)
        items = hostile.slow_segments(broken)[0]
    hostile.check_summary_tracker(items, replay)


@budget("options")
@given(st.binary(max_size=44), st.integers(0, 0xFFFFFFFF))
def test_option_parsers_take_any_bytes(raw, base):
    """TCP options as they come off the wire: the JSON form and the Info text never fail."""
    options_dict(raw)
    effects = OptionEffects()
    text = options_text(raw, base, effects)
    assert "\n" not in text
    assert effects.ws_shift is None or 0 <= effects.ws_shift <= 14


# -- lengths that lie: memory follows the bytes that exist, never the lengths claimed --------


def _lying_lengths() -> dict[str, bytes]:
    normal = SEEDS["normal.pcap"]
    first = normal[:24 + 16 + 74]
    rec = cb.pcap_record(1, 0, b"\x00" * 60)
    return {
        "pcap record claiming 2 GB": first + struct.pack("<IIII", 1, 0, 0x80000000, 0x80000000) + b"\x00" * 100,
        "pcap record claiming 4 GB - 1": first + struct.pack("<IIII", 1, 0, 0xFFFFFFFF, 60) + b"\x00" * 100,
        "pcap snaplen 2 GB, record claiming 2 GB": cb.pcap_header(snaplen=0x7FFFFFFF)
        + struct.pack("<IIII", 1, 0, 0x7FFFFFF0, 0x7FFFFFF0) + rec,
        "pcapng block claiming 4 GB": cb.shb() + cb.idb() + struct.pack("<II", 6, 0xFFFFFFF0) + b"\x00" * 64,
        "pcapng block claiming 16 MiB + 4": cb.shb() + cb.idb() + struct.pack("<II", 6, 16 * 1024 * 1024 + 4) + b"\x00" * 64,
        "pcapng EPB caplen 2 GB": cb.shb() + cb.idb() + cb.epb(b"\x00" * 60, caplen=0x80000000),
        "pcapng 10,000 interfaces": cb.shb() + cb.idb() * 10_000 + cb.epb(SEEDS["normal.pcap"][40:114], 9_999),
    }


def test_lengths_that_lie_allocate_nothing_like_them():
    """A 2 GB caplen must not allocate 2 GB: every reader path (whole, one byte at a time,
    the slow reader) stays within a bound proportional to the bytes that exist."""
    for name, data in _lying_lengths().items():
        _memory_bounded(lambda: hostile.check_capture(data, cuts=[len(data) // 2]), len(data))
        replay = _memory_bounded(lambda: hostile.replay_of([data[i : i + 1] for i in range(min(len(data), 4000))]),
                                 len(data))
        assert replay.problems or replay.skipped or len(replay), name


def test_a_stream_waiting_for_a_claimed_record_holds_at_most_the_largest_legal_one():
    """Fed a few bytes at a time (a stdin stream), a record that claims a large but legal
    length is waited for: the bytes held are those that arrived, not those claimed."""
    head = cb.pcap_header(snaplen=16 * 1024 * 1024) + struct.pack("<IIII", 1, 0, 16 * 1024 * 1024, 16 * 1024 * 1024)
    chunks = [head] + [b"\x00" * 1000] * 50

    def feed():
        replay = hostile.Replay("stream")
        for chunk in chunks:
            replay.feed(chunk)
        return replay

    replay = _memory_bounded(feed, sum(map(len, chunks)))
    assert len(replay) == 0 and not replay.problems
    replay.finish()
    assert "ends inside a record" in replay.problems[0].message
