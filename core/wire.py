"""The simulated wire between the lab's two endpoints: segments in flight, and faults.

Every segment spends a one-way delay on the wire (default 50 ms), so segments sent at about
the same time from both sides cross in flight (simultaneous close). The user can make the
wire misbehave:

* ``drop``: the segment is lost; it leaves its sender but never arrives.
* ``duplicate``: a second copy arrives just after the first (1 ms later).
* ``delay``: the segment is held back until the next segment its sender sends in the same
  direction has arrived, then arrives right after it (reordering). If nothing follows, it
  arrives 3 one-way delays late.
* ``old-syn``: an old duplicate SYN from the client's address, with a sequence number a
  quarter of the sequence space away from the client's ISN, appears on the wire
  (RFC 9293 3.5, Figure 9).

A fault applies to the in-flight segment of that direction that would arrive first; when
none is in flight it is *armed* and applies to the next segment sent in that direction.
Direction None means either side.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from .segment import Segment

FAULTS = ("drop", "duplicate", "delay", "old-syn")
DEFAULT_DELAY = 0.05
#: How much later a duplicated copy arrives.
DUPLICATE_GAP = 0.001
#: A delayed segment nobody overtakes arrives this many one-way delays late.
DELAY_FACTOR = 3


@dataclass(frozen=True, slots=True)
class InFlight:
    """A segment on the wire: which row of the segment log it is, who sent it, when it left
    and when it arrives (or would have, if `lost`). `order` breaks ties between equal arrival
    times. `fault` says what the wire did to it: "drop", "delay", "old-syn", or "duplicate"
    for the extra copy. The remaining fields are how the segment is shown (frames reuse them)."""

    id: int
    row: int
    sender: str
    segment: Segment
    sent: float
    arrival: float
    order: float
    lost: bool = False
    fault: str | None = None
    #: A delayed segment still waiting for its sender's next segment to overtake it.
    held: bool = False
    injected: bool = False
    seq_rel: int | None = None
    ack_rel: int | None = None
    win_scaled: int | None = None
    info: str = ""
    analysis: tuple[str, ...] = ()


def _when(flight: InFlight) -> tuple[float, float]:
    return (flight.arrival, flight.order)


@dataclass
class Wire:
    """Segments in flight plus the faults armed for the next segment of a direction.

    `flights` is kept in arrival order; its entries are immutable, so `clone()` (copies of
    the two lists) is an independent snapshot."""

    delay: float = DEFAULT_DELAY
    flights: list[InFlight] | None = None
    armed: list[tuple[str, str | None]] | None = None
    next_id: int = 0

    def __post_init__(self) -> None:
        if self.flights is None:
            self.flights = []
        if self.armed is None:
            self.armed = []

    def clone(self) -> "Wire":
        return Wire(self.delay, list(self.flights), list(self.armed), self.next_id)

    def _insert(self, flight: InFlight) -> None:
        bisect.insort(self.flights, flight, key=_when)

    def _replace(self, old: InFlight, new: InFlight) -> None:
        self.flights.remove(old)
        self._insert(new)

    # ------------------------------------------------------------------- putting on ---

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def put(self, flight: InFlight) -> str | None:
        """Put a segment sent by an endpoint on the wire. Returns the armed fault it met, if any
        (already applied)."""
        # A held (delayed) segment of the same sender arrives right after this one.
        if not flight.injected:
            for other in [f for f in self.flights if f.held and f.sender == flight.sender]:
                self._replace(other, replace(other, arrival=flight.arrival, order=flight.order + 0.5, held=False))
        self._insert(flight)
        if flight.injected:
            return None
        for k, (fault, direction) in enumerate(self.armed):
            if direction is None or direction == flight.sender:
                del self.armed[k]
                self._apply(flight, fault)
                return fault
        return None

    def arm(self, fault: str, direction: str | None) -> None:
        self.armed.append((fault, direction))

    # --------------------------------------------------------------------- faults ---

    def target(self, fault: str, direction: str | None) -> InFlight | None:
        """The in-flight segment a fault would hit now: the first to arrive in that direction,
        not lost, not a duplicate's copy (and for delay, not already delayed)."""
        candidates = [
            f
            for f in self.flights
            if (direction is None or f.sender == direction)
            and not f.lost
            and f.fault != "duplicate"
            and not (fault == "delay" and f.fault == "delay")
        ]
        if not candidates:
            return None
        return candidates[0]  # flights are in arrival order

    def apply(self, fault: str, direction: str | None) -> InFlight | None:
        """Apply a fault to the in-flight segment it targets; None when nothing is in flight."""
        flight = self.target(fault, direction)
        if flight is None:
            return None
        return self._apply(flight, fault)

    def _apply(self, flight: InFlight, fault: str) -> InFlight:
        flight = next(f for f in self.flights if f.id == flight.id)
        if fault == "drop":
            changed = replace(flight, lost=True, fault="drop")
        elif fault == "delay":
            changed = replace(
                flight,
                arrival=flight.arrival + DELAY_FACTOR * self.delay,
                fault="delay",
                held=True,
            )
        elif fault == "duplicate":
            changed = flight
            copy = replace(
                flight,
                id=self.new_id(),
                arrival=flight.arrival + DUPLICATE_GAP,
                order=flight.order + 0.25,
                fault="duplicate",
                held=False,
            )
            self._insert(copy)
        else:  # pragma: no cover - guarded by the simulation
            raise ValueError(f"unknown fault {fault!r}")
        if changed is not flight:
            self._replace(flight, changed)
        return changed

    # ------------------------------------------------------------------- arriving ---

    def next_arrival(self) -> InFlight | None:
        """The in-flight segment that arrives (or is lost) first."""
        return self.flights[0] if self.flights else None

    def remove(self, flight: InFlight) -> None:
        for i, f in enumerate(self.flights):
            if f.id == flight.id:
                del self.flights[i]
                return

    def in_flight(self) -> list[InFlight]:
        """Everything on the wire, first to arrive first."""
        return list(self.flights)
