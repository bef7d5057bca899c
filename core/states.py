"""The eleven TCP states, named as BSD netstat names them, with the RFC 9293 and Linux `ss` names.

RFC 9293 section 3.3.2 defines the states; the BSD names (SYN_RCVD, FIN_WAIT_1 ...) are the
ones used everywhere in tcp-lab (DESIGN.md). The UI shows the other two names beside them.
"""

from __future__ import annotations

import enum


class State(str, enum.Enum):
    """A TCP connection state (RFC 9293 section 3.3.2)."""

    #: No connection at all: no TCB exists (a fictional state in the RFC).
    CLOSED = "CLOSED"
    #: Waiting for a connection request from any remote TCP (a passive open).
    LISTEN = "LISTEN"
    #: A SYN was sent; waiting for the matching SYN (and the ACK of ours).
    SYN_SENT = "SYN_SENT"
    #: A SYN was received and a SYN sent; waiting for the ACK of our SYN.
    SYN_RCVD = "SYN_RCVD"
    #: Open in both directions: data flows; the normal state of a connection.
    ESTABLISHED = "ESTABLISHED"
    #: We sent our FIN (the application closed) and wait for its ACK or the peer's FIN.
    FIN_WAIT_1 = "FIN_WAIT_1"
    #: Our FIN is acknowledged; waiting for the peer's FIN (it may still send data).
    FIN_WAIT_2 = "FIN_WAIT_2"
    #: The peer's FIN arrived; waiting for our own application to close.
    CLOSE_WAIT = "CLOSE_WAIT"
    #: Both sides sent FIN at once; waiting for the ACK of ours.
    CLOSING = "CLOSING"
    #: We sent our FIN after the peer's; waiting for its ACK.
    LAST_ACK = "LAST_ACK"
    #: Both FINs acknowledged; waiting 2MSL so that old segments die and a lost last ACK can be resent.
    TIME_WAIT = "TIME_WAIT"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value

    @property
    def rfc_name(self) -> str:
        """The name RFC 9293 uses (SYN-RECEIVED, FIN-WAIT-1 ...)."""
        return RFC_NAMES[self]

    @property
    def ss_name(self) -> str:
        """The name Linux `ss -tan` prints for a socket in this state."""
        return SS_NAMES[self]

    @property
    def synchronized(self) -> bool:
        """True once both sequence numbers are known (RFC 9293 section 3.10.7.4)."""
        return self not in (State.CLOSED, State.LISTEN, State.SYN_SENT)


RFC_NAMES: dict[State, str] = {
    State.CLOSED: "CLOSED",
    State.LISTEN: "LISTEN",
    State.SYN_SENT: "SYN-SENT",
    State.SYN_RCVD: "SYN-RECEIVED",
    State.ESTABLISHED: "ESTABLISHED",
    State.FIN_WAIT_1: "FIN-WAIT-1",
    State.FIN_WAIT_2: "FIN-WAIT-2",
    State.CLOSE_WAIT: "CLOSE-WAIT",
    State.CLOSING: "CLOSING",
    State.LAST_ACK: "LAST-ACK",
    State.TIME_WAIT: "TIME-WAIT",
}

#: Names printed by `ss` (iproute2 misc/ss.c, sstate_name). A closed socket is "UNCONN".
SS_NAMES: dict[State, str] = {
    State.CLOSED: "UNCONN",
    State.LISTEN: "LISTEN",
    State.SYN_SENT: "SYN-SENT",
    State.SYN_RCVD: "SYN-RECV",
    State.ESTABLISHED: "ESTAB",
    State.FIN_WAIT_1: "FIN-WAIT-1",
    State.FIN_WAIT_2: "FIN-WAIT-2",
    State.CLOSE_WAIT: "CLOSE-WAIT",
    State.CLOSING: "CLOSING",
    State.LAST_ACK: "LAST-ACK",
    State.TIME_WAIT: "TIME-WAIT",
}

_BY_SS = {name: state for state, name in SS_NAMES.items()}


def from_ss(name: str) -> State:
    """The State for a name printed by `ss` (ESTAB, SYN-RECV ...)."""
    return _BY_SS[name]
