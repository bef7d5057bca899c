"""The live capture source (tui/live_capture.py) and session (tui/live_session.py), in
process, on the loopback interface of a fresh network namespace, against tcpdump.

What a user relies on: every packet tcpdump sees is handed on once (loopback's outgoing
copies are not), byte for byte and stamped within microseconds of tcpdump's, by both
read paths;
the thread starts before the first packet and stops cleanly; the session's pcap (what
--write saves) holds the same frames as tcpdump's file; the filter, interface and
output-file checks say one clear sentence.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading

import pytest
from hostile_cli import nobody_argv, nobody_env, public_dir  # noqa: F401  (a fixture)
from netns_util import netns  # noqa: F401  (a fixture)
from tcp_lab.tui.errors import CliError
from tcp_lab.tui.live_capture import (
    ARPHRD_LOOPBACK,
    LiveCapture,
    capture_filter,
    check_filter,
    kernel_filter,
    resolve_interface,
)
from tcp_lab.tui.live_session import LiveSession, SessionStats, open_output, stats_line

PORT = 8080
_REC = struct.Struct("<IIII")


def pcap_records(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(seconds, microseconds, original length, frame bytes) of each record of a
    little-endian microsecond pcap (what tcpdump -w and tcp-lab write here)."""
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "expected a little-endian microsecond pcap"
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = _REC.unpack_from(data, off)
        out.append((sec, usec, wirelen, data[off + 16 : off + 16 + caplen]))
        off += 16 + caplen
    return out


def exchange(ns, port: int = PORT) -> None:
    """A whole connection on 127.0.0.1: handshake, data both ways, both close."""
    listener = ns.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    client = ns.socket()
    client.connect(("127.0.0.1", port))
    server, _ = listener.accept()
    client.sendall(b"hello " * 50)
    server.recv(4096)
    server.sendall(b"world " * 3000)  # several segments (MSS 65483, but 18 kB in pieces)
    got = 0
    while got < 18000:
        got += len(client.recv(65536))
    client.close()
    server.close()
    listener.close()


def open_capture(ns, reader: str = "direct", bpf: str = f"tcp port {PORT}") -> LiveCapture:
    with ns.inside():
        arphrd, _ = resolve_interface("lo")
        return LiveCapture("lo", bpf, arphrd=arphrd, reader=reader).open()


# -- filters and interfaces ---------------------------------------------------------------


def test_filter_is_tcp_by_default_and_combines_port_and_bpf():
    assert capture_filter(None, None) == "tcp"
    assert capture_filter("  ", None) == "tcp"
    assert capture_filter(None, 80) == "tcp port 80"
    assert capture_filter("host 10.0.0.1", None) == "host 10.0.0.1"
    assert capture_filter("host 10.0.0.1", 80) == "(host 10.0.0.1) and (tcp port 80)"


def test_only_loopback_gets_the_inbound_qualifier():
    assert kernel_filter("tcp port 80", ARPHRD_LOOPBACK) == "inbound and (tcp port 80)"
    assert kernel_filter("tcp port 80", 1) == "tcp port 80"


def test_bad_filter_is_one_sentence_with_libpcaps_reason():
    check_filter("tcp port 80 or (udp and host 10.0.0.1)", 1)
    with pytest.raises(CliError) as info:
        check_filter("tcp port", 1)
    assert str(info.value) == "the capture filter 'tcp port' is not valid BPF: syntax error"
    assert info.value.exit_code == 2
    with pytest.raises(CliError, match="not valid BPF"):
        check_filter("tcp port 99999999", 1)


def test_unknown_interface_and_any_are_refused_naming_the_real_ones():
    with pytest.raises(CliError) as info:
        resolve_interface("nope0")
    assert "there is no network interface 'nope0' here; the interfaces are: " in str(info.value)
    assert "lo" in str(info.value)
    assert info.value.exit_code == 2
    with pytest.raises(CliError, match="not 'any'"):
        resolve_interface("any")
    assert resolve_interface("lo") == (ARPHRD_LOOPBACK, 1)


# -- the capture against tcpdump ----------------------------------------------------------


@pytest.mark.parametrize("reader", ["direct", "scapy"])
def test_every_packet_once_byte_for_byte_at_tcpdumps_time(netns, tmp_path, reader):  # noqa: F811
    started = threading.Event()
    first_seen_after_start = []
    with netns.tcpdump(tmp_path / "oracle.pcap", bpf=f"tcp port {PORT}") as dump:
        cap = open_capture(netns, reader)
        cap.start(lambda: (first_seen_after_start.append(cap.pending()), started.set()))
        assert started.wait(5)
        exchange(netns)
        n = dump.wait_quiet(0.2)
        stats = cap.stop()
    got = cap.take()
    assert first_seen_after_start == [0]
    assert n >= 10
    oracle = pcap_records((tmp_path / "oracle.pcap").read_bytes())
    assert [(w, d) for _, _, w, d in got] == [(w, d) for _, _, w, d in oracle]
    # Each packet socket stamps a frame when it reaches it: a few microseconds apart.
    for (s1, u1, *_), (s2, u2, *_) in zip(got, oracle):
        assert abs((s1 * 1_000_000 + u1) - (s2 * 1_000_000 + u2)) < 20_000
    assert stats.received == len(oracle)
    assert stats.dropped == 0
    assert stats.duplicates == 0  # `inbound` kept the outgoing copies in the kernel
    assert stats.kernel_seen == len(oracle)


def test_without_inbound_the_outgoing_copies_are_counted_not_handed_on(netns, tmp_path):  # noqa: F811
    # A capture whose kernel filter lets both copies through (as a plain packet socket
    # does): the packet type of each frame keeps one copy.
    with netns.tcpdump(tmp_path / "oracle.pcap", bpf=f"tcp port {PORT}") as dump:
        cap = open_capture(netns)
        cap.stop()
        with netns.inside():
            cap = LiveCapture("lo", f"tcp port {PORT}", arphrd=ARPHRD_LOOPBACK)
            cap.kernel_bpf = f"tcp port {PORT}"  # no `inbound`
            cap.open().start()
        cap.wait_started(5)
        exchange(netns)
        n = dump.wait_quiet(0.2)
        stats = cap.stop()
    got = cap.take()
    oracle = pcap_records((tmp_path / "oracle.pcap").read_bytes())
    assert len(got) == n == len(oracle)
    assert [d for *_, d in got] == [d for *_, d in oracle]
    assert stats.duplicates == n
    assert stats.kernel_seen == 2 * n


def test_stop_is_clean_and_can_be_repeated(netns):  # noqa: F811
    cap = open_capture(netns)
    cap.start()
    assert cap.wait_started(5)
    assert cap.running
    threads = {t.name for t in threading.enumerate()}
    assert "tcp-lab-capture" in threads
    cap.stop()
    assert not cap.running
    assert cap.socket is None
    assert "tcp-lab-capture" not in {t.name for t in threading.enumerate()}
    assert cap.stop().received == 0
    assert cap.error is None


def test_a_quiet_wait_times_out(netns):  # noqa: F811
    cap = open_capture(netns)
    cap.start()
    try:
        assert cap.wait(0.05) is False
        assert cap.take() == []
    finally:
        cap.stop()


# -- the session: pcap records, the replay, --count ---------------------------------------


def test_session_file_equals_tcpdumps_and_replay_tracks_every_segment(netns, tmp_path):  # noqa: F811
    out = tmp_path / "live.pcap"
    with netns.tcpdump(tmp_path / "oracle.pcap", bpf=f"tcp port {PORT}") as dump:
        cap = open_capture(netns)
        session = LiveSession(cap, write_fd=open_output(str(out)))
        cap.start()
        cap.wait_started(5)
        exchange(netns)
        n = dump.wait_quiet(0.2)
        cap.stop()
    session.pump()
    session.close()
    oracle = (tmp_path / "oracle.pcap").read_bytes()
    mine = out.read_bytes()
    assert [r[2:] for r in pcap_records(mine)] == [r[2:] for r in pcap_records(oracle)]
    assert len(session.replay) == n
    assert [session.replay.store.frame[i] for i in range(n)] == list(range(1, n + 1))
    s = session.stats()
    assert (s.received, s.dropped, s.segments, s.conversations, s.skipped) == (n, 0, n, 1, {})
    # tshark reads the file and finds the same packets.
    tshark = subprocess.run(["tshark", "-r", str(out), "-T", "fields", "-e", "frame.number"],
                            capture_output=True, text=True, check=True)
    assert tshark.stdout.split() == [str(i) for i in range(1, n + 1)]


def test_count_limit_cuts_the_file_at_the_limits_segment(netns, tmp_path):  # noqa: F811
    out = tmp_path / "live.pcap"
    cap = open_capture(netns)
    session = LiveSession(cap, write_fd=open_output(str(out)))
    session.limit = 4
    cap.start()
    cap.wait_started(5)
    exchange(netns)
    cap.stop()
    session.pump()
    session.close()
    assert session.full and session.segments() == 4
    assert len(pcap_records(out.read_bytes())) == 4
    assert session.pump() == 0


# -- the --write file ---------------------------------------------------------------------


def test_write_file_created_under_sudo_belongs_to_the_invoking_user(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.fail("this test needs root (it checks the chown a sudo run makes)", pytrace=False)
    monkeypatch.setenv("SUDO_UID", "65534")
    monkeypatch.setenv("SUDO_GID", "65533")
    path = tmp_path / "new.pcap"
    os.close(open_output(str(path)))
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65533)
    # A file that was there keeps its owner (it is truncated, not replaced).
    old = tmp_path / "old.pcap"
    old.write_bytes(b"x" * 100)
    os.close(open_output(str(old)))
    assert old.stat().st_uid == 0 and old.stat().st_size == 0


def test_write_file_errors_are_one_sentence_and_create_nothing(tmp_path):
    with pytest.raises(CliError, match=r"the directory .*/missing does not exist"):
        open_output(str(tmp_path / "missing" / "x.pcap"))
    assert not (tmp_path / "missing").exists()
    with pytest.raises(CliError, match="that is a directory"):
        open_output(str(tmp_path))
    with pytest.raises(CliError, match="needs a file name"):
        open_output("-")
    assert list(tmp_path.iterdir()) == []


def test_stats_line_names_every_counter():
    line = stats_line(SessionStats(12, 3, 0, {"not TCP: UDP": 2}, 10, 1), "eth0")
    assert line == ("tcp-lab: 12 packets captured on eth0, 3 dropped by the kernel, 2 skipped by the decoder "
                    "(not TCP: UDP: 2); 10 TCP segments in 1 conversation.")
    assert stats_line(SessionStats(1, 0, 0, {}, 1, 1), "lo") == (
        "tcp-lab: 1 packet captured on lo, 0 dropped by the kernel, 0 skipped by the decoder; "
        "1 TCP segment in 1 conversation.")


# -- an Ethernet interface: both directions kept -------------------------------------------


@pytest.fixture
def veth_pair():
    """Two namespaces joined by a veth pair: va (10.9.0.1) in A, vb (10.9.0.2) in B.
    (802.1Q sub-interfaces would test the VLAN-tag reinsertion too, but this kernel has no
    8021q support: `ip link add ... type vlan` says "Unknown device type".)"""
    from tcp_lab.captures.netns import Namespace

    if os.geteuid() != 0:
        pytest.fail("this test needs root (ip netns add)", pytrace=False)
    with Namespace("tcplab-va") as a, Namespace("tcplab-vb") as b:
        run = lambda *argv: subprocess.run(argv, check=True, capture_output=True)
        run("ip", "link", "add", "va", "netns", a.name, "type", "veth", "peer", "name", "vb", "netns", b.name)
        for ns, dev, last in ((a, "va", 1), (b, "vb", 2)):
            run("ip", "-n", ns.name, "addr", "add", f"10.9.0.{last}/24", "dev", dev)
            run("ip", "-n", ns.name, "link", "set", dev, "up")
        yield a, b


def cross_exchange(a, b, server_ip: str) -> None:
    """A connects to B's server at `server_ip`, data both ways, both close."""
    listener = b.socket()
    listener.bind((server_ip, PORT))
    listener.listen()
    client = a.socket()
    client.connect((server_ip, PORT))
    server, _ = listener.accept()
    client.sendall(b"ping" * 100)
    server.recv(4096)
    server.sendall(b"pong" * 100)
    client.recv(4096)
    client.close()
    server.close()
    listener.close()


@pytest.mark.parametrize("reader", ["direct", "scapy"])
def test_on_ethernet_both_directions_are_kept(veth_pair, tmp_path, reader):
    a, b = veth_pair
    with a.tcpdump(tmp_path / "oracle.pcap", iface="va", bpf=f"tcp port {PORT}") as dump:
        with a.inside():
            arphrd, linktype = resolve_interface("va")
            cap = LiveCapture("va", f"tcp port {PORT}", arphrd=arphrd, reader=reader).open()
        assert (arphrd, linktype, cap.kernel_bpf) == (1, 1, f"tcp port {PORT}")  # no `inbound` here
        cap.start()
        cap.wait_started(5)
        cross_exchange(a, b, "10.9.0.2")
        n = dump.wait_quiet(0.2)
        stats = cap.stop()
    got = cap.take()
    oracle = pcap_records((tmp_path / "oracle.pcap").read_bytes())
    outgoing = [d for *_, d in oracle if d[26:30] == socket.inet_aton("10.9.0.1")]
    assert 0 < len(outgoing) < n  # A's own segments: kept, they are seen only once on Ethernet
    assert [(w, d) for _, _, w, d in got] == [(w, d) for _, _, w, d in oracle]
    assert stats.duplicates == 0 and stats.received == n


# -- the demo's acts, as the screen will show them -------------------------------------------


def test_demo_acts_label_the_segments_captured_during_them(netns):  # noqa: F811
    from tcp_lab.core.explain import render
    from tcp_lab.tui.live_demo import ACTS, Demo

    with netns.inside():
        demo = Demo(pause=0.15)
        port = demo.prepare()
        arphrd, _ = resolve_interface("lo")
        cap = LiveCapture("lo", f"tcp port {port}", arphrd=arphrd).open()
    session = LiveSession(cap)
    seen = []
    session.attach_demo(demo, seen.append)
    cap.start()
    cap.wait_started(5)
    with netns.inside():  # the demo's thread (and its sockets) live in the namespace
        demo.start()
    assert demo.done.wait(10) and demo.error is None
    cap.stop()
    session.pump()
    assert [a.explain.key for a in seen] == [f"demo:{name}" for name in ACTS]
    assert [a.number for a in session.acts] == list(range(1, 9))
    assert f"127.0.0.1:{port}" in render(session.acts[0].explain, "en")
    replay = session.replay
    labels = []
    for row in range(len(replay)):
        frame = replay.frame(row)
        act = session.act_for_row(row).explain.key.removeprefix("demo:")
        labels.append((act, frame.sender, frame.info.split("[")[1].split("]")[0], frame.segment.length > 0))
    # Each segment falls in the act that caused it (delayed ACKs stay in their act).
    acts_of = {}
    for act, sender, flags, data in labels:
        acts_of.setdefault(act, []).append((sender, flags, data))
    assert "listen" not in acts_of and "client-close" not in acts_of  # no segment for these
    assert acts_of["connect"] == [("client", "SYN", False), ("server", "SYN, ACK", False), ("client", "ACK", False)]
    assert acts_of["client-data"][0] == ("client", "PSH, ACK", True)
    assert acts_of["server-data"][0] == ("server", "PSH, ACK", True)
    assert acts_of["half-close"] == [("client", "FIN, ACK", False), ("server", "ACK", False)]
    assert acts_of["close-wait-data"] == [("server", "PSH, ACK", True), ("client", "ACK", False)]
    assert acts_of["server-close"] == [("server", "FIN, ACK", False), ("client", "ACK", False)]


def test_write_where_the_user_may_not_is_a_missing_permission_exit_3(public_dir):  # noqa: F811
    """--write into a directory the user may not write: one sentence and exit code 3
    (a missing permission, DESIGN.md), before any capture starts. Run as nobody (root
    writes anywhere), through tests/hostile_cli.py's wrapper."""
    closed = public_dir / "closed"
    closed.mkdir(mode=0o755)  # root's; nobody may enter, not write
    target = closed / "out.pcap"
    code = (
        "from tcp_lab.tui.live_session import open_output\n"
        "try:\n"
        f"    open_output({str(target)!r})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, getattr(exc, 'exit_code', None), exc)\n"
    )
    run = subprocess.run(nobody_argv([sys.executable, "-c", code]), capture_output=True, text=True,
                         env=nobody_env(), timeout=60)
    assert run.stderr == ""
    assert run.stdout == f"PermissionProblem 3 --write {target}: permission denied (cannot write there)\n"
    assert not target.exists()
