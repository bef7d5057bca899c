"""The capture reader: pcap and pcapng layouts, damage, and streaming in chunks of any size."""

from __future__ import annotations

import struct
import tracemalloc

import capbuild as cb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tcp_lab.core.pcapfile import (
    SKIP_CAPLEN_PAST_BLOCK,
    SKIP_NO_IDB,
    SKIP_OVER_SNAPLEN,
    SKIP_UNKNOWN_BLOCK,
    CaptureReader,
    Record,
)

F1 = cb.eth(cb.ipv4(cb.tcp(flags=0x02)))
F2 = cb.eth(cb.ipv4(cb.tcp(flags=0x12, payload=b"x" * 33)))
F3 = cb.sll(cb.ipv4(cb.udp()))


def read(data: bytes, chunk: int | None = None) -> tuple[list[Record], CaptureReader]:
    reader = CaptureReader()
    out: list[Record] = []
    if chunk is None:
        reader.feed(data)
        out += reader.records()
    else:
        for i in range(0, len(data), chunk):
            reader.feed(data[i : i + chunk])
            out += reader.records()
    reader.finish()
    return out, reader


# -- pcap -----------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("nano", [False, True], ids=["usec", "nsec"])
def test_pcap_byte_orders_and_resolutions(order, nano):
    frac = 123456789 if nano else 123456
    data = cb.pcap([(1700000000, frac, F1), (1700000001, 0, F2)], order=order, nano=nano)
    recs, reader = read(data)
    assert reader.format == "pcap" and reader.problems == [] and not reader.skipped
    assert [r.data for r in recs] == [F1, F2]
    assert recs[0].ts == pytest.approx(1700000000.123456789 if nano else 1700000000.123456, abs=1e-9)
    assert recs[0].ts == 1700000000 + frac / (1e9 if nano else 1e6)
    assert recs[1].ts == 1700000001.0
    assert [(r.linktype, r.caplen, r.wirelen, r.interface) for r in recs] == [
        (1, len(F1), len(F1), 0), (1, len(F2), len(F2), 0)]
    assert type(recs[0].data) is bytes
    assert reader.frames == 2


def test_pcap_link_type_and_fcs_bits():
    data = cb.pcap([F3], linktype=113 | 0x14000000)  # FCS length 1 (x16 bits) + F flag
    recs, _ = read(data)
    assert recs[0].linktype == 113


def test_pcap_record_shorter_on_capture_than_on_the_wire():
    data = cb.pcap_header(snaplen=96) + cb.pcap_record(5, 6, F2[:60], wirelen=len(F2))
    (rec,), _ = read(data)
    assert (rec.caplen, rec.wirelen, rec.data) == (60, len(F2), F2[:60])


def test_pcap_caplen_over_snaplen_is_skipped_and_reading_goes_on():
    data = (cb.pcap_header(snaplen=64) + cb.pcap_record(1, 0, F2 + bytes(40)) + cb.pcap_record(2, 0, F1))
    recs, reader = read(data)
    assert [r.data for r in recs] == [F1]
    assert reader.skipped == {SKIP_OVER_SNAPLEN: 1}
    assert reader.frames == 2 and reader.problems == []


def test_pcap_absurd_caplen_is_a_problem_not_an_allocation():
    data = cb.pcap([F1]) + struct.pack("<IIII", 3, 0, 0x80000000, 0x80000000) + bytes(100)
    tracemalloc.start()
    reader = CaptureReader()
    reader.feed(data)
    recs = list(reader.records())
    for _ in range(100):
        reader.feed(bytes(4096))
        recs += reader.records()
    reader.finish()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [r.data for r in recs] == [F1]
    assert len(reader.problems) == 1
    offset, message = reader.problems[0]
    assert offset == 24 + 16 + len(F1)
    assert "2147483648" in message and "damaged" in message
    assert peak < 2_000_000


def test_large_snaplen_allows_large_records():
    big = cb.eth(cb.ipv4(cb.tcp(flags=0x10, payload=bytes(300000)), total=0))
    data = cb.pcap([big], snaplen=524288)
    (rec,), reader = read(data)
    assert rec.caplen == len(big) and reader.problems == []


@pytest.mark.parametrize(
    "data,offset,words",
    [
        (b"", 0, "empty"),
        (cb.pcap_header()[:10], 0, "inside the capture file header"),
        (cb.pcap([F1])[:-5], 24, "ends inside a record"),
        (cb.pcap([F1])[:30], 24, "ends inside a record"),
        (b"Hello, this is a text file\n", 0, "not a pcap or pcapng capture (it starts with 48 65 6c 6c)"),
        (b"\x1f\x8b\x08\x00" + bytes(30), 0, "gzip"),
        (struct.pack("<I", 0xA1B2CD34) + bytes(40), 0, "modified pcap"),
        (cb.pcap_header(major=3), 0, "pcap version 3.4 is not supported"),
    ],
    ids=["empty", "short-header", "cut-record", "cut-record-header", "text", "gzip", "modified", "version"],
)
def test_pcap_damage(data, offset, words):
    recs, reader = read(data)
    assert recs == []
    assert len(reader.problems) == 1
    assert reader.problems[0].offset == offset
    assert words in reader.problems[0].message
    assert reader.problems[0].message.count(".") <= 3  # one sentence


def test_input_after_a_fatal_problem_is_ignored():
    reader = CaptureReader()
    reader.feed(b"garbage!")
    assert list(reader.records()) == []
    reader.feed(cb.pcap([F1]))
    assert list(reader.records()) == []
    reader.finish()
    assert len(reader.problems) == 1


# -- pcapng ---------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
def test_pcapng_interfaces_resolutions_and_packet_blocks(order):
    data = (
        cb.shb(order)
        + cb.idb(1, 262144, order, name="eth0")  # microseconds (default)
        + cb.idb(113, 65535, order, tsresol=9)  # nanoseconds
        + cb.idb(101, 0, order, tsresol=0x80 | 20, tsoffset=100)  # 2^-20 s, +100 s
        + cb.epb(F1, 0, 1_700_000_000_123_456, order)
        + cb.epb(F3, 1, 1_700_000_000_123_456_789, order, options=cb.option(1, b"comment", order))
        + cb.epb(F2[14:], 2, 3 << 20 | 1 << 19, order)
        + cb.pb(F2, 0, 1_700_000_001_000_000, order)
        + cb.spb(F2, order)
    )
    recs, reader = read(data)
    assert reader.format == "pcapng" and reader.problems == [] and not reader.skipped
    assert [(r.linktype, r.interface, r.data) for r in recs] == [
        (1, 0, F1), (113, 1, F3), (101, 2, F2[14:]), (1, 0, F2), (1, 0, F2)]
    assert recs[0].ts == 1700000000.123456
    assert recs[1].ts == pytest.approx(1700000000.123456789, abs=1e-6)
    assert recs[2].ts == 103.5
    assert recs[3].ts == 1700000001.0
    assert recs[4].ts == recs[3].ts  # a Simple Packet Block has no time: it keeps the last one
    assert reader.frames == 5


def test_pcapng_simple_packet_block_uses_interface_zero_snaplen():
    data = cb.shb() + cb.idb(1, 60) + cb.spb(F2)
    (rec,), _ = read(data)
    assert rec.caplen == 60 and rec.wirelen == len(F2) and rec.data == F2[:60]


def test_pcapng_several_sections_in_either_byte_order():
    data = (cb.shb("<") + cb.idb(1, order="<") + cb.idb(113, order="<") + cb.epb(F3, 1, 5, "<")
            + cb.shb(">") + cb.idb(101, order=">") + cb.epb(F1[14:], 0, 6, ">")
            + cb.epb(F3, 1, 7, ">"))  # the new section has only interface 0
    recs, reader = read(data)
    assert [(r.linktype, r.interface, r.data) for r in recs] == [(113, 1, F3), (101, 0, F1[14:])]
    assert reader.skipped == {SKIP_NO_IDB: 1}
    assert reader.problems == []


def test_pcapng_packet_for_an_interface_with_no_description():
    data = cb.shb() + cb.epb(F1, 0, 5) + cb.spb(F1) + cb.idb() + cb.epb(F1, 3, 5) + cb.epb(F2, 0, 5)
    recs, reader = read(data)
    assert [r.data for r in recs] == [F2]
    assert reader.skipped == {SKIP_NO_IDB: 3}
    assert reader.frames == 4


def test_pcapng_other_and_unknown_blocks():
    data = (cb.shb() + cb.idb() + cb.block(4, bytes(8)) + cb.block(5, bytes(12)) + cb.block(0x0BAD, bytes(8))
            + cb.block(0x12345678, bytes(20)) + cb.block(0x80000001, b"") + cb.epb(F1, 0, 1))
    recs, reader = read(data)
    assert [r.data for r in recs] == [F1]
    assert reader.skipped == {SKIP_UNKNOWN_BLOCK: 2}
    assert reader.other_blocks == {"name resolution": 1, "interface statistics": 1, "custom": 1}


def test_pcapng_caplen_past_the_block_and_over_snaplen_are_skipped():
    data = cb.shb() + cb.idb(1, 64) + cb.epb(F1, caplen=200) + cb.epb(F2 + bytes(40)) + cb.epb(F1)
    recs, reader = read(data)
    assert [r.data for r in recs] == [F1]
    assert reader.skipped == {SKIP_CAPLEN_PAST_BLOCK: 1, SKIP_OVER_SNAPLEN: 1}


@pytest.mark.parametrize(
    "bad,words",
    [
        (cb.block(6, bytes(40), trailer=999), "at its start but 999 at its end"),
        (cb.block(6, bytes(40), length=50), "impossible length (50 bytes)"),
        (cb.block(6, bytes(40), length=8), "impossible length (8 bytes)"),
        (cb.block(6, bytes(40), length=0x7FFFFFF0), "impossible length"),
        (cb.shb(major=2), "pcapng version 2.0 is not supported"),
        (cb.shb()[:8] + b"\x01\x02\x03\x04" + cb.shb()[12:], "no valid byte-order magic"),
        (cb.block(1, bytes(4)), "interface description block"),
    ],
    ids=["trailer", "not-multiple-of-4", "below-12", "huge", "shb-version", "shb-bom", "short-idb"],
)
def test_pcapng_lying_blocks_are_problems(bad, words):
    data = cb.shb() + cb.idb() + cb.epb(F1) + bad + cb.epb(F2)
    recs, reader = read(data)
    assert [r.data for r in recs] == [F1]
    assert len(reader.problems) == 1
    assert reader.problems[0].offset == len(cb.shb() + cb.idb() + cb.epb(F1))
    assert words in reader.problems[0].message


def test_pcapng_truncated_tail():
    data = cb.shb() + cb.idb() + cb.epb(F1) + cb.epb(F2)[:30]
    recs, reader = read(data)
    assert [r.data for r in recs] == [F1]
    assert reader.problems[0].offset == len(cb.shb() + cb.idb() + cb.epb(F1))
    assert "ends inside a record: only 30 bytes" in reader.problems[0].message


# -- streaming ------------------------------------------------------------------------------

PCAP_SAMPLE = cb.pcap([F1, F2, F3, F1[:40], F2], order=">", nano=True)
PCAPNG_SAMPLE = (cb.shb(">") + cb.idb(1, order=">") + cb.idb(113, order=">", tsresol=9) + cb.epb(F1, 0, 7, ">")
                 + cb.block(0x999, bytes(16), ">") + cb.epb(F3, 1, 8, ">") + cb.shb("<") + cb.idb(1)
                 + cb.spb(F2) + cb.pb(F1, 0, 9) + cb.epb(F2, 0, 10))


@pytest.mark.parametrize("sample", [PCAP_SAMPLE, PCAPNG_SAMPLE], ids=["pcap", "pcapng"])
def test_one_byte_at_a_time_gives_the_same_records(sample):
    whole, r1 = read(sample)
    bytewise, r2 = read(sample, chunk=1)
    assert bytewise == whole and len(whole) >= 5
    assert (r1.skipped, r1.problems, r1.frames) == (r2.skipped, r2.problems, r2.frames)


@pytest.mark.parametrize("sample", [PCAP_SAMPLE, PCAPNG_SAMPLE], ids=["pcap", "pcapng"])
def test_records_come_out_as_soon_as_their_last_byte_arrives(sample):
    whole, _ = read(sample)
    reader = CaptureReader()
    got: list[Record] = []
    seen_at: list[int] = []
    for i in range(len(sample)):
        reader.feed(sample[i : i + 1])
        for rec in reader.records():
            got.append(rec)
            seen_at.append(i + 1)
    assert got == whole
    # Each record appeared exactly when the stream reached the end of its record/block.
    ends = []
    for end in range(1, len(sample) + 1):
        r, _ = read(sample[:end])
        if len(r) > len(ends):
            ends.append(end)
    assert seen_at == ends


@settings(max_examples=150, deadline=None)
@given(sample=st.sampled_from([PCAP_SAMPLE, PCAPNG_SAMPLE]), cuts=st.lists(st.integers(0, 2000), max_size=30))
def test_random_chunking_gives_the_same_records(sample, cuts):
    whole, r1 = read(sample)
    reader = CaptureReader()
    got: list[Record] = []
    points = sorted({c for c in cuts if c < len(sample)}) + [len(sample)]
    start = 0
    for p in points:
        reader.feed(sample[start:p])
        got += reader.records()
        start = p
    reader.finish()
    assert got == whole
    assert (reader.skipped, reader.problems) == (r1.skipped, r1.problems)


@settings(max_examples=300, deadline=None)
@given(sample=st.sampled_from([PCAP_SAMPLE, PCAPNG_SAMPLE]),
       edits=st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.integers(0, 700))
def test_damaged_captures_never_raise(sample, edits, cut):
    data = bytearray(sample)
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    recs, reader = read(bytes(data[:cut]), chunk=7)
    for rec in recs:
        assert rec.caplen == len(rec.data)
    assert all(p.message for p in reader.problems)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), head=st.sampled_from([b"", cb.pcap_header(), cb.shb(), cb.shb(">")]))
def test_random_bytes_never_raise(data, head):
    recs, _ = read(head + data, chunk=13)
    assert isinstance(recs, list)
