"""A TCP segment as tcp-lab handles it, whether simulated or decoded from a capture.

Sequence and acknowledgment numbers are absolute 32-bit values as they are on the wire;
relative numbers (as Wireshark shows them) are worked out by whoever knows the ISNs
(the simulation or the tracker). Options are kept as the raw bytes of the TCP option
field, in wire order (see core/options.py), so a simulated segment and a captured one
are formatted, exported and compared in exactly the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

# Control bits (RFC 9293 section 3.1; ECE/CWR RFC 3168; AE RFC 9768, formerly NS).
FIN = 0x001
SYN = 0x002
RST = 0x004
PSH = 0x008
ACK = 0x010
URG = 0x020
ECE = 0x040
CWR = 0x080
AE = 0x100

#: Wireshark's order for the flag list (DESIGN.md).
FLAG_ORDER: tuple[tuple[int, str], ...] = (
    (FIN, "FIN"),
    (SYN, "SYN"),
    (RST, "RST"),
    (PSH, "PSH"),
    (ACK, "ACK"),
    (URG, "URG"),
    (ECE, "ECE"),
    (CWR, "CWR"),
    (AE, "AE"),
)

_NAMES_CACHE: dict[int, tuple[str, ...]] = {}

SEQ_MOD = 1 << 32


def flag_names(flags: int) -> tuple[str, ...]:
    """The names of the control bits set in `flags`, in Wireshark's order."""
    names = _NAMES_CACHE.get(flags)
    if names is None:
        names = tuple(name for bit, name in FLAG_ORDER if flags & bit)
        _NAMES_CACHE[flags] = names
    return names


def flags_from_names(names: list[str] | tuple[str, ...]) -> int:
    """The inverse of flag_names (unknown names raise KeyError)."""
    by_name = {name: bit for bit, name in FLAG_ORDER}
    value = 0
    for name in names:
        value |= by_name[name.upper()]
    return value


def seq_add(a: int, b: int) -> int:
    """a + b modulo 2**32 (RFC 9293 section 3.4: sequence arithmetic is modulo 2**32)."""
    return (a + b) % SEQ_MOD


def seq_diff(a: int, b: int) -> int:
    """a - b modulo 2**32, as a signed number in [-2**31, 2**31)."""
    d = (a - b) % SEQ_MOD
    return d - SEQ_MOD if d >= 1 << 31 else d


def seq_lt(a: int, b: int) -> bool:
    """a < b in sequence space (RFC 9293 section 3.4)."""
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    """a =< b in sequence space."""
    return seq_diff(a, b) <= 0


@dataclass(frozen=True, slots=True)
class Segment:
    """One TCP segment: addresses, header fields and payload length.

    `win` is the raw 16-bit window field (unscaled). `length` is the payload length in
    bytes (Wireshark's Len), not SEG.LEN: SYN and FIN each take one more sequence number
    (see `seg_len`).
    """

    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: int
    win: int
    length: int = 0
    options: bytes = b""

    @property
    def seg_len(self) -> int:
        """SEG.LEN: payload plus one for SYN and one for FIN (RFC 9293 section 3.4)."""
        return self.length + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)

    @property
    def flag_names(self) -> tuple[str, ...]:
        return flag_names(self.flags)

    def has(self, bits: int) -> bool:
        """True when every bit of `bits` is set."""
        return self.flags & bits == bits

    @property
    def end_seq(self) -> int:
        """The sequence number just after this segment: SEG.SEQ + SEG.LEN (mod 2**32)."""
        return seq_add(self.seq, self.seg_len)
