"""How a segment is written on the screen: flags, sequence numbers, the Info column.

Sequence and acknowledgment numbers are shown relative to each side's ISN by default (as
Wireshark does) and absolute on request; these helpers pick the right one from a Frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tcp_lab.core.frame import Frame
from tcp_lab.core.segment import ACK

_SEQ_ACK = re.compile(r"\b(Seq|Ack)=(\d+)")


def flags_short(frame: Frame) -> str:
    """The flags of the frame's segment joined without spaces: "SYN,ACK"."""
    assert frame.segment is not None
    return ",".join(frame.segment.flag_names) or "<none>"


def seq_of(frame: Frame, absolute: bool) -> int:
    seg = frame.segment
    assert seg is not None
    if absolute or frame.seq_rel is None:
        return seg.seq
    return frame.seq_rel


def ack_of(frame: Frame, absolute: bool) -> int | None:
    """The acknowledgment number, or None when the ACK bit is off (the field means nothing)."""
    seg = frame.segment
    assert seg is not None
    if not seg.flags & ACK:
        return None
    if absolute or frame.ack_rel is None:
        return seg.ack
    return frame.ack_rel


def info_text(frame: Frame, absolute: bool) -> str:
    """Wireshark's Info column; with `absolute`, Seq= and Ack= show the raw numbers, as
    Wireshark does with relative sequence numbers turned off."""
    info = frame.info
    if not absolute or frame.segment is None:
        return info
    seg = frame.segment
    raw = {"Seq": seg.seq, "Ack": seg.ack}
    return _SEQ_ACK.sub(lambda m: f"{m.group(1)}={raw[m.group(1)]}", info)


def arrow_labels(frame: Frame, absolute: bool) -> tuple[str, ...]:
    """Labels for a ladder arrow, longest first; the ladder takes the first that fits."""
    flags = flags_short(frame)
    seq = seq_of(frame, absolute)
    ack = ack_of(frame, absolute)
    length = frame.segment.length if frame.segment is not None else 0
    tail = f" len={length}" if length else ""
    if ack is None:
        return (f"{flags} seq={seq}{tail}", f"{flags} {seq}", flags)
    return (f"{flags} seq={seq} ack={ack}{tail}", f"{flags} {seq}/{ack}", flags)


@dataclass(frozen=True)
class Fate:
    """What has become of a segment by the current step, from the frames of its row so far.

    `where`: "flight" (sent, not arrived yet), "arrived", "lost" (the wire dropped it) or
    "captured" (a segment read from a capture: it was seen on the wire). `copies`: how many
    times it was delivered (2 for a duplicated one). `delayed`: the wire held it back
    (reordering). `injected`: an old duplicate SYN the user put on the wire.
    """

    where: str
    copies: int = 0
    delayed: bool = False
    injected: bool = False

    @property
    def mark(self) -> str:
        """The log's mark column: ✕ lost, ×2 delivered twice, ~ delayed, * old SYN injected,
        … still in flight."""
        if self.where == "lost":
            return "✕"
        if self.copies > 1:
            return f"×{self.copies}" if self.copies < 10 else "×"
        if self.injected:
            return "*"
        if self.delayed:
            return "~"
        if self.where == "flight":
            return "…"
        return ""


def fate(frames: list[Frame]) -> Fate:
    """The Fate of a segment whose row has `frames` (first the one that sent it)."""
    first = frames[0]
    if first.event == "segment":
        return Fate("captured", 1)
    where = "flight"
    copies = 0
    delayed = injected = False
    for f in frames:
        if f.fault == "delay":
            delayed = True
        if f.fault == "old-syn":
            injected = True
        if f.event == "drop":
            where = "lost"
        elif f.event == "deliver":
            copies += 1
            if where != "lost":
                where = "arrived"
    return Fate(where, copies, delayed, injected)
