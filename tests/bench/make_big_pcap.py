"""Write the benchmark capture: many interleaved TCP connections, Ethernet/IPv4/TCP, classic pcap.

    uv run python tests/bench/make_big_pcap.py /tmp/big.pcap --segments 1000000 --connections 10000

The file is deterministic for a given set of arguments (``--seed``). Each connection is a
full life: three-way handshake with the options Linux puts on a SYN (MSS, SACK_PERM,
timestamps, window scale), request/response exchanges with data both ways, delayed ACKs,
and a four-way teardown (the client or the server closing first). Timestamps ride on every
segment. Sprinkled in, at fixed rates: retransmitted data segments, a receiver advertising
a zero window and then a window update, keep-alives and their ACKs, connections aborted
with RST, and refused connections (SYN answered by RST). About ``--concurrency``
connections (default 1500) are open at any moment, and their segments interleave in time
order, as on a busy server's link.

The segment count is exact; with the defaults the file is about 480 MB (average frame
about 460 bytes). IPv4 header checksums are right; TCP checksums are left at 0 (tshark does
not check them by default). Only struct and the standard library: 1M segments take about
10 s to write.
"""

from __future__ import annotations

import argparse
import heapq
import random
import struct
import sys
from collections.abc import Iterator

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_HDR = struct.Struct("!6s6sHBBHHHBBH4s4sHHIIHHHH")  # Ethernet + IPv4 (20) + TCP (20)
_REC = struct.Struct("<IIII")
_FILE_HDR = struct.Struct("<IHHiIII")
_TS_OPT = struct.Struct("!BBBBII")  # NOP NOP kind=8 len=10 TSval TSecr
_SYN_OPT = struct.Struct("!BBHBBBBIIBBBB")  # MSS, SACK_PERM, TS, NOP, WS

MSS = 1448  # payload per full segment with timestamps on a 1500-byte MTU
_BLOB = random.Random(7).randbytes(1 << 16)


def _syn_options(tsval: int, tsecr: int, wscale: int) -> bytes:
    return _SYN_OPT.pack(2, 4, 1460, 4, 2, 8, 10, tsval, tsecr, 1, 3, 3, wscale)


class Conn:
    """One connection's fixed parts: addresses, ports, MACs and partial IP checksums."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.index = index
        # 2,500 client addresses 10.{1..10}.{1..250}.x, 20 servers 192.168.100.{1..20}.
        self.cip = bytes((10, 1 + (index % 2500) // 250, 1 + (index % 250), 1 + (index // 2500) % 200))
        self.sip = bytes((192, 168, 100, 1 + index % 20))
        self.cport = 32768 + (index * 7919) % 28000
        self.sport = (80, 443, 8080, 22, 5432)[index % 5]
        self.cmac = bytes((0x02, 0, 0, 1, index >> 8 & 0xFF, index & 0xFF))
        self.smac = bytes((0x02, 0, 0, 2, 0, 1 + index % 20))
        self.c_isn = rng.getrandbits(32)
        self.s_isn = rng.getrandbits(32)
        self.c_ts = rng.getrandbits(31)
        self.s_ts = rng.getrandbits(31)
        self.ident = [rng.getrandbits(16), rng.getrandbits(16)]
        # Partial IPv4 checksum: everything but total length and identification.
        words = struct.unpack("!HH", self.cip) + struct.unpack("!HH", self.sip)
        self.csum_base = 0x4500 + 0x4000 + (64 << 8 | 6) + sum(words)


def _checksum(base: int, total: int, ident: int) -> int:
    s = base + total + ident
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(conn: Conn, from_client: bool, flags: int, seq: int, ack: int, win: int, length: int,
          options: bytes) -> bytes:
    """One Ethernet frame of this connection."""
    tcp_len = 20 + len(options)
    total = 20 + tcp_len + length
    side = 0 if from_client else 1
    ident = conn.ident[side]
    conn.ident[side] = (ident + 1) & 0xFFFF
    csum = _checksum(conn.csum_base, total, ident)
    if from_client:
        hdr = _HDR.pack(conn.smac, conn.cmac, 0x0800, 0x45, 0, total, ident, 0x4000, 64, 6, csum,
                        conn.cip, conn.sip, conn.cport, conn.sport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                        (tcp_len // 4) << 12 | flags, win, 0, 0)
    else:
        hdr = _HDR.pack(conn.cmac, conn.smac, 0x0800, 0x45, 0, total, ident, 0x4000, 64, 6, csum,
                        conn.sip, conn.cip, conn.sport, conn.cport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                        (tcp_len // 4) << 12 | flags, win, 0, 0)
    if length:
        o = (seq * 31) & 0x7FFF
        return hdr + options + _BLOB[o : o + length]
    return hdr + options


def connection(conn: Conn, budget: int, start: float, rng: random.Random) -> Iterator[tuple[float, bytes]]:
    """The segments of one connection, exactly `budget` of them, as (time, frame)."""
    t = start
    rtt = rng.uniform(0.0005, 0.004)
    c_nxt, s_nxt = conn.c_isn, conn.s_isn

    def ts_opt(from_client: bool) -> bytes:
        ms = int((t - start) * 1000)
        if from_client:
            return _TS_OPT.pack(1, 1, 8, 10, (conn.c_ts + ms) & 0xFFFFFFFF, (conn.s_ts + ms) & 0xFFFFFFFF)
        return _TS_OPT.pack(1, 1, 8, 10, (conn.s_ts + ms) & 0xFFFFFFFF, (conn.c_ts + ms) & 0xFFFFFFFF)

    left = budget
    yield t, frame(conn, True, SYN, c_nxt, 0, 64240, 0, _syn_options(conn.c_ts, 0, 7))
    left -= 1
    t += rtt / 2
    if budget == 2:  # refused: RST, ACK from a closed port (RFC 9293 section 3.10.7.1)
        yield t, frame(conn, False, RST | ACK, 0, c_nxt + 1, 0, 0, b"")
        return
    c_nxt += 1
    yield t, frame(conn, False, SYN | ACK, s_nxt, c_nxt, 65160, 0, _syn_options(conn.s_ts, conn.c_ts, 9))
    left -= 1
    s_nxt += 1
    t += rtt / 2
    yield t, frame(conn, True, ACK, c_nxt, s_nxt, 502, 0, ts_opt(True))
    left -= 1

    abort = rng.random() < 0.03
    teardown = 1 if abort else 4
    c_win, s_win = 502, 509  # raw windows (scaled by 128 and 512)
    while left > teardown:
        room = left - teardown
        t += rng.uniform(0.001, 0.02)
        r = rng.random()
        if r < 0.02 and room >= 2:  # keep-alive: one byte below SND.NXT, then its ACK
            t += 0.5
            yield t, frame(conn, True, ACK, c_nxt - 1, s_nxt, c_win, 0, ts_opt(True))
            t += rtt
            yield t, frame(conn, False, ACK, s_nxt, c_nxt, s_win, 0, ts_opt(False))
            left -= 2
            continue
        # A request from the client, then a response from the server.
        req = rng.randint(40, 400)
        yield t, frame(conn, True, PSH | ACK, c_nxt, s_nxt, c_win, req, ts_opt(True))
        c_nxt += req
        left -= 1
        t += rtt / 2
        resp = rng.choice((120, 300, 800, 1448, 2896))
        unacked = 0
        zero_window = rng.random() < 0.02
        while resp > 0 and left > teardown:
            size = min(resp, MSS)
            resp -= size
            flags = ACK | (PSH if resp == 0 else 0)
            yield t, frame(conn, False, flags, s_nxt, c_nxt, s_win, size, ts_opt(False))
            left -= 1
            if rng.random() < 0.01 and left > teardown:  # lost: sent again after an RTO
                t += 0.2
                yield t, frame(conn, False, flags, s_nxt, c_nxt, s_win, size, ts_opt(False))
                left -= 1
            s_nxt += size
            unacked += 1
            t += 0.00012
            if (unacked == 2 or resp == 0) and left > teardown:  # delayed ACK every 2 segments
                t += rtt / 2
                win = 0 if zero_window and resp == 0 else c_win
                yield t, frame(conn, True, ACK, c_nxt, s_nxt, win, 0, ts_opt(True))
                left -= 1
                unacked = 0
                if win == 0 and left > teardown:  # the application reads: window update
                    t += 0.05
                    yield t, frame(conn, True, ACK, c_nxt, s_nxt, c_win, 0, ts_opt(True))
                    left -= 1
    t += rng.uniform(0.001, 0.02)
    if abort:
        yield t, frame(conn, True, RST | ACK, c_nxt, s_nxt, 0, 0, b"")
        return
    client_first = rng.random() < 0.7
    a_first = client_first
    a_nxt, b_nxt = (c_nxt, s_nxt) if client_first else (s_nxt, c_nxt)
    a_win, b_win = (c_win, s_win) if client_first else (s_win, c_win)
    yield t, frame(conn, a_first, FIN | ACK, a_nxt, b_nxt, a_win, 0, ts_opt(a_first))
    a_nxt += 1
    t += rtt / 2
    yield t, frame(conn, not a_first, ACK, b_nxt, a_nxt, b_win, 0, ts_opt(not a_first))
    t += rng.uniform(0.0001, 0.01)
    yield t, frame(conn, not a_first, FIN | ACK, b_nxt, a_nxt, b_win, 0, ts_opt(not a_first))
    b_nxt += 1
    t += rtt / 2
    yield t, frame(conn, a_first, ACK, a_nxt, b_nxt, a_win, 0, ts_opt(a_first))


def budgets(segments: int, connections: int, rng: random.Random) -> list[int]:
    """Segments per connection: spread around the mean, at least 7 each, summing exactly;
    one in 200 connections is refused (2 segments: SYN and RST)."""
    mean = segments / connections
    out = [2 if rng.random() < 0.005 else max(7, int(rng.uniform(0.4, 1.6) * mean)) for _ in range(connections)]
    diff = segments - sum(out)
    i = 0
    while diff:
        j = i % connections
        if out[j] == 2:  # a refused connection stays SYN + RST
            pass
        elif diff > 0:
            out[j] += 1
            diff -= 1
        elif out[j] > 7:
            out[j] -= 1
            diff += 1
        i += 1
        if i > 100 * connections and diff < 0:
            raise SystemExit("too few segments for that many connections (at least 7 each)")
    return out


class _prepend:
    """An iterator over (time, frame) that can tell the time of its next item."""

    __slots__ = ("_gen", "_next")

    def __init__(self, first: tuple[float, bytes], gen: Iterator[tuple[float, bytes]]) -> None:
        self._next: tuple[float, bytes] | None = first
        self._gen = gen

    def __iter__(self) -> _prepend:
        return self

    def __next__(self) -> tuple[float, bytes]:
        item = self._next
        if item is None:
            raise StopIteration
        self._next = next(self._gen, None)
        return item

    def peek(self) -> float | None:
        return None if self._next is None else self._next[0]


def generate(path: str, segments: int, connections: int, concurrency: int, seed: int) -> int:
    rng = random.Random(seed)
    sizes = budgets(segments, connections, rng)
    # A connection lasts about (segments x mean gap); start them so `concurrency` overlap.
    mean_life = (segments / connections) * 0.0078  # measured: gives about `concurrency` open
    gap = mean_life / concurrency
    t0 = 1_700_000_000.0
    heap: list[tuple[float, int, _prepend]] = []
    for i, budget in enumerate(sizes):
        crng = random.Random(seed * 1_000_003 + i)
        gen = connection(Conn(i, crng), budget, t0 + i * gap, crng)
        first = next(gen)
        heap.append((first[0], i, _prepend(first, gen)))
    heapq.heapify(heap)
    written = 0
    out = bytearray(_FILE_HDR.pack(0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    with open(path, "wb") as f:
        while heap:
            _, i, gen = heap[0]
            item = next(gen, None)
            if item is None:
                heapq.heappop(heap)
                continue
            ts, data = item
            sec = int(ts)
            usec = round((ts - sec) * 1e6)
            if usec >= 1_000_000:
                sec, usec = sec + 1, usec - 1_000_000
            out += _REC.pack(sec, usec, len(data), len(data))
            out += data
            written += 1
            nxt = gen.peek()
            if nxt is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (nxt, i, gen))
            if len(out) >= 1 << 22:
                f.write(out)
                out.clear()
        f.write(out)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="where to write the pcap")
    ap.add_argument("--segments", type=int, default=1_000_000, help="TCP segments in all (exact)")
    ap.add_argument("--connections", type=int, default=10_000, help="number of connections")
    ap.add_argument("--concurrency", type=int, default=1500, help="connections open at once (about)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (same seed, same file)")
    args = ap.parse_args(argv)
    if args.connections < 1 or args.segments < 7 * args.connections:
        print("need at least 7 segments per connection", file=sys.stderr)
        return 2
    n = generate(args.path, args.segments, args.connections, args.concurrency, args.seed)
    print(f"wrote {n} segments in {args.connections} connections to {args.path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
