"""A long run of TCP traffic made up fast, for the bounded-memory tests (core/limits.py).

`segments(n)` yields flat segment tuples (core/tcpscan.FLAT_FIELDS) in capture order:
many short connections opened and closed in turn (handshake, a few requests and answers,
a four-way teardown), a few of them left open and idle, and one bulk transfer that runs
from the start to the end (it alone goes over any per-conversation limit). `pcap(n)` gives
the same as the bytes of a classic pcap file, for the command line and pipes.

About a million tuples a second: enough for tests of a few million segments.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
M = 0xFFFFFFFF
TS_OPT = b"\x01\x01\x08\x0a" + bytes(8)
#: Segments per short connection (3 + 4 exchanges of 2 + 4).
SHORT = 15


def _short(i: int, t: float) -> list[tuple]:
    """The segments of short connection `i` (without frame numbers and times yet)."""
    c = bytes((10, 0, (i >> 8) & 0xFF, i & 0xFF))
    s = bytes((192, 168, 1, 1 + i % 50))
    cp = 1024 + (i * 7) % 60000
    sp = 80
    ci = (i * 2654435761) & M
    si = (i * 40503 + 12345) & M
    up = (c, s, cp, sp)
    down = (s, c, sp, cp)
    out = [
        (up, SYN, ci, 0, 64240, 0),
        (down, SYN | ACK, si, ci + 1, 65160, 0),
        (up, ACK, ci + 1, si + 1, 502, 0),
    ]
    cs, ss = ci + 1, si + 1
    for _ in range(4):
        out.append((up, PSH | ACK, cs, ss, 502, 100))
        cs += 100
        out.append((down, PSH | ACK, ss, cs, 509, 400))
        ss += 400
    out += [
        (up, FIN | ACK, cs, ss, 502, 0),
        (down, ACK, ss, cs + 1, 509, 0),
        (down, FIN | ACK, ss, cs + 1, 509, 0),
        (up, ACK, cs + 1, ss + 1, 502, 0),
    ]
    return out


def segments(n: int, bulk_every: int = 3, open_every: int = 97) -> Iterator[tuple]:
    """`n` flat segment tuples: one bulk transfer (every `bulk_every`-th segment) woven
    through short connections run one after the other; every `open_every`-th short
    connection stops after its handshake and stays open (idle)."""
    frame = 0
    t = 1_700_000_000.0
    bulk_c, bulk_s = bytes((10, 9, 9, 9)), bytes((192, 168, 9, 9))
    b_seq, b_ack = 1000, 5000
    short: list[tuple] = []
    conn = 0
    while frame < n:
        frame += 1
        t += 0.0001
        if frame == 1:
            yield (frame, t, 54, 4, bulk_c, bulk_s, 50000, 443, b_seq - 1, 0, SYN, 64240, 0, b"", 0)
            continue
        if frame == 2:
            yield (frame, t, 54, 4, bulk_s, bulk_c, 443, 50000, b_ack - 1, b_seq, SYN | ACK, 65160, 0, b"", 0)
            continue
        if frame % bulk_every == 0:
            if frame % (2 * bulk_every) == 0:
                yield (frame, t, 66 + 1448, 4, bulk_c, bulk_s, 50000, 443, b_seq, b_ack, ACK, 502, 1448, TS_OPT, 0)
                b_seq = (b_seq + 1448) & M
            else:
                yield (frame, t, 66, 4, bulk_s, bulk_c, 443, 50000, b_ack, b_seq, ACK, 509, 0, TS_OPT, 0)
            continue
        if not short:
            segs = _short(conn, t)
            if conn % open_every == open_every - 1:
                segs = segs[:3]  # left open, idle
            short = segs[::-1]
            conn += 1
        (src, dst, sport, dport), flags, seq, ack, win, length = short.pop()
        yield (frame, t, 54 + length, 4, src, dst, sport, dport, seq & M, ack & M, flags, win, length, b"", 0)


_REC = struct.Struct("<IIII")
_ETH_IP_TCP = struct.Struct("!6s6sH BBHHHBBH4s4s HHIIBBHHH")


def frame_bytes(item: tuple) -> bytes:
    """The Ethernet/IPv4/TCP frame of a flat segment tuple (checksums left at 0)."""
    _, _, _, _, src, dst, sport, dport, seq, ack, flags, win, length, options, urg = item
    tcp_len = 20 + len(options)
    total = 20 + tcp_len + length
    head = _ETH_IP_TCP.pack(
        b"\x02\x00\x00\x00\x00\x02", b"\x02\x00\x00\x00\x00\x01", 0x0800,
        0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst,
        sport, dport, seq, ack, (tcp_len // 4) << 4, flags & 0xFF, win, 0, urg,
    )  # fmt: skip
    return head + options + bytes(length)


def pcap_header() -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def pcap_records(items) -> Iterator[bytes]:
    """Each tuple as a pcap record (microsecond timestamps)."""
    for item in items:
        data = frame_bytes(item)
        ts = item[1]
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        yield _REC.pack(sec, usec, len(data), len(data)) + data


def pcap(n: int, **kw) -> bytes:
    """`segments(n, **kw)` as a whole pcap file."""
    return pcap_header() + b"".join(pcap_records(segments(n, **kw)))
