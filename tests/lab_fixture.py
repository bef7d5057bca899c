"""Hand-made timelines for the screen's tests: the frames a lab or a replay would produce.

They do not simulate TCP: each frame is written out with both endpoints as RFC 9293 says
they are after it, so the screen's tests do not depend on the engine. `handshake_teardown`
is the textbook connection (three-way handshake, client closes first, TIME_WAIT expires)
as send/deliver frames; `with_faults` adds a lost segment and a duplicated one;
`captured` is the same connection as a capture would give it (one "segment" frame each).
"""

from __future__ import annotations

from dataclasses import replace

from tcp_lab.core.frame import EndpointView, Explanation, Frame, ListTimeline, Timer
from tcp_lab.core.options import build_options
from tcp_lab.core.segment import ACK, FIN, SYN, Segment, flag_names, seq_add
from tcp_lab.core.states import State

C_ADDR, C_PORT = "10.0.0.1", 52296
S_ADDR, S_PORT = "10.0.0.2", 80
WIN = 64240


class _Builder:
    """Writes frames one by one, keeping both endpoints' views."""

    def __init__(self, isn_c: int, isn_s: int, title: str) -> None:
        self.tl = ListTimeline(title)
        self.isn = {"client": isn_c, "server": isn_s}
        self.views = {
            "client": EndpointView(C_ADDR, C_PORT, State.CLOSED),
            "server": EndpointView(S_ADDR, S_PORT, State.CLOSED),
        }
        self.time = 0.0
        self.row = 0

    def _frame(self, event: str, **kw) -> Frame:
        frame = Frame(
            no=len(self.tl) + 1,
            time=round(self.time, 6),
            event=event,  # type: ignore[arg-type]
            client=self.views["client"],
            server=self.views["server"],
            **kw,
        )
        self.tl.append(frame)
        return frame

    def set(self, role: str, **changes) -> None:
        self.views[role] = replace(self.views[role], **changes)

    def app(self, role: str, call: str, key: str, **view) -> None:
        self.set(role, **view)
        self._frame("app", who=role, call=call, explain=Explanation(key, {"who": role}))

    def timer(self, role: str, name: str, key: str, **view) -> None:
        self.set(role, **view)
        self._frame("timer", who=role, timer=name, explain=Explanation(key, {"who": role}))

    def segment(self, sender: str, flags: int, seq: int, ack: int, length: int = 0) -> tuple[Segment, dict]:
        peer = "server" if sender == "client" else "client"
        src, dst = self.views[sender], self.views[peer]
        options = build_options(mss=1460, ws=7, sack_perm=True) if flags & SYN else b""
        seg = Segment(src.addr, src.port, dst.addr, dst.port, seq, ack if flags & ACK else 0, flags, WIN, length, options)
        seq_rel = (seq - self.isn[sender]) % (1 << 32)
        ack_rel = (ack - self.isn[peer]) % (1 << 32) if flags & ACK else None
        names = ", ".join(flag_names(flags))
        info = f"{src.port} → {dst.port} [{names}] Seq={seq_rel}"
        if ack_rel is not None:
            info += f" Ack={ack_rel}"
        info += f" Win={WIN} Len={length}"
        if flags & SYN:
            info += " MSS=1460 WS=128 SACK_PERM"
        fields = dict(segment=seg, sender=sender, seq_rel=seq_rel, ack_rel=ack_rel, win_scaled=WIN, info=info)
        return seg, fields

    def send(self, sender: str, flags: int, seq: int, ack: int, key: str, length: int = 0, **view) -> dict:
        seg, fields = self.segment(sender, flags, seq, ack, length)
        fields["row"] = self.row
        self.row += 1
        self.set(sender, **view)
        self._frame("send", who=sender, explain=Explanation(key, {"who": sender}), **fields)
        self.time += 0.001
        return fields

    def deliver(self, fields: dict, key: str, **view) -> None:
        receiver = "server" if fields["sender"] == "client" else "client"
        self.set(receiver, **view)
        self._frame("deliver", who=receiver, explain=Explanation(key, {"who": receiver}), **fields)
        self.time += 0.001

    def drop(self, fields: dict, key: str) -> None:
        self._frame("drop", explain=Explanation(key, {}), **fields)


def handshake_teardown(isn_c: int = 1000, isn_s: int = 5000, *, faults: bool = False) -> ListTimeline:
    """The basic connection: server listens, client connects, data-less close by the client.

    With `faults`, the client's first SYN is lost and resent after its RTO, and the
    server's ACK of the client's FIN is delivered twice (a duplicate on the wire).
    """
    b = _Builder(isn_c, isn_s, "Handshake and teardown" + (" with faults" if faults else ""))
    c_iss, s_iss = isn_c, isn_s
    b.app("server", "listen", "fixture.listen", state=State.LISTEN, rcv_wnd=WIN)
    b.app(
        "client", "connect", "fixture.connect",
        state=State.SYN_SENT, iss=c_iss, snd_una=c_iss, snd_nxt=seq_add(c_iss, 1), rcv_wnd=WIN,
        timers=(Timer("rto", 1.0),),
    )
    syn = b.send("client", SYN, c_iss, 0, "fixture.send_syn")
    if faults:
        b.drop(syn, "fixture.drop")
        b.time = 1.0
        b.timer("client", "rto", "fixture.rto", timers=(Timer("rto", 3.0),))
        syn = b.send("client", SYN, c_iss, 0, "fixture.send_syn")
    b.deliver(
        syn, "fixture.syn_arrives",
        state=State.SYN_RCVD, iss=s_iss, irs=c_iss, rcv_nxt=seq_add(c_iss, 1), snd_una=s_iss,
        snd_nxt=seq_add(s_iss, 1), snd_wnd=WIN, timers=(Timer("rto", round(b.time + 1.0, 6)),),
    )
    synack = b.send("server", SYN | ACK, s_iss, seq_add(c_iss, 1), "fixture.send_synack")
    b.deliver(
        synack, "fixture.synack_arrives",
        state=State.ESTABLISHED, irs=s_iss, rcv_nxt=seq_add(s_iss, 1), snd_una=seq_add(c_iss, 1), snd_wnd=WIN, timers=(),
    )
    ack = b.send("client", ACK, seq_add(c_iss, 1), seq_add(s_iss, 1), "fixture.send_ack")
    b.deliver(ack, "fixture.ack_arrives", state=State.ESTABLISHED, snd_una=seq_add(s_iss, 1), timers=())
    # Teardown: the client closes first (RFC 9293 section 3.6).
    b.app("client", "close", "fixture.close", state=State.FIN_WAIT_1)
    fin1 = b.send(
        "client", FIN | ACK, seq_add(c_iss, 1), seq_add(s_iss, 1), "fixture.send_fin",
        snd_nxt=seq_add(c_iss, 2), timers=(Timer("rto", round(b.time + 1.0, 6)),),
    )
    b.deliver(fin1, "fixture.fin_arrives", state=State.CLOSE_WAIT, rcv_nxt=seq_add(c_iss, 2))
    ack2 = b.send("server", ACK, seq_add(s_iss, 1), seq_add(c_iss, 2), "fixture.send_ack")
    b.deliver(ack2, "fixture.ack_of_fin_arrives", state=State.FIN_WAIT_2, snd_una=seq_add(c_iss, 2), timers=())
    if faults:
        b.deliver(ack2, "fixture.duplicate_arrives")
    b.app("server", "close", "fixture.close", state=State.LAST_ACK)
    fin2 = b.send(
        "server", FIN | ACK, seq_add(s_iss, 1), seq_add(c_iss, 2), "fixture.send_fin",
        snd_nxt=seq_add(s_iss, 2), timers=(Timer("rto", round(b.time + 1.0, 6)),),
    )
    b.deliver(
        fin2, "fixture.fin_arrives",
        state=State.TIME_WAIT, rcv_nxt=seq_add(s_iss, 2), timers=(Timer("2msl", round(b.time + 60.0, 6)),),
    )
    last = b.send("client", ACK, seq_add(c_iss, 2), seq_add(s_iss, 2), "fixture.send_last_ack")
    b.deliver(last, "fixture.last_ack_arrives", state=State.CLOSED, snd_una=seq_add(s_iss, 2), timers=())
    b.time = b.views["client"].timers[0].deadline
    b.timer("client", "2msl", "fixture.time_wait_ends", state=State.CLOSED, timers=())
    return b.tl


def captured(isn_c: int = 1000, isn_s: int = 5000) -> ListTimeline:
    """The same connection as a capture replay gives it: one "segment" frame per segment,
    both endpoints updated by that frame (DESIGN.md: sender's transition, then receiver's)."""
    lab = handshake_teardown(isn_c, isn_s)
    out = ListTimeline("Captured handshake and teardown")
    pending = None
    for frame in lab:
        if frame.event == "send":
            pending = frame
        elif frame.event == "deliver" and pending is not None:
            out.append(
                replace(pending, no=len(out) + 1, event="segment", row=None, client=frame.client, server=frame.server)
            )
            pending = None
    return out


#: The states each side goes through in handshake_teardown(), in order.
CLIENT_STATES = ["CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED"]
SERVER_STATES = ["LISTEN", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]
