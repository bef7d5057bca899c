"""One captured frame -> the TCP segment in it: link layer, then IPv4 or IPv6, then TCP.

`decode(linktype, data)` returns a `Decoded` for a TCP segment, or a one-line reason (a
str) saying why the frame holds no segment we can show: "not TCP: UDP", "IPv4 fragment",
"truncated TCP header" ... Callers count reasons; nothing here raises, whatever the bytes
(every read is preceded by a length check).

Link types (https://www.tcpdump.org/linktypes.html):

- 1 Ethernet, with any number of 802.1Q / 802.1ad (QinQ) / 0x9100 VLAN tags;
- 113 Linux cooked capture (SLL, ``tcpdump -i any`` with older libpcap) and 276 (SLL2);
- 101 raw IP (and 12 / 14, the DLT_RAW values libpcap maps to it), 228 raw IPv4,
  229 raw IPv6;
- 0 BSD loopback/NULL (a 4-byte address family in the capturing host's byte order: 2 is
  IPv4, 24, 28 and 30 are IPv6 on the BSDs and macOS) and 108 OpenBSD LOOP (the family in
  network byte order).

IPv4 (RFC 791): header options are skipped over; the TCP payload length comes from the
total length, never from the captured length, so Ethernet padding is not payload and a
snapshot-truncated packet keeps its true length; fragments are skipped ("IPv4 fragment",
Wireshark would reassemble them); an IPv4 AH header (RFC 4302) is stepped over.
A total length of 0 (a TSO super-packet captured before segmentation) is taken as "up to
the end of the frame", as Wireshark does.

IPv6 (RFC 8200): hop-by-hop, routing, destination options, mobility, HIP, shim6 and AH
extension headers are stepped over; a fragment header skips the packet ("IPv6 fragment")
unless it is an atomic fragment (offset 0, no more fragments: RFC 6946). A payload length
of 0 (a jumbogram, RFC 2675, or a GSO packet) is taken as "up to the end of the frame";
the Jumbo Payload option itself is not read.

TCP (RFC 9293 section 3.1): the 9 control bits include AE (RFC 9768, formerly NS); the
options are handed on as raw bytes (parse them with core/options.py); the urgent pointer
and the raw 16-bit window are kept. A data offset below 5, or a header longer than the IP
payload or than the captured bytes, skips the packet (tshark still shows a segment whose
options the snapshot length cut off; we skip it, because options we cannot read, such as
the window scale, would make what we show wrong).

Like Wireshark, the payload length (`length`, Wireshark's tcp.len) is the IP datagram's
length, cut to the frame's length on the wire when the IP header claims more, minus the IP
and TCP headers.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .addr import addr_text

__all__ = ["LINKTYPE_NAMES", "SUPPORTED_LINKTYPES", "Decoded", "addr_text", "decode"]


class Decoded(NamedTuple):
    """The TCP segment found in one frame, with its IP addresses.

    `src`/`dst` are packed addresses (4 bytes for IPv4, 16 for IPv6; `addr_text` makes
    text of them). `seq`/`ack` are the raw 32-bit numbers. `flags` holds the 9 control
    bits (core/segment.py: FIN=0x001 ... AE=0x100). `win` is the raw 16-bit window (not
    scaled). `length` is the payload length (Wireshark's Len). `options` is the raw
    option field (core/options.py parses it). `urg` is the urgent pointer.
    """

    ip_version: int
    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    win: int
    length: int
    options: bytes
    urg: int


LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW_12 = 12
LINKTYPE_RAW_14 = 14
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

LINKTYPE_NAMES = {
    LINKTYPE_NULL: "BSD loopback",
    LINKTYPE_ETHERNET: "Ethernet",
    LINKTYPE_RAW_12: "raw IP",
    LINKTYPE_RAW_14: "raw IP",
    LINKTYPE_RAW: "raw IP",
    LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked capture",
    LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6",
    LINKTYPE_LINUX_SLL2: "Linux cooked capture v2",
}
SUPPORTED_LINKTYPES = frozenset(LINKTYPE_NAMES)

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)

_ETHERTYPE_NAMES = {
    0x0806: "ARP",
    0x8035: "RARP",
    0x809B: "AppleTalk",
    0x8847: "MPLS",
    0x8848: "MPLS",
    0x8863: "PPPoE discovery",
    0x8864: "PPPoE",
    0x888E: "EAPOL",
    0x88CC: "LLDP",
    0x88F7: "PTP",
    0x8906: "FCoE",
    0x893F: "802.1BR",
    0x88E5: "MACsec",
    0x9000: "loopback test",
}

IPPROTO_TCP = 6
IPPROTO_AH = 51
_PROTO_NAMES = {
    0: "IPv6 hop-by-hop",
    1: "ICMP",
    2: "IGMP",
    4: "IPv4-in-IP",
    17: "UDP",
    41: "IPv6-in-IP",
    46: "RSVP",
    47: "GRE",
    50: "ESP",
    58: "ICMPv6",
    59: "no next header",
    88: "EIGRP",
    89: "OSPF",
    103: "PIM",
    112: "VRRP",
    115: "L2TP",
    132: "SCTP",
    136: "UDP-Lite",
}
#: IPv6 extension headers laid out as (next header, length in 8-octet units - 1, ...):
#: hop-by-hop, routing, destination options, mobility, HIP, shim6, experimental.
_IPV6_EXT = frozenset((0, 43, 60, 135, 139, 140, 253, 254))
_IPV6_FRAGMENT = 44

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U32LE = struct.Struct("<I")
#: IPv4 header fields we need: version/IHL, total length, flags/fragment offset, protocol,
#: source, destination.
_IPV4 = struct.Struct("!BxH2xHxB2x4s4s")
#: IPv6 fixed header: version/class/flow, payload length, next header, source, destination.
_IPV6 = struct.Struct("!BxxxHBx16s16s")
#: TCP header: ports, seq, ack, data offset + 4 reserved/AE bits + 8 flag bits, window,
#: checksum (skipped), urgent pointer.
_TCP = struct.Struct("!HHIIHH2xH")

_REASONS: dict[tuple[str, int], str] = {}


def _reason(kind: str, value: int) -> str:
    """A cached reason string for a numbered case (ethertype, protocol, link type ...)."""
    key = (kind, value)
    text = _REASONS.get(key)
    if text is None:
        if kind == "ethertype":
            name = _ETHERTYPE_NAMES.get(value)
            if value <= 1500:
                text = "not IP: 802.3 frame with a length field (LLC)"
            else:
                text = f"not IP: {name}" if name else f"not IP: ethertype 0x{value:04x}"
        elif kind == "proto":
            name = _PROTO_NAMES.get(value)
            text = f"not TCP: {name}" if name else f"not TCP: IP protocol {value}"
        elif kind == "linktype":
            text = f"unsupported link type {value}"
        elif kind == "family":
            text = f"not IP: loopback address family {value}"
        elif kind == "version":
            text = f"not IP: IP version {value}"
        elif kind == "doff":
            text = f"TCP data offset {value} is below 5"
        else:  # pragma: no cover - every caller passes one of the kinds above
            text = f"{kind} {value}"
        if len(_REASONS) < 4096:
            _REASONS[key] = text
    return text


def decode(linktype: int, data: bytes | bytearray | memoryview, wirelen: int | None = None) -> Decoded | str:
    """The TCP segment in one captured frame, or the reason there is none.

    `data` is the captured bytes of the frame. `wirelen` is the frame's length on the wire
    (the pcap record's original length); leave it out when `data` is the whole frame.
    It matters only for the payload length of snapshot-truncated or TSO packets.
    """
    n = len(data)
    if wirelen is None or wirelen < n:
        wirelen = n
    if linktype == LINKTYPE_ETHERNET:
        if n < 14:
            return "truncated Ethernet header"
        off = 12
        ethertype = _U16.unpack_from(data, 12)[0]
        while ethertype in VLAN_TPIDS:
            if n < off + 6:
                return "truncated VLAN tag"
            off += 4
            ethertype = _U16.unpack_from(data, off)[0]
        off += 2
        if ethertype == ETHERTYPE_IPV4:
            return _ipv4(data, off, n, wirelen)
        if ethertype == ETHERTYPE_IPV6:
            return _ipv6(data, off, n, wirelen)
        return _reason("ethertype", ethertype)
    if linktype == LINKTYPE_RAW or linktype == LINKTYPE_RAW_12 or linktype == LINKTYPE_RAW_14:
        if n < 1:
            return "truncated IP header"
        version = data[0] >> 4
        if version == 4:
            return _ipv4(data, 0, n, wirelen)
        if version == 6:
            return _ipv6(data, 0, n, wirelen)
        return _reason("version", version)
    if linktype == LINKTYPE_LINUX_SLL:
        if n < 16:
            return "truncated Linux cooked header"
        return _by_ethertype(_U16.unpack_from(data, 14)[0], data, 16, n, wirelen)
    if linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return "truncated Linux cooked header"
        return _by_ethertype(_U16.unpack_from(data, 0)[0], data, 20, n, wirelen)
    if linktype == LINKTYPE_NULL or linktype == LINKTYPE_LOOP:
        if n < 4:
            return "truncated loopback header"
        if linktype == LINKTYPE_LOOP:
            family = _U32.unpack_from(data, 0)[0]
        else:
            # The family is in the capturing host's byte order: a value above 0xFFFF read
            # as little-endian means it was written big-endian (families are small).
            family = _U32LE.unpack_from(data, 0)[0]
            if family > 0xFFFF:
                family = _U32.unpack_from(data, 0)[0]
        if family == 2:
            return _ipv4(data, 4, n, wirelen)
        if family == 24 or family == 28 or family == 30:
            return _ipv6(data, 4, n, wirelen)
        return _reason("family", family)
    if linktype == LINKTYPE_IPV4:
        return _ipv4(data, 0, n, wirelen)
    if linktype == LINKTYPE_IPV6:
        return _ipv6(data, 0, n, wirelen)
    return _reason("linktype", linktype)


def _by_ethertype(ethertype: int, data: bytes | bytearray | memoryview, off: int, n: int, wirelen: int) -> Decoded | str:
    if ethertype == ETHERTYPE_IPV4:
        return _ipv4(data, off, n, wirelen)
    if ethertype == ETHERTYPE_IPV6:
        return _ipv6(data, off, n, wirelen)
    return _reason("ethertype", ethertype)


def _ipv4(data: bytes | bytearray | memoryview, off: int, n: int, wirelen: int) -> Decoded | str:
    """An IPv4 datagram at `off` (RFC 791 section 3.1)."""
    if n - off < 20:
        return "truncated IPv4 header"
    vihl, total, frag, proto, src, dst = _IPV4.unpack_from(data, off)
    if vihl >> 4 != 4:
        return "IPv4 header with a version other than 4"
    ihl = (vihl & 0x0F) * 4
    if ihl < 20:
        return "IPv4 header length below 20 bytes"
    if n - off < ihl:
        return "truncated IPv4 header"
    if frag & 0x3FFF:  # more-fragments bit or a non-zero fragment offset
        if proto != IPPROTO_TCP and proto != IPPROTO_AH:
            return _reason("proto", proto)
        return "IPv4 fragment"
    room = wirelen - off  # the datagram can be no longer than the frame on the wire
    if total == 0:
        total = room  # TSO: the NIC fills in the length later
    elif total < ihl:
        return "IPv4 total length shorter than its header"
    elif total > room:
        total = room
    t = off + ihl
    remaining = total - ihl
    while proto == IPPROTO_AH:  # RFC 4302: next header, length in 4-octet units - 2
        if n - t < 2:
            return "truncated AH header"
        ah_len = (data[t + 1] + 2) * 4
        if ah_len > remaining:
            return "AH header longer than the IP payload"
        proto = data[t]
        t += ah_len
        remaining -= ah_len
    if proto != IPPROTO_TCP:
        return _reason("proto", proto)
    return _tcp(data, t, n, remaining, 4, src, dst)


def _ipv6(data: bytes | bytearray | memoryview, off: int, n: int, wirelen: int) -> Decoded | str:
    """An IPv6 packet at `off` (RFC 8200 sections 3 and 4)."""
    if n - off < 40:
        return "truncated IPv6 header"
    first, plen, nh, src, dst = _IPV6.unpack_from(data, off)
    if first >> 4 != 6:
        return "IPv6 header with a version other than 6"
    room = wirelen - off - 40
    if plen == 0 or plen > room:
        plen = room  # a jumbogram or GSO packet (length 0), or a length beyond the frame
    t = off + 40
    remaining = plen
    while nh != IPPROTO_TCP:
        if nh in _IPV6_EXT:
            if n - t < 2:
                return "truncated IPv6 extension header"
            ext_len = (data[t + 1] + 1) * 8
        elif nh == IPPROTO_AH:
            if n - t < 2:
                return "truncated IPv6 extension header"
            ext_len = (data[t + 1] + 2) * 4
        elif nh == _IPV6_FRAGMENT:
            if n - t < 4:
                return "truncated IPv6 extension header"
            if _U16.unpack_from(data, t + 2)[0] & 0xFFF9:  # offset or M bit: a real fragment
                return "IPv6 fragment"
            ext_len = 8  # an atomic fragment (RFC 6946): the whole packet is here
        else:
            return _reason("proto", nh)
        if ext_len > remaining:
            return "IPv6 extension header longer than the payload"
        nh = data[t]
        t += ext_len
        remaining -= ext_len
    return _tcp(data, t, n, remaining, 6, src, dst)


def _tcp(
    data: bytes | bytearray | memoryview, t: int, n: int, remaining: int, version: int, src: bytes, dst: bytes
) -> Decoded | str:
    """The TCP header at `t` (RFC 9293 section 3.1); `remaining` is the IP payload length."""
    if remaining < 20:
        return "IP payload too short for a TCP header"
    if n - t < 20:
        return "truncated TCP header"
    sport, dport, seq, ack, off_flags, win, urg = _TCP.unpack_from(data, t)
    doff = off_flags >> 12
    if doff < 5:
        return _reason("doff", doff)
    hlen = doff * 4
    if hlen > remaining:
        return "TCP header longer than the IP payload"
    if n - t < hlen:
        return "TCP options cut off by the snapshot length"
    options = bytes(data[t + 20 : t + hlen]) if hlen > 20 else b""
    return Decoded(version, src, dst, sport, dport, seq, ack, off_flags & 0x1FF, win, remaining - hlen, options, urg)
