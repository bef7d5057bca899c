"""The captures shipped in captures/: tshark reads each one and finds what it promises."""

import functools
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


# --- the captures recorded from the Linux kernel (captures/record.py) ------------------

RECORDED = ("normal", "server-close", "close-wait-data", "rst-abort", "refused", "simultaneous-open",
            "simultaneous-close", "lost-fin", "lost-final-ack", "ipv6", "closing", "fin-wait-2-timeout")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
SENT_FIN_STATES = {"FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "TIME-WAIT", "LAST-ACK"}
GOT_FIN_STATES = {"CLOSE-WAIT", "LAST-ACK", "CLOSING", "TIME-WAIT"}


class Row:
    """One packet as tshark decodes it."""

    def __init__(self, fields):
        (self.no, self.time, self.src, self.sport, self.flags, self.seq, self.ack, self.len,
         self.retrans, self.info) = fields
        self.no, self.sport, self.seq, self.ack, self.len = map(int, (self.no, self.sport, self.seq, self.ack, self.len))
        self.time = float(self.time)
        self.flags = int(self.flags, 16)

    def has(self, bits):
        return self.flags & bits == bits

    @property
    def bare_ack(self):
        return self.flags & (FIN | SYN | RST | ACK) == ACK and self.len == 0


@functools.cache
def decode(name):
    """The capture's packets, decoded once per test session (callers only read them)."""
    path = CAPTURES / f"{name}.pcap"
    src = "ipv6.src" if name == "ipv6" else "ip.src"
    return tuple(Row(r) for r in tshark_rows(path, "frame.number", "frame.time_relative", src, "tcp.srcport",
                                        "tcp.flags", "tcp.seq", "tcp.ack", "tcp.len",
                                        "tcp.analysis.retransmission", "_ws.col.Info"))


def checkpoints(name):
    return json.loads((CAPTURES / f"{name}.checkpoints.json").read_text())


def ports(name):
    first = checkpoints(name)[0]
    return int(first["client_socket"].rsplit(":", 1)[1]), int(first["server_socket"].rsplit(":", 1)[1])


def fins(rows, port):
    return [r for r in rows if r.sport == port and r.has(FIN)]


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_capture_is_small_real_loopback_tcp(name):
    rows = decode(name)
    client, server = ports(name)
    assert rows, "tshark found no packet"
    assert {r.sport for r in rows} == {client, server}
    assert {r.src for r in rows} == ({"::1"} if name == "ipv6" else {"127.0.0.1"})
    # The first segment is the client's SYN (the client is defined as its sender).
    assert rows[0].sport == client and rows[0].flags & (SYN | ACK) == SYN
    assert (CAPTURES / f"{name}.pcap").stat().st_size < 4096


@pytest.mark.parametrize("name", RECORDED)
def test_checkpoints_agree_with_the_capture(name):
    rows = decode(name)
    client, server = ports(name)
    points = checkpoints(name)
    counts = [p["after_packets"] for p in points]
    assert counts == sorted(counts) and counts[-1] == len(rows)
    for p in points:
        assert p["client_socket"].endswith(f":{client}") and p["server_socket"].endswith(f":{server}")
        seen = rows[: p["after_packets"]]
        for me, peer, state in ((client, server, p["client"]), (server, client, p["server"])):
            if state == "UNCONN":
                continue
            # A state that follows our own FIN needs that FIN in the capture, and the other way round.
            assert (state in SENT_FIN_STATES) == bool(fins(seen, me)), (p["label"], state)
            if p["undelivered"] == 0:
                assert (state in GOT_FIN_STATES) == bool(fins(seen, peer)), (p["label"], state)


def test_normal_is_the_textbook_exchange():
    rows = decode("normal")
    assert [(r.sport, r.flags) for r in rows[:3]] == [(52296, SYN), (80, SYN | ACK), (52296, ACK)]
    assert any(r.sport == 52296 and r.len > 0 and r.has(PSH) for r in rows)
    assert any(r.sport == 80 and r.len > 0 and r.has(PSH) for r in rows)
    (cf,), (sf,) = fins(rows, 52296), fins(rows, 80)
    assert cf.no < sf.no
    # Four segments to close: the server's ACK of the client's FIN is on its own ...
    assert any(r.sport == 80 and r.bare_ack and r.ack == cf.seq + 1 for r in rows[cf.no : sf.no - 1])
    # ... and the client's last ACK ends the capture.
    assert rows[-1].sport == 52296 and rows[-1].bare_ack and rows[-1].ack == sf.seq + 1
    assert [(p["client"], p["server"]) for p in checkpoints("normal")] == [
        ("ESTAB", "ESTAB"), ("ESTAB", "ESTAB"), ("FIN-WAIT-2", "CLOSE-WAIT"), ("TIME-WAIT", "UNCONN")]


def test_ipv6_is_the_same_exchange_over_loopback_v6():
    rows, v4 = decode("ipv6"), decode("normal")
    assert [(r.sport, r.flags, r.len) for r in rows] == [(r.sport, r.flags, r.len) for r in v4]
    assert [(p["client"], p["server"]) for p in checkpoints("ipv6")] == [
        (p["client"], p["server"]) for p in checkpoints("normal")]
    assert checkpoints("ipv6")[0]["client_socket"] == "[::1]:52296"


def test_server_close_gives_the_server_time_wait():
    rows = decode("server-close")
    (cf,), (sf,) = fins(rows, 52296), fins(rows, 80)
    assert sf.no < cf.no
    assert rows[-1].sport == 80 and rows[-1].bare_ack
    assert checkpoints("server-close")[-1]["server"] == "TIME-WAIT"
    assert ("CLOSE-WAIT", "FIN-WAIT-2") in [(p["client"], p["server"]) for p in checkpoints("server-close")]


def test_close_wait_data_flows_after_the_clients_fin():
    rows = decode("close-wait-data")
    (cf,), (sf,) = fins(rows, 52296), fins(rows, 80)
    late_data = [r for r in rows[cf.no : sf.no - 1] if r.sport == 80 and r.len > 0]
    assert len(late_data) >= 2
    # The client keeps acknowledging data while in FIN_WAIT_2.
    assert all(any(a.sport == 52296 and a.ack == d.seq + d.len for a in rows[d.no :]) for d in late_data)
    states = [(p["client"], p["server"]) for p in checkpoints("close-wait-data")]
    assert states.count(("FIN-WAIT-2", "CLOSE-WAIT")) >= 2


def test_rst_abort_ends_with_the_clients_reset_and_no_fin():
    rows = decode("rst-abort")
    assert rows[-1].sport == 52296 and rows[-1].has(RST)
    assert not fins(rows, 52296) and not fins(rows, 80)
    assert (checkpoints("rst-abort")[-1]["client"], checkpoints("rst-abort")[-1]["server"]) == ("UNCONN", "UNCONN")


def test_refused_is_a_syn_answered_by_rst_ack():
    rows = decode("refused")
    assert [(r.sport, r.flags) for r in rows] == [(52296, SYN), (80, RST | ACK)]
    assert rows[1].info == "80 → 52296 [RST, ACK] Seq=1 Ack=1 Win=0 Len=0"
    (point,) = checkpoints("refused")
    assert (point["client"], point["server"], point["listener"]) == ("UNCONN", "UNCONN", "UNCONN")


def test_simultaneous_open_syns_cross():
    rows = decode("simultaneous-open")
    syns = [r for r in rows if r.flags & (SYN | ACK) == SYN]
    synacks = [r for r in rows if r.has(SYN | ACK)]
    assert len(syns) == 4 and {r.sport for r in syns[2:]} == {52296, 52297}
    assert max(r.no for r in syns) < min(r.no for r in synacks)
    assert {r.sport for r in synacks} == {52296, 52297}
    assert syns[2].time - syns[0].time >= 1.0  # the initial RTO for a SYN is 1 s
    states = [(p["client"], p["server"]) for p in checkpoints("simultaneous-open")]
    assert states[:2] == [("SYN-SENT", "SYN-SENT"), ("ESTAB", "ESTAB")]


def test_simultaneous_close_has_both_fins_before_either_ack():
    rows = decode("simultaneous-close")
    cf, sf = fins(rows, 52296), fins(rows, 80)
    assert len(cf) == len(sf) == 2
    assert cf[1].retrans and sf[1].retrans  # tshark: [TCP Retransmission]
    fin_acks = [r for r in rows if r.has(ACK) and r.ack == (cf[0].seq if r.sport == 80 else sf[0].seq) + 1]
    assert len(fin_acks) == 2 and max(cf[1].no, sf[1].no) < min(r.no for r in fin_acks)
    assert [(p["client"], p["server"]) for p in checkpoints("simultaneous-close")][-2:] == [
        ("FIN-WAIT-1", "FIN-WAIT-1"), ("TIME-WAIT", "TIME-WAIT")]


def test_closing_shows_both_sides_in_closing():
    rows = decode("closing")
    assert len(fins(rows, 52296)) == len(fins(rows, 80)) == 3
    assert ("CLOSING", "CLOSING") in [(p["client"], p["server"]) for p in checkpoints("closing")]
    assert checkpoints("closing")[-1]["client"] == checkpoints("closing")[-1]["server"] == "TIME-WAIT"


def test_lost_fin_is_retransmitted_after_the_rto():
    rows = decode("lost-fin")
    first, again = fins(rows, 52296)
    assert again.no == first.no + 1 and again.seq == first.seq and again.retrans
    assert again.time - first.time >= 0.2  # Linux's minimum RTO
    assert again.info.startswith("[TCP Retransmission] 52296 → 80 [FIN, ACK]")
    lost = [p for p in checkpoints("lost-fin") if p["undelivered"]]
    assert [(p["after_packets"], p["client"], p["server"]) for p in lost] == [(first.no, "FIN-WAIT-1", "ESTAB")]


def test_lost_final_ack_makes_last_ack_resend_its_fin():
    rows = decode("lost-final-ack")
    first, again = fins(rows, 80)
    assert again.retrans and again.seq == first.seq and again.time - first.time >= 0.2
    acks = [r for r in rows if r.sport == 52296 and r.bare_ack and r.ack == first.seq + 1]
    assert len(acks) == 2 and acks[0].no < again.no < acks[1].no
    assert rows[-1].info.startswith("[TCP Dup ACK")
    states = [(p["client"], p["server"]) for p in checkpoints("lost-final-ack")]
    assert states[-2:] == [("TIME-WAIT", "LAST-ACK"), ("TIME-WAIT", "UNCONN")]


def test_orphaned_fin_wait_2_times_out_and_the_late_fin_gets_rst():
    rows = decode("fin-wait-2-timeout")
    (cf,), (sf,) = fins(rows, 52296), fins(rows, 80)
    assert sf.time - cf.time >= 1.0
    assert rows[-1].sport == 52296 and rows[-1].flags == RST and rows[-1].seq == sf.ack
    states = [(p["after_packets"], p["client"], p["server"]) for p in checkpoints("fin-wait-2-timeout")]
    # The client's socket disappears with no segment on the wire.
    assert (9, "FIN-WAIT-2", "CLOSE-WAIT") in states and (9, "UNCONN", "CLOSE-WAIT") in states


def test_readme_lists_every_capture_with_its_packet_count():
    readme = (CAPTURES / "README.md").read_text()
    shipped = sorted(p.stem for p in CAPTURES.glob("*.pcap"))
    assert shipped == sorted([*RECORDED, "course-example"])
    for name in shipped:
        count = len(decode(name))
        assert f"| `{name}.pcap` | {count} |" in readme, name
