"""Captured TCP segments kept compactly in columns: one row per segment, never one Python
object per segment.

A million segments of a replayed capture must fit in a few tens of megabytes, so each
field is an `array` column (4 bytes for a 32-bit number, 2 for the window or the flags,
1 for a pair of state codes) and the TCP options of all segments share one `bytearray`
with an end offset per row. About 45 bytes a segment plus its option bytes, against some
500 bytes for a tuple or a dataclass of Python ints.

What a row holds (what the tracker, core/tracker.py, puts there):

- where it is in the capture: the capture's frame number (Wireshark's frame.number,
  counting packets that are not TCP too) and the capture time;
- the segment as it was on the wire: conversation id, direction, raw SEQ and ACK, the
  9 control bits, the raw 16-bit window, the payload length, the options, the urgent
  pointer (kept aside: only segments with URG have one worth showing);
- what the tracker worked out: the window scale shift that applied to it, Wireshark's
  analysis flags (and the duplicate-ACK number and frame, kept aside), whether the segment
  reached its receiver, and the inferred states of the client and the server after it
  with the rules that explain them.

Relative sequence numbers are not stored: each conversation keeps its two base sequence
numbers and the (rare) rows whose bases differ are kept aside (`rel_override`).
"""

from __future__ import annotations

from array import array

#: `meta` bits.
META_FROM_SERVER = 0x01  # the server sent this segment (else the client)
META_SHIFT_MASK = 0x1E  # (shift + 1) << 1: 0 = window not scaled, 1..15 = shift 0..14
META_ACE = 0x20  # Accurate ECN was negotiated: the Info column shows ACE=n
META_LOST = 0x40  # the segment did not reach its receiver (known in hindsight)
META_GUESS = 0x80  # reserved


class SegmentStore:
    """The columns. Append with `append`; read a column directly (`store.seq[i]`)."""

    def __init__(self) -> None:
        self.frame = array("I")  # capture frame number (1-based)
        self.ts = array("d")  # capture time, seconds since the epoch
        self.conv = array("I")  # conversation id (Wireshark's tcp.stream)
        self.seq = array("I")  # raw SEG.SEQ
        self.ack = array("I")  # raw SEG.ACK
        self.flags = array("H")  # control bits (core/segment.py)
        self.win = array("H")  # raw 16-bit window field
        self.length = array("I")  # payload length (Wireshark's tcp.len)
        self.opt_end = array("I")  # end of this row's options in `opt_pool`
        self.opt_pool = bytearray()
        self.meta = array("B")  # META_* bits
        self.analysis = array("H")  # core/analysis.py flag bits
        self.states = array("B")  # client state code << 4 | server state code (after it)
        self.explain = array("H")  # sender rule index << 8 | receiver rule index
        # Kept aside, keyed by row: rare values.
        self.urg: dict[int, int] = {}
        self.dupack: dict[int, tuple[int, int]] = {}  # row -> (dup ACK number, frame)
        self.rel_override: dict[int, tuple[int, int]] = {}  # row -> (seq base, ack base)

    def __len__(self) -> int:
        """Rows kept in full (a summary tracker's store keeps a few columns only: 0)."""
        return len(self.frame)

    def columns(self) -> tuple[array, ...]:
        """Every per-row column but `opt_end` (whose values are offsets in `opt_pool`)."""
        return (
            self.frame,
            self.ts,
            self.conv,
            self.seq,
            self.ack,
            self.flags,
            self.win,
            self.length,
            self.meta,
            self.analysis,
            self.states,
            self.explain,
        )

    def options(self, row: int) -> bytes:
        """The raw option bytes of a row."""
        start = self.opt_end[row - 1] if row else 0
        return bytes(self.opt_pool[start : self.opt_end[row]])

    def shift(self, row: int) -> int | None:
        """The window scale shift applied to a row's window (None: not scaled)."""
        code = (self.meta[row] & META_SHIFT_MASK) >> 1
        return code - 1 if code else None

    def win_scaled(self, row: int) -> int:
        code = (self.meta[row] & META_SHIFT_MASK) >> 1
        return self.win[row] << (code - 1) if code else self.win[row]

    def from_server(self, row: int) -> bool:
        return bool(self.meta[row] & META_FROM_SERVER)

    def nbytes(self) -> int:
        """Bytes held by the columns and the option pool (not the dicts kept aside)."""
        total = len(self.opt_pool) + self.opt_end.itemsize * len(self.opt_end)
        for col in self.columns():
            total += col.itemsize * len(col)
        return total
