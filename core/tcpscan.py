"""The fast path from capture bytes to TCP segments: read records and decode them in one loop.

This is what replay uses for big files. It gives exactly what `CaptureReader`
(core/pcapfile.py) followed by `decode` (core/decode.py) gives, about three times faster
(1M Ethernet/IPv4/TCP segments: 0.7 s against 2.3 s on a 2-core machine, see
tests/bench/bench_decode.py), because the common frame (Ethernet, IPv4 without options, TCP) is decoded in place with
one precompiled ``struct.Struct.unpack_from`` straight out of the chunk: no Record, no copy
of the frame, no object at all for a packet that is not TCP, addresses left as packed
bytes. Every other frame (VLAN tags, IPv6, IP options, Linux cooked, loopback ...) goes
through `decode`, so the results agree by construction; tests check that they do.

Usage (the caller does the I/O; `core/` never opens files)::

    from tcp_lab.core.tcpscan import TcpScanner, iter_tcp, iter_tcp_flat
    from tcp_lab.core.decode import addr_text

    scan = TcpScanner()
    with open(path, "rb") as f:
        for ts, seg in iter_tcp(iter(lambda: f.read(1 << 20), b""), scan):
            ...  # seg is a Decoded: seg.src (packed), seg.sport, seg.seq, seg.flags ...
    scan.problems   # [Problem(offset, message)]: fatal damage or a truncated end
    scan.skipped    # Counter: reason -> packets (and records/blocks) that gave no segment
    scan.segments   # TCP segments handed out
    scan.frames     # packet records read (Wireshark's frame count)

For a live stream (``tcpdump -U -w - | tcp-lab replay -``) push chunks as they arrive:
``batch = scan.feed(chunk)`` returns the segments completed by that chunk (a list, so a
UI thread can hand a whole batch over at once); ``scan.finish()`` at end of input.

The flat form is faster still (about 20% less time per segment: no Decoded and no pair
per segment) and carries two more things a replay needs: ``TcpScanner(flat=True)`` or
``iter_tcp_flat(chunks)`` hand out one plain 15-tuple per segment, laid out as FLAT_FIELDS::

    (frame_no, ts, wirelen, ip_version, src, dst, sport, dport, seq, ack, flags, win,
     length, options, urg)

`frame_no` is Wireshark's frame number (1-based, counting every packet record, TCP or
not, so it matches ``tshark``'s frame.number) and `wirelen` the frame's length on the wire
(frame.len); the rest are the Decoded fields in order, so ``Decoded(*item[3:])`` rebuilds
one. Unpack them straight in the loop header::

    for (no, ts, wirelen, ver, src, dst, sport, dport, seq, ack, flags, win, length,
         options, urg) in iter_tcp_flat(chunks, scan):
        ...

The keyed form is what the replay's tracker (core/tracker.py) reads, faster again:
``TcpScanner(keyed=True)`` hands out one 11-tuple per segment, laid out as KEYED_FIELDS::

    (frame_no, ts, wirelen, key, seq, ack, flags, win, length, options, urg)

where `key` is the segment's 4-tuple as one bytes object: source address, destination
address, source port, destination port (ports big-endian, 2 bytes each), 12 bytes for
IPv4 and 36 for IPv6, exactly the bytes an Ethernet/IPv4 frame holds from offset 26 to
38, so the common frame gives it with one slice (`split_key` gives the parts back). With
``lean=True`` too, each segment is the shorter LEAN_FIELDS tuple, what the conversation
table needs (no frame number, window, options or urgent pointer)::

    (ts, wirelen, key, seq, ack, flags, length)

Chunks of 256 KiB to 4 MiB are best; any size works, down to one byte. A record split
between two chunks is put together from the end of one and the start of the next,
without copying the chunks themselves.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from .decode import Decoded, decode
from .pcapfile import (
    BLOCK_EPB,
    MAX_BLOCK,
    SKIP_OVER_SNAPLEN,
    CaptureReader,
    Problem,
)

__all__ = ["FLAT_FIELDS", "KEYED_FIELDS", "LEAN_FIELDS", "TcpScanner", "flat_to_keyed", "flat_to_lean", "iter_tcp", "iter_tcp_flat", "split_key"]

#: The layout of a flat segment tuple (TcpScanner(flat=True), iter_tcp_flat).
FLAT_FIELDS = ("frame_no", "ts", "wirelen") + Decoded._fields
#: The layout of a keyed segment tuple (TcpScanner(keyed=True)).
KEYED_FIELDS = ("frame_no", "ts", "wirelen", "key", "seq", "ack", "flags", "win", "length", "options", "urg")
#: The layout of a lean keyed tuple (TcpScanner(keyed=True, lean=True)).
LEAN_FIELDS = ("ts", "wirelen", "key", "seq", "ack", "flags", "length")
_PORTS = struct.Struct("!HH")


def split_key(key: bytes) -> tuple[int, bytes, bytes, int, int]:
    """(ip_version, src, dst, sport, dport) of a keyed tuple's key."""
    if len(key) == 12:
        sport, dport = _PORTS.unpack_from(key, 8)
        return 4, key[:4], key[4:8], sport, dport
    sport, dport = _PORTS.unpack_from(key, 32)
    return 6, key[:16], key[16:32], sport, dport


def flat_to_lean(items: Iterable[tuple]) -> list[tuple]:
    """Flat tuples (FLAT_FIELDS) as lean keyed tuples (LEAN_FIELDS)."""
    pack = _PORTS.pack
    return [
        (ts, wirelen, src + dst + pack(sport, dport), seq, ack, flags, length)
        for (_frame, ts, wirelen, _ipv, src, dst, sport, dport, seq, ack, flags, _win, length, _opts, _urg) in items
    ]


def flat_to_keyed(items: Iterable[tuple]) -> list[tuple]:
    """Flat tuples (FLAT_FIELDS) as keyed tuples (KEYED_FIELDS)."""
    pack = _PORTS.pack
    return [
        (frame, ts, wirelen, src + dst + pack(sport, dport), seq, ack, flags, win, length, options, urg)
        for (frame, ts, wirelen, _ipv, src, dst, sport, dport, seq, ack, flags, win, length, options, urg) in items
    ]

#: Ethernet + IPv4 (IHL 5) + TCP fixed header, 54 bytes, the fields the fast path needs:
#: ethertype; version/IHL; total length; flags/fragment offset; protocol; source;
#: destination; ports; seq; ack; data offset/flags; window; urgent pointer.
_ETH_IPV4_TCP = struct.Struct("!12xHBxH2xHxB2x4s4sHHIIHH2xH")
#: The same, with the 4-tuple as one 12-byte key (addresses and ports are contiguous).
_ETH_IPV4_TCP_KEYED = struct.Struct("!12xHBxH2xHxB2x12sIIHH2xH")
#: The same without the window and the urgent pointer (lean tuples).
_ETH_IPV4_TCP_LEAN = struct.Struct("!12xHBxH2xHxB2x12sIIH")
#: An Enhanced Packet Block's header and fixed fields: type, length, interface id,
#: timestamp high, timestamp low, captured length, original length.
_EPB = {"<": struct.Struct("<IIIIIII"), ">": struct.Struct(">IIIIIII")}
_U32 = {"<": struct.Struct("<I"), ">": struct.Struct(">I")}

_new = tuple.__new__


class TcpScanner:
    """Bytes of a pcap or pcapng capture in, TCP segments out, with counts of the rest.

    `feed(chunk)` returns the list of segments the chunk completed, each ``(ts, Decoded)``
    (or a FLAT_FIELDS tuple with ``flat=True``). `finish()` reports a
    truncated end. Counters: `segments` (TCP segments handed out), `frames` (packet
    records read), `skipped` (reason -> count, for records the reader skipped and frames
    with no TCP segment: "not TCP: UDP", "IPv4 fragment" ...), `problems` (fatal damage,
    reading stops), `format` ("pcap" / "pcapng").
    """

    def __init__(self, *, flat: bool = False, keyed: bool = False, lean: bool = False) -> None:
        self.reader = CaptureReader()
        #: One counter for every reason a record gave no segment (reader and decoder).
        self.skipped: Counter[str] = self.reader.skipped
        self.segments = 0
        #: Hand out flat tuples (FLAT_FIELDS) instead of (ts, Decoded).
        self.flat = flat and not keyed
        #: Hand out keyed tuples (KEYED_FIELDS); with `lean`, LEAN_FIELDS tuples.
        self.keyed = keyed
        self.lean = keyed and lean
        self._tail = bytearray()  # the start of a record split across chunks
        self._fed = 0  # bytes fed so far

    @property
    def problems(self) -> list[Problem]:
        return self.reader.problems

    @property
    def format(self) -> str | None:
        return self.reader.format

    @property
    def frames(self) -> int:
        return self.reader.frames

    @property
    def dead(self) -> bool:
        """True once a fatal problem stopped the reading."""
        return self.reader.dead

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Any]:
        """Take the next bytes of the capture; return the segments they completed."""
        out: list[Any] = []
        reader = self.reader
        if reader.dead or not chunk:
            return out
        if chunk.__class__ is not bytes:
            chunk = bytes(chunk)
        n = len(chunk)
        start = self._fed  # stream offset of chunk[0]
        self._fed = start + n
        pos = 0
        tail = self._tail  # the bytes just before chunk[pos]
        # Complete the unit split across the previous chunk and this one, byte-exactly.
        while tail:
            tail_off = start + pos - len(tail)
            size = reader.unit_size(tail, 0, len(tail), tail_off)
            if size < 0:
                tail.clear()
                return out
            want = (size if size else len(tail) + 1) - len(tail)
            if want > 0:
                piece = chunk[pos : pos + want]
                tail += piece
                pos += len(piece)
                if len(piece) < want:
                    return out
            if size and len(tail) == size:
                unit = bytes(tail)
                tail.clear()
                self._scan(unit, 0, size, out, tail_off)
        if reader.dead:
            return out
        used = self._scan(chunk, pos, n, out, start)
        if not reader.dead and used < n:
            self._tail = bytearray(chunk[used:])
        return out

    def finish(self) -> None:
        """End of input: a record cut short (or no capture at all) becomes a Problem."""
        tail = len(self._tail)
        self.reader.end_of_input(self._fed - tail, tail)
        self._tail = bytearray()

    # -- the loops ---------------------------------------------------------------------

    def _scan(self, buf: bytes, pos: int, end: int, out: list[Any], base: int) -> int:
        """Consume every complete unit of buf[pos:end]; return where the first incomplete one starts."""
        reader = self.reader
        while not reader.dead:
            if reader.in_pcap_records:
                return self._pcap_loop(buf, pos, end, out, base)
            if reader.in_pcapng_blocks:
                return self._pcapng_loop(buf, pos, end, out, base)
            size = reader.unit_size(buf, pos, end, base + pos)
            if size <= 0 or pos + size > end:
                break
            reader.unit(buf, pos, size, base + pos)
            pos += size
        return pos

    def _emit(self, rec_ts: float, linktype: int, data: Any, wirelen: int, out: list[Any]) -> None:
        """Decode one frame the slow way and append its segment or count its reason
        (the caller counts `segments` from the growth of `out`)."""
        seg = decode(linktype, data, wirelen)
        if seg.__class__ is str:
            self.skipped[seg] += 1  # type: ignore[index]
        elif self.keyed:
            out.append(self._keyed(self.reader.frames, rec_ts, wirelen, seg))
        elif self.flat:
            out.append((self.reader.frames, rec_ts, wirelen, *seg))
        else:
            out.append((rec_ts, seg))

    def _keyed(self, frame: int, ts: float, wirelen: int, seg: Decoded) -> tuple:
        """The keyed (or lean) tuple of a segment decoded the general way."""
        key = seg.src + seg.dst + _PORTS.pack(seg.sport, seg.dport)
        if self.lean:
            return (ts, wirelen, key, seg.seq, seg.ack, seg.flags, seg.length)
        return (frame, ts, wirelen, key, seg.seq, seg.ack, seg.flags, seg.win, seg.length, seg.options, seg.urg)

    def _pcap_loop(self, buf: bytes, pos: int, end: int, out: list[Any], base: int) -> int:
        """pcap records: the hot loop (one unpack for the record header, one for the frame)."""
        if self.keyed:
            if self.lean:
                return self._pcap_loop_lean(buf, pos, end, out, base)
            return self._pcap_loop_keyed(buf, pos, end, out, base)
        reader = self.reader
        record, ts_div, snaplen, hard_max, linktype = reader.pcap_params()
        rec_unpack = record.unpack_from
        fast_unpack = _ETH_IPV4_TCP.unpack_from
        append = out.append
        flat = self.flat
        view = memoryview(buf)
        # Frames at least this long may take the fast path (Ethernet + IPv4 + TCP = 54 bytes).
        fast_min = 54 if linktype == 1 else 1 << 62
        # A record longer than `limit` is either damage (> hard_max) or over the snaplen.
        limit = min(snaplen, hard_max) if snaplen else hard_max
        new = _new
        D = Decoded
        empty = b""
        frame = reader.frames
        ts = reader.last_ts
        first = len(out)
        last = end - 16
        while pos <= last:
            sec, frac, caplen, wirelen = rec_unpack(buf, pos)
            p = pos + 16
            if caplen > limit:
                if caplen > hard_max:
                    reader.unit_size(buf, pos, end, base + pos)  # records the Problem
                    break
                if p + caplen > end:
                    break
                pos = p + caplen
                frame += 1
                self.skipped[SKIP_OVER_SNAPLEN] += 1
                continue
            nxt = p + caplen
            if nxt > end:
                break
            pos = nxt
            frame += 1
            ts = sec + frac / ts_div
            if caplen >= fast_min:
                (ethertype, vihl, total, frag, proto, src, dst, sport, dport, seq, ack, off_flags, win,
                 urg) = fast_unpack(buf, p)
                hlen = (off_flags >> 12) << 2
                if (
                    ethertype == 0x0800 and vihl == 0x45 and proto == 6 and not frag & 0x3FFF
                    and hlen >= 20 and 20 + hlen <= total <= wirelen - 14 and 34 + hlen <= caplen
                ):
                    if flat:
                        append((frame, ts, wirelen, 4, src, dst, sport, dport, seq, ack, off_flags & 0x1FF, win,
                                total - 20 - hlen, buf[p + 54 : p + 34 + hlen] if hlen > 20 else empty, urg))
                    else:
                        append((ts, new(D, (4, src, dst, sport, dport, seq, ack, off_flags & 0x1FF, win,
                                            total - 20 - hlen, buf[p + 54 : p + 34 + hlen] if hlen > 20 else empty,
                                            urg))))
                    continue
            seg = decode(linktype, view[p:nxt], wirelen)
            if seg.__class__ is str:
                self.skipped[seg] += 1
            elif flat:
                append((frame, ts, wirelen, *seg))
            else:
                append((ts, seg))
        reader.frames = frame
        reader.last_ts = ts
        self.segments += len(out) - first
        return pos

    def _pcap_loop_keyed(self, buf: bytes, pos: int, end: int, out: list[Any], base: int) -> int:
        """`_pcap_loop` for keyed tuples (the replay's path)."""
        reader = self.reader
        record, ts_div, snaplen, hard_max, linktype = reader.pcap_params()
        rec_unpack = record.unpack_from
        fast_unpack = _ETH_IPV4_TCP_KEYED.unpack_from
        append = out.append
        keyed = self._keyed
        view = memoryview(buf)
        fast_min = 54 if linktype == 1 else 1 << 62
        limit = min(snaplen, hard_max) if snaplen else hard_max
        empty = b""
        frame = reader.frames
        ts = reader.last_ts
        first = len(out)
        last = end - 16
        while pos <= last:
            sec, frac, caplen, wirelen = rec_unpack(buf, pos)
            p = pos + 16
            if caplen > limit:
                if caplen > hard_max:
                    reader.unit_size(buf, pos, end, base + pos)  # records the Problem
                    break
                if p + caplen > end:
                    break
                pos = p + caplen
                frame += 1
                self.skipped[SKIP_OVER_SNAPLEN] += 1
                continue
            nxt = p + caplen
            if nxt > end:
                break
            pos = nxt
            frame += 1
            ts = sec + frac / ts_div
            if caplen >= fast_min:
                ethertype, vihl, total, frag, proto, key, seq, ack, off_flags, win, urg = fast_unpack(buf, p)
                hlen = (off_flags >> 12) << 2
                if (
                    ethertype == 0x0800 and vihl == 0x45 and proto == 6 and not frag & 0x3FFF
                    and hlen >= 20 and 20 + hlen <= total <= wirelen - 14 and 34 + hlen <= caplen
                ):
                    append((frame, ts, wirelen, key, seq, ack, off_flags & 0x1FF, win, total - 20 - hlen,
                            buf[p + 54 : p + 34 + hlen] if hlen > 20 else empty, urg))
                    continue
            seg = decode(linktype, view[p:nxt], wirelen)
            if seg.__class__ is str:
                self.skipped[seg] += 1
            else:
                append(keyed(frame, ts, wirelen, seg))
        reader.frames = frame
        reader.last_ts = ts
        self.segments += len(out) - first
        return pos

    def _pcap_loop_lean(self, buf: bytes, pos: int, end: int, out: list[Any], base: int) -> int:
        """`_pcap_loop` for lean keyed tuples (the conversation table's path)."""
        reader = self.reader
        record, ts_div, snaplen, hard_max, linktype = reader.pcap_params()
        rec_unpack = record.unpack_from
        fast_unpack = _ETH_IPV4_TCP_LEAN.unpack_from
        append = out.append
        keyed = self._keyed
        view = memoryview(buf)
        fast_min = 54 if linktype == 1 else 1 << 62
        limit = min(snaplen, hard_max) if snaplen else hard_max
        frame = reader.frames
        ts = reader.last_ts
        first = len(out)
        last = end - 16
        while pos <= last:
            sec, frac, caplen, wirelen = rec_unpack(buf, pos)
            p = pos + 16
            if caplen > limit:
                if caplen > hard_max:
                    reader.unit_size(buf, pos, end, base + pos)  # records the Problem
                    break
                if p + caplen > end:
                    break
                pos = p + caplen
                frame += 1
                self.skipped[SKIP_OVER_SNAPLEN] += 1
                continue
            nxt = p + caplen
            if nxt > end:
                break
            pos = nxt
            frame += 1
            ts = sec + frac / ts_div
            if caplen >= fast_min:
                ethertype, vihl, total, frag, proto, key, seq, ack, off_flags = fast_unpack(buf, p)
                hlen = (off_flags >> 12) << 2
                if (
                    ethertype == 0x0800 and vihl == 0x45 and proto == 6 and not frag & 0x3FFF
                    and hlen >= 20 and 20 + hlen <= total <= wirelen - 14 and 34 + hlen <= caplen
                ):
                    append((ts, wirelen, key, seq, ack, off_flags & 0x1FF, total - 20 - hlen))
                    continue
            seg = decode(linktype, view[p:nxt], wirelen)
            if seg.__class__ is str:
                self.skipped[seg] += 1
            else:
                append(keyed(frame, ts, wirelen, seg))
        reader.frames = frame
        reader.last_ts = ts
        self.segments += len(out) - first
        return pos

    def _pcapng_loop(self, buf: bytes, pos: int, end: int, out: list[Any], base: int) -> int:
        """pcapng blocks: Enhanced Packet Blocks of a described interface inline, the rest
        (section and interface headers, other packet blocks, damage) through the reader."""
        reader = self.reader
        view = memoryview(buf)
        fast_unpack = _ETH_IPV4_TCP.unpack_from
        append = out.append
        flat = self.flat
        keyed = self.keyed
        lean = self.lean
        ports = _PORTS.pack
        new = _new
        D = Decoded
        empty = b""
        first = len(out)
        while not reader.dead:
            order = reader.order
            epb_unpack = _EPB[order].unpack_from
            u32_unpack = _U32[order].unpack_from
            interfaces = reader.interfaces
            n_if = len(interfaces)
            frame = reader.frames
            ts = reader.last_ts
            last = end - 28
            while pos <= last:
                btype, blen, iface, ts_hi, ts_lo, caplen, wirelen = epb_unpack(buf, pos)
                if btype != BLOCK_EPB or blen < 32 or blen & 3 or blen > MAX_BLOCK:
                    break
                nxt = pos + blen
                if nxt > end:
                    break
                if iface >= n_if or caplen > blen - 32 or u32_unpack(buf, nxt - 4)[0] != blen:
                    break
                linktype, snaplen, ts_div, ts_offset = interfaces[iface]
                if snaplen and caplen > snaplen:
                    break
                p = pos + 28
                pos = nxt
                frame += 1
                ts = ((ts_hi << 32) | ts_lo) / ts_div + ts_offset
                if linktype == 1 and caplen >= 54:
                    (ethertype, vihl, total, frag, proto, src, dst, sport, dport, seq, ack, off_flags, win,
                     urg) = fast_unpack(buf, p)
                    hlen = (off_flags >> 12) << 2
                    if (
                        ethertype == 0x0800 and vihl == 0x45 and proto == 6 and not frag & 0x3FFF
                        and hlen >= 20 and 20 + hlen <= total <= wirelen - 14 and 34 + hlen <= caplen
                    ):
                        if lean:
                            append((ts, wirelen, src + dst + ports(sport, dport), seq, ack, off_flags & 0x1FF,
                                    total - 20 - hlen))
                        elif keyed:
                            append((frame, ts, wirelen, src + dst + ports(sport, dport), seq, ack, off_flags & 0x1FF,
                                    win, total - 20 - hlen, buf[p + 54 : p + 34 + hlen] if hlen > 20 else empty, urg))
                        elif flat:
                            append((frame, ts, wirelen, 4, src, dst, sport, dport, seq, ack, off_flags & 0x1FF,
                                    win, total - 20 - hlen, buf[p + 54 : p + 34 + hlen] if hlen > 20 else empty,
                                    urg))
                        else:
                            append((ts, new(D, (4, src, dst, sport, dport, seq, ack, off_flags & 0x1FF, win,
                                                total - 20 - hlen, buf[p + 54 : p + 34 + hlen] if hlen > 20 else empty,
                                                urg))))
                        continue
                seg = decode(linktype, view[p : p + caplen], wirelen)
                if seg.__class__ is str:
                    self.skipped[seg] += 1
                elif keyed:
                    append(self._keyed(frame, ts, wirelen, seg))
                elif flat:
                    append((frame, ts, wirelen, *seg))
                else:
                    append((ts, seg))
            reader.frames = frame
            reader.last_ts = ts
            # Anything else (a section or interface header, another block type, damage, or
            # an incomplete block): the general reader handles it.
            size = reader.unit_size(buf, pos, end, base + pos)
            if size <= 0 or pos + size > end:
                break
            rec = reader.unit(buf, pos, size, base + pos)
            pos += size
            if rec is not None:
                self._emit(rec.ts, rec.linktype, rec.data, rec.wirelen, out)
        self.segments += len(out) - first
        return pos


def iter_tcp(chunks: Iterable[bytes], scanner: TcpScanner | None = None) -> Iterator[tuple[float, Decoded]]:
    """Every TCP segment in a capture given as chunks of bytes, as ``(ts, Decoded)``.

    Pass your own `scanner` to read its counters afterwards (`skipped`, `problems`,
    `segments`, `frames`, `format`); a scanner made with ``flat=True`` makes this yield
    flat tuples instead. Reading stops at a fatal problem; when the chunks run out,
    `finish()` is called, so a truncated tail shows up in `problems`.
    """
    scan = scanner if scanner is not None else TcpScanner()
    for chunk in chunks:
        batch = scan.feed(chunk)
        if batch:
            yield from batch
        if scan.dead:
            break
    scan.finish()


def iter_tcp_flat(chunks: Iterable[bytes], scanner: TcpScanner | None = None) -> Iterator[tuple[Any, ...]]:
    """Like iter_tcp, but each segment is one flat FLAT_FIELDS tuple (the fast form).

    A `scanner` passed in must have been made with ``flat=True``.
    """
    scan = scanner if scanner is not None else TcpScanner(flat=True)
    if not scan.flat:
        raise ValueError("iter_tcp_flat needs a TcpScanner(flat=True)")
    return iter_tcp(chunks, scan)  # type: ignore[return-value]
