"""Hand-made TCP conversations written as pcap bytes (a test helper for the tracker).

A `Dialog` is one connection between a client and a server; each call appends one
segment sent by one side, with absolute sequence numbers, at a time that advances by `dt`
seconds. Frames are built by core/pcapwrite.py (Ethernet, IPv4 or IPv6, real checksums).

    d = Dialog(cport=40001)
    d.handshake()                        # SYN 1000, SYN/ACK 5000, ACK
    d.c(ACK | PSH, 1001, 5001, data=100)  # the client sends 100 bytes
    pcap = capture(d)                     # or capture(d1, d2, ...) interleaved by time
"""

from __future__ import annotations

from tcp_lab.core.options import build_options
from tcp_lab.core.pcapwrite import pcap_bytes, tcp_packet
from tcp_lab.core.segment import ACK, SYN, Segment

CLIENT_ISN = 1000
SERVER_ISN = 5000


class Dialog:
    def __init__(
        self,
        cport: int = 40000,
        sport: int = 80,
        client: str = "10.0.0.1",
        server: str = "10.0.0.2",
        t0: float = 1_700_000_000.0,
    ) -> None:
        self.client = (client, cport)
        self.server = (server, sport)
        self.t = t0
        self.packets: list[tuple[float, bytes]] = []

    def _send(self, frm, to, flags, seq, ack, data, win, opts, dt, urg) -> "Dialog":
        self.t += dt
        payload = data if isinstance(data, bytes) else b"x" * data
        seg = Segment(frm[0], frm[1], to[0], to[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, flags, win, len(payload), opts)
        self.packets.append((round(self.t, 6), tcp_packet(seg, payload, urgent=urg)))
        return self

    def c(self, flags, seq, ack=0, *, data=0, win=1000, opts=b"", dt=0.01, urg=0) -> "Dialog":
        """The client sends a segment."""
        return self._send(self.client, self.server, flags, seq, ack, data, win, opts, dt, urg)

    def s(self, flags, seq, ack=0, *, data=0, win=1000, opts=b"", dt=0.01, urg=0) -> "Dialog":
        """The server sends a segment."""
        return self._send(self.server, self.client, flags, seq, ack, data, win, opts, dt, urg)

    def handshake(self, *, ws: int | None = None, cwin: int = 1000, swin: int = 1000, rtt: float = 0.02) -> "Dialog":
        """SYN (ISN 1000), SYN/ACK (ISN 5000), ACK, half an RTT apart each."""
        copts = build_options(mss=1460, ws=ws, sack_perm=True) if ws is not None else b""
        sopts = build_options(mss=1460, ws=ws, sack_perm=True) if ws is not None else b""
        self.c(SYN, CLIENT_ISN, 0, win=cwin, opts=copts)
        self.s(SYN | ACK, SERVER_ISN, CLIENT_ISN + 1, win=swin, opts=sopts, dt=rtt / 2)
        self.c(ACK, CLIENT_ISN + 1, SERVER_ISN + 1, win=cwin, dt=rtt / 2)
        return self


def capture(*dialogs: Dialog) -> bytes:
    """One pcap with the segments of all dialogs, in time order."""
    packets = sorted((p for d in dialogs for p in d.packets), key=lambda p: p[0])
    return pcap_bytes(packets)
