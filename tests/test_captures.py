"""The captures shipped in captures/: tshark reads each one and finds what it promises."""

import json
import pathlib
import subprocess

import pytest

from tcp_lab.captures import make_course_example as course

CAPTURES = pathlib.Path(__file__).resolve().parent.parent / "captures"
TSHARK_OPTS = ["-o", "tcp.desegment_tcp_streams:FALSE", "--disable-protocol", "http"]


def tshark_rows(path, *fields, extra=()):
    args = ["tshark", "-n", "-r", str(path), *TSHARK_OPTS, *extra, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


# --- course-example.pcap ---------------------------------------------------------------

COURSE = CAPTURES / "course-example.pcap"


def test_course_example_is_what_the_script_writes():
    assert COURSE.read_bytes() == course.course_example_bytes()


def test_course_example_shows_the_notes_lines_and_frame_lengths():
    rows = tshark_rows(COURSE, "frame.len", "_ws.col.Info", "ip.src", "ip.dst")
    infos = [r[1] for r in rows]
    lengths = [int(r[0]) for r in rows]
    # Handshake: the notes' lines, the SYNs continued with the options the notes cut off
    # (Window Scale is what makes the third line's Win=131072 possible; see captures/README.md).
    assert infos[:3] == [
        "52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 WS=256 SACK_PERM",
        "80 → 52296 [SYN, ACK] Seq=0 Ack=1 Win=29200 Len=0 MSS=1300 SACK_PERM WS=128",
        "52296 → 80 [ACK] Seq=1 Ack=1 Win=131072 Len=0",
    ]
    for info, notes in zip(infos[:3], course.NOTES_LINES[:3]):
        assert info == notes or info.startswith(notes + " ")
    assert infos[2] == course.NOTES_LINES[2]
    assert lengths[:3] == [66, 66, 54]
    # Teardown: byte for byte the notes, and their frame lengths (the server's frames are
    # padded to Ethernet's 60-byte minimum because the capture was taken on the client).
    assert tuple(infos[-4:]) == course.NOTES_LINES[3:]
    assert lengths[-4:] == [60, 54, 54, 60]
    assert {(r[2], r[3]) for r in rows} == {("10.21.71.101", "118.178.116.8"), ("118.178.116.8", "10.21.71.101")}


def test_course_example_carries_1538_bytes_up_and_356_down_in_an_http_exchange():
    rows = tshark_rows(COURSE, "tcp.srcport", "tcp.len", "tcp.payload", "tcp.analysis.flags")
    up = b"".join(bytes.fromhex(r[2]) for r in rows if r[0] == "52296")
    down = b"".join(bytes.fromhex(r[2]) for r in rows if r[0] == "80")
    assert len(up) == 1538 and len(down) == 356
    assert up.startswith(b"GET / HTTP/1.1\r\nHost: 118.178.116.8\r\n") and up.endswith(b"\r\n\r\n")
    head, _, body = down.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    # Nothing for Wireshark's analysis to flag: no retransmission, no window update.
    assert [r[3] for r in rows] == [""] * len(rows)


def test_course_example_checksums_are_good():
    rows = tshark_rows(COURSE, "ip.checksum.status", "tcp.checksum.status",
                       extra=("-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"))
    assert rows == [["1", "1"]] * 13
