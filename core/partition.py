"""A capture's conversations split in two halves, so that two processes can track them at
once (``tcp-lab replay FILE --conversations`` on a big file: tui/conv_parallel.py).

The split must never cut a conversation in two: every segment of a TCP connection, in
either direction, and every later connection reusing the same 4-tuple (RFC 9293 section
3.4.2; Wireshark's "TCP Port numbers reused") must land in the same half, because the
tracker (core/tracker.py) infers each conversation's states from its own segments only.
So the half is a function of the 4-tuple that does not change when the two endpoints
swap: the parity of the XOR of the two ports' low bytes (`partition_of`). It balances the
halves on real traffic (client ports vary in their low byte), including Linux's habit of
giving connect() even ports: the parity counts all eight bits, not only the lowest.

`PartitionScanner` is a `TcpScanner` (core/tcpscan.py) for the conversation table's lean
tuples that hands out only the segments of its half, but counts and checks everything
(`segments`, `frames`, `skipped`, `problems` are those of the whole capture), and
remembers, for each segment it hands out, a number giving its place in the capture
(`order`): the two halves' conversations can then be numbered exactly as one tracker
numbers them, in order of their first segment.
"""

from __future__ import annotations

from array import array
from itertools import compress, count
from operator import itemgetter
from typing import Any

from .decode import decode
from .pcapfile import SKIP_OVER_SNAPLEN
from .tcpscan import _ETH_IPV4_TCP_LEAN, TcpScanner

__all__ = ["PARITY", "PARTS", "PartitionScanner", "partition_of"]

#: How many halves.
PARTS = 2
#: PARITY[b]: the parity of the byte b (1 if it has an odd number of bits set).
PARITY = bytes(bin(i).count("1") & 1 for i in range(256))
_KEY = itemgetter(2)


def partition_of(key: bytes) -> int:
    """The half (0 or 1) of a segment's conversation, from its 4-tuple key (core/tcpscan.py
    `split_key`: addresses, then the ports big-endian; IPv4 or IPv6): the parity of the
    XOR of the two ports' low bytes, the same for both directions."""
    return PARITY[key[-3] ^ key[-1]]


class PartitionScanner(TcpScanner):
    """A lean keyed `TcpScanner` handing out only the segments whose conversation is in
    half `partition` (see `partition_of`); its counters count the whole capture.

    `order[i]` is a number that grows with the place in the capture of the i-th segment
    handed out: its frame number in a pcap file, its segment number (from 0) in a pcapng
    one. It is the same for a segment whichever half a scanner of the same capture
    keeps, so the halves' segments can be put back in capture order."""

    def __init__(self, partition: int) -> None:
        if partition not in range(PARTS):
            raise ValueError(f"partition {partition}: there are {PARTS} (0 to {PARTS - 1})")
        super().__init__(keyed=True, lean=True)
        self.partition = partition
        #: _mine[b]: 1 if a key whose port low bytes XOR to b is in this half.
        self._mine = bytes(1 if PARITY[b] == partition else 0 for b in range(256))
        self.order = array("Q")

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Any]:
        before = self.segments
        out = super().feed(chunk)
        if self.reader.format != "pcap" and out:
            # pcapng: the general loop handed out every segment; keep this half's.
            mine = self._mine
            keep = bytes(mine[key[-3] ^ key[-1]] for key in map(_KEY, out))
            self.order.extend(compress(count(before), keep))
            out = list(compress(out, keep))
        return out

    def _pcap_loop_lean(self, buf: bytes, pos: int, end: int, out: list[Any], base: int) -> int:
        """TcpScanner._pcap_loop_lean, keeping only this half's segments (their frame
        numbers go to `order`) and counting the others in `segments` too."""
        reader = self.reader
        record, ts_div, snaplen, hard_max, linktype = reader.pcap_params()
        rec_unpack = record.unpack_from
        fast_unpack = _ETH_IPV4_TCP_LEAN.unpack_from
        append = out.append
        keyed = self._keyed
        mine = self._mine
        order = self.order.append
        view = memoryview(buf)
        fast_min = 54 if linktype == 1 else 1 << 62
        limit = min(snaplen, hard_max) if snaplen else hard_max
        frame = reader.frames
        ts = reader.last_ts
        first = len(out)
        others = 0
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
                    if mine[key[9] ^ key[11]]:
                        append((ts, wirelen, key, seq, ack, off_flags & 0x1FF, total - 20 - hlen))
                        order(frame)
                    else:
                        others += 1
                    continue
            seg = decode(linktype, view[p:nxt], wirelen)
            if seg.__class__ is str:
                self.skipped[seg] += 1
            else:
                item = keyed(frame, ts, wirelen, seg)
                key = item[2]
                if mine[key[-3] ^ key[-1]]:
                    append(item)
                    order(frame)
                else:
                    others += 1
        reader.frames = frame
        reader.last_ts = ts
        self.segments += len(out) - first + others
        return pos
