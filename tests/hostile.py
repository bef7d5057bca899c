"""The checks every hostile input must pass, shared by the property tests
(tests/test_hostile_properties.py), the regression corpus (tests/test_regressions.py) and
the coverage-guided fuzz targets (tests/fuzz/fuzz_*.py).

A capture's bytes go through everything `tcp-lab replay` runs them through: the capture
reader and decoder (core/tcpscan.py), the tracker, the replay timelines (every Frame
materialised) and the headless writers (JSON Lines and text). Two kinds of promise:

Robustness (`check_capture_robust`, `check_segments_robust`), what may never fail:

- no exception escapes (any exception propagates as it is: that is the failure);
- every packet record that gave no segment is counted under a one-line reason:
  frames == segments + skipped packets (unknown pcapng blocks are counted, not packets);
- the tracker keeps every segment the decoder hands it (one row each);
- a problem is one line, and reading stops at the first fatal one;
- every JSON line is valid JSON, every text line one line, every timeline materialises.

Consistency (`check_capture_consistent`, `check_segments_consistent`), paths that must agree:

- the fast path gives exactly what the slow one (core/pcapfile.CaptureReader, then
  core/decode.decode) gives;
- chunking (or batching) does not matter: any split of the input gives the same rows;
- the fast JSON writer says, line for line, what core/output.frame_json says for the
  timeline's Frames (the same for text), and a conversation's summary ends in the states
  of its last row;
- the summary-only tracker (``--conversations``) ends in the full replay's states.

`check_capture` / `check_segments` run both. `build_segments(pick)` makes segment streams
and `mutate(pick, data)` breaks captures, `pick(lo, hi)` being a hypothesis draw or a
libFuzzer byte source. Memory: `peak_rss_mb()` is the process's high-water mark (the fuzz
targets bound it); the property tests use tracemalloc per example.
"""

from __future__ import annotations

import json
import resource
from collections import Counter
from collections.abc import Iterable, Sequence

from tcp_lab.core.decode import Decoded, decode
from tcp_lab.core.output import frame_json, frame_text
from tcp_lab.core.pcapfile import SKIP_UNKNOWN_BLOCK, CaptureReader
from tcp_lab.core.replay import Replay
from tcp_lab.core.tracker import Tracker

#: Rows materialised as Frames per check (inputs are small; this bounds a worst case).
MAX_FRAMES = 400
MASK32 = 0xFFFFFFFF


def chunks_of(data: bytes, cuts: Sequence[int] | None) -> list[bytes]:
    """`data` split at the offsets in `cuts` (sorted, clamped; None: one chunk)."""
    if not cuts:
        return [data]
    points = sorted({min(max(c, 0), len(data)) for c in cuts})
    out, prev = [], 0
    for p in points:
        out.append(data[prev:p])
        prev = p
    out.append(data[prev:])
    return out


def replay_of(chunks: Iterable[bytes]) -> Replay:
    """A Replay fed these chunks the way `tcp-lab replay` feeds a file (stops when the
    reader is dead), then finished."""
    replay = Replay("fuzz")
    for chunk in chunks:
        replay.feed(chunk)
        if replay.scanner.dead:
            break
    replay.finish()
    return replay


def slow_segments(data: bytes) -> tuple[list[tuple], CaptureReader, Counter]:
    """The reader + decoder path: flat tuples, the reader, and the decoder's reasons."""
    reader = CaptureReader()
    reader.feed(data)
    out: list[tuple] = []
    reasons: Counter[str] = Counter()
    frame = 0
    for rec in reader.records():
        # A record's frame number: the reader counts every packet record, skipped or not.
        frame = reader.frames
        seg = decode(rec.linktype, rec.data, rec.wirelen)
        if isinstance(seg, str):
            reasons[seg] += 1
        else:
            assert isinstance(seg, Decoded)
            out.append((frame, rec.ts, rec.wirelen, *seg))
    reader.finish()
    return out, reader, reasons


def check_reasons(skipped: Counter, frames: int, segments: int) -> None:
    """Every packet record that gave no segment has a reason."""
    for reason, count in skipped.items():
        assert isinstance(reason, str) and reason.strip() and "\n" not in reason, f"bad reason {reason!r}"
        assert count > 0, f"reason {reason!r} counted {count}"
    packets_skipped = sum(skipped.values()) - skipped.get(SKIP_UNKNOWN_BLOCK, 0)
    assert frames == segments + packets_skipped, (
        f"{frames} packet records, {segments} segments, {packets_skipped} skipped with a reason: "
        f"{frames - segments - packets_skipped} lost without one ({dict(skipped)})"
    )


def check_problems(problems: Sequence, size: int) -> None:
    assert len(problems) <= 1, f"reading went on after a fatal problem: {problems}"
    for p in problems:
        assert 0 <= p.offset <= size, f"problem offset {p.offset} outside the {size}-byte input"
        assert p.message.strip() and "\n" not in p.message, f"problem message {p.message!r}"


def _raise(message: str) -> None:
    raise AssertionError(message)


def _ignore(message: str) -> None:
    pass


def check_outputs(replay: Replay, limit: int = MAX_FRAMES, mismatch=_raise) -> list[str]:
    """Materialise the timelines and run the headless writers: every JSON line is valid
    JSON, every text line one line, every conversation's timeline complete (these raise).
    The fast writers are held to the Frame writers (core/output.py) line for line; a
    difference goes to `mismatch(message)` (by default: raise). Returns the JSON lines
    (of the first `limit` rows)."""
    n = min(len(replay), limit)
    timeline = replay.timeline()
    assert len(timeline) == len(replay)
    json_lines = list(replay.json_lines(0, n))
    text_lines = list(replay.text_lines(0, n))
    assert len(json_lines) == len(text_lines) == n
    for i in range(n):
        frame = timeline[i]
        got = json.loads(json_lines[i])  # every line must be valid JSON
        assert "\n" not in text_lines[i]
        mine = frame_json(frame)
        if got != json.loads(mine):
            mismatch(f"row {i}: writer {json_lines[i]} != frame_json {mine}")
        if text_lines[i] != frame_text(frame):
            mismatch(f"row {i}: text {text_lines[i]!r} != frame_text {frame_text(frame)!r}")
    # Chunked bytes say the same as the lines.
    assert b"".join(replay.json_chunks(0, n)).decode().splitlines() == json_lines
    assert b"".join(replay.text_chunks(0, n)).decode().splitlines() == text_lines
    # Every conversation's timeline holds its rows; the summaries are complete.
    total = 0
    for summary in replay.conversations():
        conv_tl = replay.timeline(summary.conn)
        total += len(conv_tl)
        if len(conv_tl):
            last = conv_tl[len(conv_tl) - 1]
            if (last.client.state, last.server.state) != summary.last_states:
                mismatch(f"conversation {summary.conn}: last row {last.client.state}/{last.server.state}, "
                         f"summary {summary.last_states}")
        assert summary.packets[0] + summary.packets[1] == len(conv_tl)
        for k in range(min(len(conv_tl), 8)):
            conv_tl[k]
    assert total == len(replay)
    if n:
        # The language paths render an explanation for a row.
        json.loads(next(iter(replay.json_lines(0, 1, lang="zh"))))
        json.loads(next(iter(replay.json_lines(n - 1, n, lang="en"))))
    return json_lines


def check_summary_tracker(items: list[tuple], replay: Replay) -> None:
    """The summary-only tracker (tcp-lab replay --conversations) ends in the same states."""
    summary = Tracker(summary_only=True)
    summary.feed(list(items))
    full = replay.tracker.conversations
    assert len(summary.conversations) == len(full)
    for a, b in zip(summary.conversations, full):
        assert (a.port, a.addr, a.packets) == (b.port, b.addr, b.packets)
        assert a.state_byte == b.state_byte, (
            f"conversation {a.id}: --conversations ends in {a.state_byte:#04x}, the full replay in {b.state_byte:#04x}")


def check_capture_robust(data: bytes, mismatch=_ignore) -> Replay:
    """The robustness promises for one capture's bytes (what may never fail): no exception,
    problems well-formed, every skipped packet counted with a reason, every segment
    tracked, every output line valid. Returns the Replay (fed in one chunk)."""
    whole = replay_of([data])
    scan = whole.scanner
    check_problems(scan.problems, len(data))
    check_reasons(scan.skipped, scan.frames, scan.segments)
    assert len(whole) == scan.segments, f"{scan.segments} segments decoded, {len(whole)} tracked"
    check_outputs(whole, mismatch=mismatch)
    return whole


def check_capture_consistent(data: bytes, whole: Replay, cuts: Sequence[int] | None = None,
                             summary: bool = True, outputs: bool = True) -> None:
    """The consistency promises: the slow path (reader + decoder) gives what the fast
    path gives; chunking does not matter; the fast writers say what core/output.py says;
    the summary-only tracker ends where the full one does."""
    scan = whole.scanner
    slow, reader, reasons = slow_segments(data)
    assert reader.problems == scan.problems, f"reader {reader.problems} != scanner {scan.problems}"
    assert reader.frames == scan.frames
    merged = reader.skipped + reasons
    assert merged == scan.skipped, f"reader+decode skipped {dict(merged)} != scanner {dict(scan.skipped)}"
    store = whole.store
    assert len(slow) == len(store)
    for i, item in enumerate(slow):
        frame_no, ts, _wirelen, _ver, _src, _dst, _sport, _dport, seq, ack, flags, win, length, options, _urg = item
        assert (store.frame[i], store.seq[i], store.ack[i], store.flags[i], store.win[i], store.length[i]) == (
            frame_no, seq, ack, flags, win, length), f"row {i} differs between the fast and slow paths"
        assert store.ts[i] == ts
        assert store.options(i) == bytes(options)
    if cuts:
        chunked = replay_of(chunks_of(data, cuts))
        assert chunked.problems == whole.problems, f"{chunked.problems} != {whole.problems}"
        assert chunked.skipped == whole.skipped
        assert len(chunked) == len(whole)
        for col in ("frame", "conv", "seq", "ack", "flags", "meta", "states", "analysis", "explain"):
            assert getattr(chunked.store, col) == getattr(whole.store, col), f"column {col} depends on chunking"
    if outputs:
        check_outputs(whole)
    if summary:
        check_summary_tracker(slow, whole)


def check_capture(data: bytes, cuts: Sequence[int] | None = None, summary: bool = True) -> Replay:
    """Every promise above, for one capture's bytes; returns the Replay. `summary` False
    leaves out the summary-only tracker's check."""
    whole = check_capture_robust(data)
    check_capture_consistent(data, whole, cuts, summary)
    return whole


def check_segments_robust(items: list[tuple], batches: Sequence[int] = (), mismatch=_ignore) -> Replay:
    """The tracker, timelines and writers for flat segment tuples made up directly;
    `batches` splits the feed."""
    replay = Replay("segments")
    pieces = chunks_of(items, batches) if batches else [items]  # type: ignore[arg-type]
    for piece in pieces:
        assert replay.feed_segments(list(piece)) == len(piece)
    assert len(replay) == len(items)
    check_outputs(replay, mismatch=mismatch)
    return replay


def check_segments_consistent(items: list[tuple], replay: Replay, summary: bool = True, outputs: bool = True) -> None:
    one = Replay("segments")
    one.feed_segments(list(items))
    for col in ("frame", "conv", "seq", "ack", "flags", "meta", "states", "analysis", "explain"):
        assert getattr(one.store, col) == getattr(replay.store, col), f"column {col} depends on batching"
    if outputs:
        check_outputs(replay)
    if summary:
        check_summary_tracker(items, replay)


def check_segments(items: list[tuple], batches: Sequence[int] = (), summary: bool = True) -> Replay:
    replay = check_segments_robust(items, batches)
    check_segments_consistent(items, replay, summary)
    return replay


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- seeds: the shipped captures and their pcapng conversions ----------------------------

def seed_captures() -> dict[str, bytes]:
    """The real captures the fuzzers mutate: captures/*.pcap, each also converted with
    `editcap -F pcapng` (if editcap is installed), and the malformed-file corpus
    (tests/make_malformed.py) that is made of bytes."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    global _SEEDS
    if _SEEDS is not None:
        return dict(_SEEDS)
    root = Path(__file__).resolve().parent.parent
    seeds: dict[str, bytes] = {}
    editcap = shutil.which("editcap")
    with tempfile.TemporaryDirectory() as tmp:
        for pcap in sorted((root / "captures").glob("*.pcap")):
            seeds[pcap.name] = pcap.read_bytes()
            if editcap:
                out = Path(tmp) / (pcap.stem + ".pcapng")
                subprocess.run([editcap, "-F", "pcapng", str(pcap), str(out)], check=True, capture_output=True)
                seeds[out.name] = out.read_bytes()
        import make_malformed as mm

        built = mm.build(Path(tmp) / "malformed",
                         [c.name for c in mm.CASES if c.name not in ("directory", "missing", "unreadable", "fifo")])
        for name, path in built.items():
            if path.is_file() and path.stat().st_size <= 64 * 1024:
                seeds[f"malformed-{name}"] = path.read_bytes()
    _SEEDS = seeds
    return dict(seeds)


_SEEDS: dict[str, bytes] | None = None


# -- made-up segments for the tracker -------------------------------------------------------

_FLAG_COMBOS = (
    0x002, 0x012, 0x010, 0x018, 0x011, 0x019, 0x004, 0x014, 0x001, 0x003, 0x006, 0x007,
    0x0C2, 0x052, 0x1D2, 0x112, 0x0D2, 0x030, 0x031, 0x015, 0x013,
)
_SEQ_BASES = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFF0)
_MSS = bytes((2, 4, 0x05, 0xB4))
_SACK_PERM_NOP = bytes((1, 1, 4, 2))


def _options(pick, seq: int) -> bytes:
    kind = pick(0, 11)
    if kind <= 3:
        return b""
    if kind == 4:  # a SYN's usual set, window scale shift chosen (shifts above 14 are odd)
        return _MSS + _SACK_PERM_NOP + bytes((1, 3, 3, pick(0, 255))) + bytes((1, 1, 8, 10)) + bytes(8)
    if kind == 5:
        return bytes((1, 1, 8, 10)) + pick(0, 0xFFFFFFFF).to_bytes(4, "big") + pick(0, 0xFFFFFFFF).to_bytes(4, "big")
    if kind == 6:  # SACK blocks near the sequence space in use
        blocks = pick(1, 4)
        body = b"".join(((seq + pick(0, 5000)) & MASK32).to_bytes(4, "big") + ((seq + pick(0, 5000)) & MASK32).to_bytes(4, "big")
                        for _ in range(blocks))
        opt = bytes((5, 2 + 8 * blocks)) + body
        return bytes((1, 1)) + opt + bytes((-len(opt) - 2) % 4)
    if kind == 7:  # an option whose length is 0, 1 or runs past the end
        return bytes((pick(2, 254), pick(0, 255), pick(0, 255), pick(0, 255)))
    if kind == 8:
        return bytes((3, 3, pick(0, 255), 0))
    if kind == 9:  # Accurate ECN option (AccECN0 / AccECN1), 172 / 174
        return bytes((pick(0, 1) * 2 + 172, 11)) + bytes(9) + bytes(1)
    if kind == 10:
        return bytes(pick(0, 255) for _ in range(4 * pick(1, 10)))
    return _MSS


def build_segments(pick, max_segments: int = 40) -> list[tuple]:
    """Flat segment tuples (core/tcpscan.FLAT_FIELDS) for up to 3 conversations, each
    field chosen by `pick(lo, hi)` (a hypothesis draw or a libFuzzer byte source): SEQ/ACK
    near each side's ISN (wrapping around 2^32), flag combinations real stacks send and
    any of the 512, windows, payload lengths, options, time that may go backwards."""
    conns = []
    for c in range(pick(1, 3)):
        v6 = pick(0, 3) == 0
        size = 16 if v6 else 4
        a = bytes(size - 1) + bytes((1,))
        b = a if pick(0, 3) == 0 else bytes(size - 1) + bytes((2 + c,))
        ports = (pick(0, 65535) if pick(0, 3) == 0 else 40000 + c, 80 if pick(0, 3) else 40000 + c)
        isn = [_SEQ_BASES[pick(0, 5)] if pick(0, 1) else pick(0, MASK32) for _ in range(2)]
        conns.append((6 if v6 else 4, (a, b), ports, isn))
    cursor = [[conn[3][0], conn[3][1]] for conn in conns]
    items = []
    ts = 1_700_000_000.0
    frame = 0
    for _ in range(pick(0, max_segments)):
        c = pick(0, len(conns) - 1)
        d = pick(0, 1)
        ipv, addrs, ports, isn = conns[c]
        kind = pick(0, 40)
        flags = _FLAG_COMBOS[kind] if kind < len(_FLAG_COMBOS) else pick(0, 0x1FF)
        how = pick(0, 7)
        if how <= 4:
            seq = cursor[c][d]
        elif how == 5:
            seq = (cursor[c][d] - pick(1, 3000)) & MASK32
        elif how == 6:
            seq = (cursor[c][d] + pick(1, 3000)) & MASK32
        else:
            seq = pick(0, MASK32)
        other = cursor[c][1 - d]
        ack_how = pick(0, 5)
        ack = other if ack_how <= 3 else ((other + pick(-3000, 3000)) & MASK32 if ack_how == 4 else pick(0, MASK32))
        length = 0 if pick(0, 2) == 0 else pick(1, 1460 if pick(0, 7) else 65495)
        if flags & 0x007 and pick(0, 3):
            length = 0
        cursor[c][d] = (seq + length + (1 if flags & 0x002 else 0) + (1 if flags & 0x001 else 0)) & MASK32
        options = _options(pick, seq)
        step = pick(0, 9)
        ts += (-pick(1, 5000) / 1000) if step == 0 else (pick(0, 300_000) / 1_000_000 if step < 8 else pick(0, 120))
        frame += 1 if pick(0, 9) else pick(2, 10)
        src, dst = (addrs[0], addrs[1]) if d == 0 else (addrs[1], addrs[0])
        sport, dport = (ports[0], ports[1]) if d == 0 else (ports[1], ports[0])
        win = pick(0, 65535)
        urg = pick(0, 65535) if flags & 0x020 else 0
        wirelen = 14 + (40 if ipv == 6 else 20) + 20 + len(options) + length
        items.append((frame, ts, wirelen, ipv, src, dst, sport, dport, seq, ack, flags, win, length, options, urg))
    return items


# -- mutations of real captures -------------------------------------------------------------

#: 32-bit values that make length fields interesting: zero, tiny, just past a limit
#: (snaplen 262144, pcapng's 16 MiB block limit), 2 GB, all ones.
INTERESTING_U32 = (0, 1, 3, 4, 12, 16, 20, 28, 31, 32, 54, 65535, 65536, 262144, 262145,
                   16 * 1024 * 1024, 16 * 1024 * 1024 + 4, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def mutate(pick, data: bytes, seeds: Sequence[bytes] = (), rounds: int | None = None) -> bytes:
    """`data` broken a few times, each way chosen by `pick(lo, hi)`: bytes overwritten,
    inserted, deleted or duplicated, a 32-bit field set to an interesting value in either
    byte order, the tail cut, another capture spliced in."""
    buf = bytearray(data)
    for _ in range(pick(1, 6) if rounds is None else rounds):
        n = len(buf)
        op = pick(0, 8)
        at = pick(0, n) if n else 0
        if op == 0 and n:
            for i in range(pick(1, 8)):
                if at + i < n:
                    buf[at + i] = pick(0, 255)
        elif op == 1:
            buf[at:at] = bytes(pick(0, 255) for _ in range(pick(1, 16)))
        elif op == 2 and n:
            del buf[at : at + pick(1, 64)]
        elif op == 3 and n:
            size = pick(1, 200)
            buf[at:at] = buf[at : at + size]
        elif op in (4, 5) and n >= 4:
            at = min(at & ~3, n - 4)
            value = INTERESTING_U32[pick(0, len(INTERESTING_U32) - 1)]
            if pick(0, 3) == 0:
                value = (value + pick(-4, 4)) & MASK32
            buf[at : at + 4] = value.to_bytes(4, "little" if op == 4 else "big")
        elif op == 6:
            del buf[at:]
        elif op == 7 and seeds:
            other = seeds[pick(0, len(seeds) - 1)]
            start = pick(0, len(other))
            buf[at:] = other[start : start + pick(0, len(other))]
        elif op == 8 and n >= 2:
            buf[at:at] = bytes(buf[:pick(1, min(n, 64))])  # a header again, mid-file
    return bytes(buf)
