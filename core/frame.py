"""The one idea of tcp-lab: a timeline of frames (DESIGN.md).

Every source (the simulation, a replayed capture, a live sniff) produces an append-only
sequence of Frames. A Frame is one event plus a snapshot of both endpoints after it.
The screen and the headless writers only know this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Protocol, Sequence, runtime_checkable

from .segment import Segment
from .states import State

Role = Literal["client", "server"]
#: What a frame is. "segment": a captured segment (replay/live). "send"/"deliver"/"drop": a
#: simulated segment leaving its sender, arriving, or lost by the wire. "app": an application
#: call (connect, listen, send, close, abort). "timer": a timer firing (rto, 2msl).
#: "fault": the user armed or applied a fault on the simulated wire.
EventKind = Literal["segment", "send", "deliver", "drop", "app", "timer", "fault"]

ROLES: tuple[Role, Role] = ("client", "server")


def other(role: Role) -> Role:
    return "server" if role == "client" else "client"


@dataclass(frozen=True, slots=True)
class Timer:
    """A running timer: its name ("rto", "2msl", ...) and the time it fires (timeline seconds)."""

    name: str
    deadline: float


@dataclass(frozen=True, slots=True)
class EndpointView:
    """One endpoint as it is after a frame: its address, state and TCB variables.

    Sequence variables are absolute 32-bit numbers; None means unknown (not yet chosen, or
    not observable from a capture). RFC 9293 section 3.3.1 defines the variables.
    """

    addr: str
    port: int
    state: State
    iss: int | None = None
    irs: int | None = None
    snd_una: int | None = None
    snd_nxt: int | None = None
    snd_wnd: int | None = None
    rcv_nxt: int | None = None
    rcv_wnd: int | None = None
    timers: tuple[Timer, ...] = ()
    #: A remark on how the state is known, e.g. "handshake not captured".
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """What happened and why, as a key into the text catalogue (core/explain.py) and its
    parameters. Texts are rendered in a language only when shown."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Frame:
    """One event on a timeline and both endpoints after it.

    `no` counts from 1. `time` is seconds since the start of the timeline (the first
    packet of a capture). For frames that carry a segment, `sender` is the role that sent
    it, `seq_rel`/`ack_rel` are relative to each side's ISN as Wireshark shows them,
    `win_scaled` is the window after scaling (the raw field when the scale is unknown),
    `row` is the segment's row in the segment log (several frames of the simulation -
    send, deliver, drop - share one row), `info` is Wireshark's Info column text and
    `analysis` holds Wireshark-style analysis labels (e.g. "TCP Retransmission").
    `who` is the role that acted (the sender of a send/segment, the receiver of a
    deliver, the caller of an app call, the owner of a timer); None for the wire.
    """

    no: int
    time: float
    event: EventKind
    client: EndpointView
    server: EndpointView
    who: Role | None = None
    conn: int = 0
    segment: Segment | None = None
    sender: Role | None = None
    seq_rel: int | None = None
    ack_rel: int | None = None
    win_scaled: int | None = None
    row: int | None = None
    info: str = ""
    analysis: tuple[str, ...] = ()
    call: str | None = None
    timer: str | None = None
    fault: str | None = None
    explain: Explanation | None = None

    def endpoint(self, role: Role) -> EndpointView:
        return self.client if role == "client" else self.server


@runtime_checkable
class Timeline(Protocol):
    """What the screen and the writers see of any source: an indexable, append-only
    sequence of frames with a title. Index 0 is frame no. 1."""

    title: str

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Frame: ...


class ListTimeline(Sequence[Frame]):
    """The simplest timeline: frames held in a list (used by the simulation and tests)."""

    def __init__(self, title: str, frames: list[Frame] | None = None) -> None:
        self.title = title
        self._frames: list[Frame] = frames if frames is not None else []

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, index):  # type: ignore[override]
        return self._frames[index]

    def append(self, frame: Frame) -> None:
        self._frames.append(frame)

    def truncate(self, length: int) -> None:
        """Forget every frame after the first `length` ones (an editor's undo forks here)."""
        del self._frames[length:]
