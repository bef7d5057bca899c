"""core/pcapwrite.py builds frames tshark accepts: right checksums, options, framing, padding."""

import subprocess
from decimal import Decimal

import pytest
from tcp_lab.core import pcapwrite as pw
from tcp_lab.core.options import build_options
from tcp_lab.core.segment import ACK, AE, CWR, ECE, FIN, PSH, SYN, Segment

TSHARK_CHECKS = ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "tcp.desegment_tcp_streams:FALSE"]


def tshark_fields(path, *fields, extra=()):
    """One list of field values per packet, as tshark prints them."""
    args = ["tshark", "-n", "-r", str(path), *TSHARK_CHECKS, *extra, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def tshark_expert(path):
    args = ["tshark", "-n", "-r", str(path), *TSHARK_CHECKS, "-q", "-z", "expert"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def handshake_with_data(client, server):
    """A small connection with every option kind Linux puts on a SYN, and data both ways."""
    c_isn, s_isn = 4000000000, 123456
    ts = (11111, 0)
    return [
        (Segment(client, 40001, server, 80, c_isn, 0, SYN, 65495,
                 options=build_options(mss=65495, sack_perm=True, ts=ts, ws=7)), b""),
        (Segment(server, 80, client, 40001, s_isn, c_isn + 1, SYN | ACK, 65483,
                 options=build_options(mss=65495, sack_perm=True, ts=(22222, 11111), ws=7)), b""),
        (Segment(client, 40001, server, 80, c_isn + 1, s_isn + 1, ACK, 512,
                 options=build_options(ts=(11112, 22222))), b""),
        (Segment(client, 40001, server, 80, c_isn + 1, s_isn + 1, PSH | ACK, 512, 5,
                 options=build_options(ts=(11113, 22222))), b"hello"),
        (Segment(server, 80, client, 40001, s_isn + 1, c_isn + 6, PSH | ACK, 512, 7,
                 options=build_options(ts=(22223, 11113))), b"world!\n"),
        (Segment(client, 40001, server, 80, c_isn + 6, s_isn + 8, FIN | ACK, 512,
                 options=build_options(ts=(11114, 22223), sack=((s_isn + 1, s_isn + 8),))), b""),
    ]


@pytest.mark.parametrize(
    "client,server",
    [("192.0.2.10", "198.51.100.20"), ("2001:db8::10", "2001:db8:1::20")],
    ids=["ipv4", "ipv6"],
)
def test_tshark_finds_every_checksum_good_and_reads_options_and_payload(tmp_path, client, server):
    packets = [(1.5 + i / 1000, pw.tcp_packet(seg, payload)) for i, (seg, payload) in enumerate(handshake_with_data(client, server))]
    path = tmp_path / "conn.pcap"
    path.write_bytes(pw.pcap_bytes(packets))
    ip = "ipv6" if ":" in client else "ip"
    rows = tshark_fields(path, "tcp.checksum.status", "ip.checksum.status", "tcp.len", "tcp.seq", "tcp.ack",
                         f"{ip}.src", "tcp.payload", "_ws.col.Info")
    assert len(rows) == 6
    # 1 = "Good": tshark recomputed the checksum and it matched. IPv6 has no header checksum.
    assert [r[0] for r in rows] == ["1"] * 6
    assert [r[1] for r in rows] == (["1"] * 6 if ip == "ip" else [""] * 6)
    assert [r[2] for r in rows] == ["0", "0", "0", "5", "7", "0"]
    assert [r[3] for r in rows] == ["0", "0", "1", "1", "1", "6"]
    assert rows[3][6] == b"hello".hex() and rows[4][6] == b"world!\n".hex()
    assert rows[0][5] == client and rows[1][5] == server
    assert rows[0][7] == ("40001 → 80 [SYN] Seq=0 Win=65495 Len=0 MSS=65495 SACK_PERM TSval=11111 TSecr=0 WS=128")
    assert rows[1][7] == ("80 → 40001 [SYN, ACK] Seq=0 Ack=1 Win=65483 Len=0 MSS=65495 SACK_PERM "
                          "TSval=22222 TSecr=11111 WS=128")
    assert rows[2][7] == "40001 → 80 [ACK] Seq=1 Ack=1 Win=65536 Len=0 TSval=11112 TSecr=22222"
    assert rows[5][7] == "40001 → 80 [FIN, ACK] Seq=6 Ack=8 Win=65536 Len=0 TSval=11114 TSecr=22223 SLE=1 SRE=8"
    expert = tshark_expert(path)
    assert "checksum" not in expert.lower()
    assert "Malformed" not in expert


def test_a_deliberately_wrong_checksum_is_reported_by_tshark(tmp_path):
    seg = Segment("10.0.0.1", 1234, "10.0.0.2", 80, 1, 0, SYN, 1000)
    good = pw.tcp_packet(seg)
    bad = pw.tcp_packet(seg, tcp_checksum=0x1234)
    path = tmp_path / "bad.pcap"
    path.write_bytes(pw.pcap_bytes([(0, good), (1, bad)]))
    assert [r[0] for r in tshark_fields(path, "tcp.checksum.status")] == ["1", "0"]
    assert "Bad checksum" in tshark_expert(path)


def test_internet_checksum_matches_rfc1071_example():
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
    assert pw.internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2
    # An odd length is padded with a zero byte.
    assert pw.internet_checksum(b"\x01") == pw.internet_checksum(b"\x01\x00")


def test_payload_must_match_the_segment_length():
    seg = Segment("10.0.0.1", 1234, "10.0.0.2", 80, 1, 1, ACK, 1000, length=3)
    with pytest.raises(ValueError, match="Len=3"):
        pw.tcp_packet(seg, b"toolong")
    # Without a payload, Len zero bytes are sent.
    assert pw.tcp_packet(seg, link=pw.LINKTYPE_RAW)[-3:] == b"\x00\x00\x00"


def test_every_control_bit_lands_where_tshark_reads_it(tmp_path):
    flags = FIN | SYN | PSH | ACK | ECE | CWR | AE
    seg = Segment("10.0.0.1", 1234, "10.0.0.2", 80, 1, 1, flags, 1000)
    path = tmp_path / "flags.pcap"
    path.write_bytes(pw.pcap_bytes([(0, pw.tcp_packet(seg, urgent=0))]))
    (row,) = tshark_fields(path, "tcp.flags", "tcp.flags.ae", "tcp.hdr_len")
    assert int(row[0], 16) == flags
    assert row[1] in ("1", "True")
    assert row[2] == "20"


def test_short_ethernet_frames_are_padded_to_60_bytes_only_when_asked(tmp_path):
    seg = Segment("10.0.0.2", 80, "10.0.0.1", 1234, 1, 1, ACK, 1000)
    unpadded, padded = pw.tcp_packet(seg), pw.tcp_packet(seg, pad=True)
    assert len(unpadded) == 54 and len(padded) == 60
    path = tmp_path / "pad.pcap"
    path.write_bytes(pw.pcap_bytes([(0, unpadded), (1, padded)]))
    rows = tshark_fields(path, "frame.len", "eth.padding", "tcp.checksum.status", "tcp.len")
    assert rows == [["54", "", "1", "0"], ["60", "000000000000", "1", "0"]]


@pytest.mark.parametrize(
    "link,kwargs,proto_field,expected",
    [
        (pw.LINKTYPE_RAW, {}, "ip.src", "192.0.2.1"),
        (pw.LINKTYPE_NULL, {}, "null.family", "2"),
        (pw.LINKTYPE_LINUX_SLL, {"outgoing": False}, "sll.pkttype", "0"),
        (pw.LINKTYPE_LINUX_SLL2, {"outgoing": True}, "sll.pkttype", "4"),
        (pw.LINKTYPE_ETHERNET, {"vlans": (100,)}, "vlan.id", "100"),
        (pw.LINKTYPE_ETHERNET, {"vlans": (10, 20)}, "ieee8021ad.id", "10"),
    ],
    ids=["raw", "null", "sll", "sll2", "vlan", "qinq"],
)
def test_other_link_types_decode_to_the_same_segment(tmp_path, link, kwargs, proto_field, expected):
    seg = Segment("192.0.2.1", 5555, "192.0.2.2", 443, 77, 0, SYN, 29200, options=build_options(mss=1460))
    path = tmp_path / "link.pcap"
    path.write_bytes(pw.pcap_bytes([(0, pw.tcp_packet(seg, link=link, **kwargs))], link))
    (row,) = tshark_fields(path, proto_field, "tcp.srcport", "tcp.dstport", "tcp.checksum.status", "_ws.col.Info")
    assert row == [expected, "5555", "443", "1", "5555 → 443 [SYN] Seq=0 Win=29200 Len=0 MSS=1460"]


def test_ipv6_over_null_and_sll2(tmp_path):
    seg = Segment("::1", 5555, "::1", 8080, 1, 0, SYN, 65535)
    for link in (pw.LINKTYPE_NULL, pw.LINKTYPE_LINUX_SLL2):
        path = tmp_path / f"v6-{link}.pcap"
        path.write_bytes(pw.pcap_bytes([(0, pw.tcp_packet(seg, link=link))], link))
        (row,) = tshark_fields(path, "ipv6.src", "tcp.dstport", "tcp.checksum.status")
        assert row == ["::1", "8080", "1"]


def test_time_stamps_in_micro_and_nanosecond_files(tmp_path):
    seg = Segment("10.0.0.1", 1, "10.0.0.2", 2, 0, 0, SYN, 1)
    frame = pw.tcp_packet(seg)
    for nano, expected in ((False, "1601703573.118402000"), (True, "1601703573.118402123")):
        path = tmp_path / f"t{nano}.pcap"
        path.write_bytes(pw.pcap_bytes([(Decimal("1601703573.118402123"), frame)], nanosecond=nano))
        assert tshark_fields(path, "frame.time_epoch") == [[expected]]
    # A float is rounded to the nearest microsecond in a microsecond file.
    path = tmp_path / "float.pcap"
    path.write_bytes(pw.pcap_bytes([(1601703573.25, frame)]))
    assert tshark_fields(path, "frame.time_epoch") == [["1601703573.250000000"]]


def test_snaplen_cuts_the_frame_and_keeps_the_original_length(tmp_path):
    seg = Segment("10.0.0.1", 1, "10.0.0.2", 2, 0, 0, ACK | PSH, 1, length=100)
    path = tmp_path / "snap.pcap"
    path.write_bytes(pw.pcap_bytes([(0, pw.tcp_packet(seg))], snaplen=68))
    assert tshark_fields(path, "frame.len", "frame.cap_len") == [["154", "68"]]
