"""Build capture files: TCP segments framed as they travel on a link, in a classic pcap.

This is the writing half of what core/ decodes: a Segment (core/segment.py) becomes a TCP
header with its options and payload, inside an IPv4 or IPv6 packet, inside a link-layer
frame, inside a pcap record. Checksums are computed as a real stack computes them (RFC 9293
section 3.1: the TCP checksum covers a pseudo-header of both addresses, the protocol and
the TCP length; RFC 791 for the IPv4 header checksum; RFC 8200 section 8.1 for the IPv6
pseudo-header), so tshark with checksum validation on finds nothing to complain about.

Pure functions on bytes: no file is opened and no clock is read (times are passed in).
Used by captures/make_course_example.py, by tests that need hand-made captures, and by
the lab's "export pcap".

Example::

    seg = Segment("10.0.0.1", 40000, "10.0.0.2", 80, seq=1000, ack=0, flags=SYN, win=64240,
                  options=build_options(mss=1460))
    data = pcap_bytes([(0.0, tcp_packet(seg))])             # Ethernet, linktype 1
    raw = pcap_bytes([(0.0, tcp_packet(seg, link=LINKTYPE_RAW))], linktype=LINKTYPE_RAW)
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

from .segment import Segment

# Link-layer header types (https://www.tcpdump.org/linktypes.html).
LINKTYPE_NULL = 0  # BSD loopback: 4-byte address family in the writer's byte order
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # raw IPv4 or IPv6, no link header
LINKTYPE_LINUX_SLL = 113  # Linux "cooked" capture v1 (tcpdump -i any, older libpcap)
LINKTYPE_LINUX_SLL2 = 276  # Linux "cooked" capture v2 (tcpdump -i any, libpcap >= 1.10)

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100  # 802.1Q tag
ETHERTYPE_QINQ = 0x88A8  # 802.1ad outer (service) tag

IPPROTO_TCP = 6

#: Ethernet frames shorter than this (without the 4-byte FCS) are padded with zeros by
#: the sending NIC; a capture taken on the receiving host shows the padding, one taken
#: on the sender (before the NIC) does not. That is why a bare ACK is 54 bytes in one
#: direction and 60 in the other in the same capture.
ETHERNET_MIN_FRAME = 60

PCAP_MAGIC_USEC = 0xA1B2C3D4
PCAP_MAGIC_NSEC = 0xA1B23C4D

_PCAP_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD = struct.Struct("<IIII")
_TCP_HEADER = struct.Struct("!HHIIHHHH")
_IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
_IPV6_HEADER = struct.Struct("!IHBB16s16s")
_ETH_HEADER = struct.Struct("!6s6sH")
_SLL_HEADER = struct.Struct("!HHH8sH")
_SLL2_HEADER = struct.Struct("!HHIHBB8s")

DEFAULT_SRC_MAC = bytes.fromhex("020000000001")
DEFAULT_DST_MAC = bytes.fromhex("020000000002")


def internet_checksum(data: bytes) -> int:
    """The 16-bit one's complement of the one's complement sum (RFC 1071), as an int.

    Odd-length data is padded with a zero byte. A result of 0 is returned as is (TCP
    sends 0x0000 when the sum is 0xFFFF; only UDP maps 0 to 0xFFFF).
    """
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _packed(address: str) -> bytes:
    return ipaddress.ip_address(address).packed


def is_ipv6(address: str) -> bool:
    """True for an IPv6 address text such as "::1"."""
    return ipaddress.ip_address(address).version == 6


def tcp_segment_bytes(
    segment: Segment,
    payload: bytes | None = None,
    *,
    urgent: int = 0,
    checksum: int | None = None,
) -> bytes:
    """The TCP header (RFC 9293 section 3.1), options and payload of `segment`.

    `payload` defaults to `segment.length` zero bytes; when given it must be exactly
    `segment.length` bytes long. Options are padded with EOL (zeros) to a multiple of
    4 bytes. The checksum over the pseudo-header (both addresses from the segment) is
    filled in, unless `checksum` is given (to build a deliberately broken segment).
    """
    if payload is None:
        payload = bytes(segment.length)
    elif len(payload) != segment.length:
        raise ValueError(f"payload is {len(payload)} bytes but the segment says Len={segment.length}")
    options = segment.options
    if len(options) % 4:
        options = options + bytes(4 - len(options) % 4)
    if len(options) > 40:
        raise ValueError(f"TCP options take {len(options)} bytes; at most 40 fit in the header")
    data_offset = (20 + len(options)) // 4
    # Data offset (4 bits), 3 reserved bits, then 9 control bits with AE (ex-NS) lowest in byte 12.
    offset_flags = (data_offset << 12) | (segment.flags & 0x1FF)
    header = _TCP_HEADER.pack(
        segment.sport,
        segment.dport,
        segment.seq % (1 << 32),
        segment.ack % (1 << 32),
        offset_flags,
        segment.win,
        0,
        urgent,
    )
    tcp = bytearray(header + options + payload)
    if checksum is None:
        src, dst = _packed(segment.src), _packed(segment.dst)
        if len(src) == 4:
            pseudo = src + dst + struct.pack("!BBH", 0, IPPROTO_TCP, len(tcp))
        else:
            pseudo = src + dst + struct.pack("!IxxxB", len(tcp), IPPROTO_TCP)
        checksum = internet_checksum(pseudo + bytes(tcp))
    struct.pack_into("!H", tcp, 16, checksum)
    return bytes(tcp)


def ipv4_packet(
    src: str,
    dst: str,
    payload: bytes,
    *,
    protocol: int = IPPROTO_TCP,
    ttl: int = 64,
    ident: int = 0,
    dont_fragment: bool = True,
    tos: int = 0,
) -> bytes:
    """An IPv4 header (RFC 791, no options) with its header checksum, followed by `payload`."""
    total = 20 + len(payload)
    flags_frag = 0x4000 if dont_fragment else 0
    header = bytearray(
        _IPV4_HEADER.pack(0x45, tos, total, ident & 0xFFFF, flags_frag, ttl, protocol, 0,
                          _packed(src), _packed(dst))
    )
    struct.pack_into("!H", header, 10, internet_checksum(bytes(header)))
    return bytes(header) + payload


def ipv6_packet(
    src: str,
    dst: str,
    payload: bytes,
    *,
    next_header: int = IPPROTO_TCP,
    hop_limit: int = 64,
    flow_label: int = 0,
    traffic_class: int = 0,
) -> bytes:
    """An IPv6 fixed header (RFC 8200 section 3, no extension headers) followed by `payload`."""
    first = (6 << 28) | (traffic_class << 20) | (flow_label & 0xFFFFF)
    return _IPV6_HEADER.pack(first, len(payload), next_header, hop_limit, _packed(src), _packed(dst)) + payload


def link_frame(
    ip: bytes,
    link: int = LINKTYPE_ETHERNET,
    *,
    src_mac: bytes = DEFAULT_SRC_MAC,
    dst_mac: bytes = DEFAULT_DST_MAC,
    vlans: Sequence[int] = (),
    pad: bool = False,
    outgoing: bool = True,
    null_byteorder: str = "<",
) -> bytes:
    """Wrap an IP packet in the link-layer header of `link` (one of the LINKTYPE_* values).

    Ethernet: `vlans` adds 802.1Q tags, outermost first (with two or more, the outer one
    uses the 802.1ad ethertype, as QinQ does); `pad` zero-pads the frame to 60 bytes as a
    NIC does before sending. SLL/SLL2: `outgoing` picks packet type 4 (sent by us) or 0
    (to us). NULL: the address family (2 = IPv4, 24/28/30 = IPv6 on the BSDs; we write 24)
    in `null_byteorder` ("<" little-endian as on x86, ">" big-endian).
    """
    version = ip[0] >> 4 if ip else 4
    ethertype = ETHERTYPE_IPV6 if version == 6 else ETHERTYPE_IPV4
    if link == LINKTYPE_ETHERNET:
        tags = b""
        for i, vid in enumerate(vlans):
            tpid = ETHERTYPE_QINQ if i == 0 and len(vlans) > 1 else ETHERTYPE_VLAN
            tags += struct.pack("!HH", tpid, vid & 0x0FFF)
        frame = dst_mac + src_mac + tags + struct.pack("!H", ethertype) + ip
        if pad and len(frame) < ETHERNET_MIN_FRAME:
            frame += bytes(ETHERNET_MIN_FRAME - len(frame))
        return frame
    if link == LINKTYPE_RAW:
        return ip
    if link == LINKTYPE_NULL:
        family = 24 if version == 6 else 2
        return struct.pack(null_byteorder + "I", family) + ip
    if link == LINKTYPE_LINUX_SLL:
        pkttype = 4 if outgoing else 0
        return _SLL_HEADER.pack(pkttype, 1, 6, src_mac + b"\x00\x00", ethertype) + ip
    if link == LINKTYPE_LINUX_SLL2:
        pkttype = 4 if outgoing else 0
        return _SLL2_HEADER.pack(ethertype, 0, 1, 1, pkttype, 6, src_mac + b"\x00\x00") + ip
    raise ValueError(f"link type {link} is not one pcapwrite can build")


def tcp_packet(
    segment: Segment,
    payload: bytes | None = None,
    *,
    link: int = LINKTYPE_ETHERNET,
    src_mac: bytes = DEFAULT_SRC_MAC,
    dst_mac: bytes = DEFAULT_DST_MAC,
    vlans: Sequence[int] = (),
    pad: bool = False,
    ttl: int = 64,
    ip_id: int = 0,
    dont_fragment: bool = True,
    flow_label: int = 0,
    urgent: int = 0,
    tcp_checksum: int | None = None,
    outgoing: bool = True,
) -> bytes:
    """One whole frame carrying `segment`: link header, IPv4 or IPv6 (chosen from the
    addresses), TCP header with options, payload. See the helpers above for the arguments;
    `ttl` is the IPv6 hop limit for IPv6."""
    tcp = tcp_segment_bytes(segment, payload, urgent=urgent, checksum=tcp_checksum)
    if is_ipv6(segment.src):
        ip = ipv6_packet(segment.src, segment.dst, tcp, hop_limit=ttl, flow_label=flow_label)
    else:
        ip = ipv4_packet(segment.src, segment.dst, tcp, ttl=ttl, ident=ip_id, dont_fragment=dont_fragment)
    return link_frame(ip, link, src_mac=src_mac, dst_mac=dst_mac, vlans=vlans, pad=pad, outgoing=outgoing)


def pcap_header(linktype: int = LINKTYPE_ETHERNET, snaplen: int = 262144, nanosecond: bool = False) -> bytes:
    """The 24-byte pcap global header (little-endian, version 2.4)."""
    magic = PCAP_MAGIC_NSEC if nanosecond else PCAP_MAGIC_USEC
    return _PCAP_HEADER.pack(magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(
    timestamp: float | Decimal | Fraction, data: bytes, *, orig_len: int | None = None, nanosecond: bool = False,
    snaplen: int = 262144,
) -> bytes:
    """One pcap record: a 16-byte header (time, captured length, original length) and data.

    `timestamp` is seconds since the epoch (or since any origin you like), rounded to the
    file's resolution. A float holds about 0.2 microseconds of precision at today's epoch
    times: pass a `decimal.Decimal` or `fractions.Fraction` for exact nanoseconds. Data longer than `snaplen` is cut, as tcpdump -s does.
    """
    scale = 1_000_000_000 if nanosecond else 1_000_000
    ticks = round(timestamp * scale)
    seconds, fraction = divmod(ticks, scale)
    captured = data[:snaplen]
    return _PCAP_RECORD.pack(seconds, fraction, len(captured), len(data) if orig_len is None else orig_len) + captured


def pcap_bytes(
    packets: Iterable[tuple[float | Decimal | Fraction, bytes]],
    linktype: int = LINKTYPE_ETHERNET,
    *,
    snaplen: int = 262144,
    nanosecond: bool = False,
) -> bytes:
    """A whole classic pcap file: the global header, then one record per (time, frame)."""
    out = bytearray(pcap_header(linktype, snaplen, nanosecond))
    for timestamp, data in packets:
        out += pcap_record(timestamp, data, nanosecond=nanosecond, snaplen=snaplen)
    return bytes(out)
