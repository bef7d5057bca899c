"""Build the corpus of broken captures (and things that are not captures) into a directory.

    uv run python tests/make_malformed.py DIR            # write the corpus, list it
    uv run python tests/make_malformed.py DIR --table    # also run tcp-lab on each file
                                                         # and print the README table

Every case starts from a real recording, captures/normal.pcap (11 segments: handshake,
one request and answer, four-way teardown), and breaks it one way. The bytes are written
with struct here, never with core/ (a test must not build its input with the code it
checks). tests/test_malformed_files.py generates the corpus into pytest's tmp_path and holds
`tcp-lab replay` to one expected outcome per case: that table is the specification.

Each case is `Case(name, what, build)`: `build(dir)` writes the file (or directory, or
nothing, for a path that does not exist) and returns its path. Files stay small: the
"2 GB caplen" case is a 16-byte record header that *claims* 2 GB.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import struct
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NORMAL = ROOT / "captures" / "normal.pcap"

sys.path.insert(0, str(Path(__file__).resolve().parent))
import capbuild as cb  # noqa: E402


# -- the real capture, taken apart -------------------------------------------------------


def normal_bytes() -> bytes:
    return NORMAL.read_bytes()


def normal_records() -> list[tuple[int, int, bytes, int]]:
    """(seconds, microseconds, frame bytes, wire length) of each record of normal.pcap."""
    data = normal_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4, "normal.pcap is a little-endian usec pcap"
    out, pos = [], 24
    while pos < len(data):
        sec, usec, caplen, wirelen = struct.unpack_from("<IIII", data, pos)
        out.append((sec, usec, data[pos + 16 : pos + 16 + caplen], wirelen))
        pos += 16 + caplen
    return out




def record_offsets() -> list[int]:
    """Byte offset of each record header in normal.pcap, then the file's length."""
    offs, pos = [], 24
    for _sec, _usec, frame, _wl in normal_records():
        offs.append(pos)
        pos += 16 + len(frame)
    return offs + [pos]


def rec(sec: int, usec: int, frame: bytes, wirelen: int | None = None, caplen: int | None = None,
        order: str = "<") -> bytes:
    return struct.pack(order + "IIII", sec, usec, len(frame) if caplen is None else caplen,
                       len(frame) if wirelen is None else wirelen) + frame


def pcap_of(records, snaplen: int = 262144, order: str = "<", linktype: int = 1, major: int = 2,
            magic: int = 0xA1B2C3D4) -> bytes:
    out = bytearray(struct.pack(order + "IHHiIII", magic, major, 4, 0, 0, snaplen, linktype))
    for sec, usec, frame, wirelen in records:
        out += rec(sec, usec, frame, wirelen, order=order)
    return bytes(out)


def pcapng_of(records, order: str = "<", extra_before: int = 0, block: bytes = b"",
              idb: bool = True) -> bytes:
    """normal.pcap as pcapng (what `editcap -F pcapng` makes: SHB, IDB, EPBs in µs);
    `block` is inserted before the EPB at index `extra_before`."""
    out = bytearray(cb.shb(order))
    if idb:
        out += cb.idb(linktype=1, snaplen=262144, order=order)
    for i, (sec, usec, frame, wirelen) in enumerate(records):
        if i == extra_before and block:
            out += block
        out += cb.epb(frame, 0, sec * 1_000_000 + usec, order=order, wirelen=wirelen)
    return bytes(out)


# -- the cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    what: str  # the README table's "input" column
    build: Callable[[Path], Path]


def _file(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        p = d / name
        p.write_bytes(data)
        return p
    return build


def _lazy(name: str, make: Callable[[], bytes]) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        p = d / name
        p.write_bytes(make())
        return p
    return build


def _mid() -> int:
    """The offset of record 6 (index 5) of normal.pcap: 5 records before it."""
    return record_offsets()[5]


def _replace(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new):]


def bad_magic() -> bytes:
    return _replace(normal_bytes(), 0, b"\xde\xad\xbe\xef")


def caplen_2gb_middle() -> bytes:
    data = normal_bytes()
    at = _mid()
    return _replace(data, at + 8, struct.pack("<I", 0x80000000))


def caplen_2gb_last() -> bytes:
    data = normal_bytes()
    at = record_offsets()[-2]
    return _replace(data, at + 8, struct.pack("<I", 0x80000000))


def caplen_over_snaplen() -> bytes:
    """snaplen 96; record 6 (107 bytes of payload, 173 captured) claims more than 96."""
    return pcap_of(normal_records(), snaplen=96)


def zero_length_records() -> bytes:
    recs = normal_records()
    out = []
    for i, r in enumerate(recs):
        out.append(r)
        if i in (2, 6):
            out.append((r[0], r[1] + 1, b"", 0))  # caplen 0, wirelen 0
            out.append((r[0], r[1] + 2, b"", 60))  # caplen 0, wirelen 60
    return pcap_of(out)


def truncated_record(cut: int) -> Callable[[], bytes]:
    return lambda: normal_bytes()[:-cut]


def cut_in_record_header() -> bytes:
    return normal_bytes()[: record_offsets()[-2] + 7]


def pcapng_unknown_block() -> bytes:
    return pcapng_of(normal_records(), extra_before=4, block=cb.block(0x0BADF00D, b"\x01\x02\x03\x04" * 5))


def pcapng_length_lies_middle() -> bytes:
    """A block whose leading length field disagrees with its trailing one, mid-file."""
    recs = normal_records()
    bad = cb.block(6, b"\x00" * 40, length=56, trailer=60)
    return pcapng_of(recs, extra_before=5, block=bad)


def pcapng_length_past_end() -> bytes:
    """The last EPB says it is longer than what is left of the file (cut short)."""
    data = pcapng_of(normal_records())
    return data[:-20]


def pcapng_length_not_multiple_of_4() -> bytes:
    recs = normal_records()
    bad = struct.pack("<II", 0x0BADF00D, 30) + b"\0" * 22
    return pcapng_of(recs, extra_before=5, block=bad)


def pcapng_epb_without_idb() -> bytes:
    return pcapng_of(normal_records(), idb=False)


def pcapng_big_endian() -> bytes:
    return pcapng_of(normal_records(), order=">")


def pcapng_two_sections_two_orders() -> bytes:
    recs = normal_records()
    return pcapng_of(recs[:5], order="<") + pcapng_of(recs[5:], order=">")


def pcapng_huge_interface_count() -> bytes:
    """100,000 interface descriptions, then the packets on the last one."""
    recs = normal_records()
    out = bytearray(cb.shb())
    one = cb.idb(linktype=1, snaplen=262144)
    out += one * 100_000
    for sec, usec, frame, wirelen in recs:
        out += cb.epb(frame, 99_999, sec * 1_000_000 + usec, wirelen=wirelen)
    return bytes(out)


def pcapng_interface_out_of_range() -> bytes:
    """EPBs naming interface 4294967295 (there is one interface, number 0)."""
    recs = normal_records()
    out = bytearray(cb.shb() + cb.idb())
    for i, (sec, usec, frame, wirelen) in enumerate(recs):
        iface = 0xFFFFFFFF if i in (3, 4) else 0
        out += cb.epb(frame, iface, sec * 1_000_000 + usec, wirelen=wirelen)
    return bytes(out)


def pcapng_caplen_past_block() -> bytes:
    recs = normal_records()
    out = bytearray(cb.shb() + cb.idb())
    for i, (sec, usec, frame, wirelen) in enumerate(recs):
        caplen = 60000 if i == 3 else None
        out += cb.epb(frame, 0, sec * 1_000_000 + usec, wirelen=wirelen, caplen=caplen)
    return bytes(out)


def pcapng_version_2() -> bytes:
    return cb.shb(major=2) + cb.idb() + b"".join(
        cb.epb(f, 0, s * 1_000_000 + u, wirelen=w) for s, u, f, w in normal_records())


def pcapng_odd_tsresol() -> bytes:
    """if_tsresol 2^-127 and if_tsoffset near the largest int64: odd but valid times."""
    recs = normal_records()
    out = bytearray(cb.shb() + cb.idb(tsresol=0xFF, tsoffset=(1 << 62)))
    for sec, usec, frame, wirelen in recs:
        out += cb.epb(frame, 0, (sec * 1_000_000 + usec) << 12, wirelen=wirelen)
    return bytes(out)


def pcap_big_endian_nsec() -> bytes:
    return pcap_of([(s, u * 1000, f, w) for s, u, f, w in normal_records()], order=">", magic=0xA1B23C4D)


def pcap_version_3() -> bytes:
    return pcap_of(normal_records(), major=3)


def modified_pcap() -> bytes:
    return pcap_of(normal_records(), magic=0xA1B2CD34)


def unsupported_linktype() -> bytes:
    return pcap_of(normal_records(), linktype=105)  # IEEE 802.11


def only_udp() -> bytes:
    return cb.pcap([cb.eth(cb.ipv4(cb.udp(), proto=17)) for _ in range(3)])


def header_only() -> bytes:
    return normal_bytes()[:24]


def trailing_garbage() -> bytes:
    return normal_bytes() + b"\x00garbage"


def timestamps_backwards() -> bytes:
    recs = normal_records()
    return pcap_of([(2_000_000_000 - s, u, f, w) for s, u, f, w in recs])


def zip_of_capture() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("normal.pcap", normal_bytes())
    return buf.getvalue()


def _directory(d: Path) -> Path:
    p = d / "a-directory.pcap"
    p.mkdir(exist_ok=True)
    return p


def _missing(d: Path) -> Path:
    return d / "no-such-file.pcap"


def _unreadable(d: Path) -> Path:
    p = d / "unreadable.pcap"
    p.write_bytes(normal_bytes())
    p.chmod(0)
    return p


def _growing(d: Path) -> Path:
    """The file as a writer leaves it mid-record: tests/test_malformed_files.py keeps a
    writer appending to it while tcp-lab reads."""
    p = d / "growing.pcap"
    p.write_bytes(normal_bytes()[: record_offsets()[7] + 20])
    return p


def _fifo(d: Path) -> Path:
    p = d / "a-fifo.pcap"
    if not p.exists():
        os.mkfifo(p)
    return p


CASES: tuple[Case, ...] = (
    Case("empty", "an empty file", _file("empty.pcap", b"")),
    Case("text", "a text file", _file("notes.txt", b"SYN, SYN-ACK, ACK\nthen FIN, ACK, FIN, ACK\n")),
    Case("gzip", "a gzip-compressed capture", _lazy("normal.pcap.gz", lambda: gzip.compress(normal_bytes()))),
    Case("bzip2", "a bzip2-compressed capture", _lazy("normal.pcap.bz2", lambda: bz2.compress(normal_bytes()))),
    Case("xz", "an xz-compressed capture", _lazy("normal.pcap.xz", lambda: lzma.compress(normal_bytes()))),
    Case("zip", "a zip archive holding a capture", _lazy("normal.zip", zip_of_capture)),
    Case("directory", "a directory", _directory),
    Case("missing", "a path that does not exist", _missing),
    Case("unreadable", "a file the user may not read (mode 000, run as nobody)", _unreadable),
    Case("bad-magic", "bad magic number (first 4 bytes de ad be ef)", _lazy("bad-magic.pcap", bad_magic)),
    Case("short-header", "truncated global header (10 of 24 bytes)", _lazy("short-header.pcap", lambda: normal_bytes()[:10])),
    Case("header-only", "a pcap header and no packets", _lazy("header-only.pcap", header_only)),
    Case("pcap-v3", "pcap version 3.4", _lazy("pcap-v3.pcap", pcap_version_3)),
    Case("modified-pcap", "Kuznetsov's 'modified pcap' magic", _lazy("modified.pcap", modified_pcap)),
    Case("truncated-record", "last record cut short (5 bytes missing)", _lazy("truncated-record.pcap", truncated_record(5))),
    Case("cut-in-record-header", "file ends 7 bytes into a record header", _lazy("cut-header.pcap", cut_in_record_header)),
    Case("trailing-garbage", "8 bytes of garbage after the last record", _lazy("trailing-garbage.pcap", trailing_garbage)),
    Case("caplen-over-snaplen", "records longer than the file's snaplen (96)", _lazy("over-snaplen.pcap", caplen_over_snaplen)),
    Case("caplen-2gb-middle", "a record claiming 2 GB captured, mid-file", _lazy("caplen-2gb.pcap", caplen_2gb_middle)),
    Case("caplen-2gb-last", "the last record claiming 2 GB captured", _lazy("caplen-2gb-last.pcap", caplen_2gb_last)),
    Case("zero-length-records", "zero-length records between real ones", _lazy("zero-length.pcap", zero_length_records)),
    Case("linktype-802.11", "link type 105 (802.11), not supported", _lazy("wifi.pcap", unsupported_linktype)),
    Case("only-udp", "a valid capture with no TCP (3 UDP packets)", _lazy("udp.pcap", only_udp)),
    Case("time-backwards", "timestamps that go backwards", _lazy("backwards.pcap", timestamps_backwards)),
    Case("pcap-be-nsec", "big-endian, nanosecond pcap (valid)", _lazy("be-nsec.pcap", pcap_big_endian_nsec)),
    Case("pcapng", "pcapng (as editcap -F pcapng writes it; valid)", _lazy("normal.pcapng", lambda: pcapng_of(normal_records()))),
    Case("pcapng-big-endian", "pcapng section in big-endian byte order (valid)", _lazy("be.pcapng", pcapng_big_endian)),
    Case("pcapng-two-orders", "two pcapng sections of opposite byte orders (valid)", _lazy("two-orders.pcapng", pcapng_two_sections_two_orders)),
    Case("pcapng-unknown-block", "pcapng with an unknown block type", _lazy("unknown-block.pcapng", pcapng_unknown_block)),
    Case("pcapng-length-lies", "pcapng block whose two length fields disagree, mid-file", _lazy("length-lies.pcapng", pcapng_length_lies_middle)),
    Case("pcapng-length-odd", "pcapng block length not a multiple of 4, mid-file", _lazy("length-odd.pcapng", pcapng_length_not_multiple_of_4)),
    Case("pcapng-cut-short", "pcapng whose last block runs past the end of the file", _lazy("cut-short.pcapng", pcapng_length_past_end)),
    Case("pcapng-no-idb", "pcapng EPBs with no Interface Description Block", _lazy("no-idb.pcapng", pcapng_epb_without_idb)),
    Case("pcapng-iface-out-of-range", "2 EPBs naming interface 4294967295", _lazy("iface-range.pcapng", pcapng_interface_out_of_range)),
    Case("pcapng-caplen-past-block", "an EPB whose caplen runs past its block", _lazy("caplen-past.pcapng", pcapng_caplen_past_block)),
    Case("pcapng-100k-interfaces", "100,000 interface descriptions (2 MB)", _lazy("many-idb.pcapng", pcapng_huge_interface_count)),
    Case("pcapng-tsresol", "if_tsresol 2^-127, if_tsoffset 2^62 (odd, valid)", _lazy("tsresol.pcapng", pcapng_odd_tsresol)),
    Case("pcapng-v2", "pcapng version 2.0", _lazy("v2.pcapng", pcapng_version_2)),
    Case("growing", "a file still being written (a writer appends while tcp-lab reads)", _growing),
    Case("fifo", "a named pipe (FIFO) a writer sends a capture through", _fifo),
)

# -- captures that are valid but pathological: one conversation, the same control segment
# again and again (each copy proves the one before it lost, so the tracker looks back).
# A replay must stay linear in the capture's length: these must never look like a hang.

PATHOLOGICAL_COPIES = 6_000


def _server(tcp: bytes) -> bytes:
    return cb.eth(cb.ipv4(tcp, src="10.0.0.2", dst="10.0.0.1"))


def _client(tcp: bytes) -> bytes:
    return cb.eth(cb.ipv4(tcp, src="10.0.0.1", dst="10.0.0.2"))


def _handshake() -> list[bytes]:
    return [_client(cb.tcp(40000, 80, seq=1000, flags=0x02)),
            _server(cb.tcp(80, 40000, seq=5000, ack=1001, flags=0x12)),
            _client(cb.tcp(40000, 80, seq=1001, ack=5001, flags=0x10))]


def same_syn(n: int = PATHOLOGICAL_COPIES) -> bytes:
    """A client that sends its SYN n times and is never answered."""
    return cb.pcap([_client(cb.tcp(40000, 80, seq=1000, flags=0x02))] * n)


def same_synack(n: int = PATHOLOGICAL_COPIES) -> bytes:
    """One SYN, then the server's SYN/ACK n times (its ACK never comes)."""
    return cb.pcap(_handshake()[:1] + [_server(cb.tcp(80, 40000, seq=5000, ack=1001, flags=0x12))] * n)


def same_fin(n: int = PATHOLOGICAL_COPIES) -> bytes:
    """A connection, then the client's FIN n times (never acknowledged)."""
    return cb.pcap(_handshake() + [_client(cb.tcp(40000, 80, seq=1001, ack=5001, flags=0x11))] * n)


def syn_rst_storm(n: int = PATHOLOGICAL_COPIES // 2) -> bytes:
    """The same SYN refused by RST, again and again (n pairs)."""
    pair = [_client(cb.tcp(40000, 80, seq=1000, flags=0x02)),
            _server(cb.tcp(80, 40000, seq=0, ack=1001, flags=0x14))]
    return cb.pcap(pair * n)


def crossed_fins(n: int = PATHOLOGICAL_COPIES // 2) -> bytes:
    """A connection, then both FINs again and again (n pairs), crossing each time."""
    pair = [_client(cb.tcp(40000, 80, seq=1001, ack=5001, flags=0x11)),
            _server(cb.tcp(80, 40000, seq=5001, ack=1001, flags=0x11))]
    return cb.pcap(_handshake()[:2] + pair * n)


PATHOLOGICAL: tuple[Case, ...] = (
    Case("same-syn", f"{PATHOLOGICAL_COPIES:,} copies of one SYN", _lazy("same-syn.pcap", same_syn)),
    Case("same-synack", f"{PATHOLOGICAL_COPIES:,} copies of one SYN/ACK", _lazy("same-synack.pcap", same_synack)),
    Case("same-fin", f"{PATHOLOGICAL_COPIES:,} copies of one FIN", _lazy("same-fin.pcap", same_fin)),
    Case("syn-rst-storm", f"{PATHOLOGICAL_COPIES // 2:,} SYNs each refused by RST, one 4-tuple", _lazy("syn-rst.pcap", syn_rst_storm)),
    Case("crossed-fins", f"{PATHOLOGICAL_COPIES // 2:,} pairs of crossing FINs", _lazy("crossed-fins.pcap", crossed_fins)),
)

BY_NAME = {c.name: c for c in CASES + PATHOLOGICAL}


def build(directory: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Write the corpus (or the named cases) into `directory`; name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    return {c.name: c.build(directory) for c in CASES + PATHOLOGICAL if names is None or c.name in names}


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--table", action="store_true", help="run tcp-lab replay on each and print a Markdown table")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each run (--table)")
    args = ap.parse_args(argv)
    paths = build(args.dir)
    if not args.table:
        for name, p in paths.items():
            print(f"{name:28} {p}")
        return 0
    import subprocess

    print("| input | `tcp-lab replay FILE --format json` | exit |")
    print("|---|---|---|")
    for case in CASES + PATHOLOGICAL:
        if case.name in ("growing", "fifo", "unreadable"):
            continue  # need a writer or another user: see tests/test_malformed_files.py
        p = paths[case.name]
        try:
            r = subprocess.run([sys.executable, "-m", "tcp_lab.tui.cli", "replay", str(p), "--format", "json"],
                               capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"| {case.what} | no answer within {args.timeout:g} s (stopped) | - |")
            continue
        lines = len(r.stdout.splitlines())
        err = r.stderr.strip().replace(str(args.dir) + "/", "").replace("|", "\\|") or "(nothing)"
        shown = f"{lines} segments shown; " if lines else ""
        print(f"| {case.what} | {shown}{err} | {r.returncode} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
