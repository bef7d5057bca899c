"""The decoder: every link type, IPv4/IPv6 layouts, TCP fields and options, and bad bytes.

Frames are built by hand (tests/capbuild.py); each test checks every field it can.
"""

from __future__ import annotations

import struct

import capbuild as cb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tcp_lab.core.addr import addr_text
from tcp_lab.core.decode import SUPPORTED_LINKTYPES, Decoded, decode
from tcp_lab.core.options import MSS, SACK, SACK_PERM, TFO, TIMESTAMPS, WS, parse_options
from tcp_lab.core.segment import ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG

LINUX_SYN_OPTIONS = cb.MSS_1460 + cb.SACK_PERM + cb.ts_opt(100, 0) + cb.NOP + cb.WS_7  # 20 bytes


def syn_v4(**kw) -> bytes:
    """The IPv4 packet of a Linux client's SYN."""
    return cb.ipv4(cb.tcp(sport=52296, dport=80, seq=3858868470, flags=SYN, win=64240,
                          options=LINUX_SYN_OPTIONS, **kw), src="10.21.71.101", dst="118.178.116.8")


def data_v6(payload: bytes = b"x" * 100, ext=(), **kw) -> bytes:
    return cb.ipv6(cb.tcp(sport=443, dport=51000, seq=7, ack=9, flags=PSH | ACK, win=501,
                          options=cb.NOP + cb.NOP + cb.ts_opt(5, 6), payload=payload), ext=ext, **kw)


EXPECTED_SYN = Decoded(4, bytes((10, 21, 71, 101)), bytes((118, 178, 116, 8)), 52296, 80, 3858868470, 0, SYN,
                       64240, 0, LINUX_SYN_OPTIONS, 0)
EXPECTED_V6 = Decoded(6, cb.packed("2001:db8::1"), cb.packed("2001:db8::2"), 443, 51000, 7, 9, PSH | ACK, 501,
                      100, cb.NOP + cb.NOP + cb.ts_opt(5, 6), 0)


# -- the common frame, every field ----------------------------------------------------------


def test_ethernet_ipv4_syn_every_field():
    seg = decode(1, cb.eth(syn_v4()))
    assert seg == EXPECTED_SYN
    assert isinstance(seg, Decoded)
    assert type(seg.options) is bytes and type(seg.src) is bytes
    assert addr_text(seg.src) == "10.21.71.101" and addr_text(seg.dst) == "118.178.116.8"
    opts, malformed = parse_options(seg.options)
    assert not malformed
    assert [o.kind for o in opts] == [MSS, SACK_PERM, TIMESTAMPS, 1, WS]


def test_ethernet_padding_is_not_payload():
    """A bare ACK of 54 bytes padded to the 60-byte Ethernet minimum has Len=0."""
    ip = cb.ipv4(cb.tcp(flags=ACK, ack=5))
    frame = cb.eth(ip, pad_to=60)
    assert len(ip) == 40 and len(frame) == 60
    seg = decode(1, frame)
    assert seg.length == 0 and seg.flags == ACK and seg.ack == 5


def test_payload_length_comes_from_ip_when_snaplen_cut_the_frame():
    frame = cb.eth(cb.ipv4(cb.tcp(flags=ACK | PSH, payload=b"p" * 1400)))
    seg = decode(1, frame[:96], wirelen=len(frame))
    assert seg.length == 1400
    # Without the wire length the decoder takes the frame as whole: the IP length is cut to it.
    assert decode(1, frame[:96]).length == 96 - 14 - 40


def test_ip_total_length_beyond_the_frame_is_cut_to_the_frame():
    """Wireshark's rule: the datagram can be no longer than the frame on the wire."""
    frame = cb.eth(cb.ipv4(cb.tcp(flags=ACK, payload=b"q" * 10), total=400))
    assert decode(1, frame).length == 10


def test_tso_total_length_zero_means_to_the_end_of_the_frame():
    frame = cb.eth(cb.ipv4(cb.tcp(flags=ACK, payload=b"z" * 3000), total=0))
    assert decode(1, frame).length == 3000


@pytest.mark.parametrize("bits", [FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE, 0x1FF, 0])
def test_every_flag_bit_including_ae(bits):
    seg = decode(1, cb.eth(cb.ipv4(cb.tcp(flags=bits, urg=77))))
    assert seg.flags == bits
    assert seg.urg == 77


def test_reserved_bits_are_not_flags():
    raw = bytearray(cb.ipv4(cb.tcp(flags=ACK)))
    raw[20 + 12] |= 0x0E  # the three reserved bits between the data offset and AE
    seg = decode(101, bytes(raw))
    assert seg.flags == ACK


def test_raw_window_and_full_range_numbers():
    seg = decode(101, cb.ipv4(cb.tcp(seq=0xFFFFFFFF, ack=0xFFFFFFFE, win=0xFFFF, flags=ACK, sport=65535, dport=1)))
    assert (seg.seq, seg.ack, seg.win, seg.sport, seg.dport) == (0xFFFFFFFF, 0xFFFFFFFE, 0xFFFF, 65535, 1)


# -- TCP options survive byte for byte ------------------------------------------------------

OPTION_SETS = {
    "linux-syn": LINUX_SYN_OPTIONS,
    "mss-ws-sackperm-nots": cb.MSS_1460 + cb.NOP + cb.NOP + cb.SACK_PERM + cb.NOP + cb.WS_7,
    "timestamps": cb.NOP + cb.NOP + cb.ts_opt(0xFFFFFFFF, 1),
    "sack-1": cb.NOP + cb.NOP + cb.sack_opt((1000, 2000)),
    "sack-3+ts": cb.NOP + cb.NOP + cb.ts_opt(1, 2) + cb.NOP + cb.NOP + cb.sack_opt((1, 2), (3, 4), (5, 6)),
    "sack-4": cb.NOP + cb.NOP + cb.sack_opt((1, 2), (3, 4), (5, 6), (7, 8)),
    "tfo-cookie": cb.pad_options(bytes((34, 10)) + bytes(range(8))),
    "tfo-request": cb.pad_options(bytes((34, 2))),
    "tfo-experimental": cb.pad_options(bytes((254, 12, 0xF9, 0x89)) + bytes(range(8))),
    "unknown-kind": cb.pad_options(bytes((99, 6, 1, 2, 3, 4))),
    "md5sig": cb.pad_options(bytes((19, 18)) + bytes(16)),
    "eol-padding": cb.pad_options(cb.MSS_1460 + cb.EOL),
    "forty-bytes": cb.NOP * 40,
}


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_every_option_kind_survives(name):
    raw = OPTION_SETS[name]
    seg = decode(1, cb.eth(cb.ipv4(cb.tcp(flags=SYN, options=raw, payload=b"abc"))))
    assert seg.options == raw
    assert seg.length == 3


def test_parsed_option_values():
    raw = OPTION_SETS["sack-3+ts"]
    opts = dict((o.kind, o.value) for o in parse_options(decode(101, cb.ipv4(cb.tcp(flags=ACK, options=raw))).options)[0])
    assert opts[TIMESTAMPS] == (1, 2)
    assert opts[SACK] == ((1, 2), (3, 4), (5, 6))
    tfo = parse_options(decode(101, cb.ipv4(cb.tcp(flags=SYN, options=OPTION_SETS["tfo-cookie"]))).options)[0]
    assert tfo[0].kind == TFO and tfo[0].value == bytes(range(8))


# -- link types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vlans",
    [
        [(0x8100, 10)],
        [(0x88A8, 100), (0x8100, 10)],
        [(0x9100, 100), (0x8100, 10)],
        [(0x88A8, 1), (0x8100, 2), (0x8100, 3)],
    ],
    ids=["802.1Q", "QinQ-88a8", "QinQ-9100", "three-tags"],
)
def test_vlan_tags(vlans):
    assert decode(1, cb.eth(syn_v4(), vlans=vlans)) == EXPECTED_SYN
    assert decode(1, cb.eth(data_v6(), ethertype=0x86DD, vlans=vlans)) == EXPECTED_V6


def test_truncated_vlan_tag():
    frame = cb.eth(b"", ethertype=0x8100)[:14]
    assert decode(1, frame) == "truncated VLAN tag"
    assert decode(1, frame + b"\x00\x0a") == "truncated VLAN tag"


@pytest.mark.parametrize(
    "linktype,build",
    [
        (113, lambda ip, v6: cb.sll(ip, 0x86DD if v6 else 0x0800)),
        (276, lambda ip, v6: cb.sll2(ip, 0x86DD if v6 else 0x0800)),
        (101, lambda ip, v6: ip),
        (12, lambda ip, v6: ip),
        (14, lambda ip, v6: ip),
        (0, lambda ip, v6: cb.null(ip, 24 if v6 else 2, "<")),
        (0, lambda ip, v6: cb.null(ip, 28 if v6 else 2, ">")),
        (0, lambda ip, v6: cb.null(ip, 30 if v6 else 2, "<")),
        (108, lambda ip, v6: cb.loop(ip, 24 if v6 else 2)),
    ],
    ids=["SLL", "SLL2", "raw-101", "raw-12", "raw-14", "null-le-24", "null-be-28", "null-le-30", "loop"],
)
def test_link_types_v4_and_v6(linktype, build):
    assert decode(linktype, build(syn_v4(), False)) == EXPECTED_SYN
    assert decode(linktype, build(data_v6(), True)) == EXPECTED_V6


def test_raw_ipv4_and_ipv6_link_types():
    assert decode(228, syn_v4()) == EXPECTED_SYN
    assert decode(229, data_v6()) == EXPECTED_V6
    assert decode(228, data_v6()) == "IPv4 header with a version other than 4"
    assert decode(229, syn_v4()) == "IPv6 header with a version other than 6"
    assert decode(229, syn_v4()[:39]) == "truncated IPv6 header"


def test_not_ip_link_payloads():
    assert decode(1, cb.eth(bytes(28), ethertype=0x0806)) == "not IP: ARP"
    assert decode(1, cb.eth(bytes(46), ethertype=0x88CC)) == "not IP: LLDP"
    assert decode(1, cb.eth(bytes(46), ethertype=0x1234)) == "not IP: ethertype 0x1234"
    assert decode(1, cb.eth(bytes(46), ethertype=46)) == "not IP: 802.3 frame with a length field (LLC)"
    assert decode(113, cb.sll(bytes(28), 0x0806)) == "not IP: ARP"
    assert decode(0, cb.null(syn_v4(), 7)) == "not IP: loopback address family 7"
    assert decode(101, b"\x50" + bytes(30)) == "not IP: IP version 5"
    assert decode(147, cb.eth(syn_v4())) == "unsupported link type 147"
    assert decode(105, b"") == "unsupported link type 105"


@pytest.mark.parametrize("linktype", sorted(SUPPORTED_LINKTYPES))
def test_empty_and_tiny_frames_have_reasons(linktype):
    for n in range(4):
        reason = decode(linktype, bytes(n))
        assert isinstance(reason, str) and reason


# -- IPv4 -----------------------------------------------------------------------------------


def test_ipv4_header_options_are_stepped_over():
    router_alert = bytes((148, 4, 0, 0))
    seg = decode(1, cb.eth(cb.ipv4(cb.tcp(flags=ACK, payload=b"hi"), options=router_alert)))
    assert (seg.flags, seg.length) == (ACK, 2)
    longest = bytes((7, 39, 4)) + bytes(36) + b"\x00"  # record route filling all 40 bytes
    seg = decode(1, cb.eth(cb.ipv4(cb.tcp(flags=ACK, payload=b"hi"), options=longest)))
    assert (seg.flags, seg.length, seg.sport) == (ACK, 2, 40000)


@pytest.mark.parametrize("frag", [0x2000, 0x2000 | 185, 185, 1], ids=["first-MF", "middle", "last", "offset-8"])
def test_ipv4_fragments_are_skipped(frag):
    assert decode(1, cb.eth(cb.ipv4(cb.tcp(flags=ACK, payload=b"x" * 64), frag=frag))) == "IPv4 fragment"


def test_ipv4_fragment_of_udp_is_not_tcp():
    assert decode(1, cb.eth(cb.ipv4(cb.udp(), proto=17, frag=0x2000))) == "not TCP: UDP"


@pytest.mark.parametrize("proto,reason", [(17, "not TCP: UDP"), (1, "not TCP: ICMP"), (47, "not TCP: GRE"),
                                          (132, "not TCP: SCTP"), (253, "not TCP: IP protocol 253")])
def test_non_tcp_protocols(proto, reason):
    assert decode(1, cb.eth(cb.ipv4(cb.udp(), proto=proto))) == reason


def test_ipv4_ah_is_stepped_over():
    ah = bytes((6, 4)) + bytes(22)  # next header TCP, (4+2)*4 = 24 bytes
    seg = decode(101, cb.ipv4(ah + cb.tcp(flags=ACK, payload=b"abc"), proto=51))
    assert (seg.flags, seg.length) == (ACK, 3)


@pytest.mark.parametrize(
    "ip,reason",
    [
        (cb.ipv4(cb.tcp(), ihl=4), "IPv4 header length below 20 bytes"),
        (cb.ipv4(cb.tcp(), version=6)[:30], "IPv4 header with a version other than 4"),
        (cb.ipv4(cb.tcp(), total=19), "IPv4 total length shorter than its header"),
        (cb.ipv4(cb.tcp(), ihl=15)[:50], "truncated IPv4 header"),
        (cb.ipv4(cb.tcp())[:19], "truncated IPv4 header"),
        (cb.ipv4(cb.tcp(), total=30), "IP payload too short for a TCP header"),
        (cb.ipv4(cb.tcp())[:30], "IP payload too short for a TCP header"),
    ],
)
def test_bad_ipv4_headers(ip, reason):
    assert decode(228, ip) == reason


# -- IPv6 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ext",
    [
        [(0, cb.ext_opts(0))],
        [(0, cb.ext_opts(1)), (60, cb.ext_opts(0))],
        [(0, cb.ext_opts(0)), (43, cb.ext_opts(2)), (60, cb.ext_opts(0))],
        [(51, cb.ext_ah(4))],
        [(60, cb.ext_opts(0)), (51, cb.ext_ah(1)), (60, cb.ext_opts(3))],
        [(44, cb.ext_frag(0, False))],
        [(135, cb.ext_opts(0))],
    ],
    ids=["hop-by-hop", "hbh+dest", "hbh+routing+dest", "AH", "dest+AH+dest", "atomic-fragment", "mobility"],
)
def test_ipv6_extension_headers_are_stepped_over(ext):
    assert decode(229, data_v6(ext=ext)) == EXPECTED_V6


@pytest.mark.parametrize("offset,more", [(0, True), (100, True), (100, False)])
def test_ipv6_fragments_are_skipped(offset, more):
    assert decode(229, data_v6(ext=[(0, cb.ext_opts(0)), (44, cb.ext_frag(offset, more))])) == "IPv6 fragment"


@pytest.mark.parametrize("nh,reason", [(17, "not TCP: UDP"), (58, "not TCP: ICMPv6"), (59, "not TCP: no next header"),
                                       (50, "not TCP: ESP")])
def test_ipv6_non_tcp(nh, reason):
    assert decode(229, cb.ipv6(cb.udp(), nh=nh)) == reason
    assert decode(229, cb.ipv6(cb.udp(), nh=nh, ext=[(0, cb.ext_opts(0))])) == reason


def test_ipv6_payload_length_zero_is_to_the_end_of_the_frame():
    """Jumbograms (RFC 2675) and GSO packets: the Jumbo option is not read, the frame is."""
    assert decode(229, data_v6(b"j" * 5000, plen=0)).length == 5000


def test_ipv6_payload_length_shorter_than_the_frame_ignores_the_rest():
    assert decode(1, cb.eth(data_v6(), ethertype=0x86DD, pad_to=400)) == EXPECTED_V6


@pytest.mark.parametrize(
    "ip,reason",
    [
        (data_v6()[:39], "truncated IPv6 header"),
        (cb.ipv6(b"", nh=0), "truncated IPv6 extension header"),
        (cb.ipv6(b"", nh=44) + b"\x06", "truncated IPv6 extension header"),
        (data_v6(ext=[(0, cb.ext_opts(0))], plen=20), "IP payload too short for a TCP header"),
        (data_v6(ext=[(0, cb.ext_opts(30))])[:200], "IPv6 extension header longer than the payload"),
        (data_v6(version=4), "IPv6 header with a version other than 6"),
    ],
    ids=["short-header", "no-ext-bytes", "short-fragment", "payload-too-short", "ext-too-long", "version"],
)
def test_bad_ipv6(ip, reason):
    assert decode(229, ip) == reason


# -- TCP header damage ----------------------------------------------------------------------


@pytest.mark.parametrize("doff", [0, 1, 4])
def test_data_offset_below_five(doff):
    assert decode(228, cb.ipv4(cb.tcp(doff=doff, payload=bytes(40)))) == f"TCP data offset {doff} is below 5"


def test_data_offset_beyond_the_ip_payload():
    assert decode(228, cb.ipv4(cb.tcp(doff=15, payload=bytes(8)))) == "TCP header longer than the IP payload"


def test_data_offset_beyond_the_captured_bytes():
    frame = cb.eth(cb.ipv4(cb.tcp(flags=SYN, options=LINUX_SYN_OPTIONS)))
    assert decode(1, frame[:60], wirelen=len(frame)) == "TCP options cut off by the snapshot length"
    assert decode(1, frame[:40], wirelen=len(frame)) == "truncated TCP header"


def test_every_prefix_of_a_frame_decodes_or_explains():
    frame = cb.eth(cb.ipv4(cb.tcp(flags=SYN, options=LINUX_SYN_OPTIONS, payload=b"data")), vlans=[(0x8100, 5)])
    for cut in range(len(frame) + 1):
        out = decode(1, frame[:cut], wirelen=len(frame))
        assert isinstance(out, (Decoded, str))
        if cut >= 18 + 20 + 40:
            assert out == decode(1, frame)
        else:
            assert isinstance(out, str) and out


def test_bytearray_and_memoryview_give_the_same():
    frame = cb.eth(syn_v4())
    assert decode(1, bytearray(frame)) == decode(1, memoryview(frame)) == decode(1, frame) == EXPECTED_SYN
    assert type(decode(1, memoryview(frame)).options) is bytes


# -- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("10.0.0.1", "10.0.0.1"),
        ("255.255.255.255", "255.255.255.255"),
        ("2001:db8::1", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  # RFC 5952 4.2.2: no :: for one group
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  # the longest run
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  # the first of equal runs
        ("FE80::ABCD", "fe80::abcd"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),  # IPv4-mapped
        ("::192.0.2.1", "::192.0.2.1"),  # IPv4-compatible
        ("::ffff:0:c000:201", "::ffff:0:c000:201"),
    ],
)
def test_addr_text(text, expected):
    import ipaddress

    packed = ipaddress.ip_address(text).packed
    assert addr_text(packed) == expected
    assert addr_text(packed) is addr_text(packed)  # cached


# -- never raises ---------------------------------------------------------------------------

LINKTYPES = sorted(SUPPORTED_LINKTYPES) + [2, 147, 0xFFFF]
SAMPLES = [
    cb.eth(syn_v4()),
    cb.eth(data_v6(ext=[(0, cb.ext_opts(0)), (51, cb.ext_ah(2))]), ethertype=0x86DD, vlans=[(0x88A8, 3), (0x8100, 4)]),
    cb.sll2(cb.ipv4(cb.tcp(flags=ACK, options=OPTION_SETS["sack-3+ts"], payload=b"p" * 30), options=bytes(8))),
    cb.null(data_v6(ext=[(44, cb.ext_frag())])),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linktype=st.sampled_from(LINKTYPES), data=st.binary(max_size=200), wirelen=st.none() | st.integers(0, 1 << 20))
def test_random_bytes_never_raise(linktype, data, wirelen):
    out = decode(linktype, data, wirelen)
    assert isinstance(out, (Decoded, str)) and out


@settings(max_examples=600, deadline=None)
@given(sample=st.sampled_from(range(len(SAMPLES))), linktype=st.sampled_from([0, 1, 101, 113, 276]),
       edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
       cut=st.integers(0, 220))
def test_damaged_frames_never_raise(sample, linktype, edits, cut):
    frame = bytearray(SAMPLES[sample])
    for pos, value in edits:
        if pos < len(frame):
            frame[pos] = value
    out = decode(linktype, bytes(frame[:cut]), len(frame))
    assert isinstance(out, (Decoded, str)) and out
    if isinstance(out, Decoded):
        assert out.length >= 0 and len(out.options) % 4 == 0 and out.ip_version in (4, 6)
        assert len(out.src) == len(out.dst) == (4 if out.ip_version == 4 else 16)


def test_struct_layout_matches_the_rfc():
    """A guard against editing the precompiled formats: TCP fixed header is 20 bytes."""
    from tcp_lab.core import decode as d

    assert d._TCP.size == 20 and d._IPV4.size == 20 and d._IPV6.size == 40
    assert struct.calcsize("!HHIIHHHH") == 20
