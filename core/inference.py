"""How a passive observer infers both endpoints' states from captured segments.

Everything that decides an inferred state lives here, as two tables:

- `SEND`: (state of the sender, what it sent) -> its next state. A captured segment shows
  what its sender did (opened, answered, closed, aborted), so the sender's own transition
  comes first (DESIGN.md).
- `RECEIVE`: (state of the receiver, what arrived) -> its next state. The segment is then
  assumed delivered and processed as RFC 9293 section 3.10.7 (SEGMENT ARRIVES) says.

Each entry names its RFC 9293 section and an explanation key (texts in
core/texts_capture.py). The observer sees segments, never application calls, so its
events are not the endpoint's events (core/transitions.py has the simulated endpoints'
table): "sent a FIN" stands for the CLOSE call that caused it, "an acceptable RST arrived"
for the whole of RFC 9293's reset processing, and so on.

What the capture alone cannot tell, and how it is settled:

- Whether the server listened. Before the first SYN the server is taken to be in LISTEN;
  a SYN answered by RST shows it was not (the connection is refused; the tracker then
  re-infers the conversation with the server CLOSED from the start).
- Whether a segment reached its receiver. Every segment is assumed delivered; when a
  later segment proves otherwise (a SYN or FIN sent again with the same sequence number,
  FINs that crossed on the wire), the tracker re-infers the conversation with that segment
  marked lost or late (`LOST`, or the row it arrived at). A live stream cannot look ahead,
  so `Observer` also applies the same evidence on the spot (see `SEND_EVIDENCE`).
- What happened before the capture started: a conversation whose first segment is not a
  SYN starts with both endpoints ESTABLISHED, noted "handshake not captured".
- When TIME_WAIT ends: not visible in traffic. The endpoint stays in TIME_WAIT, with a
  2MSL timer showing when it would expire (60 s on Linux).

States travel as small integer codes (`CODE[State]`, `STATES[code]`) because the store
keeps one byte per endpoint per segment.
"""

from __future__ import annotations

from operator import attrgetter
from typing import NamedTuple

from .segment import ACK, FIN, RST, SYN
from .states import State

STATES: tuple[State, ...] = tuple(State)
CODE: dict[State, int] = {s: i for i, s in enumerate(STATES)}

CLOSED = CODE[State.CLOSED]
LISTEN = CODE[State.LISTEN]
SYN_SENT = CODE[State.SYN_SENT]
SYN_RCVD = CODE[State.SYN_RCVD]
ESTABLISHED = CODE[State.ESTABLISHED]
FIN_WAIT_1 = CODE[State.FIN_WAIT_1]
FIN_WAIT_2 = CODE[State.FIN_WAIT_2]
CLOSE_WAIT = CODE[State.CLOSE_WAIT]
CLOSING = CODE[State.CLOSING]
LAST_ACK = CODE[State.LAST_ACK]
TIME_WAIT = CODE[State.TIME_WAIT]

CLIENT = 0
SERVER = 1

#: Linux's TIME_WAIT length (TCP_TIMEWAIT_LEN, 60 s); RFC 9293 section 3.4.2 suggests
#: 2MSL with an MSL of 2 minutes, Linux uses a fixed minute.
TIME_WAIT_SECONDS = 60.0

#: A segment that never reached its receiver (see `Observer.step`).
LOST = -1
#: A segment whose receiver had already dropped the connection (`Observer.gone`).
GONE = -2

MASK32 = 0xFFFFFFFF
HALF = 0x80000000


class Rule(NamedTuple):
    """One row of a transition table: the next state, the RFC 9293 section that gives
    the rule, and the explanation key."""

    next: int
    rfc: str
    key: str


# ---------------------------------------------------------------------------------------
# Events the observer recognises

# What the sender did.
SEND_SYN = "syn"  # a SYN without ACK: opening (or opening again, same ISN)
SEND_SYN_CROSSED = "syn crossed"  # its first SYN, sent before the peer's SYN reached it
SEND_SYNACK = "syn+ack"  # the answer to a SYN
SEND_SYNACK_AGAIN = "syn+ack again"  # the same SYN/ACK (same ISN) once more
SEND_ACK = "ack"  # no SYN/FIN/RST and no data
SEND_DATA = "data"  # no SYN/FIN/RST, with data beyond what it sent before
SEND_DATA_AGAIN = "data again"  # data it had sent already (a retransmission)
SEND_KEEPALIVE = "keep-alive"  # 0 or 1 byte just below what it sent (RFC 9293 3.8.4)
SEND_FIN = "fin"  # its first FIN
SEND_FIN_AGAIN = "fin again"  # the same FIN (same sequence number) once more
SEND_FIN_CROSSED = "fin crossed"  # a first FIN that does not acknowledge the peer's FIN
SEND_FIN_AGAIN_CROSSED = "fin again crossed"  # the same FIN again, sent as the ACK of it arrived
SEND_RST = "rst"  # a reset: an abort, or the answer to a segment for no connection
SEND_RST_REFUSED = "rst refused"  # the answer to a SYN: nothing listens there
SEND_RST_REPLY = "rst reply"  # SYN_SENT answering a SYN/ACK that acknowledges the wrong SYN

# What arrived at the receiver.
RECV_SYN = "syn"
RECV_SYNACK = "syn+ack"  # acknowledges our SYN (SEG.ACK = ISS + 1)
RECV_SYNACK_BAD = "syn+ack bad"  # acknowledges something we never sent (an old SYN)
RECV_SYNACK_BAD_PLAIN = "syn+ack bad (other states)"
RECV_ACK_OF_SYN = "ack of syn"  # the third segment of the handshake
RECV_ACK_OF_FIN = "ack of fin"  # acknowledges our FIN
RECV_ACK = "ack"  # nothing that changes our state
RECV_DATA = "data"
RECV_FIN = "fin"  # the peer's FIN, the first time it arrives
RECV_FIN_ACKING_FIN = "fin+ack of fin"  # the peer's FIN, acknowledging ours in the same segment
RECV_FIN_AGAIN = "fin again"
RECV_RST = "rst"  # an acceptable reset
RECV_RST_ACTIVE = "rst (active open)"  # an acceptable reset in SYN_RCVD after a simultaneous open
RECV_RST_CHALLENGE = "rst challenge"  # in the window but not exactly RCV.NXT: challenge ACK
RECV_RST_IGNORED = "rst ignored"  # outside the window (or unacceptable in SYN_SENT)
RECV_NOTHING = "lost"  # the segment never arrived (known in hindsight)
RECV_LATER = "in flight"  # the segment arrives later, after a segment sent after it
RECV_GONE = "gone"  # the receiver had already dropped the connection (it answers with RST)

SYNCHRONIZED = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)
ALL = tuple(range(len(STATES)))


def _table(entries: list[tuple[tuple[int, ...], str, int | None, str, str]]) -> dict[tuple[int, str], Rule]:
    """Expand (states, event, next or None = stay, section, key) into {(state, event): Rule}.
    Rows for named states win over rows for ALL states, whatever their order."""
    table: dict[tuple[int, str], Rule] = {}
    # Entries for ALL states only fill what the entries for named states left out.
    for states, event, nxt, rfc, key in entries:
        if states is not ALL:
            for state in states:
                table[(state, event)] = Rule(state if nxt is None else nxt, rfc, key)
    for states, event, nxt, rfc, key in entries:
        if states is ALL:
            for state in states:
                table.setdefault((state, event), Rule(state if nxt is None else nxt, rfc, key))
    return table


# ---------------------------------------------------------------------------------------
# The sender's transition for sending the segment.

SEND: dict[tuple[int, str], Rule] = _table(
    [
        # Opening (RFC 9293 3.10.1 OPEN call: an active open sends SYN, enters SYN-SENT).
        ((CLOSED,), SEND_SYN, SYN_SENT, "3.10.1", "send.syn"),
        ((LISTEN,), SEND_SYN, SYN_SENT, "3.10.2", "send.syn_from_listen"),
        ((SYN_SENT, SYN_RCVD) + SYNCHRONIZED, SEND_SYN, None, "3.8.1", "send.syn_again"),
        # Simultaneous open (3.5, figure 8): its own SYN left before the peer's arrived, so
        # it was in SYN-SENT; the peer's SYN then reached it: SYN-RECEIVED.
        ((SYN_RCVD,), SEND_SYN_CROSSED, None, "3.10.7.3", "send.syn_crossed"),
        # Answering a SYN (3.10.7.2: LISTEN receives SYN, sends SYN,ACK, enters SYN-RECEIVED;
        # the receiving half already moved it to SYN_RCVD).
        ((SYN_RCVD,), SEND_SYNACK, None, "3.10.7.2", "send.synack"),
        ((LISTEN, CLOSED), SEND_SYNACK, SYN_RCVD, "3.10.7.2", "send.synack_syn_unseen"),
        ((SYN_SENT,), SEND_SYNACK, SYN_RCVD, "3.10.7.3", "send.synack_simultaneous"),
        ((SYN_RCVD,) + SYNCHRONIZED, SEND_SYNACK_AGAIN, None, "3.8.1", "send.synack_again"),
        # A first SYN/ACK from an endpoint already ESTABLISHED: simultaneous open, its SYN/ACK
        # left before the peer's SYN/ACK reached it (the two crossed).
        (SYNCHRONIZED, SEND_SYNACK, None, "3.10.7.4", "send.synack_crossed"),
        ((LISTEN, CLOSED, SYN_SENT), SEND_SYNACK_AGAIN, SYN_RCVD, "3.8.1", "send.synack_again"),
        # Data and acknowledgments do not change the sender's state once synchronized.
        (SYNCHRONIZED + (SYN_RCVD, CLOSED), SEND_ACK, None, "3.10.7.4", "send.ack"),
        (SYNCHRONIZED + (SYN_RCVD, CLOSED), SEND_DATA, None, "3.10.2", "send.data"),
        (SYNCHRONIZED + (SYN_RCVD, CLOSED), SEND_DATA_AGAIN, None, "3.8.1", "send.data_again"),
        (SYNCHRONIZED + (SYN_RCVD, CLOSED), SEND_KEEPALIVE, None, "3.8.4", "send.keepalive"),
        # ... but an ACK from SYN_SENT means the SYN/ACK was not captured (3.10.7.3), and
        # one from LISTEN that the whole handshake was not.
        ((SYN_SENT, LISTEN), SEND_ACK, ESTABLISHED, "3.10.7.3", "send.ack_synack_unseen"),
        ((SYN_SENT, LISTEN), SEND_DATA, ESTABLISHED, "3.10.7.3", "send.ack_synack_unseen"),
        ((SYN_SENT, LISTEN), SEND_DATA_AGAIN, ESTABLISHED, "3.10.7.3", "send.ack_synack_unseen"),
        ((SYN_SENT, LISTEN), SEND_KEEPALIVE, ESTABLISHED, "3.10.7.3", "send.ack_synack_unseen"),
        # Closing (3.10.4 CLOSE call: ESTABLISHED sends FIN -> FIN-WAIT-1; CLOSE-WAIT sends
        # FIN -> LAST-ACK (some RFC text says CLOSING; the state diagram and every stack
        # say LAST-ACK); SYN-RECEIVED with nothing to send -> FIN-WAIT-1).
        ((ESTABLISHED, SYN_RCVD), SEND_FIN, FIN_WAIT_1, "3.10.4", "send.fin_first"),
        ((SYN_SENT, LISTEN, CLOSED), SEND_FIN, FIN_WAIT_1, "3.10.4", "send.fin_handshake_unseen"),
        ((CLOSE_WAIT,), SEND_FIN, LAST_ACK, "3.10.4", "send.fin_second"),
        ((FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT), SEND_FIN, None, "3.10.4", "send.fin_again"),
        # FINs that crossed: it closed before the peer's FIN reached it (its ACK field does
        # not cover that FIN), so it was in FIN-WAIT-1 when the peer's FIN arrived: CLOSING.
        ((CLOSE_WAIT,), SEND_FIN_CROSSED, CLOSING, "3.10.7.4", "send.fin_crossed"),
        ((ESTABLISHED, SYN_RCVD), SEND_FIN_CROSSED, FIN_WAIT_1, "3.10.4", "send.fin_first"),
        # The same FIN again: a retransmission (3.8.1). From FIN_WAIT_2, TIME_WAIT or CLOSED
        # it proves the ACK of that FIN never reached it (see SEND_EVIDENCE).
        ((FIN_WAIT_1, CLOSING, LAST_ACK), SEND_FIN_AGAIN, None, "3.8.1", "send.fin_again"),
        ((ESTABLISHED, CLOSE_WAIT, SYN_RCVD, SYN_SENT, LISTEN), SEND_FIN_AGAIN, None, "3.8.1", "send.fin_again"),
        ((FIN_WAIT_2,), SEND_FIN_AGAIN, FIN_WAIT_1, "3.8.1", "send.fin_again_ack_lost"),
        ((TIME_WAIT,), SEND_FIN_AGAIN, CLOSING, "3.8.1", "send.fin_again_ack_lost"),
        ((CLOSED,), SEND_FIN_AGAIN, LAST_ACK, "3.8.1", "send.fin_again_ack_lost"),
        ((FIN_WAIT_2, TIME_WAIT, CLOSED), SEND_FIN_AGAIN_CROSSED, None, "3.8.1", "send.fin_again_crossed"),
        # Resets (3.10.5 ABORT call: send RST, enter CLOSED; 3.5.2 reset generation).
        ((SYN_SENT, SYN_RCVD) + SYNCHRONIZED, SEND_RST, CLOSED, "3.10.5", "send.rst"),
        ((CLOSED,), SEND_RST, None, "3.10.7.1", "send.rst_closed"),
        ((LISTEN,), SEND_RST, None, "3.10.7.2", "send.rst_listen"),
        ((CLOSED, LISTEN, SYN_RCVD), SEND_RST_REFUSED, CLOSED, "3.10.7.1", "send.rst_refused"),
        ((SYN_SENT,), SEND_RST_REPLY, None, "3.10.7.3", "send.rst_reply"),
    ]
)

# ---------------------------------------------------------------------------------------
# The receiver's transition for processing the segment (RFC 9293 3.10.7 SEGMENT ARRIVES).

RECEIVE: dict[tuple[int, str], Rule] = _table(
    [
        ((LISTEN,), RECV_SYN, SYN_RCVD, "3.10.7.2", "recv.syn"),
        ((CLOSED,), RECV_SYN, None, "3.10.7.1", "recv.syn_closed"),
        ((SYN_SENT,), RECV_SYN, SYN_RCVD, "3.10.7.3", "recv.syn_simultaneous"),
        ((SYN_RCVD,), RECV_SYN, None, "3.10.7.4", "recv.syn_again"),
        (SYNCHRONIZED, RECV_SYN, None, "3.10.7.4", "recv.syn_challenge"),
        ((SYN_SENT,), RECV_SYNACK, ESTABLISHED, "3.10.7.3", "recv.synack"),
        ((SYN_RCVD,), RECV_SYNACK, ESTABLISHED, "3.10.7.4", "recv.synack_simultaneous"),
        (SYNCHRONIZED, RECV_SYNACK, None, "3.10.7.4", "recv.synack_again"),
        ((LISTEN, CLOSED), RECV_SYNACK, None, "3.10.7.2", "recv.synack_unexpected"),
        ((SYN_SENT,), RECV_SYNACK_BAD, None, "3.10.7.3", "recv.synack_bad"),
        # An unacceptable ACK anywhere else draws a reset or an ACK, never a new state.
        (ALL, RECV_SYNACK_BAD_PLAIN, None, "3.10.7.4", "recv.synack_bad"),
        ((SYN_RCVD,), RECV_ACK_OF_SYN, ESTABLISHED, "3.10.7.4", "recv.ack_of_syn"),
        ((FIN_WAIT_1,), RECV_ACK_OF_FIN, FIN_WAIT_2, "3.10.7.4", "recv.ack_of_fin_fw1"),
        ((CLOSING,), RECV_ACK_OF_FIN, TIME_WAIT, "3.10.7.4", "recv.ack_of_fin_closing"),
        ((LAST_ACK,), RECV_ACK_OF_FIN, CLOSED, "3.10.7.4", "recv.ack_of_fin_last_ack"),
        (ALL, RECV_ACK, None, "3.10.7.4", "recv.ack"),
        (ALL, RECV_DATA, None, "3.10.7.4", "recv.data"),
        ((ESTABLISHED, SYN_RCVD), RECV_FIN, CLOSE_WAIT, "3.10.7.4", "recv.fin_first"),
        ((FIN_WAIT_1,), RECV_FIN, CLOSING, "3.10.7.4", "recv.fin_simultaneous"),
        ((FIN_WAIT_2,), RECV_FIN, TIME_WAIT, "3.10.7.4", "recv.fin_second"),
        ((CLOSE_WAIT, CLOSING, LAST_ACK), RECV_FIN, None, "3.10.7.4", "recv.fin_again"),
        ((TIME_WAIT,), RECV_FIN, None, "3.10.7.4", "recv.fin_time_wait"),
        ((CLOSED, LISTEN, SYN_SENT), RECV_FIN, None, "3.10.7.4", "recv.fin_ignored"),
        ((FIN_WAIT_1,), RECV_FIN_ACKING_FIN, TIME_WAIT, "3.10.7.4", "recv.fin_acking_fin"),
        (ALL, RECV_FIN_AGAIN, None, "3.10.7.4", "recv.fin_again"),
        ((TIME_WAIT,), RECV_FIN_AGAIN, None, "3.10.7.4", "recv.fin_time_wait"),
        ((SYN_SENT,), RECV_RST, CLOSED, "3.10.7.3", "recv.rst_syn_sent"),
        ((SYN_RCVD,), RECV_RST, LISTEN, "3.10.7.4", "recv.rst_syn_rcvd"),
        ((SYN_RCVD,), RECV_RST_ACTIVE, CLOSED, "3.10.7.4", "recv.rst"),
        ((ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT), RECV_RST, CLOSED, "3.10.7.4", "recv.rst"),
        ((CLOSING, LAST_ACK, TIME_WAIT), RECV_RST, CLOSED, "3.10.7.4", "recv.rst_closing"),
        ((LISTEN,), RECV_RST, None, "3.10.7.2", "recv.rst_ignored_listen"),
        ((CLOSED,), RECV_RST, None, "3.10.7.1", "recv.rst_ignored_closed"),
        ((SYN_SENT,), RECV_RST_IGNORED, None, "3.10.7.3", "recv.rst_unacceptable_syn_sent"),
        (ALL, RECV_RST_CHALLENGE, None, "RFC 5961 3.2", "recv.rst_challenge"),
        (ALL, RECV_RST_IGNORED, None, "3.10.7.4 / RFC 5961 3.2", "recv.rst_out_of_window"),
        (ALL, RECV_NOTHING, None, "3.8.1", "recv.lost"),
        (ALL, RECV_LATER, None, "3.10.7.4", "recv.in_flight"),
        (ALL, RECV_GONE, CLOSED, "3.10.7.1", "recv.gone"),
    ]
)

def _complete(table: dict[tuple[int, str], Rule], fallback: dict[str, str], events: tuple[str, ...]) -> None:
    """Make a table total: a refined event not listed for a state behaves like the plain
    event it refines (e.g. a "crossed" FIN from FIN_WAIT_2 is a FIN from FIN_WAIT_2)."""
    for state in ALL:
        for event in events:
            if (state, event) not in table:
                plain = fallback.get(event)
                if plain is not None and (state, plain) in table:
                    table[(state, event)] = table[(state, plain)]
                else:
                    table[(state, event)] = Rule(state, "3.10.7", "recv.ack" if table is RECEIVE else "send.ack")


SEND_EVENTS = (
    SEND_SYN, SEND_SYN_CROSSED, SEND_SYNACK, SEND_SYNACK_AGAIN, SEND_ACK, SEND_DATA, SEND_DATA_AGAIN,
    SEND_KEEPALIVE, SEND_FIN, SEND_FIN_AGAIN, SEND_FIN_CROSSED, SEND_FIN_AGAIN_CROSSED, SEND_RST,
    SEND_RST_REFUSED, SEND_RST_REPLY,
)  # fmt: skip
RECV_EVENTS = (
    RECV_SYN, RECV_SYNACK, RECV_SYNACK_BAD, RECV_ACK_OF_SYN, RECV_ACK_OF_FIN, RECV_ACK, RECV_DATA, RECV_FIN,
    RECV_FIN_ACKING_FIN, RECV_FIN_AGAIN, RECV_RST, RECV_RST_ACTIVE, RECV_RST_CHALLENGE, RECV_RST_IGNORED,
    RECV_NOTHING, RECV_LATER, RECV_GONE,
)  # fmt: skip
_complete(
    SEND,
    {
        SEND_SYN_CROSSED: SEND_SYN,
        SEND_SYNACK_AGAIN: SEND_SYNACK,
        SEND_FIN_CROSSED: SEND_FIN,
        SEND_FIN_AGAIN_CROSSED: SEND_FIN_AGAIN,
        SEND_RST_REFUSED: SEND_RST,
        SEND_RST_REPLY: SEND_RST,
    },
    SEND_EVENTS,
)
_complete(
    RECEIVE,
    {
        RECV_SYNACK_BAD: RECV_SYNACK_BAD_PLAIN,
        RECV_ACK_OF_SYN: RECV_ACK,
        RECV_ACK_OF_FIN: RECV_ACK,
        RECV_FIN_ACKING_FIN: RECV_FIN,
        RECV_RST_ACTIVE: RECV_RST,
    },
    RECV_EVENTS,
)

#: Sender transitions that are evidence an earlier segment did not arrive: (state, event)
#: -> what did not arrive. Used by `Observer` on a live stream and by the tracker to
#: re-infer a stored conversation.
SEND_EVIDENCE: dict[tuple[int, str], str] = {
    (FIN_WAIT_2, SEND_FIN_AGAIN): "ack of fin lost",
    (TIME_WAIT, SEND_FIN_AGAIN): "ack of fin lost",
    (CLOSED, SEND_FIN_AGAIN): "ack of fin lost",
    (CLOSE_WAIT, SEND_FIN_CROSSED): "fin crossed",
    (SYN_RCVD, SEND_SYN_CROSSED): "syn crossed",
}

#: An ACK sent less than this long (or one round-trip time, if longer) before a segment
#: it should have prevented is taken to have been still on its way (crossed), not lost.
MIN_CROSSING_WINDOW = 0.001


def _gt(a: int, b: int) -> bool:
    """a > b in sequence space (RFC 9293 section 3.4)."""
    return 0 < ((a - b) & MASK32) < HALF


def _ge(a: int, b: int) -> bool:
    return ((a - b) & MASK32) < HALF


class Side:
    """What the observer knows of one endpoint: its inferred state and what its own
    segments showed (absolute sequence numbers, None = not seen yet)."""

    __slots__ = (
        "state",
        "iss",
        "snd_nxt",
        "rcv_wnd",
        "fin_seq",
        "fin_acked",
        "fin_acked_at",
        "got_fin",
        "sent_synack",
        "bad_synack_ack",
        "time_wait_at",
    )

    def __init__(self, state: int) -> None:
        self.state = state
        #: Its initial sequence number (the sequence number of its SYN).
        self.iss: int | None = None
        #: The sequence number after the last byte (or SYN/FIN) it has sent: SND.NXT.
        #: The peer, assuming delivery, expects exactly this next (its RCV.NXT).
        self.snd_nxt: int | None = None
        #: The receive window it last advertised (scaled): RCV.WND.
        self.rcv_wnd: int | None = None
        #: The sequence number its FIN occupies, once it sent one.
        self.fin_seq: int | None = None
        self.fin_acked = False
        #: Capture time of the latest segment that acknowledged its FIN.
        self.fin_acked_at: float | None = None
        self.got_fin = False
        self.sent_synack = False
        #: The ACK number of an unacceptable SYN/ACK it received (it answers with RST).
        self.bad_synack_ack: int | None = None
        #: Capture time at which it entered TIME_WAIT.
        self.time_wait_at: float | None = None

    def copy(self) -> "Side":
        other = Side.__new__(Side)
        for name in Side.__slots__:
            setattr(other, name, getattr(self, name))
        return other


_side_values = attrgetter(*Side.__slots__)

#: Receiver states in which a segment without SYN, FIN or RST changes nothing, whatever
#: its ACK number (in SYN_RCVD it may complete the handshake; in FIN_WAIT_1, CLOSING and
#: LAST_ACK it may acknowledge the FIN; in CLOSED a late ACK of its FIN still matters).
RECV_STEADY = frozenset((ESTABLISHED, FIN_WAIT_2, CLOSE_WAIT, TIME_WAIT))
#: Sender states in which sending such a segment changes nothing.
SEND_STEADY = frozenset(SYNCHRONIZED)


#: states byte (client << 4 | server) -> [client steady, server steady] (see Observer.steady).
_STEADY = {
    (c << 4) | s: (c in SEND_STEADY and s in RECV_STEADY, s in SEND_STEADY and c in RECV_STEADY)
    for c in ALL
    for s in ALL
}


class Step(NamedTuple):
    """What one segment did: the sender's and the receiver's rules (the receiver's rule
    is None when the segment did not arrive), and evidence that an earlier segment did not
    arrive (see SEND_EVIDENCE), or None."""

    send: Rule
    recv: Rule | None
    evidence: str | None


class Observer:
    """The inferred state of both endpoints of one conversation, stepped one captured
    segment at a time (sender's transition, then receiver's). Roles are 0 = client,
    1 = server.

    `steady` says, per sender role, whether a segment without SYN, FIN or RST can change
    nothing but the sender's SND.NXT and RCV.WND (the tracker's fast path then applies it
    with `step_steady`): both states steady (SEND_STEADY, RECV_STEADY), the first
    round-trip time known (or no SYN seen), and no FIN sent by the receiver (whose ACKs
    it would note). It is kept up to date by `step` (and `gone`, `thaw`); after `deliver`
    alone, call `refresh_steady`."""

    __slots__ = ("sides", "midstream", "steady", "syn_time", "rtt")

    def __init__(self, client_state: int = CLOSED, server_state: int = LISTEN, midstream: bool = False) -> None:
        self.sides = (Side(client_state), Side(server_state))
        #: True when the capture started after the handshake ("handshake not captured").
        self.midstream = midstream
        self.steady = [False, False]
        #: Time of the last SYN without ACK, and the first round-trip time (from it to
        #: the first segment with ACK and without SYN, as Wireshark measures it).
        self.syn_time: float | None = None
        self.rtt: float | None = None
        self._update_steady()

    def copy(self) -> "Observer":
        other = Observer.__new__(Observer)
        other.sides = (self.sides[0].copy(), self.sides[1].copy())
        other.midstream = self.midstream
        other.steady = list(self.steady)
        other.syn_time = self.syn_time
        other.rtt = self.rtt
        return other

    def freeze(self) -> tuple:
        """A compact copy (tuples of plain values) to start a revision from (`thaw`)."""
        sides = self.sides
        return (_side_values(sides[0]), _side_values(sides[1]), self.midstream, self.syn_time, self.rtt)

    @classmethod
    def thaw(cls, frozen: tuple) -> "Observer":
        obs = cls.__new__(cls)
        sides = []
        for values in frozen[:2]:
            side = Side.__new__(Side)
            for name, value in zip(Side.__slots__, values):
                setattr(side, name, value)
            sides.append(side)
        obs.sides = (sides[0], sides[1])
        obs.midstream, obs.syn_time, obs.rtt = frozen[2:]
        obs.steady = [False, False]
        obs._update_steady()
        return obs

    @property
    def crossing_window(self) -> float:
        """How recent a segment must be to count as still on its way (see
        MIN_CROSSING_WINDOW)."""
        return max(self.rtt or 0.0, MIN_CROSSING_WINDOW)

    @property
    def states(self) -> tuple[int, int]:
        return self.sides[0].state, self.sides[1].state

    def refresh_steady(self) -> None:
        """Bring `steady` up to date (after `deliver` called on its own)."""
        self._update_steady()

    def _update_steady(self) -> None:
        sides = self.sides
        client, server = _STEADY[(sides[0].state << 4) | sides[1].state]
        if client or server:
            if self.rtt is None and self.syn_time is not None:
                # The next ACK gives the first round-trip time (step sets it).
                client = server = False
            else:
                # A receiver that sent a FIN notes every ACK of it (Side.fin_acked_at).
                if sides[1].fin_seq is not None:
                    client = False
                if sides[0].fin_seq is not None:
                    server = False
        steady = self.steady
        steady[0] = client
        steady[1] = server

    def step_steady(self, sender: int, seq: int, length: int, win: int) -> str:
        """A segment without SYN, FIN or RST while `steady[sender]`: only the sender's
        SND.NXT and RCV.WND move. Returns the send event (SEND_ACK, SEND_DATA ...)."""
        snd = self.sides[sender]
        end = (seq + length) & MASK32
        nxt = snd.snd_nxt
        snd.rcv_wnd = win
        if nxt is None or 0 < ((end - nxt) & MASK32) < HALF:
            snd.snd_nxt = end
            return SEND_DATA if length else SEND_ACK
        if length:
            if length == 1 and end == nxt:
                return SEND_KEEPALIVE
            return SEND_DATA_AGAIN
        if seq == (nxt - 1) & MASK32:
            return SEND_KEEPALIVE
        return SEND_ACK

    def step(
        self,
        sender: int,
        flags: int,
        seq: int,
        ack: int,
        length: int,
        win: int,
        now: float,
        delivered: bool = True,
    ) -> Step:
        """Apply one segment sent by `sender` (0 client, 1 server): `seq`/`ack` raw, `win`
        the scaled window, `length` the payload length, `now` the capture time.
        With `delivered` False the segment is taken to have been lost on its way."""
        snd = self.sides[sender]
        expected = snd.snd_nxt  # what the receiver expects next, before this segment
        if flags & SYN:
            if not flags & ACK:
                self.syn_time = now
        elif flags & ACK and self.rtt is None and self.syn_time is not None:
            self.rtt = now - self.syn_time
        send_rule, evidence = self._send(snd, self.sides[1 - sender], flags, seq, ack, length, win, now)
        if snd.state != TIME_WAIT:
            snd.time_wait_at = None
        elif snd.time_wait_at is None:
            snd.time_wait_at = now
        recv_rule = self.deliver(sender, flags, seq, ack, length, now, expected) if delivered else None
        self._update_steady()
        return Step(send_rule, recv_rule, evidence)

    # -- the sender's half -------------------------------------------------------------

    def _send(
        self, snd: Side, rcv: Side, flags: int, seq: int, ack: int, length: int, win: int, now: float
    ) -> tuple[Rule, str | None]:
        state = snd.state
        end = (seq + length + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)) & MASK32
        if flags & RST:
            if state == SYN_SENT and snd.bad_synack_ack is not None and seq == snd.bad_synack_ack:
                event = SEND_RST_REPLY
            elif (
                state in (SYN_RCVD, LISTEN, CLOSED)
                and not snd.sent_synack
                and flags & ACK
                and rcv.iss is not None
                and ack == (rcv.iss + 1) & MASK32
            ):
                event = SEND_RST_REFUSED
            else:
                event = SEND_RST
        elif flags & SYN:
            if flags & ACK:
                event = SEND_SYNACK_AGAIN if snd.sent_synack and seq == snd.iss else SEND_SYNACK
                snd.sent_synack = True
            elif state == SYN_RCVD and snd.iss is None:
                event = SEND_SYN_CROSSED
            else:
                event = SEND_SYN
            if snd.iss is None:
                snd.iss = seq
        elif flags & FIN:
            fin_at = (seq + length) & MASK32
            if snd.fin_seq is not None and fin_at == snd.fin_seq:
                event = SEND_FIN_AGAIN
            else:
                if (
                    snd.got_fin
                    and rcv.fin_seq is not None
                    and not (flags & ACK and _gt(ack, rcv.fin_seq))
                ):
                    event = SEND_FIN_CROSSED
                else:
                    event = SEND_FIN
                if snd.fin_seq is None:
                    snd.fin_seq = fin_at
        elif length and snd.snd_nxt is not None and not _gt(end, snd.snd_nxt):
            if length == 1 and end == snd.snd_nxt:
                event = SEND_KEEPALIVE
            else:
                event = SEND_DATA_AGAIN
        elif length:
            event = SEND_DATA
        elif snd.snd_nxt is not None and seq == (snd.snd_nxt - 1) & MASK32:
            event = SEND_KEEPALIVE
        else:
            event = SEND_ACK
        evidence = SEND_EVIDENCE.get((state, event))
        if evidence == "ack of fin lost":
            if snd.fin_acked_at is not None and now - snd.fin_acked_at < self.crossing_window:
                # The ACK of its FIN arrived only just before: it was still on its way
                # when this copy left (the two crossed). Nothing changes.
                evidence = "ack of fin crossed"
                event = SEND_FIN_AGAIN_CROSSED
            else:
                snd.fin_acked = False
                snd.fin_acked_at = None
        rule = SEND[(state, event)]
        snd.state = rule.next
        nxt = snd.snd_nxt
        if nxt is None or 0 < ((end - nxt) & MASK32) < HALF:
            snd.snd_nxt = end
        snd.rcv_wnd = win
        return rule, evidence

    # -- the receiver's half -----------------------------------------------------------

    def deliver(
        self, sender: int, flags: int, seq: int, ack: int, length: int, now: float, expected: int | None = None
    ) -> Rule:
        """Process the segment at the receiver (RFC 9293 3.10.7); returns the rule applied
        (for a FIN that also acknowledges the receiver's FIN, the combined rule).
        `expected` is the sender's SND.NXT before this segment (for an RST's check)."""
        rcv = self.sides[1 - sender]
        state = rcv.state
        if flags & RST:
            rule = RECEIVE[(state, self._rst_event(rcv, sender, flags, seq, ack, expected))]
        elif flags & SYN:
            if flags & ACK:
                if state in (SYN_SENT, SYN_RCVD) and rcv.iss is not None and ack != (rcv.iss + 1) & MASK32:
                    rule = RECEIVE[(state, RECV_SYNACK_BAD)]
                    rcv.bad_synack_ack = ack
                else:
                    rule = RECEIVE[(state, RECV_SYNACK)]
            else:
                rule = RECEIVE[(state, RECV_SYN)]
        else:
            rule = None
            if flags & ACK:
                if state == SYN_RCVD and (rcv.iss is None or _gt(ack, rcv.iss)):
                    rule = RECEIVE[(state, RECV_ACK_OF_SYN)]
                    state = rule.next
                fin_seq = rcv.fin_seq
                if fin_seq is not None and 0 < ((ack - fin_seq) & MASK32) < HALF:
                    rcv.fin_acked_at = now  # the latest segment acknowledging its FIN
                if fin_seq is not None and not rcv.fin_acked and 0 < ((ack - fin_seq) & MASK32) < HALF:
                    rcv.fin_acked = True
                    if state in (FIN_WAIT_1, CLOSING, LAST_ACK):
                        if flags & FIN and state == FIN_WAIT_1 and not rcv.got_fin:
                            rule = None  # handled below as one step: FIN_WAIT_1 -> TIME_WAIT
                            state = -1
                        else:
                            rule = RECEIVE[(state, RECV_ACK_OF_FIN)]
                            state = rule.next
            if flags & FIN:
                if state == -1:
                    rcv.got_fin = True
                    rule = RECEIVE[(FIN_WAIT_1, RECV_FIN_ACKING_FIN)]
                else:
                    if rcv.got_fin:
                        fin_rule = RECEIVE[(state, RECV_FIN_AGAIN)]
                    else:
                        fin_rule = RECEIVE[(state, RECV_FIN)]
                        if fin_rule.key != "recv.fin_ignored":
                            rcv.got_fin = True
                    # Keep the ACK's rule when the FIN itself changes nothing (e.g. the
                    # last ACK arriving with a repeated FIN in LAST_ACK).
                    if rule is None or fin_rule.next != state:
                        rule = fin_rule
            elif rule is None:
                rule = RECEIVE[(state, RECV_DATA if length else RECV_ACK)]
        rcv.state = rule.next
        if rule.next == TIME_WAIT:
            # Entering TIME_WAIT, or a FIN arriving again in it, starts the 2MSL timer
            # (RFC 9293 3.10.7.4: "restart the 2 MSL time-wait timeout").
            if rcv.time_wait_at is None or flags & FIN:
                rcv.time_wait_at = now
        else:
            rcv.time_wait_at = None
        return rule

    def gone(self, role: int) -> Rule:
        """The endpoint `role` turns out to have dropped the connection without a segment
        (it answers the next segment with a bare RST): it is CLOSED."""
        side = self.sides[role]
        rule = RECEIVE[(side.state, RECV_GONE)]
        side.state = rule.next
        side.time_wait_at = None
        self._update_steady()
        return rule

    def _rst_event(self, rcv: Side, sender: int, flags: int, seq: int, ack: int, expected: int | None) -> str:
        """Is this RST acceptable to its receiver? RFC 9293 3.10.7.3 (SYN-SENT: only with an
        ACK of our SYN) and 3.10.7.4 with RFC 5961 section 3.2 (synchronized states: only a
        sequence number exactly RCV.NXT resets; elsewhere in the window it draws a
        challenge ACK; outside the window it is dropped). Linux also accepts RCV.NXT - 1 in
        CLOSE_WAIT, LAST_ACK and CLOSING (tcp_reset_check). The receiver's RCV.NXT is taken
        to be the sender's SND.NXT before the RST (everything it sent arrived)."""
        state = rcv.state
        if state == SYN_SENT:
            if flags & ACK and (rcv.iss is None or ack == (rcv.iss + 1) & MASK32):
                return RECV_RST
            return RECV_RST_IGNORED
        if state in (LISTEN, CLOSED):
            return RECV_RST
        # The receiver is the client when the server sent the RST; a client in SYN_RCVD
        # got there by a simultaneous open (an active OPEN), so a reset closes it.
        ok_event = RECV_RST_ACTIVE if state == SYN_RCVD and sender == SERVER else RECV_RST
        if expected is None:
            return ok_event
        if seq == expected or (state in (CLOSE_WAIT, LAST_ACK, CLOSING) and seq == (expected - 1) & MASK32):
            return ok_event
        window = rcv.rcv_wnd if rcv.rcv_wnd else 1
        if 0 < ((seq - expected) & MASK32) < window:
            return RECV_RST_CHALLENGE
        return RECV_RST_IGNORED
