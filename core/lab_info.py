"""Wireshark's Info column for a TCP segment, as `tshark -n` (4.0) prints it.

Format: analysis prefixes (``[TCP Retransmission] ``), then ``SPORT → DPORT [FLAGS] Seq=N``,
``Ack=N`` only when ACK is set, ``Win=N`` (scaled), ``Len=N``, ``Urg=N`` with URG, then the
options in wire order: ``MSS=1460``, ``WS=128`` (the multiplier, 2**shift), ``SACK_PERM``,
``TSval=N TSecr=N``, ``SLE=N SRE=N`` per SACK block. Checked against tshark 4.0.17 by
tests/test_wire.py.
"""

from __future__ import annotations

from . import options as tcp_options
from .segment import ACK, URG, Segment, flag_names


def info_column(
    seg: Segment,
    seq_rel: int | None,
    ack_rel: int | None,
    win_scaled: int | None,
    analysis: tuple[str, ...] = (),
    sack_base: int | None = None,
) -> str:
    """The Info text of `seg`, with relative numbers already worked out by the caller.

    `sack_base` is the ISN SACK edges are relative to (Wireshark shows them relative); None
    shows them raw."""
    names = flag_names(seg.flags)
    flags = ", ".join(names) if names else "<None>"
    seq = seg.seq if seq_rel is None else seq_rel
    parts = [f"{seg.sport} → {seg.dport} [{flags}] Seq={seq}"]
    if seg.flags & ACK:
        parts.append(f"Ack={seg.ack if ack_rel is None else ack_rel}")
    parts.append(f"Win={seg.win if win_scaled is None else win_scaled}")
    parts.append(f"Len={seg.length}")
    if seg.flags & URG:
        parts.append("Urg=0")
    for kind, value in tcp_options.parse_options(seg.options)[0]:
        if kind == tcp_options.MSS:
            parts.append(f"MSS={value}")
        elif kind == tcp_options.WS:
            parts.append(f"WS={1 << min(value, 14)}")
        elif kind == tcp_options.SACK_PERM:
            parts.append("SACK_PERM")
        elif kind == tcp_options.TIMESTAMPS:
            parts.append(f"TSval={value[0]} TSecr={value[1]}")
        elif kind == tcp_options.SACK:
            for left, right in value:
                if sack_base is not None:
                    left, right = (left - sack_base) % (1 << 32), (right - sack_base) % (1 << 32)
                parts.append(f"SLE={left} SRE={right}")
    prefix = "".join(f"[{label}] " for label in analysis)
    return prefix + " ".join(parts)
