"""How a segment is written on the screen: flags, sequence numbers, the Info column.

Sequence and acknowledgment numbers are shown relative to each side's ISN by default (as
Wireshark does) and absolute on request; these helpers pick the right one from a Frame.
"""

from __future__ import annotations

import re

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
