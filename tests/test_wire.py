"""The simulated wire (core/wire.py), and the lab's Info column checked against tshark."""

import pathlib
import subprocess

import pytest
from labkit import lab, run

from dataclasses import replace

from tcp_lab.core.pcapwrite import pcap_bytes, tcp_packet
from tcp_lab.core.scenario import Setup, Side
from tcp_lab.core.segment import SYN, Segment
from tcp_lab.core.wire import DELAY_FACTOR, DUPLICATE_GAP, InFlight, Wire


def flight(wire: Wire, sender: str, sent: float, *, injected=False) -> InFlight:
    fid = wire.new_id()
    seg = Segment("192.0.2.10", 52296, "198.51.100.80", 80, fid, 0, SYN, 1000)
    return InFlight(fid, fid - 1, sender, seg, sent, sent + wire.delay, float(fid), injected=injected)


def test_segments_arrive_in_time_order():
    w = Wire(delay=0.05)
    a, b = flight(w, "client", 0.0), flight(w, "server", 0.01)
    w.put(b)
    w.put(a)
    assert [f.id for f in w.in_flight()] == [a.id, b.id]
    assert w.next_arrival().id == a.id


def test_drop_marks_the_first_segment_in_flight_of_that_direction():
    w = Wire()
    a, b, c = flight(w, "client", 0.0), flight(w, "server", 0.0), flight(w, "client", 0.01)
    for f in (a, b, c):
        w.put(f)
    hit = w.apply("drop", "client")
    assert hit.id == a.id and hit.lost
    assert w.apply("drop", "client").id == c.id  # the lost one is not hit twice
    assert w.apply("drop", "client") is None


def test_duplicate_adds_a_copy_just_after_the_original():
    w = Wire(delay=0.05)
    a = flight(w, "client", 0.0)
    w.put(a)
    w.apply("duplicate", None)
    first, copy = w.in_flight()
    assert (first.id, copy.row, copy.fault) == (a.id, a.row, "duplicate")
    assert copy.arrival == pytest.approx(a.arrival + DUPLICATE_GAP)


def test_delay_lets_the_next_segment_of_that_sender_overtake():
    w = Wire(delay=0.05)
    a = flight(w, "client", 0.0)
    w.put(a)
    held = w.apply("delay", "client")
    assert held.held and held.arrival == pytest.approx(0.05 + DELAY_FACTOR * 0.05)
    old_syn = flight(w, "client", 0.01, injected=True)
    w.put(old_syn)  # an injected segment does not count as the sender's next one
    b = flight(w, "client", 0.02)
    w.put(b)
    assert [f.id for f in w.in_flight()] == [old_syn.id, b.id, a.id]
    assert w.in_flight()[2].arrival == pytest.approx(b.arrival) and not w.in_flight()[2].held


def test_an_armed_fault_waits_for_the_next_segment_of_its_direction():
    w = Wire()
    w.arm("drop", "server")
    assert w.put(flight(w, "client", 0.0)) is None
    assert w.put(flight(w, "server", 0.0)) == "drop"
    assert w.armed == []


# --------------------------------------------------------------- Info vs tshark ---

TSHARK = ("tshark", "-n", "-o", "tcp.desegment_tcp_streams:FALSE", "-d", "tcp.port==0-65535,data", "-T", "fields", "-e", "_ws.col.Info")


def tshark_info(frames, tmp_path: pathlib.Path) -> list[str]:
    """Write the segments as the lab sent them to a pcap and read tshark's Info column."""
    path = tmp_path / "lab.pcap"
    path.write_bytes(pcap_bytes([(1_700_000_000 + f.time + i * 1e-6, tcp_packet(f.segment)) for i, f in enumerate(frames)]))
    out = subprocess.run([*TSHARK[:1], "-r", str(path), *TSHARK[1:]], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def sent(sim):
    return [f for f in sim.timeline if f.event == "send"]


def at_client(sim):
    """The segments as a capture on the client's interface would hold them: the client's
    when it sends them, the server's when they arrive."""
    return [f for f in sim.timeline if (f.event == "send" and f.sender == "client") or (f.event == "deliver" and f.sender == "server")]


def build(name: str):
    """A finished run: a built-in scenario, or one of two set-ups the built-ins lack."""
    if name == "no-window-scale":
        # No WS and no SACK_PERM on the client's SYN, MSS 1400: the server's SYN-ACK drops
        # WS and SACK_PERM too, and no window is scaled.
        setup = replace(Setup(), client=Side("192.0.2.10", 52296, wscale=None, sack_perm=False, mss=1400))
        sim = lab("server listen", "client connect", "run", "client send 3000", "run", setup=setup)
    elif name == "fin-on-data":
        # A 2000-byte window holds the data back, so the FIN rides on the last piece.
        setup = replace(Setup(), server=Side("198.51.100.80", 80, window=2000, wscale=None))
        sim = lab("server listen", "client connect", "run", "client send 5000", "client close", "run", setup=setup)
    else:
        return run(name)
    sim.run_to_end()
    return sim


CHECKED = (
    "handshake-teardown",
    "data-on-third-ack",
    "server-close",
    "close-wait-data",
    "merged-fin-ack",
    "simultaneous-close",
    "lost-syn",
    "refused",
    "rst-abort",
    "no-window-scale",
    "fin-on-data",
)


@pytest.mark.parametrize("name", CHECKED)
def test_info_column_agrees_with_tshark(name, tmp_path):
    frames = at_client(build(name))
    assert [f.info for f in frames] == tshark_info(frames, tmp_path)


def test_every_kind_of_segment_is_among_those_checked():
    kinds = set()
    for name in CHECKED:
        kinds.update("+".join(f.segment.flag_names) + (" retx" if "TCP Retransmission" in f.analysis else "") for f in at_client(build(name)))
    assert {"SYN", "SYN+ACK", "ACK", "PSH+ACK", "FIN+ACK", "FIN+PSH+ACK", "RST", "RST+ACK", "SYN retx"} <= kinds


def test_where_wireshark_adds_its_own_analysis(tmp_path):
    """Wireshark's heuristics label a simultaneous open's SYN-ACKs as retransmissions (it
    sees each ISN twice); the lab labels only what its timers resent."""
    frames = at_client(run("simultaneous-open"))
    theirs = tshark_info(frames, tmp_path)
    assert [f.info for f in frames][2:] == [t.removeprefix("[TCP Retransmission] ") for t in theirs[2:]]
    assert all(t.startswith("[TCP Retransmission] ") for t in theirs[2:])


def test_scapy_written_segments_read_back_the_same(tmp_path):
    """The same check with scapy writing the packets (an independent pcap writer)."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    from tcp_lab.core import options

    names = {options.MSS: "MSS", options.NOP: "NOP", options.SACK_PERM: "SAckOK", options.WS: "WScale"}
    frames = at_client(run("handshake-teardown"))
    packets = []
    for i, f in enumerate(frames):
        seg = f.segment
        opts = [(names[k], b"" if k == options.SACK_PERM else v) for k, v in options.parse_options(seg.options)[0]]
        pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=seg.src, dst=seg.dst) / TCP(
            sport=seg.sport, dport=seg.dport, seq=seg.seq, ack=seg.ack, flags=seg.flags, window=seg.win, options=opts
        )
        if seg.length:
            pkt = pkt / Raw(bytes(seg.length))
        pkt.time = 1_700_000_000 + f.time + i * 1e-6
        packets.append(pkt)
    path = tmp_path / "scapy.pcap"
    wrpcap(str(path), packets)
    out = subprocess.run([*TSHARK[:1], "-r", str(path), *TSHARK[1:]], capture_output=True, text=True, check=True)
    assert [f.info for f in frames] == out.stdout.splitlines()
