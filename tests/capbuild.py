"""Hand-built capture bytes for the reader and decoder tests: every header written with struct.

Independent of core/ on purpose (a test must not build its input with the code it checks).
Packets: tcp(), udp(), ipv4(), ipv6() with extension headers, link headers eth() (VLAN tags),
sll(), sll2(), null(), loop(). Files: pcap() in either byte order and resolution, and
pcapng blocks shb(), idb(), epb(), spb(), pb(), block() to put together by hand.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence


def packed(addr: str) -> bytes:
    return ipaddress.ip_address(addr).packed


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


# -- transport -----------------------------------------------------------------------------


def tcp(sport: int = 40000, dport: int = 80, seq: int = 1000, ack: int = 0, flags: int = 0x02,
        win: int = 64240, options: bytes = b"", payload: bytes = b"", urg: int = 0,
        doff: int | None = None) -> bytes:
    """A TCP header (checksum 0) with its options and payload. `options` must be a multiple
    of 4 bytes long, unless `doff` forces the data offset (to build a lying header)."""
    if doff is None:
        assert len(options) % 4 == 0, "pad the options yourself"
        doff = 5 + len(options) // 4
    off_flags = (doff << 12) | (flags & 0x1FF)
    return struct.pack("!HHIIHHHH", sport, dport, seq, ack, off_flags, win, 0, urg) + options + payload


def udp(sport: int = 5353, dport: int = 53, payload: bytes = b"hello") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


# -- network -------------------------------------------------------------------------------


def ipv4(payload: bytes, src: str = "10.0.0.1", dst: str = "10.0.0.2", proto: int = 6,
         options: bytes = b"", frag: int = 0x4000, total: int | None = None, ttl: int = 64,
         ident: int = 1, version: int = 4, ihl: int | None = None) -> bytes:
    """An IPv4 header with a right checksum. `frag` is the flags+offset field (0x4000 = DF,
    0x2000 = MF, low 13 bits the offset in 8-byte units)."""
    assert len(options) % 4 == 0
    if ihl is None:
        ihl = 5 + len(options) // 4
    if total is None:
        total = 20 + len(options) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", version << 4 | ihl, 0, total, ident, frag, ttl, proto, 0,
                      packed(src), packed(dst)) + options
    csum = checksum(hdr)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + payload


def ipv6(payload: bytes, src: str = "2001:db8::1", dst: str = "2001:db8::2", nh: int = 6,
         ext: Sequence[tuple[int, bytes]] = (), plen: int | None = None, version: int = 6) -> bytes:
    """An IPv6 header, then extension headers: `ext` is a list of (header type, body after
    the next-header byte), chained in order; the last one's next header is `nh`."""
    chain = b""
    types = [t for t, _ in ext] + [nh]
    for i, (_t, body) in enumerate(ext):
        chain += bytes((types[i + 1],)) + body
    first_nh = types[0]
    payload = chain + payload
    if plen is None:
        plen = len(payload)
    return struct.pack("!IHBB16s16s", version << 28, plen, first_nh, 64, packed(src), packed(dst)) + payload


def ext_opts(n8: int = 0) -> bytes:
    """The body of a hop-by-hop / destination options / routing header of (n8+1)*8 bytes
    (after the next-header byte): length byte, then PadN filling."""
    size = (n8 + 1) * 8 - 2
    return bytes((n8,)) + bytes((1, size - 2)) + bytes(size - 2)


def ext_frag(offset: int = 0, more: bool = False, ident: int = 7) -> bytes:
    """The body of a fragment header (after the next-header byte)."""
    return b"\0" + struct.pack("!HI", offset << 3 | int(more), ident)


def ext_ah(n4: int = 4) -> bytes:
    """The body of an AH header of (n4+2)*4 bytes (after the next-header byte)."""
    size = (n4 + 2) * 4 - 1
    return bytes((n4,)) + bytes(size - 1)


# -- link ----------------------------------------------------------------------------------


def eth(ip: bytes, ethertype: int = 0x0800, vlans: Sequence[tuple[int, int]] = (), pad_to: int = 0) -> bytes:
    """Ethernet II: `vlans` is a list of (TPID, VID), outermost first."""
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in vlans)
    frame = bytes.fromhex("020000000002020000000001") + tags + struct.pack("!H", ethertype) + ip
    if len(frame) < pad_to:
        frame += bytes(pad_to - len(frame))
    return frame


def sll(ip: bytes, proto: int = 0x0800, pkttype: int = 0) -> bytes:
    return struct.pack("!HHH8sH", pkttype, 1, 6, bytes.fromhex("0200000000010000"), proto) + ip


def sll2(ip: bytes, proto: int = 0x0800, pkttype: int = 4) -> bytes:
    return struct.pack("!HHIHBB8s", proto, 0, 3, 1, pkttype, 6, bytes.fromhex("0200000000010000")) + ip


def null(ip: bytes, family: int = 2, order: str = "<") -> bytes:
    return struct.pack(order + "I", family) + ip


def loop(ip: bytes, family: int = 2) -> bytes:
    return struct.pack("!I", family) + ip


# -- pcap ----------------------------------------------------------------------------------


def pcap_header(linktype: int = 1, order: str = "<", nano: bool = False, snaplen: int = 262144,
                major: int = 2) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    return struct.pack(order + "IHHiIII", magic, major, 4, 0, 0, snaplen, linktype)


def pcap_record(ts_sec: int, ts_frac: int, data: bytes, order: str = "<", wirelen: int | None = None,
                caplen: int | None = None) -> bytes:
    return struct.pack(order + "IIII", ts_sec, ts_frac, len(data) if caplen is None else caplen,
                       len(data) if wirelen is None else wirelen) + data


def pcap(frames: Iterable[bytes | tuple[int, int, bytes]], linktype: int = 1, order: str = "<",
         nano: bool = False, snaplen: int = 262144) -> bytes:
    """A pcap file; a frame is bytes (timestamps 1000+i seconds, i*10 fraction) or
    (seconds, fraction, bytes)."""
    out = bytearray(pcap_header(linktype, order, nano, snaplen))
    for i, f in enumerate(frames):
        if isinstance(f, tuple):
            sec, frac, data = f
        else:
            sec, frac, data = 1000 + i, i * 10, f
        out += pcap_record(sec, frac, data, order)
    return bytes(out)


# -- pcapng --------------------------------------------------------------------------------


def _pad4(b: bytes) -> bytes:
    return b + bytes(-len(b) % 4)


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad4(value)


def end_of_options(order: str = "<") -> bytes:
    return struct.pack(order + "HH", 0, 0)


def block(btype: int, body: bytes, order: str = "<", length: int | None = None,
          trailer: int | None = None) -> bytes:
    """A pcapng block; `length`/`trailer` override the two total-length fields (to lie)."""
    body = _pad4(body)
    total = 12 + len(body)
    return (struct.pack(order + "II", btype, total if length is None else length) + body
            + struct.pack(order + "I", total if trailer is None else trailer))


def shb(order: str = "<", major: int = 1, options: bytes = b"") -> bytes:
    body = struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1) + options
    return block(0x0A0D0D0A, body, order)


def idb(linktype: int = 1, snaplen: int = 262144, order: str = "<", tsresol: int | None = None,
        tsoffset: int | None = None, name: str | None = None) -> bytes:
    opts = b""
    if name is not None:
        opts += option(2, name.encode(), order)
    if tsresol is not None:
        opts += option(9, bytes((tsresol,)), order)
    if tsoffset is not None:
        opts += option(14, struct.pack(order + "q", tsoffset), order)
    if opts:
        opts += end_of_options(order)
    return block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts, order)


def epb(data: bytes, iface: int = 0, ticks: int = 0, order: str = "<", wirelen: int | None = None,
        caplen: int | None = None, options: bytes = b"") -> bytes:
    body = struct.pack(order + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF,
                       len(data) if caplen is None else caplen, len(data) if wirelen is None else wirelen)
    return block(6, body + _pad4(data) + options, order)


def spb(data: bytes, order: str = "<", wirelen: int | None = None) -> bytes:
    return block(3, struct.pack(order + "I", len(data) if wirelen is None else wirelen) + data, order)


def pb(data: bytes, iface: int = 0, ticks: int = 0, order: str = "<") -> bytes:
    body = struct.pack(order + "HHIIII", iface, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
    return block(2, body + data, order)


# -- TCP options ----------------------------------------------------------------------------

MSS_1460 = bytes((2, 4, 0x05, 0xB4))
SACK_PERM = bytes((4, 2))
WS_7 = bytes((3, 3, 7))
NOP = b"\x01"
EOL = b"\x00"


def ts_opt(tsval: int, tsecr: int) -> bytes:
    return bytes((8, 10)) + struct.pack("!II", tsval, tsecr)


def sack_opt(*blocks: tuple[int, int]) -> bytes:
    return bytes((5, 2 + 8 * len(blocks))) + b"".join(struct.pack("!II", a, b) for a, b in blocks)


def pad_options(raw: bytes) -> bytes:
    return raw + EOL * (-len(raw) % 4)
