"""The fused fast path gives exactly what CaptureReader + decode give, in any chunking."""

from __future__ import annotations

import struct
from collections import Counter

import capbuild as cb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tcp_lab.core.decode import Decoded, decode
from tcp_lab.core.pcapfile import CaptureReader
from tcp_lab.core.segment import ACK, FIN, PSH, SYN
from tcp_lab.core.tcpscan import FLAT_FIELDS, TcpScanner, iter_tcp, iter_tcp_flat

SYN_OPTS = cb.MSS_1460 + cb.SACK_PERM + cb.ts_opt(1, 0) + cb.NOP + cb.WS_7
TS = cb.NOP + cb.NOP + cb.ts_opt(2, 1)

ETH_FRAMES = [
    cb.eth(cb.ipv4(cb.tcp(flags=SYN, options=SYN_OPTS))),  # fast path
    cb.eth(cb.ipv4(cb.tcp(flags=ACK, ack=1, options=TS)), ), # fast path, 66 bytes
    cb.eth(cb.ipv4(cb.tcp(flags=ACK)), pad_to=60),  # fast path, padding
    cb.eth(cb.ipv4(cb.tcp(flags=PSH | ACK, options=TS, payload=b"d" * 500))),
    cb.eth(cb.ipv4(cb.tcp(flags=ACK), options=bytes((148, 4, 0, 0)))),  # IP options: slow path
    cb.eth(cb.ipv4(cb.udp(), proto=17)),  # not TCP
    cb.eth(cb.ipv4(cb.tcp(flags=ACK, payload=b"f" * 64), frag=0x2000)),  # fragment
    cb.eth(cb.ipv6(cb.tcp(flags=FIN | ACK, options=TS)), ethertype=0x86DD),
    cb.eth(cb.ipv4(cb.tcp(flags=ACK)), vlans=[(0x8100, 3)]),
    cb.eth(cb.ipv4(cb.tcp(flags=ACK, payload=b"t" * 2000), total=0)),  # TSO: slow path
    cb.eth(cb.ipv4(cb.tcp(doff=3, payload=bytes(30)))),  # bad data offset
    cb.eth(cb.ipv4(cb.tcp(flags=ACK, payload=b"q"), total=500)),  # IP longer than the frame
    cb.eth(bytes(28), ethertype=0x0806),  # ARP
    cb.eth(cb.ipv4(cb.tcp(flags=ACK)))[:30],  # truncated
]


def slow(data: bytes) -> tuple[list, Counter, list, int]:
    """The reference: CaptureReader, then decode every record."""
    reader = CaptureReader()
    reader.feed(data)
    out = []
    skipped: Counter[str] = Counter()
    for rec in reader.records():
        seg = decode(rec.linktype, rec.data, rec.wirelen)
        if isinstance(seg, str):
            skipped[seg] += 1
        else:
            out.append((reader.frames, rec.ts, rec.wirelen, *seg))
    reader.finish()
    skipped.update(reader.skipped)
    return out, skipped, reader.problems, reader.frames


def fast(data: bytes, cuts: list[int], flat: bool = True) -> tuple[list, Counter, list, int]:
    scan = TcpScanner(flat=flat)
    out = []
    start = 0
    for p in sorted({c for c in cuts if 0 < c < len(data)}) + [len(data)]:
        out += scan.feed(data[start:p])
        start = p
    scan.finish()
    assert scan.segments == len(out)
    return out, Counter(scan.skipped), scan.problems, scan.frames


def pcap_mixed(order: str = "<", nano: bool = False) -> bytes:
    return cb.pcap([(1700000000 + i, i * 1111, f) for i, f in enumerate(ETH_FRAMES * 3)], order=order, nano=nano)


def pcapng_mixed() -> bytes:
    out = cb.shb() + cb.idb(1) + cb.idb(113, tsresol=9) + cb.idb(101, 1500)
    for i, f in enumerate(ETH_FRAMES):
        out += cb.epb(f, 0, 1_700_000_000_000_000 + i)
        out += cb.epb(cb.sll(f[14:]), 1, 1_700_000_000_000_000_000 + i)
        if i % 4 == 0:
            out += cb.block(0x777, bytes(8)) + cb.spb(f) + cb.pb(f, 2, 5)
    out += cb.shb(">") + cb.idb(1, order=">")
    for f in ETH_FRAMES:
        out += cb.epb(f, 0, 99, ">")
    out += cb.epb(ETH_FRAMES[0], 1, 99, ">")  # no such interface in this section
    return out


SAMPLES = {
    "pcap-le-usec": pcap_mixed(),
    "pcap-be-nsec": pcap_mixed(">", True),
    "pcap-snaplen": cb.pcap_header(snaplen=100) + b"".join(cb.pcap_record(i, 0, f) for i, f in enumerate(ETH_FRAMES)),
    "pcap-sll": cb.pcap([cb.sll(f[14:]) for f in ETH_FRAMES], linktype=113),
    "pcapng": pcapng_mixed(),
    "pcap-absurd": pcap_mixed() + struct.pack("<IIII", 1, 2, 1 << 31, 1 << 31) + bytes(64),
    "pcapng-lying": pcapng_mixed() + cb.block(6, bytes(40), trailer=44) + cb.epb(ETH_FRAMES[0]),
    "truncated": pcap_mixed()[:-7],
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_fast_path_equals_reader_plus_decode(name):
    data = SAMPLES[name]
    ref = slow(data)
    assert ref[0], "the sample must hold TCP segments"
    assert fast(data, []) == ref
    assert fast(data, list(range(0, len(data), 1))) == ref  # one byte at a time
    assert fast(data, list(range(0, len(data), 61))) == ref


@settings(max_examples=120, deadline=None)
@given(name=st.sampled_from(sorted(SAMPLES)), cuts=st.lists(st.integers(0, 6000), max_size=40))
def test_random_chunking(name, cuts):
    data = SAMPLES[name]
    assert fast(data, cuts) == slow(data)


def test_every_skip_has_a_reason_and_everything_is_accounted_for():
    data = SAMPLES["pcapng"]
    segs, skipped, problems, frames = fast(data, [])
    assert problems == []
    assert all(isinstance(k, str) and k for k in skipped)
    # Every packet record is either a segment or a counted skip (unknown blocks are skips
    # too, but they are not frames).
    assert len(segs) + sum(skipped.values()) - skipped["unknown pcapng block type"] == frames
    assert skipped["not TCP: UDP"] >= 1 and skipped["IPv4 fragment"] >= 1 and skipped["not IP: ARP"] >= 1


def test_nested_form_is_ts_and_decoded():
    data = SAMPLES["pcap-le-usec"]
    nested, *_ = fast(data, [1000], flat=False)
    flat, *_ = fast(data, [1000], flat=True)
    assert [(ts, tuple(seg)) for ts, seg in nested] == [(f[1], f[3:]) for f in flat]
    assert all(type(seg) is Decoded for _, seg in nested)
    assert len(FLAT_FIELDS) == len(flat[0]) == 15
    first = dict(zip(FLAT_FIELDS, flat[0]))
    assert first["frame_no"] == 1 and first["ts"] == 1700000000.0 and first["wirelen"] == len(ETH_FRAMES[0])
    assert first["options"] == SYN_OPTS and first["flags"] == SYN
    assert type(first["options"]) is bytes and type(first["src"]) is bytes


def test_iterators_and_counters():
    data = SAMPLES["truncated"]
    scan = TcpScanner()
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    items = list(iter_tcp(chunks, scan))
    assert items and all(type(d) is Decoded for _, d in items)
    assert scan.format == "pcap"
    assert len(scan.problems) == 1 and "ends inside a record" in scan.problems[0].message
    flat = list(iter_tcp_flat(chunks))
    assert [f[3:] for f in flat] == [tuple(d) for _, d in items]
    with pytest.raises(ValueError):
        iter_tcp_flat(chunks, TcpScanner())


def test_empty_and_not_a_capture():
    scan = TcpScanner()
    assert list(iter_tcp([], scan)) == [] and "empty" in scan.problems[0].message
    scan = TcpScanner()
    assert list(iter_tcp([b"GET / HTTP/1.1\r\n"], scan)) == []
    assert "not a pcap or pcapng capture" in scan.problems[0].message
    assert scan.dead


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(SAMPLES)),
       edits=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), min_size=1, max_size=10),
       cut=st.integers(0, 6000), cuts=st.lists(st.integers(0, 6000), max_size=10))
def test_damaged_captures_agree_and_never_raise(name, edits, cut, cuts):
    data = bytearray(SAMPLES[name])
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    data = bytes(data[:cut])
    assert fast(data, cuts) == slow(data)
