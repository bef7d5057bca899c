"""Capture files as a stream of records: classic pcap and pcapng, sans-I/O.

`CaptureReader` takes the bytes of a capture in chunks of any size (a file read in large
blocks, or a live ``tcpdump -U -w -`` stream arriving on stdin a few bytes at a time) and
hands out every complete packet record as soon as its last byte has arrived. It never
opens a file and never raises on bad bytes: damage becomes a `Problem` (with the byte
offset) or a counted skip with a reason.

Formats (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html and
draft-ietf-opsawg-pcapng):

- pcap: both byte orders, microsecond (0xA1B2C3D4) and nanosecond (0xA1B23C4D) magic,
  version 2.x; the snapshot length and the link type come from the file header.
- pcapng: Section Header Blocks in either byte order (a file may hold several sections,
  each with its own interfaces), Interface Description Blocks (link type, snaplen,
  if_tsresol, if_tsoffset per interface), Enhanced Packet Blocks, Simple Packet Blocks
  (interface 0, no timestamp: they carry the previous packet's time) and the obsolete
  Packet Block. Name resolution, statistics, decryption-secret, journal and custom
  blocks are read past and counted in `other_blocks`; unknown block types are skipped and
  counted in `skipped`.

What is fatal (a `Problem`, and the reader stops): input that is not a capture, a damaged
file or section header, a record or block whose length cannot be true (a pcap record of
2 GB, a pcapng block whose two length fields disagree), and input that ends inside a
record (reported by `finish`). What is skipped (counted in `skipped`, reading goes on): a
record longer than the snapshot length, a packet for an interface that has no
description, a packet block whose captured length runs past the block, unknown blocks.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from typing import NamedTuple

# ---------------------------------------------------------------------------------------
# Public records


class Record(NamedTuple):
    """One captured packet: when it was seen, on which link, and the bytes kept of it.

    `ts` is seconds since the epoch. `data` holds the `caplen` captured bytes (a bytes
    object, or a memoryview in the fast path); `wirelen` is how long the packet was on the
    wire (larger than `caplen` when the capture cut it at the snapshot length).
    `interface` is the pcapng interface number within its section (0 for pcap).
    """

    ts: float
    linktype: int
    data: bytes | memoryview
    caplen: int
    wirelen: int
    interface: int


class Problem(NamedTuple):
    """Damage that stops the reading (or ends it early): where, and one sentence why."""

    offset: int
    message: str


class Interface(NamedTuple):
    """What an Interface Description Block (or a pcap file header) says about its packets.

    `snaplen` 0 means no limit. A timestamp of `ticks` units is ``ticks / ts_div`` seconds
    plus `ts_offset` (if_tsresol and if_tsoffset in pcapng).
    """

    linktype: int
    snaplen: int
    ts_div: int
    ts_offset: int


# ---------------------------------------------------------------------------------------
# Constants

PCAP_MAGIC_USEC = 0xA1B2C3D4
PCAP_MAGIC_NSEC = 0xA1B23C4D
PCAP_MAGIC_MODIFIED = 0xA1B2CD34  # Alexey Kuznetsov's "modified pcap": not supported
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D

BLOCK_IDB = 0x00000001
BLOCK_PB = 0x00000002  # obsolete Packet Block
BLOCK_SPB = 0x00000003
BLOCK_NRB = 0x00000004
BLOCK_ISB = 0x00000005
BLOCK_EPB = 0x00000006
BLOCK_JOURNAL = 0x00000009
BLOCK_DSB = 0x0000000A
BLOCK_CUSTOM = 0x00000BAD
BLOCK_CUSTOM_NOCOPY = 0x40000BAD

#: Blocks that carry no packet; they are read past and counted in `other_blocks`.
OTHER_BLOCKS = {
    BLOCK_NRB: "name resolution",
    BLOCK_ISB: "interface statistics",
    BLOCK_JOURNAL: "systemd journal export",
    BLOCK_DSB: "decryption secrets",
    BLOCK_CUSTOM: "custom",
    BLOCK_CUSTOM_NOCOPY: "custom",
}

#: The largest record libpcap itself ever writes (MAXIMUM_SNAPLEN). A pcap record header
#: claiming more than this (or more than the file's snaplen, if that is larger, up to
#: MAX_BLOCK) means the file is damaged: we stop rather than wait for gigabytes.
MAX_SNAPLEN = 262144
#: The largest pcapng block we accept (Wireshark accepts up to about 128 MiB for D-Bus
#: captures; nothing TCP-related comes near 16 MiB).
MAX_BLOCK = 16 * 1024 * 1024

# Skip reasons (keys of `skipped`).
SKIP_OVER_SNAPLEN = "captured length larger than the snapshot length"
SKIP_NO_IDB = "packet for an interface with no Interface Description Block"
SKIP_CAPLEN_PAST_BLOCK = "packet block whose captured length runs past the block"
SKIP_UNKNOWN_BLOCK = "unknown pcapng block type"
SKIP_SHORT_BLOCK = "pcapng packet block too short for its fields"

_U32LE = struct.Struct("<I")
_U32BE = struct.Struct(">I")
_PCAP_HDR = {"<": struct.Struct("<IHHiIII"), ">": struct.Struct(">IHHiIII")}
PCAP_RECORD = {"<": struct.Struct("<IIII"), ">": struct.Struct(">IIII")}
_BLOCK_HDR = {"<": struct.Struct("<II"), ">": struct.Struct(">II")}
_SHB = {"<": struct.Struct("<IIIHHq"), ">": struct.Struct(">IIIHHq")}
_IDB = {"<": struct.Struct("<HHI"), ">": struct.Struct(">HHI")}
#: Enhanced Packet Block body: interface id, timestamp high, timestamp low, caplen, wirelen.
EPB_BODY = {"<": struct.Struct("<IIIII"), ">": struct.Struct(">IIIII")}
_PB_BODY = {"<": struct.Struct("<HHIIII"), ">": struct.Struct(">HHIIII")}
_OPT_HDR = {"<": struct.Struct("<HH"), ">": struct.Struct(">HH")}
_I64 = {"<": struct.Struct("<q"), ">": struct.Struct(">q")}

_OPT_TSRESOL = 9
_OPT_TSOFFSET = 14

# Reader phases.
_START = 0  # waiting for the first 4 bytes
_PCAP_HEADER = 1  # pcap: waiting for the 24-byte file header
_PCAP = 2  # pcap: records
_PCAPNG = 3  # pcapng: blocks
_DEAD = 4  # a fatal problem was found; further input is ignored


def pcapng_interface(linktype: int, snaplen: int, options: bytes | memoryview, order: str) -> Interface:
    """The Interface for an IDB with these fields and raw option bytes (never raises)."""
    ts_div = 1_000_000
    ts_offset = 0
    hdr = _OPT_HDR[order]
    i, n = 0, len(options)
    while i + 4 <= n:
        code, length = hdr.unpack_from(options, i)
        i += 4
        if code == 0 or i + length > n:
            break
        if code == _OPT_TSRESOL and length >= 1:
            value = options[i]
            # MSB clear: 10^-value seconds per tick; set: 2^-(value & 0x7F).
            ts_div = (2 ** (value & 0x7F)) if value & 0x80 else 10**value
        elif code == _OPT_TSOFFSET and length >= 8:
            ts_offset = _I64[order].unpack_from(options, i)[0]
        i += (length + 3) & ~3
    return Interface(linktype, snaplen, ts_div, ts_offset)


class CaptureReader:
    """A pcap or pcapng capture read as a stream: feed bytes, take records (sans-I/O).

    ``feed(chunk)`` any number of times with chunks of any size, take what is complete with
    ``records()`` after each feed (records come out in capture order as soon as their last
    byte is in), and call ``finish()`` at the end of input so a truncated tail is reported.

    After reading: `format` is "pcap" or "pcapng" (None until the first 4 bytes are in);
    `problems` lists fatal damage (reading stops at the first one) and a truncated end;
    `skipped` counts records left out, by reason; `other_blocks` counts pcapng blocks that
    carry no packet (name resolution, statistics ...); `frames` counts packet records seen
    (skipped ones included), which is Wireshark's frame number of the last one.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.skipped: Counter[str] = Counter()
        self.other_blocks: Counter[str] = Counter()
        self.format: str | None = None
        self.frames = 0
        self.interfaces: list[Interface] = []  # pcap: one; pcapng: those of the current section
        self.order = "<"  # byte order of the pcap file / current pcapng section
        self.last_ts = 0.0  # for Simple Packet Blocks, which have no timestamp
        self._phase = _START
        self._buf = bytearray()
        self._pos = 0  # next unread byte in _buf
        self._base = 0  # stream offset of _buf[0]
        self._record = PCAP_RECORD["<"]
        self._pcap_ts_div = 1_000_000
        self._pcap_snaplen = 0
        self._pcap_max = MAX_SNAPLEN
        self._linktype = 0

    # -- streaming interface -----------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append the next bytes of the capture (any length, including 0 or 1)."""
        if self._phase == _DEAD:
            return
        buf = self._buf
        pos = self._pos
        if pos and (pos >= 1 << 20 or pos * 2 >= len(buf)):
            del buf[:pos]  # cheap in CPython: moves the start pointer
            self._base += pos
            self._pos = 0
        buf += data

    def records(self) -> Iterator[Record]:
        """Every complete packet record fed so far, in order; each is handed out once."""
        while True:
            buf = self._buf
            pos = self._pos
            end = len(buf)
            size = self.unit_size(buf, pos, end, self._base + pos)
            if size <= 0 or pos + size > end:
                return
            self._pos = pos + size
            rec = self.unit(buf, pos, size, self._base + pos)
            if rec is not None:
                yield rec

    def finish(self) -> None:
        """End of input: an incomplete record or header left over becomes a Problem."""
        self.end_of_input(self._base + self._pos, len(self._buf) - self._pos)

    def end_of_input(self, offset: int, left: int) -> None:
        """The input ended at stream offset `offset` + `left`, with `left` bytes unread."""
        if self._phase == _DEAD:
            return
        if self._phase == _START and offset == 0 and left == 0:
            self.fatal(0, "the input is empty: no capture to read")
        elif self._phase in (_START, _PCAP_HEADER):
            self.fatal(offset, f"the input ends after {left} bytes, inside the capture file header")
        elif left:
            self.fatal(offset, f"the capture ends inside a record: only {left} bytes of it arrived")

    # -- the two halves every consumer shares (CaptureReader and core/tcpscan.py) --------

    def fatal(self, offset: int, message: str) -> None:
        """Record a fatal problem and stop reading."""
        self.problems.append(Problem(offset, message))
        self._phase = _DEAD

    @property
    def dead(self) -> bool:
        """True once a fatal problem stopped the reading."""
        return self._phase == _DEAD

    @property
    def in_pcap_records(self) -> bool:
        """True when the stream is past a pcap file header (records follow)."""
        return self._phase == _PCAP

    @property
    def in_pcapng_blocks(self) -> bool:
        return self._phase == _PCAPNG

    def pcap_params(self) -> tuple[struct.Struct, int, int, int, int]:
        """(record header struct, timestamp divisor, snaplen (0 = none), hard maximum
        caplen, link type) of the pcap file being read."""
        return self._record, self._pcap_ts_div, self._pcap_snaplen, self._pcap_max, self._linktype

    def unit_size(self, buf: bytes | bytearray, pos: int, end: int, offset: int) -> int:
        """The size of the next unit (file header, record or block) starting at `pos`.

        0: more bytes are needed to tell. -1: the unit is impossible (a Problem is recorded
        and the reader is dead). `offset` is the stream offset of `pos`, for messages.
        """
        have = end - pos
        phase = self._phase
        if phase == _PCAP:
            if have < 16:
                return 0
            caplen = self._record.unpack_from(buf, pos)[2]
            if caplen > self._pcap_max:
                self.fatal(
                    offset,
                    f"the record at byte {offset} claims {caplen} captured bytes, more than any "
                    f"capture holds ({self._pcap_max}): the file is damaged",
                )
                return -1
            return 16 + caplen
        if phase == _PCAPNG:
            if have < 12:
                return 0
            btype = _U32LE.unpack_from(buf, pos)[0]
            order = self.order
            if btype == PCAPNG_SHB:
                order = self._shb_order(buf, pos, offset)
                if order is None:
                    return -1
            blen = _BLOCK_HDR[order].unpack_from(buf, pos)[1]
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                self.fatal(
                    offset,
                    f"the pcapng block at byte {offset} has an impossible length ({blen} bytes): "
                    "the file is damaged",
                )
                return -1
            return blen
        if phase == _START:
            if have < 4:
                return 0
            return self._detect(buf, pos, end, offset)
        if phase == _PCAP_HEADER:
            return 24
        return -1

    def unit(self, buf: bytes | bytearray | memoryview, pos: int, size: int, offset: int) -> Record | None:
        """Handle one complete unit of `size` bytes at `pos`: a Record for a packet, else None."""
        phase = self._phase
        if phase == _PCAP:
            self.frames += 1
            sec, frac, caplen, wirelen = self._record.unpack_from(buf, pos)
            if self._pcap_snaplen and caplen > self._pcap_snaplen:
                self.skipped[SKIP_OVER_SNAPLEN] += 1
                return None
            ts = sec + frac / self._pcap_ts_div
            self.last_ts = ts
            return Record(ts, self._linktype, bytes(buf[pos + 16 : pos + size]), caplen, wirelen, 0)
        if phase == _PCAPNG:
            return self._block(buf, pos, size, offset)
        if phase == _PCAP_HEADER:
            self._pcap_header(buf, pos, offset)
            return None
        return None

    # -- format detection and headers --------------------------------------------------

    def _detect(self, buf: bytes | bytearray, pos: int, end: int, offset: int) -> int:
        magic = _U32LE.unpack_from(buf, pos)[0]
        if magic in (PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC):
            self.order = "<"
        elif _U32BE.unpack_from(buf, pos)[0] in (PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC):
            self.order = ">"
        elif magic == PCAPNG_SHB:
            self.format = "pcapng"
            self._phase = _PCAPNG
            return self.unit_size(buf, pos, end, offset)
        elif magic in (PCAP_MAGIC_MODIFIED, 0x34CDB2A1):
            self.fatal(offset, "this is a 'modified pcap' (Kuznetsov) file, which tcp-lab does not read; "
                       "convert it with editcap -F pcap")
            return -1
        elif bytes(buf[pos : pos + 2]) == b"\x1f\x8b":
            self.fatal(offset, "this capture is gzip-compressed: decompress it first (gunzip)")
            return -1
        else:
            head = bytes(buf[pos : pos + 4]).hex(" ")
            self.fatal(offset, f"this is not a pcap or pcapng capture (it starts with {head})")
            return -1
        self.format = "pcap"
        self._phase = _PCAP_HEADER
        return 24

    def _pcap_header(self, buf: bytes | bytearray | memoryview, pos: int, offset: int) -> None:
        order = self.order
        magic, major, minor, _zone, _sigfigs, snaplen, network = _PCAP_HDR[order].unpack_from(buf, pos)
        if major != 2:
            self.fatal(offset, f"pcap version {major}.{minor} is not supported (only 2.x is)")
            return
        self._record = PCAP_RECORD[order]
        self._pcap_ts_div = 1_000_000_000 if magic == PCAP_MAGIC_NSEC else 1_000_000
        # Bits 26-31 may say an FCS is present; the rest is the link type (libpcap's LT_LINKTYPE).
        self._linktype = network & 0x03FFFFFF
        self._pcap_snaplen = snaplen if 0 < snaplen <= MAX_BLOCK else 0
        self._pcap_max = max(MAX_SNAPLEN, self._pcap_snaplen)
        self.interfaces = [Interface(self._linktype, self._pcap_snaplen, self._pcap_ts_div, 0)]
        self._phase = _PCAP

    def _shb_order(self, buf: bytes | bytearray, pos: int, offset: int) -> str | None:
        bom = bytes(buf[pos + 8 : pos + 12])
        if bom == b"\x4d\x3c\x2b\x1a":
            return "<"
        if bom == b"\x1a\x2b\x3c\x4d":
            return ">"
        self.fatal(offset, f"the pcapng section header at byte {offset} has no valid byte-order magic")
        return None

    # -- pcapng blocks -----------------------------------------------------------------

    def _block(self, buf: bytes | bytearray | memoryview, pos: int, size: int, offset: int) -> Record | None:
        btype = _U32LE.unpack_from(buf, pos)[0]
        if btype == PCAPNG_SHB:
            order = self._shb_order(buf, pos, offset)
            if order is None:
                return None
        else:
            order = self.order
        trailer = _BLOCK_HDR[order].unpack_from(buf, pos + size - 8)[1]
        if trailer != size:
            self.fatal(
                offset,
                f"the pcapng block at byte {offset} says it is {size} bytes long at its start "
                f"but {trailer} at its end: the file is damaged",
            )
            return None
        if btype != PCAPNG_SHB:
            btype = _BLOCK_HDR[order].unpack_from(buf, pos)[0]
        if btype == BLOCK_EPB:
            self.frames += 1
            if size < 32:
                self.skipped[SKIP_SHORT_BLOCK] += 1
                return None
            iface, ts_hi, ts_lo, caplen, wirelen = EPB_BODY[order].unpack_from(buf, pos + 8)
            return self._packet(buf, pos + 28, size - 32, iface, (ts_hi << 32) | ts_lo, caplen, wirelen)
        if btype == BLOCK_SPB:
            self.frames += 1
            if size < 16:
                self.skipped[SKIP_SHORT_BLOCK] += 1
                return None
            if not self.interfaces:
                self.skipped[SKIP_NO_IDB] += 1
                return None
            wirelen = _BLOCK_HDR[order].unpack_from(buf, pos + 8)[0]
            intf = self.interfaces[0]
            caplen = min(wirelen, size - 16)
            if intf.snaplen:
                caplen = min(caplen, intf.snaplen)
            return Record(self.last_ts, intf.linktype, bytes(buf[pos + 12 : pos + 12 + caplen]), caplen, wirelen, 0)
        if btype == BLOCK_PB:
            self.frames += 1
            if size < 32:
                self.skipped[SKIP_SHORT_BLOCK] += 1
                return None
            iface, _drops, ts_hi, ts_lo, caplen, wirelen = _PB_BODY[order].unpack_from(buf, pos + 8)
            return self._packet(buf, pos + 28, size - 32, iface, (ts_hi << 32) | ts_lo, caplen, wirelen)
        if btype == BLOCK_IDB:
            if size >= 20:
                linktype, _reserved, snaplen = _IDB[order].unpack_from(buf, pos + 8)
                options = bytes(buf[pos + 16 : pos + size - 4])
                self.interfaces.append(pcapng_interface(linktype, snaplen, options, order))
            else:
                self.fatal(offset, f"the interface description block at byte {offset} is too short")
            return None
        if btype == PCAPNG_SHB:
            if size < 28:
                self.fatal(offset, f"the pcapng section header at byte {offset} is too short")
                return None
            major, minor = _SHB[order].unpack_from(buf, pos)[3:5]
            if major != 1:
                self.fatal(offset, f"pcapng version {major}.{minor} is not supported (only 1.x is)")
                return None
            self.order = order
            self.interfaces = []
            return None
        name = OTHER_BLOCKS.get(btype)
        if name is not None:
            self.other_blocks[name] += 1
        else:
            self.skipped[SKIP_UNKNOWN_BLOCK] += 1
        return None

    def _packet(
        self, buf: bytes | bytearray | memoryview, data: int, room: int, iface: int, ticks: int,
        caplen: int, wirelen: int,
    ) -> Record | None:
        """An EPB or PB packet whose data starts at `data` with `room` bytes of block body."""
        if iface >= len(self.interfaces):
            self.skipped[SKIP_NO_IDB] += 1
            return None
        if caplen > room:
            self.skipped[SKIP_CAPLEN_PAST_BLOCK] += 1
            return None
        intf = self.interfaces[iface]
        if intf.snaplen and caplen > intf.snaplen:
            self.skipped[SKIP_OVER_SNAPLEN] += 1
            return None
        ts = ticks / intf.ts_div + intf.ts_offset
        self.last_ts = ts
        return Record(ts, intf.linktype, bytes(buf[data : data + caplen]), caplen, wirelen, iface)
