"""The TCP transition table of the lab's endpoint: state x event -> action, next state.

Everything that decides a state change lives here, as data (the h11 `_state.py` shape). The
endpoint (core/endpoint.py) only *classifies* what happened into one of the events below,
following the order of RFC 9293 section 3.10, then looks the row up and applies it. So this
table is the documentation: each row names the RFC 9293 section it comes from, and its `id`
is the key of the explanation a student reads (core/texts_lab.py).

Events:

* application calls (RFC 9293 3.10.1-3.10.5): ``listen``, ``connect``, ``send``, ``close``,
  ``abort``. A call with no row here is illegal in that state: the endpoint raises
  IllegalCall with the reason from ILLEGAL_CALLS and changes nothing.
* timers (RFC 9293 3.10.8, RFC 6298): ``rto`` (resend the oldest unacknowledged segment),
  ``rto_give_up`` (too many tries), ``2msl`` (TIME_WAIT is over).
* arriving segments (RFC 9293 3.10.7), one event per segment, named for what the segment
  means in that state (``syn``, ``syn_ack``, ``ack_of_fin``, ``fin_ack_of_fin`` ...).

A row may cover several states when the RFC treats them alike (it lists them together too);
`next` is None when the state does not change.

Two rows describe things that are not RFC 9293 TCP and say so: the hypothetical two-way
handshake of the `two-way-handshake` scenario (``syn_two_way``, ``syn_ack_two_way``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .states import State

CLOSED = State.CLOSED
LISTEN = State.LISTEN
SYN_SENT = State.SYN_SENT
SYN_RCVD = State.SYN_RCVD
ESTABLISHED = State.ESTABLISHED
FIN_WAIT_1 = State.FIN_WAIT_1
FIN_WAIT_2 = State.FIN_WAIT_2
CLOSE_WAIT = State.CLOSE_WAIT
CLOSING = State.CLOSING
LAST_ACK = State.LAST_ACK
TIME_WAIT = State.TIME_WAIT

#: The synchronized states (RFC 9293 3.10.7.4 "Other states").
SYNCHRONIZED = (SYN_RCVD, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)
#: States in which data from the peer is still accepted (3.10.7.4 "Seventh").
RECEIVING = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2)
#: States after the peer's FIN: its later text and FIN bits are ignored (3.10.7.4 "Seventh", "Eighth").
PEER_FINISHED = (CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)
#: States where something of ours may wait for an acknowledgment (the RTO can run).
RETRANSMITTING = (SYN_SENT, SYN_RCVD, ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK)

APP_CALLS = ("listen", "connect", "send", "close", "abort")
TIMER_EVENTS = ("rto", "rto_give_up", "2msl")


@dataclass(frozen=True, slots=True)
class Row:
    """One rule: in any of `states`, `event` makes the endpoint do `action` and enter `next`
    (None: stay). `section` is where RFC 9293 says so; `id` keys the explanation text."""

    id: str
    states: tuple[State, ...]
    event: str
    next: State | None
    action: str
    section: str

    def target(self, state: State) -> State:
        """The state after this row when it is applied in `state`."""
        return state if self.next is None else self.next


def _row(id: str, states: State | tuple[State, ...], event: str, next: State | None, action: str, section: str) -> Row:
    if isinstance(states, State):
        states = (states,)
    return Row(id, states, event, next, action, section)


TABLE: tuple[Row, ...] = (
    # ---- application calls -------------------------------------------------------------
    _row("closed.listen", CLOSED, "listen", LISTEN, "create a TCB and wait for a SYN (passive OPEN)", "3.10.1"),
    _row("closed.connect", CLOSED, "connect", SYN_SENT, "choose ISS, send <SEQ=ISS><CTL=SYN> with MSS and WS", "3.10.1"),
    _row("listen.connect", LISTEN, "connect", SYN_SENT, "turn the passive OPEN into an active one: send a SYN", "3.10.1"),
    _row("listen.close", LISTEN, "close", CLOSED, "delete the TCB", "3.10.4"),
    _row("listen.abort", LISTEN, "abort", CLOSED, "delete the TCB (nothing to reset)", "3.10.5"),
    _row("syn_sent.send", (SYN_SENT, SYN_RCVD), "send", None, "queue the data until ESTABLISHED", "3.10.2"),
    _row("syn_sent.close", SYN_SENT, "close", CLOSED, "delete the TCB; the SYN is forgotten", "3.10.4"),
    _row("syn_sent.abort", SYN_SENT, "abort", CLOSED, "delete the TCB (no RST: the peer knows nothing yet)", "3.10.5"),
    _row("syn_rcvd.close", SYN_RCVD, "close", FIN_WAIT_1, "nothing queued: send a FIN", "3.10.4"),
    _row("syn_rcvd.close_queued", SYN_RCVD, "close_queued", None, "data is queued: remember the CLOSE until ESTABLISHED", "3.10.4"),
    _row("established.send", (ESTABLISHED, CLOSE_WAIT), "send", None, "cut the data into MSS-sized segments, PSH on the last", "3.10.2"),
    _row("established.close", ESTABLISHED, "close", FIN_WAIT_1, "send a FIN after any queued data", "3.10.4"),
    _row("close_wait.close", CLOSE_WAIT, "close", LAST_ACK, "send our FIN after any queued data", "3.10.4"),
    _row("sync.abort", (SYN_RCVD, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT), "abort", CLOSED,
         "send <SEQ=SND.NXT><CTL=RST>, flush every queue, delete the TCB", "3.10.5"),
    _row("closing.abort", (CLOSING, LAST_ACK, TIME_WAIT), "abort", CLOSED, "delete the TCB without a RST", "3.10.5"),
    # ---- timers ------------------------------------------------------------------------
    _row("syn_sent.rto", SYN_SENT, "rto", None, "no SYN-ACK in time: send the SYN again, double the RTO", "3.10.8, RFC 6298 5.5"),
    _row("syn_rcvd.rto", SYN_RCVD, "rto", None, "no ACK of our SYN in time: send the SYN-ACK again", "3.10.8, RFC 6298 5.5"),
    _row("established.rto", (ESTABLISHED, CLOSE_WAIT), "rto", None, "data unacknowledged: resend the oldest segment", "3.10.8, RFC 6298 5.4"),
    _row("fin_wait_1.rto", (FIN_WAIT_1, CLOSING), "rto", None, "our FIN (or data before it) unacknowledged: resend", "3.10.8, RFC 6298 5.4"),
    _row("last_ack.rto", LAST_ACK, "rto", None, "our FIN unacknowledged: send it again", "3.10.8, RFC 6298 5.4"),
    _row("syn_rcvd.give_up", SYN_RCVD, "rto_give_up_passive", LISTEN, "too many tries: drop the half-open connection, keep listening", "3.8.3"),
    _row("rto.give_up", RETRANSMITTING, "rto_give_up", CLOSED, "too many tries: give up, the connection times out", "3.8.3 (R2)"),
    _row("time_wait.2msl", TIME_WAIT, "2msl", CLOSED, "2MSL have passed: delete the TCB", "3.10.8"),
    # ---- segments arriving in CLOSED (3.10.7.1) ---------------------------------------
    _row("closed.rcv_rst", CLOSED, "rst", None, "discard the RST", "3.10.7.1"),
    _row("closed.rcv_segment", CLOSED, "segment", None,
         "no connection: answer <SEQ=SEG.ACK><CTL=RST>, or <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> without ACK", "3.10.7.1"),
    # ---- LISTEN (3.10.7.2) -------------------------------------------------------------
    _row("listen.rcv_rst", LISTEN, "rst", None, "ignore the RST", "3.10.7.2"),
    _row("listen.rcv_ack", LISTEN, "ack", None, "any ACK is bad here: answer <SEQ=SEG.ACK><CTL=RST>", "3.10.7.2"),
    _row("listen.rcv_syn", LISTEN, "syn", SYN_RCVD, "IRS=SEG.SEQ, RCV.NXT=SEG.SEQ+1, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>", "3.10.7.2"),
    _row("listen.rcv_syn_two_way", LISTEN, "syn_two_way", ESTABLISHED,
         "NOT TCP (hypothetical two-way handshake): open at once on the SYN and send SYN-ACK", "not TCP; see 3.5"),
    _row("listen.rcv_other", LISTEN, "other", None, "neither SYN nor ACK nor RST: drop", "3.10.7.2"),
    # ---- SYN_SENT (3.10.7.3) -----------------------------------------------------------
    _row("syn_sent.rcv_bad_ack", SYN_SENT, "bad_ack", None, "the ACK is not for our SYN (old duplicate?): send <SEQ=SEG.ACK><CTL=RST>", "3.10.7.3"),
    _row("syn_sent.rcv_rst_ignored", SYN_SENT, "rst_ignored", None, "a RST that does not acknowledge our SYN: drop it", "3.10.7.3"),
    _row("syn_sent.rcv_rst", SYN_SENT, "rst", CLOSED, "RST acknowledging our SYN: connection refused", "3.10.7.3"),
    _row("syn_sent.rcv_syn_ack", SYN_SENT, "syn_ack", ESTABLISHED, "our SYN is acked and theirs arrived: send the ACK (third segment)", "3.10.7.3"),
    _row("syn_sent.rcv_syn_ack_two_way", SYN_SENT, "syn_ack_two_way", ESTABLISHED,
         "NOT TCP (hypothetical two-way handshake): open without a third segment", "not TCP; see 3.5"),
    _row("syn_sent.rcv_syn", SYN_SENT, "syn", SYN_RCVD, "simultaneous open: send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>", "3.10.7.3, 3.5 Figure 8"),
    _row("syn_sent.rcv_other", SYN_SENT, "other", None, "neither SYN nor RST: drop", "3.10.7.3"),
    # ---- synchronized states (3.10.7.4) ------------------------------------------------
    _row("sync.rcv_unacceptable", SYNCHRONIZED, "unacceptable", None,
         "outside the receive window (old duplicate): send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop", "3.10.7.4 first"),
    _row("sync.rcv_unacceptable_rst", SYNCHRONIZED, "unacceptable_rst", None, "a RST outside the window: drop silently", "3.10.7.4 first, RFC 5961 3.2"),
    _row("sync.rcv_throttled", SYNCHRONIZED, "throttled", None,
         "a dataless segment that would need an ACK, again within 0.5 s: drop it unanswered (ACK throttling)",
         "3.10.7.4, RFC 5961 7"),
    _row("sync.rcv_rst_in_window", SYNCHRONIZED, "rst_in_window", None,
         "RST in the window but not at RCV.NXT: send a challenge ACK, drop", "3.10.7.4 second, RFC 5961 3.2"),
    _row("syn_rcvd.rcv_rst_passive", SYN_RCVD, "rst_passive", LISTEN, "reset of a passive open: back to LISTEN", "3.10.7.4 second"),
    _row("syn_rcvd.rcv_rst", SYN_RCVD, "rst", CLOSED, "reset of an active open: connection refused", "3.10.7.4 second"),
    _row("sync.rcv_rst", (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT), "rst", CLOSED, "connection reset: flush everything", "3.10.7.4 second"),
    _row("closing.rcv_rst", (CLOSING, LAST_ACK, TIME_WAIT), "rst", CLOSED, "RST while closing: delete the TCB", "3.10.7.4 second"),
    _row("syn_rcvd.rcv_syn_passive", SYN_RCVD, "syn_passive", LISTEN, "a new SYN in the window of a passive open: back to LISTEN", "3.10.7.4 fourth"),
    _row("sync.rcv_syn", (SYN_RCVD, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT), "syn", None,
         "a SYN on a synchronized connection: send a challenge ACK, drop", "3.10.7.4 fourth, RFC 5961 4.2"),
    _row("sync.rcv_out_of_order", (SYN_RCVD, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2), "out_of_order", None,
         "beyond RCV.NXT: hold it for later, send a duplicate ACK for the gap", "3.10.7.4 first (SHLD-31), seventh (MAY-13)"),
    _row("sync.rcv_no_ack", SYNCHRONIZED, "no_ack", None, "no ACK bit: drop", "3.10.7.4 fifth"),
    _row("syn_rcvd.rcv_syn_ack", SYN_RCVD, "syn_ack", ESTABLISHED,
         "simultaneous open: the peer's SYN-ACK acks our SYN (its SYN is old news)", "3.5 Figure 8, Appendix A.2"),
    _row("syn_rcvd.rcv_ack", SYN_RCVD, "ack", ESTABLISHED, "the ACK of our SYN (third segment): open", "3.10.7.4 fifth"),
    _row("syn_rcvd.rcv_ack_data", SYN_RCVD, "ack_data", ESTABLISHED, "the third segment acks our SYN and carries data: open, ACK the data", "3.10.7.4 fifth, seventh"),
    _row("syn_rcvd.rcv_ack_fin", SYN_RCVD, "ack_fin", CLOSE_WAIT, "the ACK of our SYN with a FIN: open, then the peer closes", "3.10.7.4 fifth, eighth"),
    _row("syn_rcvd.rcv_bad_ack", SYN_RCVD, "bad_ack", None, "the ACK is not for our SYN: send <SEQ=SEG.ACK><CTL=RST>", "3.10.7.4 fifth"),
    _row("sync.rcv_ack_unacceptable", (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT), "ack_unacceptable", None,
         "acks something never sent: send an ACK, drop", "3.10.7.4 fifth, RFC 5961 5.2"),
    _row("sync.rcv_ack", (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT), "ack", None, "advance SND.UNA, update the send window", "3.10.7.4 fifth"),
    _row("sync.rcv_data", RECEIVING, "data", None, "accept the data, advance RCV.NXT, send an ACK", "3.10.7.4 seventh"),
    _row("established.rcv_fin", ESTABLISHED, "fin", CLOSE_WAIT, "the peer is done sending: ACK its FIN, wait for our application", "3.10.7.4 eighth"),
    _row("established.rcv_fin_app_closes", ESTABLISHED, "fin_app_closes", LAST_ACK,
         "the application closes at once: our FIN rides on the ACK of theirs (three-segment close)", "3.10.7.4 eighth, 3.10.4"),
    _row("fin_wait_1.rcv_ack_of_fin", FIN_WAIT_1, "ack_of_fin", FIN_WAIT_2, "our FIN is acknowledged; the peer may still send", "3.10.7.4 fifth"),
    _row("fin_wait_1.rcv_fin", FIN_WAIT_1, "fin", CLOSING, "simultaneous close: their FIN before the ACK of ours; ACK it", "3.10.7.4 eighth"),
    _row("fin_wait_1.rcv_fin_ack_of_fin", FIN_WAIT_1, "fin_ack_of_fin", TIME_WAIT,
         "their FIN also acks ours: ACK it, start the 2MSL timer", "3.10.7.4 fifth, eighth"),
    _row("fin_wait_2.rcv_fin", FIN_WAIT_2, "fin", TIME_WAIT, "their FIN: ACK it, start the 2MSL timer", "3.10.7.4 eighth"),
    _row("closing.rcv_ack_of_fin", CLOSING, "ack_of_fin", TIME_WAIT, "our FIN is acknowledged: start the 2MSL timer", "3.10.7.4 fifth"),
    _row("last_ack.rcv_ack_of_fin", LAST_ACK, "ack_of_fin", CLOSED, "our FIN is acknowledged: delete the TCB", "3.10.7.4 fifth"),
    _row("closing.rcv_ack", (CLOSING, LAST_ACK, TIME_WAIT), "ack", None,
         "not the ACK of our FIN (at most of data before it): note it, keep waiting", "3.10.7.4 fifth"),
    _row("time_wait.rcv_fin_again", TIME_WAIT, "fin_again", None, "the peer sent its FIN again (our ACK was lost): ACK it, restart 2MSL", "3.10.7.4 fifth, eighth"),
)

_BY_ID: dict[str, Row] = {}
#: (state, event) -> row
INDEX: dict[tuple[State, str], Row] = {}


def _build() -> None:
    for row in TABLE:
        if row.id in _BY_ID:
            raise AssertionError(f"duplicate row id {row.id}")
        _BY_ID[row.id] = row
        for state in row.states:
            key = (state, row.event)
            if key in INDEX:
                raise AssertionError(f"two rows for {state.value} + {row.event}: {INDEX[key].id}, {row.id}")
            INDEX[key] = row


_build()


def lookup(state: State, event: str) -> Row | None:
    """The row for `event` in `state`, or None when the table has none (an illegal call)."""
    return INDEX.get((state, event))


def row(id: str) -> Row:
    """The row with this id."""
    return _BY_ID[id]


def row_ids() -> tuple[str, ...]:
    return tuple(r.id for r in TABLE)


def allowed_moves() -> set[tuple[State, State]]:
    """Every (from, to) state pair some row allows (staying put included)."""
    return {(state, r.target(state)) for (state, _), r in INDEX.items()}


#: Why an application call is illegal, by call and state (RFC 9293 3.10.1-3.10.5 error
#: responses, worded for a student). Used for IllegalCall messages.
def illegal_reason(call: str, state: State) -> str:
    if state is CLOSED:
        return "there is no connection (RFC 9293 3.10: \"connection does not exist\")"
    if call in ("listen", "connect"):
        return "a connection already exists (RFC 9293 3.10.1)"
    if call == "send":
        if state is LISTEN:
            return "the connection is not open yet: a listening endpoint has no peer to send to (RFC 9293 3.10.2)"
        return "this side has already closed its half of the connection (RFC 9293 3.10.2: \"connection closing\")"
    if call == "close":
        return "this side has already closed (RFC 9293 3.10.4: \"connection closing\")"
    return "the call is not allowed in this state"
