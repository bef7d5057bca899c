"""One TCP endpoint as RFC 9293 describes it, sans I/O (the aioquic / h11 shape).

The endpoint never sends, sleeps or reads a clock. The caller hands it application calls
(`listen`, `connect`, `send`, `close`, `abort`), arriving segments (`receive`) and timer
firings (`handle_timer`), each with the current time `now`; it asks for timers
(`next_timer`) and hands back the segments it wants sent (`take_outgoing`).

Every state change goes through the transition table (core/transitions.py): the endpoint
classifies what happened, following the order of RFC 9293 section 3.10, looks up the row
for (state, event) and applies it; `applied` keeps every row it used, so tests can check
that the table and the behaviour agree. An illegal application call raises IllegalCall
and changes nothing.

Simplifications, each said where it is made: no delayed ACK (Linux delays ACKs up to 40 ms
and more; here every segment is acknowledged at once), no congestion control, no RTT
measurement (the RTO starts at 1 s, doubles on each timeout and returns to 1 s when new
data is acknowledged), the receiving application reads at once (RCV.WND stays constant),
no urgent data, no timestamps, SACK is offered on SYNs but never used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from . import options as tcp_options
from .frame import EndpointView, Timer
from .segment import ACK, FIN, PSH, RST, SEQ_MOD, SYN, Segment, seq_add, seq_diff, seq_le, seq_lt
from .states import State
from .transitions import PEER_FINISHED, RECEIVING, Row, illegal_reason, lookup

#: RFC 6298 2.1 and RFC 9293 3.8.1: the initial retransmission timeout, 1 second.
INITIAL_RTO = 1.0
#: RFC 6298 2.5 allows a ceiling of at least 60 s; Linux uses 120 s (TCP_RTO_MAX).
MAX_RTO = 120.0
#: Retransmissions before giving up. Linux: tcp_syn_retries = 6, which gives up on a SYN
#: after 1+2+4+8+16+32+64 = 127 s; for data Linux allows 15 (tcp_retries2).
MAX_RETRIES = 6
#: RFC 9293 3.4.1: the ISN clock ticks every 4 microseconds.
ISN_TICKS_PER_SECOND = 250_000
#: RFC 9293 3.7.1: the MSS to assume when the peer sent no MSS option (IPv4).
DEFAULT_MSS = 536
#: Out-of-order segments held at most (RFC 9293 3.10.7.4 SHLD-31 says "hold"; we bound it).
MAX_HELD = 64
#: ACK throttling (RFC 5961 section 7, RFC 9293 3.10.7.4): at most one ACK per this many
#: seconds in answer to unacceptable dataless segments, as Linux's tcp_invalid_ratelimit
#: (500 ms). Without it two desynchronized endpoints can ACK each other forever (an ACK war).
OOW_ACK_INTERVAL = 0.5


class IllegalCall(ValueError):
    """An application call the current state does not allow (RFC 9293 3.10 "error: ...").

    Raised before anything changes."""


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """What the application and the host decide before the connection exists."""

    role: str
    addr: str
    port: int
    peer_addr: str
    peer_port: int
    #: The first ISN this endpoint picks; later picks follow the 4-microsecond clock.
    isn: int
    mss: int = 1460
    #: Receive window (bytes). 64240 = 44 x 1460, what Linux offers in its SYN.
    window: int = 64240
    #: Window scale shift offered in our SYN (RFC 7323); None = no WS option. Linux: 7.
    wscale: int | None = 7
    sack_perm: bool = True
    #: Maximum segment lifetime in seconds. RFC 9293 says 2 minutes; 30 s makes 2MSL = 60 s,
    #: Linux's fixed TIME_WAIT (TCP_TIMEWAIT_LEN).
    msl: float = 30.0
    rto: float = INITIAL_RTO
    retries: int = MAX_RETRIES
    #: NOT TCP: the hypothetical two-way handshake of the `two-way-handshake` scenario.
    two_way: bool = False


@dataclass(frozen=True, slots=True)
class Applied:
    """One row of the transition table applied: which, from which state to which, when."""

    row: str
    old: State
    new: State
    time: float


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A segment the endpoint wants sent, with why (a key for the explanation, "send.<why>")."""

    segment: Segment
    why: str
    #: The window as the receiver will read it (scaled unless it is a SYN), for display.
    win_scaled: int
    retransmission: bool = False
    #: The data reaches the right edge of the peer's window (Wireshark: "TCP Window Full").
    window_full: bool = False


@dataclass(frozen=True, slots=True)
class _Unacked:
    """An entry of the retransmission queue: what occupies [seq, seq + seg_len)."""

    seq: int
    length: int
    flags: int  # SYN / FIN / PSH; ACK is added when (re)sent
    options: bytes = b""

    @property
    def seg_len(self) -> int:
        return self.length + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)


@dataclass(slots=True)
class Endpoint:
    """A TCP endpoint: its state, its TCB (RFC 9293 3.3.1) and its queues.

    Everything an endpoint holds is immutable or a list of immutable things, so `clone()`
    (a copy of the fields and of the lists) is an independent snapshot."""

    cfg: EndpointConfig
    state: State = State.CLOSED
    # --- TCB (None = not known / no TCB) -------------------------------------------------
    iss: int | None = None
    irs: int | None = None
    snd_una: int | None = None
    snd_nxt: int | None = None
    snd_wnd: int | None = None
    snd_wl1: int | None = None
    snd_wl2: int | None = None
    max_snd_wnd: int = 0
    rcv_nxt: int | None = None
    #: Effective send MSS (RFC 9293 3.7.1): the peer's MSS option, capped by ours.
    snd_mss: int = DEFAULT_MSS
    #: RFC 7323: both SYNs carried WS, so windows after the handshake are scaled.
    ws_ok: bool = False
    snd_shift: int = 0  # applied to windows we receive
    rcv_shift: int = 0  # applied to windows we send
    #: True when SYN_RCVD came from LISTEN (RFC 9293 3.10.7.4: an RST returns to LISTEN).
    passive: bool = False
    # --- queues ---------------------------------------------------------------------------
    send_queue: list[int] = field(default_factory=list)  # bytes of each SEND not yet segmentized
    fin_pending: bool = False
    fin_sent: bool = False
    close_queued: bool = False  # CLOSE in SYN_RCVD with data queued (3.10.4)
    unacked: list[_Unacked] = field(default_factory=list)
    held: list[Segment] = field(default_factory=list)  # out-of-order segments
    # --- timers ---------------------------------------------------------------------------
    rto_deadline: float | None = None
    rto_current: float = INITIAL_RTO
    retries: int = 0
    time_wait_deadline: float | None = None
    #: When we last answered an unacceptable segment with an ACK (for ACK throttling).
    last_oow_ack: float | None = None
    # --- application ----------------------------------------------------------------------
    #: The application closes as soon as it reads the peer's FIN (before TCP's ACK leaves).
    close_on_fin: bool = False
    #: Why the connection ended (or fell back to LISTEN): "connection refused", "reset" ...
    reason: str | None = None
    # --- bookkeeping ----------------------------------------------------------------------
    outbox: list[Outgoing] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    _isn_t0: float | None = None
    _isn_last: int | None = None

    def __post_init__(self) -> None:
        self.rto_current = self.cfg.rto

    def clone(self) -> "Endpoint":
        """An independent copy (for the simulation's per-frame snapshots)."""
        twin = object.__new__(Endpoint)
        for name in _FIELD_NAMES:
            setattr(twin, name, getattr(self, name))
        twin.send_queue = list(self.send_queue)
        twin.unacked = list(self.unacked)
        twin.held = list(self.held)
        twin.outbox = list(self.outbox)
        twin.applied = list(self.applied)
        return twin

    # ===================================================================== public API ===

    @property
    def role(self) -> str:
        return self.cfg.role

    def listen(self, now: float) -> Row:
        """Passive OPEN (RFC 9293 3.10.1)."""
        row = self._legal("listen")
        self.passive = True
        self.reason = None
        return self._apply(row.event, now)

    def connect(self, now: float) -> Row:
        """Active OPEN: choose an ISS and send a SYN (RFC 9293 3.10.1)."""
        self._legal("connect")
        self.reason = None
        self.passive = False
        self._init_send(now)
        self.snd_nxt = seq_add(self.iss, 1)
        syn_options = tcp_options.build_options(mss=self.cfg.mss, ws=self.cfg.wscale, sack_perm=self.cfg.sack_perm)
        self._queue_unacked(_Unacked(self.iss, 0, SYN, syn_options), now)
        self._emit(SYN, self.iss, 0, 0, "syn", syn_options)
        return self._apply("connect", now)

    def send(self, nbytes: int, now: float) -> Row:
        """SEND n bytes (RFC 9293 3.10.2): queued before ESTABLISHED, else cut by MSS."""
        if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 1:
            raise IllegalCall(f"can't send {nbytes!r} bytes: give a whole number of bytes, 1 or more")
        self._legal("send")
        self.send_queue.append(nbytes)
        row = self._apply("send", now)
        self._flush(now)
        return row

    def close(self, now: float) -> Row:
        """CLOSE: "I have no more to send" (RFC 9293 3.10.4). The FIN follows queued data."""
        self._legal("close")
        if self.state is State.SYN_RCVD and self.send_queue:
            self.close_queued = True
            return self._apply("close_queued", now)
        if self.state in (State.ESTABLISHED, State.CLOSE_WAIT, State.SYN_RCVD):
            self.fin_pending = True
        row = self._apply("close", now)
        self._flush(now)
        return row

    def abort(self, now: float) -> Row:
        """ABORT (RFC 9293 3.10.5): RST <SEQ=SND.NXT> if the peer may know us, then CLOSED."""
        row = self._legal("abort")
        if row.id == "sync.abort":
            # RFC 9293 3.10.5 sends a bare RST; Linux sends RST+ACK (tcp_send_active_reset).
            self._emit(RST, self.snd_nxt, 0, 0, "rst_abort")
        self.reason = "aborted by the application"
        return self._apply("abort", now)

    def receive(self, seg: Segment, now: float) -> list[str]:
        """A segment arrives (RFC 9293 3.10.7). Returns the ids of the rows applied."""
        start = len(self.applied)
        if self.state is State.CLOSED:
            self._on_closed(seg, now)
        elif self.state is State.LISTEN:
            self._on_listen(seg, now)
        elif self.state is State.SYN_SENT:
            self._on_syn_sent(seg, now)
        else:
            self._on_synchronized(seg, now)
        return [a.row for a in self.applied[start:]]

    def next_timer(self) -> tuple[str, float] | None:
        """The timer that fires first: ("rto" | "2msl", deadline), or None."""
        if self.time_wait_deadline is not None:
            return ("2msl", self.time_wait_deadline)
        if self.rto_deadline is not None:
            return ("rto", self.rto_deadline)
        return None

    def timers(self) -> tuple[Timer, ...]:
        out = []
        if self.rto_deadline is not None:
            out.append(Timer("rto", self.rto_deadline))
        if self.time_wait_deadline is not None:
            out.append(Timer("2msl", self.time_wait_deadline))
        return tuple(out)

    def handle_timer(self, now: float) -> list[str]:
        """Fire the timer that is due at `now` (RFC 9293 3.10.8). Returns the rows applied."""
        start = len(self.applied)
        due = self.next_timer()
        if due is None or due[1] > now + 1e-9:
            return []
        name, _ = due
        if name == "2msl":
            self.time_wait_deadline = None
            self.reason = "closed normally (TIME_WAIT over)"
            self._apply("2msl", now)
        else:
            if self.retries >= self.cfg.retries:
                self.reason = f"timed out after {self.retries} retransmissions"
                if self.state is State.SYN_RCVD and self.passive:
                    self._back_to_listen("rto_give_up_passive", now)
                else:
                    self._apply("rto_give_up", now)
            else:
                # RFC 6298 5.4-5.6: resend the earliest unacknowledged segment, back off, restart.
                self.retries += 1
                self.rto_current = min(self.rto_current * 2, MAX_RTO)
                self.rto_deadline = now + self.rto_current
                self._retransmit_front()
                self._apply("rto", now)
        return [a.row for a in self.applied[start:]]

    def take_outgoing(self) -> list[Outgoing]:
        """The segments to put on the wire, oldest first (and forget them)."""
        out, self.outbox = self.outbox, []
        return out

    def view(self) -> EndpointView:
        closed = self.state is State.CLOSED
        note = self.reason if self.state in (State.CLOSED, State.LISTEN) else None
        return EndpointView(
            addr=self.cfg.addr,
            port=self.cfg.port,
            state=self.state,
            iss=self.iss,
            irs=self.irs,
            snd_una=self.snd_una,
            snd_nxt=self.snd_nxt,
            snd_wnd=self.snd_wnd,
            rcv_nxt=self.rcv_nxt,
            rcv_wnd=None if closed else self.cfg.window,
            timers=self.timers(),
            note=note,
        )

    @property
    def rows_used(self) -> set[str]:
        return {a.row for a in self.applied}

    # =============================================================== table machinery ===

    def _legal(self, call: str) -> Row:
        row = lookup(self.state, call)
        if row is None:
            raise IllegalCall(f"can't {call} in {self.state.value}: {illegal_reason(call, self.state)}")
        return row

    def _apply(self, event: str, now: float) -> Row:
        """Apply the table's row for `event` in the current state: the only way the state changes."""
        row = lookup(self.state, event)
        if row is None:  # a bug in the classification, never a user error
            raise AssertionError(f"the transition table has no row for {self.state.value} + {event}")
        old = self.state
        new = row.target(old)
        self.applied.append(Applied(row.id, old, new, now))
        if new is not old:
            self._enter(new, now)
        return row

    def _enter(self, new: State, now: float) -> None:
        self.state = new
        if new in (State.CLOSED, State.LISTEN):
            self._delete_tcb()
        elif new is State.TIME_WAIT:
            # RFC 9293 3.10.7.4 eighth: start the time-wait timer, turn off the other timers.
            self.rto_deadline = None
            self.unacked.clear()
            self.held.clear()
            self.time_wait_deadline = now + 2 * self.cfg.msl

    def _delete_tcb(self) -> None:
        """RFC 9293: "delete the TCB" (LISTEN keeps only the passive OPEN)."""
        self.iss = self.irs = self.snd_una = self.snd_nxt = self.snd_wnd = None
        self.snd_wl1 = self.snd_wl2 = self.rcv_nxt = None
        self.max_snd_wnd = 0
        self.snd_mss = DEFAULT_MSS
        self.ws_ok = False
        self.snd_shift = self.rcv_shift = 0
        self.send_queue.clear()
        self.fin_pending = self.fin_sent = self.close_queued = False
        self.unacked.clear()
        self.held.clear()
        self.rto_deadline = None
        self.rto_current = self.cfg.rto
        self.retries = 0
        self.time_wait_deadline = None
        self.last_oow_ack = None

    # ============================================================== segments arriving ===

    def _on_closed(self, seg: Segment, now: float) -> None:
        """RFC 9293 3.10.7.1: no TCB. A RST is dropped; anything else is answered with a RST."""
        if seg.flags & RST:
            self._apply("rst", now)
            return
        if seg.flags & ACK:
            self._emit(RST, seg.ack, 0, 0, "rst_closed", to=seg)
        else:
            self._emit(RST | ACK, 0, seq_add(seg.seq, seg.seg_len), 0, "rst_closed", to=seg)
        self._apply("segment", now)

    def _on_listen(self, seg: Segment, now: float) -> None:
        """RFC 9293 3.10.7.2."""
        if seg.flags & RST:
            self._apply("rst", now)
            return
        if seg.flags & ACK:
            self._emit(RST, seg.ack, 0, 0, "rst_closed", to=seg)
            self._apply("ack", now)
            return
        if not seg.flags & SYN:
            self._apply("other", now)
            return
        self.irs = seg.seq
        self.rcv_nxt = seq_add(seg.seq, 1)
        self._take_syn_options(seg)
        self._init_send(now)
        self.snd_nxt = seq_add(self.iss, 1)
        self.snd_wnd = seg.win  # the window of a SYN is never scaled (RFC 7323 2.2)
        self.max_snd_wnd = seg.win
        self.snd_wl1, self.snd_wl2 = seg.seq, 0
        self.passive = True
        syn_ack_options = self._syn_ack_options(seg)
        if self.cfg.two_way:
            # NOT TCP: in the made-up two-way handshake the server counts its SYN as
            # delivered at once, so nothing waits for an acknowledgment.
            self.snd_una = self.snd_nxt
            self._emit(SYN | ACK, self.iss, self.rcv_nxt, 0, "syn_ack", syn_ack_options)
            self._apply("syn_two_way", now)
            return
        self._queue_unacked(_Unacked(self.iss, 0, SYN, syn_ack_options), now)
        self._emit(SYN | ACK, self.iss, self.rcv_nxt, 0, "syn_ack", syn_ack_options)
        self._apply("syn", now)

    def _on_syn_sent(self, seg: Segment, now: float) -> None:
        """RFC 9293 3.10.7.3."""
        ack_ok = False
        if seg.flags & ACK:
            if seq_le(seg.ack, self.iss) or seq_lt(self.snd_nxt, seg.ack):
                # Not an answer to our SYN: an old duplicate's SYN-ACK (RFC 9293 3.5 Figure 9).
                if seg.flags & RST:
                    self._apply("rst_ignored", now)
                else:
                    self._emit(RST, seg.ack, 0, 0, "rst_bad_ack", to=seg)
                    self._apply("bad_ack", now)
                return
            ack_ok = True
        if seg.flags & RST:
            if ack_ok:
                self.reason = "connection refused"
                self._apply("rst", now)
            else:
                self._apply("rst_ignored", now)
            return
        if not seg.flags & SYN:
            self._apply("other", now)
            return
        self.irs = seg.seq
        self.rcv_nxt = seq_add(seg.seq, 1)
        self._take_syn_options(seg)
        self.snd_wnd = seg.win
        self.max_snd_wnd = max(self.max_snd_wnd, seg.win)
        self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
        if ack_ok:
            self._ack_advance(seg.ack, now)
        if ack_ok and seq_lt(self.iss, self.snd_una):
            two_way = self.cfg.two_way
            self._apply("syn_ack_two_way" if two_way else "syn_ack", now)
            emitted = self._flush(now)  # queued data MAY ride on the third segment (3.10.7.3)
            if not emitted and not two_way:
                self._emit(ACK, self.snd_nxt, self.rcv_nxt, 0, "ack_syn")
            self._maybe_queued_close(now)
            return
        # Simultaneous open (RFC 9293 3.5 Figure 8): our SYN again, now with an ACK of theirs.
        self._emit(SYN | ACK, self.iss, self.rcv_nxt, 0, "syn_ack", self._syn_ack_options(seg))
        self._apply("syn", now)

    def _on_synchronized(self, seg: Segment, now: float) -> None:
        """RFC 9293 3.10.7.4, steps in the RFC's order."""
        state = self.state
        flags = seg.flags
        # Simultaneous open: the peer's SYN-ACK arrives in SYN_RCVD. Its SYN sits at IRS, which
        # Table 6 calls old, but RFC 9293 Figure 8 moves to ESTABLISHED here (Appendix A.2
        # notes the conflict; Linux accepts it in tcp_validate_incoming).
        if (
            state is State.SYN_RCVD
            and not self.passive
            and seg.has(SYN | ACK)
            and not flags & RST
            and seg.seq == self.irs
            and seq_lt(self.snd_una, seg.ack)
            and seq_le(seg.ack, self.snd_nxt)
        ):
            self._ack_advance(seg.ack, now)
            self._apply("syn_ack", now)
            self._maybe_queued_close(now)
            self._send_or_ack(now, ack_needed=False, why="ack_data")
            return
        # TIME_WAIT: the peer's FIN again (our last ACK was lost). Table 6 calls it old, but
        # RFC 9293 3.10.7.4 says: acknowledge it and restart the 2 MSL timeout (Linux does the
        # same in tcp_timewait_state_process).
        if state is State.TIME_WAIT and flags & FIN and not flags & RST and seg.end_seq == self.rcv_nxt:
            self.time_wait_deadline = now + 2 * self.cfg.msl
            self._emit(ACK, self.snd_nxt, self.rcv_nxt, 0, "ack_fin_again")
            self._apply("fin_again", now)
            return
        # First: the sequence number (Table 6).
        if not self._acceptable(seg):
            if flags & RST:
                self._apply("unacceptable_rst", now)
            elif self._throttled(seg, now):
                self._apply("throttled", now)
            else:
                self._emit(ACK, self.snd_nxt, self.rcv_nxt, 0, "ack_old")
                self._apply("unacceptable", now)
            return
        seg = self._trim(seg)
        flags = seg.flags
        # Second: the RST bit, with RFC 5961's exact-match rule.
        if flags & RST:
            if seg.seq != self.rcv_nxt:
                if self._throttled(seg, now):
                    self._apply("throttled", now)
                    return
                self._emit(ACK, self.snd_nxt, self.rcv_nxt, 0, "challenge_ack")
                self._apply("rst_in_window", now)
            elif state is State.SYN_RCVD and self.passive:
                self.reason = "reset during the handshake"
                self._back_to_listen("rst_passive", now)
            else:
                self.reason = "connection refused" if state is State.SYN_RCVD else "connection reset"
                self._apply("rst", now)
            return
        # Fourth: the SYN bit (the third, security, does not apply here).
        if flags & SYN:
            if state is State.SYN_RCVD and self.passive:
                self.reason = "a new SYN during the handshake"
                self._back_to_listen("syn_passive", now)
            elif self._throttled(seg, now):
                self._apply("throttled", now)
            else:
                self._emit(ACK, self.snd_nxt, self.rcv_nxt, 0, "challenge_ack")
                self._apply("syn", now)
            return
        # Fifth: the ACK bit.
        if not flags & ACK:
            self._apply("no_ack", now)
            return
        # A segment beyond RCV.NXT is held and processed in order later (SHLD-31); we
        # acknowledge RCV.NXT at once, a duplicate ACK that tells the peer about the gap.
        if seq_lt(self.rcv_nxt, seg.seq) and state in (State.SYN_RCVD, *RECEIVING) and (seg.length or flags & FIN):
            if all(h.seq != seg.seq for h in self.held) and len(self.held) < MAX_HELD:
                self.held.append(seg)
            self._emit(ACK, self.snd_nxt, self.rcv_nxt, 0, "dup_ack")
            self._apply("out_of_order", now)
            return
        ack_why = self._in_order(seg, now)
        if ack_why is None:
            return  # the segment was answered (RST / ACK) or ignored
        # Process held segments that are now in order (MUST-59: all before one ACK).
        while self.state in (State.SYN_RCVD, *RECEIVING) and self.held:
            nxt = self._take_held()
            if nxt is None:
                break
            more = self._in_order(nxt, now)
            if more is not None and more != "none":
                ack_why = more
        self._maybe_queued_close(now)
        self._send_or_ack(now, ack_needed=ack_why != "none", why=ack_why)

    def _in_order(self, seg: Segment, now: float) -> str | None:
        """Steps five to eight for a segment at RCV.NXT (or held data below it).

        Returns the kind of ACK owed ("ack_data", "ack_fin" ...), "none" when nothing is
        owed, or None when the segment was fully answered here."""
        state = self.state
        if state is State.SYN_RCVD:
            if not (seq_lt(self.snd_una, seg.ack) and seq_le(seg.ack, self.snd_nxt)):
                self._emit(RST, seg.ack, 0, 0, "rst_bad_ack", to=seg)
                self._apply("bad_ack", now)
                return None
            self._ack_advance(seg.ack, now)
            self._window_update(seg)
            owed = self._take_text_and_fin(seg, accept_data=True, accept_fin=True)
            if seg.flags & FIN:
                self._apply("ack_fin", now)
            elif seg.length:
                self._apply("ack_data", now)
            else:
                self._apply("ack", now)
            return owed
        if seq_lt(self.snd_nxt, seg.ack) or seq_lt(seg.ack, seq_add(self.snd_una, -self.max_snd_wnd)):
            if self._throttled(seg, now):
                self._apply("throttled", now)
                return None
            self._emit(ACK, self.snd_nxt, self.rcv_nxt, 0, "ack_old")
            self._apply("ack_unacceptable", now)
            return None
        self._ack_advance(seg.ack, now)
        self._window_update(seg)
        acks_our_fin = self.fin_sent and seg.ack == self.snd_nxt
        receiving = state in RECEIVING
        owed = self._take_text_and_fin(seg, accept_data=receiving, accept_fin=state not in PEER_FINISHED)
        fin = bool(seg.flags & FIN) and state not in PEER_FINISHED
        data = receiving and seg.length > 0
        if state is State.ESTABLISHED:
            if fin and self.close_on_fin:
                self.fin_pending = True
                event = "fin_app_closes"
            else:
                event = "fin" if fin else "data" if data else "ack"
        elif state is State.FIN_WAIT_1:
            if fin:
                event = "fin_ack_of_fin" if acks_our_fin else "fin"
            else:
                event = "ack_of_fin" if acks_our_fin else "data" if data else "ack"
        elif state is State.FIN_WAIT_2:
            event = "fin" if fin else "data" if data else "ack"
        elif state in (State.CLOSING, State.LAST_ACK):
            event = "ack_of_fin" if acks_our_fin else "ack"
        else:  # CLOSE_WAIT, TIME_WAIT: text and FIN from the peer are ignored
            event = "ack"
        if state is State.LAST_ACK and event == "ack_of_fin":
            self.reason = "closed normally"
        self._apply(event, now)
        return owed

    def _take_text_and_fin(self, seg: Segment, *, accept_data: bool, accept_fin: bool) -> str:
        """Steps seven and eight: advance RCV.NXT over the data and the FIN we accept."""
        owed = "none"
        if seg.length and accept_data and seg.seq == self.rcv_nxt:
            self.rcv_nxt = seq_add(self.rcv_nxt, seg.length)
            owed = "ack_data"
        if seg.flags & FIN and accept_fin and seq_add(seg.seq, seg.length) == self.rcv_nxt:
            self.rcv_nxt = seq_add(self.rcv_nxt, 1)
            owed = "ack_fin"
        return owed

    def _send_or_ack(self, now: float, *, ack_needed: bool, why: str) -> None:
        """Send what is queued (data, FIN), else the ACK we owe (piggybacked when possible)."""
        emitted = self._flush(now)
        if ack_needed and not emitted and self.state is not State.CLOSED:
            self._emit(ACK, self.snd_nxt, self.rcv_nxt, 0, why)

    def _maybe_queued_close(self, now: float) -> None:
        """A CLOSE remembered in SYN_RCVD runs once the connection is established (3.10.4)."""
        if self.close_queued and self.state in (State.ESTABLISHED, State.CLOSE_WAIT):
            self.close_queued = False
            self.fin_pending = True
            self._apply("close", now)

    def _throttled(self, seg: Segment, now: float) -> bool:
        """True when this answer must be skipped (ACK throttling). Like Linux, only segments
        without data or FIN (or with SYN) are throttled: a data segment is never part of an
        ACK war. Otherwise records that an ACK goes out now."""
        small = (seg.length == 0 and not seg.flags & FIN) or bool(seg.flags & SYN)
        if not small:
            return False
        if self.last_oow_ack is not None and now - self.last_oow_ack < OOW_ACK_INTERVAL:
            return True
        self.last_oow_ack = now
        return False

    def _back_to_listen(self, event: str, now: float) -> None:
        """A passive half-open connection returns to LISTEN (RFC 9293 3.10.7.4). A CLOSE the
        application queued in SYN_RCVD now applies to LISTEN: CLOSED (3.10.4)."""
        closing = self.close_queued
        self._apply(event, now)
        if closing and self.state is State.LISTEN:
            self.reason = "closed by the application"
            self._apply("close", now)

    def _take_held(self) -> Segment | None:
        """The held segment that now starts at (or straddles) RCV.NXT, trimmed; drops stale ones."""
        self.held = [h for h in self.held if seq_lt(self.rcv_nxt, h.end_seq)]
        for h in sorted(self.held, key=lambda s: seq_diff(s.seq, self.rcv_nxt)):
            if seq_le(h.seq, self.rcv_nxt):
                self.held.remove(h)
                return self._trim(h)
        return None

    # ------------------------------------------------------------ sequence checks ---

    def _acceptable(self, seg: Segment) -> bool:
        """RFC 9293 3.10.7.4 Table 6: the segment overlaps the receive window."""
        length = seg.seg_len
        window = self.cfg.window
        rcv_nxt = self.rcv_nxt

        def inside(x: int) -> bool:
            return seq_le(rcv_nxt, x) and seq_lt(x, seq_add(rcv_nxt, window))

        if length == 0:
            return seg.seq == rcv_nxt if window == 0 else inside(seg.seq)
        if window == 0:
            return False
        return inside(seg.seq) or inside(seq_add(seg.seq, length - 1))

    def _trim(self, seg: Segment) -> Segment:
        """Cut off what lies before RCV.NXT ("only the new parts are processed", 3.10.7.4)."""
        cut = seq_diff(self.rcv_nxt, seg.seq)
        if cut <= 0:
            return seg
        flags, seq, length = seg.flags, seg.seq, seg.length
        if flags & SYN:
            flags &= ~SYN
            seq = seq_add(seq, 1)
            cut -= 1
        taken = min(cut, length)
        return replace(seg, flags=flags, seq=seq_add(seq, taken), length=length - taken)

    # ------------------------------------------------------------ acknowledgments ---

    def _ack_advance(self, ack: int, now: float) -> bool:
        """SND.UNA <- SEG.ACK when it acknowledges something new; the RTO follows RFC 6298 5.2-5.3."""
        if not seq_lt(self.snd_una, ack):
            return False
        self.snd_una = ack
        unacked = self.unacked
        gone = 0  # the queue is in sequence order: drop what is acknowledged from the front
        while gone < len(unacked) and seq_le(seq_add(unacked[gone].seq, unacked[gone].seg_len), ack):
            gone += 1
        if gone:
            del unacked[:gone]
        if unacked and seq_lt(unacked[0].seq, ack):  # partly acknowledged data
            entry = unacked[0]
            unacked[0] = _Unacked(ack, entry.length - seq_diff(ack, entry.seq), entry.flags & ~SYN, b"")
        # No RTT measurement here: new data acknowledged returns the RTO to its initial value.
        self.retries = 0
        self.rto_current = self.cfg.rto
        self.rto_deadline = None if not self.unacked else now + self.rto_current
        return True

    def _window_update(self, seg: Segment) -> None:
        """RFC 9293 3.10.7.4 fifth: SND.WND from the newest segment (SND.WL1/WL2 rule)."""
        if not (seq_le(self.snd_una, seg.ack) and seq_le(seg.ack, self.snd_nxt)):
            return
        wl1, wl2 = self.snd_wl1, self.snd_wl2
        if wl1 is None or seq_lt(wl1, seg.seq) or (wl1 == seg.seq and seq_le(wl2, seg.ack)):
            window = seg.win if seg.flags & SYN else seg.win << self.snd_shift
            self.snd_wnd = window
            self.max_snd_wnd = max(self.max_snd_wnd, window)
            self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack

    # ================================================================ sending side ===

    def _init_send(self, now: float) -> None:
        self.iss = self._pick_iss(now)
        self.snd_una = self.iss
        self.rto_current = self.cfg.rto
        self.retries = 0

    def _pick_iss(self, now: float) -> int:
        """RFC 9293 3.4.1: ISN = M + F(...), M a clock ticking every 4 us. The first pick is the
        configured ISN (F); a later incarnation adds the clock's ticks since then."""
        if self._isn_t0 is None:
            self._isn_t0 = now
            iss = self.cfg.isn % SEQ_MOD
        else:
            iss = (self.cfg.isn + round((now - self._isn_t0) * ISN_TICKS_PER_SECOND)) % SEQ_MOD
            if iss == self._isn_last:
                iss = seq_add(iss, 1)
        self._isn_last = iss
        return iss

    def _take_syn_options(self, seg: Segment) -> None:
        """MSS and window scale from the peer's SYN (RFC 9293 3.7.1, RFC 7323 2.2)."""
        peer_mss = tcp_options.find(seg.options, tcp_options.MSS)
        self.snd_mss = min(peer_mss if peer_mss else DEFAULT_MSS, self.cfg.mss)
        peer_ws = tcp_options.find(seg.options, tcp_options.WS)
        self.ws_ok = peer_ws is not None and self.cfg.wscale is not None
        self.snd_shift = min(peer_ws, 14) if self.ws_ok else 0
        self.rcv_shift = self.cfg.wscale if self.ws_ok else 0

    def _syn_ack_options(self, syn: Segment) -> bytes:
        """Our SYN-ACK's options: WS and SACK_PERM only if the SYN offered them (RFC 7323, 2018)."""
        peer_sack = tcp_options.find(syn.options, tcp_options.SACK_PERM) is not None
        return tcp_options.build_options(
            mss=self.cfg.mss,
            ws=self.cfg.wscale if self.ws_ok else None,
            sack_perm=self.cfg.sack_perm and peer_sack,
        )

    def _queue_unacked(self, entry: _Unacked, now: float) -> None:
        self.unacked.append(entry)
        if self.rto_deadline is None:  # RFC 6298 5.1
            self.rto_deadline = now + self.rto_current

    def _flush(self, now: float) -> bool:
        """Segmentize queued SENDs within the send window, then the FIN. True if anything left."""
        if self.state not in (State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.LAST_ACK):
            return False
        emitted = False
        while self.send_queue:
            room = seq_diff(seq_add(self.snd_una, self.snd_wnd or 0), self.snd_nxt)
            if room <= 0:
                break  # the peer's window is full: wait for ACKs (no zero-window probing here)
            size = min(self.snd_mss, room, sum(self.send_queue))
            flags = ACK
            taken = size
            while taken:  # take `size` bytes from the queued writes
                head = self.send_queue[0]
                if head <= taken:
                    taken -= head
                    self.send_queue.pop(0)
                    if taken == 0:
                        flags |= PSH  # the segment ends a write (MUST-61: PSH on the last)
                else:
                    self.send_queue[0] = head - taken
                    taken = 0
            if not self.send_queue and self.fin_pending and not self.fin_sent:
                flags |= FIN  # the FIN rides on the last data (RFC 9293 3.10.4)
                self.fin_sent = True
            seq = self.snd_nxt
            entry = _Unacked(seq, size, flags & (PSH | FIN))
            self.snd_nxt = seq_add(seq, entry.seg_len)
            self._queue_unacked(entry, now)
            full = size == room and not flags & FIN
            self._emit(flags, seq, self.rcv_nxt, size, "data_fin" if flags & FIN else "data", window_full=full)
            emitted = True
        if not self.send_queue and self.fin_pending and not self.fin_sent:
            seq = self.snd_nxt
            self.fin_sent = True
            self.snd_nxt = seq_add(seq, 1)
            self._queue_unacked(_Unacked(seq, 0, FIN), now)
            self._emit(FIN | ACK, seq, self.rcv_nxt, 0, "fin")
            emitted = True
        return emitted

    def _retransmit_front(self) -> None:
        """RFC 9293 3.10.8: send the segment at the front of the retransmission queue again."""
        if not self.unacked:
            return
        entry = self.unacked[0]
        flags = entry.flags
        ack = 0
        if self.rcv_nxt is not None:
            flags |= ACK
            ack = self.rcv_nxt
        self._emit(flags, entry.seq, ack, entry.length, "retransmit", entry.options, retransmission=True)

    def _emit(
        self,
        flags: int,
        seq: int,
        ack: int,
        length: int,
        why: str,
        opts: bytes = b"",
        *,
        to: Segment | None = None,
        retransmission: bool = False,
        window_full: bool = False,
    ) -> None:
        """Build a segment from us to the peer (or back to the sender of `to`) and queue it."""
        dst, dport = (to.src, to.sport) if to is not None else (self.cfg.peer_addr, self.cfg.peer_port)
        if flags & RST:
            win = 0
            shown = 0
        elif flags & SYN:
            win = min(self.cfg.window, 0xFFFF)  # never scaled in a SYN (RFC 7323 2.2)
            shown = win
        else:
            win = min(self.cfg.window >> self.rcv_shift, 0xFFFF)  # RFC 7323 2.3
            shown = win << self.rcv_shift
        seg = Segment(self.cfg.addr, self.cfg.port, dst, dport, seq % SEQ_MOD, ack % SEQ_MOD, flags, win, length, opts)
        self.outbox.append(Outgoing(seg, why, shown, retransmission, window_full))


_FIELD_NAMES = tuple(f.name for f in fields(Endpoint))
