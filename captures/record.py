"""Record the shipped captures from the real Linux kernel, with the kernel's own states.

Each exchange runs in a fresh network namespace (captures/netns.py): tcpdump writes
`NAME.pcap` while real Python sockets on the namespace's loopback go through a scripted
exchange, and at chosen moments, once the wire has been quiet (so the packet count is
unambiguous), `ss -tan` is read and a checkpoint is kept:

    {"after_packets": 9, "client": "FIN-WAIT-2", "server": "CLOSE-WAIT",
     "label": "client closed, server not yet", "undelivered": 0, "listener": "LISTEN",
     "client_socket": "127.0.0.1:52296", "server_socket": "127.0.0.1:80",
     "ss": ["FIN-WAIT-2 0 0 127.0.0.1:52296 127.0.0.1:80", ...]}

States are as `ss` prints them; "UNCONN" means no such socket (gone, or never made).
"undelivered" counts segments already in the capture that nftables dropped before the
receiving TCP saw them and that have not been retransmitted yet: at such a checkpoint a
passive observer that assumes every captured segment arrived cannot agree with the kernel.
"client_socket"/"server_socket" are the two ends of the connection as ss writes them
(the client is the side whose SYN is first in the capture).

Losses are made with nftables on the input hook, which on lo comes after tcpdump's
capture point: the capture shows the lost segment and then its retransmission, as a
capture taken upstream of a lossy link would. Each exchange checks its own capture
(the retransmission happened, the FINs crossed ...) and is re-run (up to 3 times) when
timing made it come out otherwise.

    uv run python captures/record.py --all              # regenerate every capture here
                                                        # (course-example.pcap too)
    uv run python captures/record.py normal lost-fin --out /tmp/x
    python -m tcp_lab.captures.record --list

As a module: `record(name, out_dir) -> (pcap_path, checkpoints)`. Needs root, tcpdump,
ss and nft.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

try:  # run as `python captures/record.py` or `python -m tcp_lab.captures.record`
    from tcp_lab.captures.netns import (
        Namespace,
        NetnsError,
        Tcpdump,
        connection_states,
        endpoint_text,
        remove_stale,
        tcp_match,
    )
except ImportError:  # pragma: no cover - outside the installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from netns import Namespace, NetnsError, Tcpdump, connection_states, endpoint_text, remove_stale, tcp_match  # type: ignore

HERE = Path(__file__).resolve().parent
CLIENT_PORT = 52296
SERVER_PORT = 80
PEER_PORT = 52297  # the second peer of a simultaneous open (there is no server there)
QUIET = 0.2  # no packet for this long: no delayed ACK (40 ms on lo) is still due
QUIET_LOSS = 0.05  # shorter, inside a loss window: the retransmission timer is >= 200 ms

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: tcp-lab-recorder\r\n\r\n"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n"
            b"Connection: close\r\n\r\nhello from the server!\n")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class ExchangeRaced(Exception):
    """The kernel's timing made this run differ from what the exchange promises; re-run it."""


class Seg(NamedTuple):
    """A captured TCP segment, as much of it as the recorder's own checks need."""

    time: float
    sport: int
    dport: int
    flags: int
    seq: int
    ack: int
    length: int

    def has(self, bits: int) -> bool:
        return self.flags & bits == bits

    @property
    def bare_ack(self) -> bool:
        return self.flags & (FIN | SYN | RST | ACK) == ACK and self.length == 0


def read_segments(data: bytes) -> list[Seg]:
    """TCP segments of a tcpdump pcap taken on lo (Ethernet header, IPv4 or IPv6)."""
    out = []
    offset = 24
    while offset + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack_from("<IIII", data, offset)
        frame = data[offset + 16 : offset + 16 + caplen]
        offset += 16 + caplen
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        if ethertype == 0x0800:
            ihl = (frame[14] & 0x0F) * 4
            total = struct.unpack_from("!H", frame, 16)[0]
            tcp_at, ip_payload = 14 + ihl, total - ihl
        elif ethertype == 0x86DD:
            tcp_at, ip_payload = 54, struct.unpack_from("!H", frame, 18)[0]
        else:
            continue
        sport, dport, seq, ack, off_flags = struct.unpack_from("!HHIIH", frame, tcp_at)
        length = ip_payload - (off_flags >> 12) * 4
        out.append(Seg(sec + usec / 1e6, sport, dport, off_flags & 0x1FF, seq, ack, length))
    return out


@dataclass
class Session:
    """One run of an exchange: the namespace, the running tcpdump, the checkpoints so far."""

    ns: Namespace
    cap: Tcpdump
    family: int
    host: str
    client_port: int = CLIENT_PORT
    server_port: int = SERVER_PORT
    checkpoints: list[dict] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)

    # -- sockets ---------------------------------------------------------------------------
    def socket(self) -> socket.socket:
        sock = self.ns.socket(self.family)
        self.sockets.append(sock)
        return sock

    def listen(self) -> socket.socket:
        listener = self.socket()
        listener.bind((self.host, self.server_port))
        listener.listen(8)
        return listener

    def client(self, port: int | None = None) -> socket.socket:
        sock = self.socket()
        sock.bind((self.host, self.client_port if port is None else port))
        return sock

    def open(self) -> tuple[socket.socket, socket.socket, socket.socket]:
        """Listen, connect, accept: (listener, client socket, server's connection socket)."""
        listener = self.listen()
        client = self.client()
        client.connect((self.host, self.server_port))
        conn, _ = listener.accept()
        self.sockets.append(conn)
        return listener, client, conn

    def exchange_data(self, client: socket.socket, conn: socket.socket) -> None:
        """The client sends a request, the server answers it, each reads all of the other's."""
        client.sendall(REQUEST)
        recv_exactly(conn, len(REQUEST))
        conn.sendall(RESPONSE)
        recv_exactly(client, len(RESPONSE))

    # -- checkpoints -----------------------------------------------------------------------

    def checkpoint(self, label: str, expect: tuple[str, str], *, undelivered: int = 0,
                   quiet: float = QUIET) -> dict:
        """Wait for a quiet wire, read ss, and keep (packets so far, both states).

        `expect` is what this exchange promises here (client, server); anything else
        means timing made this run different (ExchangeRaced)."""
        for _ in range(20):
            count = self.cap.wait_quiet(quiet)
            rows = self.ns.ss()
            if self.cap.count() == count:  # nothing moved while ss was reading
                break
        else:
            raise ExchangeRaced(f"{label}: packets kept flowing while reading ss")
        c, s = self.client_port, self.server_port
        client_state, server_state = connection_states(rows, (self.host, c), (self.host, s))
        listener = "LISTEN" if any(r.state == "LISTEN" and r.local_port == s for r in rows) else "UNCONN"
        ours = [r for r in rows if {r.local_port, r.peer_port} <= {c, s} or r.local_port == s]
        point = {
            "after_packets": count,
            "client": client_state,
            "server": server_state,
            "label": label,
            "undelivered": undelivered,
            "listener": listener,
            "client_socket": endpoint_text(self.host, c),
            "server_socket": endpoint_text(self.host, s),
            "ss": [f"{r.state} {r.recv_q} {r.send_q} {r.local} {r.peer}" for r in ours],
        }
        self.checkpoints.append(point)
        if (client_state, server_state) != expect:
            raise ExchangeRaced(f"{label}: ss shows client {client_state}, server {server_state}, "
                                f"expected {expect[0]}, {expect[1]}")
        return point

    def wait_dropped(self, rules, total: int, timeout: float = 3.0) -> None:
        """Wait until the nft rules have dropped `total` packets between them."""
        deadline = time.monotonic() + timeout
        while sum(self.ns.dropped(r) for r in rules) < total:
            if time.monotonic() > deadline:
                raise ExchangeRaced(f"nft dropped fewer than {total} packets")
            time.sleep(0.005)


def recv_exactly(sock: socket.socket, n: int, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ExchangeRaced(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def recv_to_eof(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def abort(sock: socket.socket) -> None:
    """close() with SO_LINGER on and a zero timeout: the kernel sends RST, not FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# --- the exchanges -------------------------------------------------------------------------


def run_normal(s: Session) -> None:
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    s.exchange_data(client, conn)
    s.checkpoint("request and response delivered", ("ESTAB", "ESTAB"))
    client.close()
    s.checkpoint("client closed, server not yet", ("FIN-WAIT-2", "CLOSE-WAIT"))
    conn.close()
    s.checkpoint("server closed too: client waits 2MSL", ("TIME-WAIT", "UNCONN"))


def run_server_close(s: Session) -> None:
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    s.exchange_data(client, conn)
    s.checkpoint("request and response delivered", ("ESTAB", "ESTAB"))
    conn.close()
    s.checkpoint("server closed first, client not yet", ("CLOSE-WAIT", "FIN-WAIT-2"))
    client.close()
    s.checkpoint("client closed too: the server waits 2MSL", ("UNCONN", "TIME-WAIT"))


def run_close_wait_data(s: Session) -> None:
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    client.sendall(REQUEST)
    recv_exactly(conn, len(REQUEST))
    s.checkpoint("request delivered", ("ESTAB", "ESTAB"))
    client.shutdown(socket.SHUT_WR)
    s.checkpoint("client half-closed (shutdown SHUT_WR)", ("FIN-WAIT-2", "CLOSE-WAIT"))
    half = len(RESPONSE) // 2
    conn.sendall(RESPONSE[:half])
    recv_exactly(client, half)
    s.checkpoint("server still sends in CLOSE_WAIT, client still reads", ("FIN-WAIT-2", "CLOSE-WAIT"))
    conn.sendall(RESPONSE[half:])
    recv_exactly(client, len(RESPONSE) - half)
    s.checkpoint("the rest of the response delivered", ("FIN-WAIT-2", "CLOSE-WAIT"))
    conn.close()
    if recv_to_eof(client) != b"":
        raise ExchangeRaced("data after the server's FIN")
    s.checkpoint("server closed: client waits 2MSL", ("TIME-WAIT", "UNCONN"))
    client.close()


def run_rst_abort(s: Session) -> None:
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    s.exchange_data(client, conn)
    s.checkpoint("request and response delivered", ("ESTAB", "ESTAB"))
    abort(client)
    s.checkpoint("client aborted with RST: both connections are gone", ("UNCONN", "UNCONN"))
    try:
        conn.settimeout(2)
        conn.recv(1)
    except ConnectionResetError:
        pass
    else:
        raise ExchangeRaced("the server's socket did not see the reset")


def run_refused(s: Session) -> None:
    client = s.client()
    try:
        client.connect((s.host, s.server_port))
    except ConnectionRefusedError:
        pass
    else:
        raise ExchangeRaced("connect succeeded with no listener")
    s.checkpoint("no listener: the SYN was answered with RST", ("UNCONN", "UNCONN"))


def run_simultaneous_open(s: Session) -> None:
    s.server_port = PEER_PORT  # no server: the "server" is the peer whose SYN is second
    a, b = s.client(CLIENT_PORT), s.client(PEER_PORT)
    first_syns = [s.ns.drop(tcp_match(sport=p, flags=["syn"], not_flags=["ack"]), once=True)
                  for p in (CLIENT_PORT, PEER_PORT)]
    for sock in (a, b):
        sock.setblocking(False)
    # Back to back: both SYN retransmission timers (1 s) then expire together.
    a.connect_ex((s.host, PEER_PORT))
    b.connect_ex((s.host, CLIENT_PORT))
    s.wait_dropped(first_syns, 2)
    s.checkpoint("both sent SYN, both SYNs lost", ("SYN-SENT", "SYN-SENT"), undelivered=2)
    _, writable, _ = select.select([], [a, b], [], 5)
    while len(writable) < 2:
        _, more, _ = select.select([], [a, b], [], 5)
        if not more:
            raise ExchangeRaced("simultaneous open did not complete")
        writable = more
    for sock in (a, b):
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise ExchangeRaced(f"simultaneous open failed: {os.strerror(err)}")
        sock.setblocking(True)
    s.checkpoint("retransmitted SYNs crossed: both open", ("ESTAB", "ESTAB"))
    a.close()
    s.checkpoint("first peer closed", ("FIN-WAIT-2", "CLOSE-WAIT"))
    b.close()
    s.checkpoint("second peer closed: first waits 2MSL", ("TIME-WAIT", "UNCONN"))


def run_simultaneous_close(s: Session) -> None:
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    s.exchange_data(client, conn)
    s.checkpoint("request and response delivered", ("ESTAB", "ESTAB"))
    first_fins = [s.ns.drop(tcp_match(sport=p, flags=["fin"]), once=True)
                  for p in (CLIENT_PORT, SERVER_PORT)]
    # Back to back: both retransmission timers (about 200 ms) then expire together.
    client.close()
    conn.close()
    s.wait_dropped(first_fins, 2)
    s.checkpoint("both sent FIN, both FINs lost", ("FIN-WAIT-1", "FIN-WAIT-1"),
                 undelivered=2, quiet=QUIET_LOSS)
    s.checkpoint("retransmitted FINs crossed: both went through CLOSING", ("TIME-WAIT", "TIME-WAIT"))


def run_closing(s: Session) -> None:
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    s.exchange_data(client, conn)
    s.checkpoint("request and response delivered", ("ESTAB", "ESTAB"))
    first_fins = [s.ns.drop(tcp_match(sport=p, flags=["fin"]), once=True) for p in (CLIENT_PORT, SERVER_PORT)]
    bare_ack = ["fin", "syn", "rst", "psh"]
    first_acks = [s.ns.drop(tcp_match(sport=p, flags=["ack"], not_flags=bare_ack), once=True)
                  for p in (CLIENT_PORT, SERVER_PORT)]
    client.close()
    conn.close()
    s.wait_dropped(first_fins, 2)
    s.checkpoint("both sent FIN, both FINs lost", ("FIN-WAIT-1", "FIN-WAIT-1"),
                 undelivered=2, quiet=QUIET_LOSS)
    s.wait_dropped(first_acks, 2)
    s.checkpoint("the FINs crossed, both ACKs of them lost: both in CLOSING", ("CLOSING", "CLOSING"),
                 undelivered=2, quiet=QUIET_LOSS)
    s.checkpoint("third FINs, each acknowledging the other's: both in TIME_WAIT", ("TIME-WAIT", "TIME-WAIT"))


def run_fin_wait_2_timeout(s: Session) -> None:
    # Per namespace: an orphaned FIN_WAIT_2 socket (closed by its application) is dropped
    # after tcp_fin_timeout seconds (60 by default; 1 here to keep the recording short).
    s.ns.run(["sysctl", "-q", "-w", "net.ipv4.tcp_fin_timeout=1"])
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    s.exchange_data(client, conn)
    s.checkpoint("request and response delivered", ("ESTAB", "ESTAB"))
    client.close()
    s.checkpoint("client closed, server not yet", ("FIN-WAIT-2", "CLOSE-WAIT"))
    time.sleep(1.3)
    s.checkpoint("tcp_fin_timeout expired: the orphaned client socket is gone, silently",
                 ("UNCONN", "CLOSE-WAIT"))
    conn.close()
    s.checkpoint("the server's late FIN finds no socket: answered with RST", ("UNCONN", "UNCONN"))


def run_lost_fin(s: Session) -> None:
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    s.exchange_data(client, conn)
    s.checkpoint("request and response delivered", ("ESTAB", "ESTAB"))
    rule = s.ns.drop(tcp_match(sport=CLIENT_PORT, flags=["fin"]), once=True)
    client.close()
    s.wait_dropped([rule], 1)
    s.checkpoint("client's FIN lost: the server never saw it", ("FIN-WAIT-1", "ESTAB"),
                 undelivered=1, quiet=QUIET_LOSS)
    s.checkpoint("FIN retransmitted after the RTO and acknowledged", ("FIN-WAIT-2", "CLOSE-WAIT"))
    conn.close()
    s.checkpoint("server closed: client waits 2MSL", ("TIME-WAIT", "UNCONN"))


def run_lost_final_ack(s: Session) -> None:
    _listener, client, conn = s.open()
    s.checkpoint("three-way handshake done", ("ESTAB", "ESTAB"))
    s.exchange_data(client, conn)
    s.checkpoint("request and response delivered", ("ESTAB", "ESTAB"))
    client.close()
    s.checkpoint("client closed, server not yet", ("FIN-WAIT-2", "CLOSE-WAIT"))
    rule = s.ns.drop(tcp_match(sport=CLIENT_PORT, flags=["ack"], not_flags=["fin", "syn", "rst", "psh"]),
                     once=True)
    conn.close()
    s.wait_dropped([rule], 1)
    s.checkpoint("the last ACK was lost: server still in LAST_ACK", ("TIME-WAIT", "LAST-ACK"),
                 undelivered=1, quiet=QUIET_LOSS)
    s.checkpoint("server resent its FIN, TIME_WAIT acknowledged it again", ("TIME-WAIT", "UNCONN"))


# --- what each capture must show ----------------------------------------------------------


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ExchangeRaced(message)


def _fins(segs: list[Seg], sport: int) -> list[int]:
    return [i for i, g in enumerate(segs) if g.sport == sport and g.has(FIN)]


def check_handshake(segs: list[Seg], c: int = CLIENT_PORT, s: int = SERVER_PORT) -> None:
    _require(len(segs) >= 3, "fewer than three segments")
    a, b, d = segs[:3]
    _require(a.sport == c and a.flags & (SYN | ACK) == SYN, "first segment is not the client's SYN")
    _require(b.sport == s and b.has(SYN | ACK), "second segment is not the server's SYN-ACK")
    _require(d.sport == c and d.bare_ack, "third segment is not the client's ACK")


def check_four_way(segs: list[Seg], closer: int, other: int) -> None:
    """FIN from `closer`, a separate ACK of it, FIN from `other`, the last ACK: once each."""
    f1, f2 = _fins(segs, closer), _fins(segs, other)
    _require(len(f1) == 1 and len(f2) == 1, "expected exactly one FIN from each side")
    _require(f1[0] < f2[0], "the closer's FIN is not first")
    between = segs[f1[0] + 1 : f2[0]]
    _require(any(g.sport == other and g.bare_ack for g in between),
             "the passive closer's ACK was merged into its FIN (it closed too soon)")
    _require(segs[-1].sport == closer and segs[-1].bare_ack, "the last segment is not the final ACK")
    _require(not any(g.has(RST) for g in segs), "unexpected RST")


def check_normal(segs: list[Seg]) -> None:
    check_handshake(segs)
    check_four_way(segs, CLIENT_PORT, SERVER_PORT)


def check_server_close(segs: list[Seg]) -> None:
    check_handshake(segs)
    check_four_way(segs, SERVER_PORT, CLIENT_PORT)


def check_close_wait_data(segs: list[Seg]) -> None:
    check_handshake(segs)
    (cf,), (sf,) = _fins(segs, CLIENT_PORT), _fins(segs, SERVER_PORT)
    sent_after = [g for g in segs[cf + 1 : sf + 1] if g.sport == SERVER_PORT and g.length > 0]
    _require(sum(g.length for g in sent_after) == len(RESPONSE), "server data after the client's FIN missing")
    _require(len(sent_after) >= 2, "the server's data in CLOSE_WAIT came in one segment")


def check_rst_abort(segs: list[Seg]) -> None:
    check_handshake(segs)
    _require(segs[-1].sport == CLIENT_PORT and segs[-1].has(RST), "the last segment is not the client's RST")
    _require(not any(g.has(FIN) for g in segs), "a FIN was sent")


def check_refused(segs: list[Seg]) -> None:
    _require(len(segs) == 2, f"{len(segs)} segments instead of SYN and RST")
    _require(segs[0].flags == SYN and segs[1].flags == RST | ACK, "not SYN then RST-ACK")
    _require(segs[1].ack == (segs[0].seq + 1) % 2**32 and segs[1].seq == 0, "the RST does not acknowledge the SYN")


def check_simultaneous_open(segs: list[Seg]) -> None:
    syns = [g for g in segs if g.flags & (SYN | ACK) == SYN]
    # The first two in connect order; the retransmissions leave in whatever order the
    # timer wheel runs the two timers that expire in the same tick.
    _require(len(syns) == 4 and [g.sport for g in syns[:2]] == [CLIENT_PORT, PEER_PORT]
             and {g.sport for g in syns[2:]} == {CLIENT_PORT, PEER_PORT},
             "expected two SYNs from each side, the first ones in connect order")
    first_synack = next(i for i, g in enumerate(segs) if g.has(SYN | ACK))
    _require(segs.index(syns[3]) < first_synack, "the retransmitted SYNs did not cross (a SYN-ACK came first)")
    synacks = [g for g in segs if g.has(SYN | ACK)]
    _require({g.sport for g in synacks} == {CLIENT_PORT, PEER_PORT}, "both sides should answer with SYN-ACK")


def check_simultaneous_close(segs: list[Seg]) -> None:
    check_handshake(segs)
    cf, sf = _fins(segs, CLIENT_PORT), _fins(segs, SERVER_PORT)
    _require(len(cf) == 2 and len(sf) == 2, "expected each FIN twice (the first ones dropped)")
    last_fin = max(cf[1], sf[1])
    fin_seqs = {CLIENT_PORT: segs[cf[0]].seq, SERVER_PORT: segs[sf[0]].seq}
    acks_of_fin = [i for i, g in enumerate(segs)
                   if g.has(ACK) and g.ack == (fin_seqs[g.dport] + 1) % 2**32]
    _require(acks_of_fin and min(acks_of_fin) > last_fin,
             "a FIN was acknowledged before both retransmitted FINs were sent (they did not cross)")


def check_closing(segs: list[Seg]) -> None:
    check_handshake(segs)
    cf, sf = _fins(segs, CLIENT_PORT), _fins(segs, SERVER_PORT)
    _require(len(cf) == 3 and len(sf) == 3, "expected each FIN three times")
    _require(max(cf[1], sf[1]) < min(i for i, g in enumerate(segs) if i > cf[1] and g.bare_ack),
             "the retransmitted FINs did not cross")


def check_fin_wait_2_timeout(segs: list[Seg]) -> None:
    check_handshake(segs)
    (cf,), (sf,) = _fins(segs, CLIENT_PORT), _fins(segs, SERVER_PORT)
    _require(segs[-1].sport == CLIENT_PORT and segs[-1].flags == RST, "the late FIN is not answered by RST")
    _require(sf == len(segs) - 2 and segs[sf].time - segs[cf].time >= 1.0, "the server's FIN came too early")


def check_lost_fin(segs: list[Seg]) -> None:
    check_handshake(segs)
    cf = _fins(segs, CLIENT_PORT)
    _require(len(cf) == 2 and segs[cf[0]].seq == segs[cf[1]].seq, "the client's FIN was not sent twice")
    _require(segs[cf[1]].time - segs[cf[0]].time >= 0.19, "the FIN came back before the RTO")
    _require(cf[1] == cf[0] + 1, "something was sent between the lost FIN and its retransmission")
    _require(len(_fins(segs, SERVER_PORT)) == 1, "the server's FIN is not there once")


def check_lost_final_ack(segs: list[Seg]) -> None:
    check_handshake(segs)
    sf = _fins(segs, SERVER_PORT)
    _require(len(sf) == 2 and segs[sf[0]].seq == segs[sf[1]].seq, "the server's FIN was not sent twice")
    final_ack = (segs[sf[0]].seq + 1) % 2**32
    acks = [i for i, g in enumerate(segs) if g.sport == CLIENT_PORT and g.bare_ack and g.ack == final_ack]
    _require(len(acks) == 2 and acks[0] < sf[1] < acks[1], "expected ACK, FIN again, ACK again")
    _require(segs[-1].sport == CLIENT_PORT, "the last segment is not TIME_WAIT's ACK")


@dataclass(frozen=True)
class Exchange:
    name: str
    teaches: str
    run: Callable[[Session], None]
    check: Callable[[list[Seg]], None]
    family: int = socket.AF_INET


EXCHANGES: dict[str, Exchange] = {
    e.name: e
    for e in (
        Exchange("normal", "open, data both ways, the client closes first, then the server",
                 run_normal, check_normal),
        Exchange("server-close", "the server closes first: it gets TIME_WAIT, the client CLOSE_WAIT",
                 run_server_close, check_server_close),
        Exchange("close-wait-data", "half-close: the client shuts down its sending side, the server "
                 "keeps sending in CLOSE_WAIT, then closes", run_close_wait_data, check_close_wait_data),
        Exchange("rst-abort", "an abortive close: SO_LINGER 0 makes close() send RST; no TIME_WAIT",
                 run_rst_abort, check_rst_abort),
        Exchange("refused", "connect to a port with no listener: SYN answered by RST-ACK",
                 run_refused, check_refused),
        Exchange("simultaneous-open", "both peers connect to each other; their SYNs cross, "
                 "both go SYN_SENT -> SYN_RCVD -> ESTABLISHED", run_simultaneous_open, check_simultaneous_open),
        Exchange("simultaneous-close", "both close at once; the FINs cross, both go through CLOSING "
                 "to TIME_WAIT", run_simultaneous_close, check_simultaneous_close),
        Exchange("lost-fin", "the client's FIN is lost once and retransmitted after the RTO",
                 run_lost_fin, check_lost_fin),
        Exchange("lost-final-ack", "the last ACK is lost: LAST_ACK resends its FIN, TIME_WAIT "
                 "acknowledges it again", run_lost_final_ack, check_lost_final_ack),
        Exchange("ipv6", "the normal exchange over IPv6 (::1)", run_normal, check_normal, socket.AF_INET6),
        Exchange("closing", "simultaneous close with the ACKs of the FINs lost too: both sides "
                 "wait in CLOSING", run_closing, check_closing),
        Exchange("fin-wait-2-timeout", "an orphaned FIN_WAIT_2 is dropped after tcp_fin_timeout; "
                 "the peer's late FIN gets RST", run_fin_wait_2_timeout, check_fin_wait_2_timeout),
    )
}


def record_once(exchange: Exchange, workdir: Path) -> tuple[Path, list[dict]]:
    host = "::1" if exchange.family == socket.AF_INET6 else "127.0.0.1"
    pcap = workdir / f"{exchange.name}.pcap"
    pcap.unlink(missing_ok=True)
    with Namespace("tcplab-rec") as ns:
        cap = ns.tcpdump(pcap)
        session = Session(ns, cap, exchange.family, host)
        try:
            exchange.run(session)
        finally:
            for sock in session.sockets:
                sock.close()
            stats = cap.stop()
    if stats.get("dropped"):
        raise ExchangeRaced(f"tcpdump lost {stats['dropped']} packets")
    segs = read_segments(pcap.read_bytes())
    _require(len(segs) == session.checkpoints[-1]["after_packets"],
             "packets arrived after the last checkpoint")
    exchange.check(segs)
    return pcap, session.checkpoints


def record(name: str, out_dir: Path | str = HERE, *, attempts: int = 3) -> tuple[Path, list[dict]]:
    """Record exchange `name` into out_dir/NAME.pcap and out_dir/NAME.checkpoints.json.

    Returns the pcap's path and the checkpoints. Re-runs the exchange (up to `attempts`
    times) when the kernel's timing made the capture differ from what it promises."""
    exchange = EXCHANGES[name]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = []
    for _ in range(attempts):
        with tempfile.TemporaryDirectory(prefix="tcplab-rec-") as tmp:
            try:
                pcap, checkpoints = record_once(exchange, Path(tmp))
            except (ExchangeRaced, OSError) as exc:  # OSError: a socket call timed out or failed
                problems.append(f"{type(exc).__name__}: {exc}" if isinstance(exc, OSError) else str(exc))
                continue
            target = out_dir / f"{name}.pcap"
            shutil.copyfile(pcap, target)
        (out_dir / f"{name}.checkpoints.json").write_text(json.dumps(checkpoints, indent=1) + "\n")
        return target, checkpoints
    raise NetnsError(f"{name}: no clean recording in {attempts} attempts: {'; '.join(problems)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="record.py", description="Record tcp-lab's sample captures from the Linux kernel "
        "(needs root, tcpdump, ss, nft).")
    parser.add_argument("names", nargs="*", metavar="NAME", help="exchanges to record (see --list)")
    parser.add_argument("--all", action="store_true", help="record every exchange")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the exchanges and exit")
    args = parser.parse_args(argv)
    if args.list:
        for e in EXCHANGES.values():
            print(f"{e.name:20} {e.teaches}")
        return 0
    names = list(EXCHANGES) if args.all else args.names
    unknown = [n for n in names if n not in EXCHANGES]
    if unknown or not names:
        print(f"record.py: name one or more of {', '.join(EXCHANGES)}, or --all "
              f"({'unknown: ' + ', '.join(unknown) if unknown else 'none given'}).", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("record.py: making network namespaces and capturing needs root.", file=sys.stderr)
        return 3
    missing = [tool for tool in ("ip", "ss", "tcpdump", "nft") if shutil.which(tool) is None]
    if missing:
        print(f"record.py: {', '.join(missing)} not found; install iproute2, tcpdump and nftables.",
              file=sys.stderr)
        return 3
    remove_stale("tcplab-rec")
    if args.all:  # the rebuilt course example too (deterministic, no kernel involved)
        try:
            from tcp_lab.captures.make_course_example import course_example_bytes, course_example_packets
        except ImportError:  # pragma: no cover - outside the installed package
            from make_course_example import course_example_bytes, course_example_packets  # type: ignore
        args.out.mkdir(parents=True, exist_ok=True)
        data = course_example_bytes()
        (args.out / "course-example.pcap").write_bytes(data)
        print(f"{'course-example':20} {len(course_example_packets()):3} packets {len(data):6} bytes (rebuilt from the course notes)")
    for name in names:
        started = time.monotonic()
        try:
            pcap, checkpoints = record(name, args.out)
        except NetnsError as exc:
            print(f"record.py: {exc}", file=sys.stderr)
            return 1
        print(f"{name:20} {checkpoints[-1]['after_packets']:3} packets {pcap.stat().st_size:6} bytes "
              f"{len(checkpoints)} checkpoints  {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
