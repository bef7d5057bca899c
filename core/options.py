"""TCP options: build them for simulated SYNs, parse them from the raw option bytes.

Options travel as the raw bytes of the TCP header's option field, in wire order
(core/segment.py). Parsing never raises: a malformed option list yields what could be
read plus a `malformed` marker. Kinds: RFC 9293 section 3.2 (EOL, NOP, MSS), RFC 7323
(window scale, timestamps), RFC 2018 (SACK), RFC 7413 (TCP Fast Open).
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

EOL = 0
NOP = 1
MSS = 2
WS = 3
SACK_PERM = 4
SACK = 5
TIMESTAMPS = 8
TFO = 34
#: RFC 6994 shared experimental option; TFO used it with magic 0xF989 before kind 34.
EXP = 254

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_TS = struct.Struct("!II")


class Option(NamedTuple):
    """One parsed option. `value` depends on `kind`:

    MSS -> int, WS -> shift count (int), SACK_PERM -> True, TIMESTAMPS -> (tsval, tsecr),
    SACK -> tuple of (left, right) edges, TFO -> cookie bytes (b"" = a cookie request),
    NOP/EOL -> None, anything else -> the option's data bytes.
    """

    kind: int
    value: Any


def build_options(
    *,
    mss: int | None = None,
    ws: int | None = None,
    sack_perm: bool = False,
    ts: tuple[int, int] | None = None,
    sack: tuple[tuple[int, int], ...] = (),
) -> bytes:
    """Option bytes laid out the way Linux lays out a SYN: MSS, SACK_PERM+TS, NOP, WS.

    Linux sends `MSS, SACK_PERM, TS, NOP, WS` on a SYN when timestamps are on, and
    `MSS, NOP, NOP, SACK_PERM, NOP, WS` when they are off; we follow the same layout so
    simulated captures look like real ones in Wireshark.
    """
    out = bytearray()
    if mss is not None:
        out += bytes((MSS, 4)) + _U16.pack(mss)
    if ts is not None:
        if sack_perm:
            out += bytes((SACK_PERM, 2))
        else:
            out += bytes((NOP, NOP))
        out += bytes((TIMESTAMPS, 10)) + _TS.pack(*ts)
    elif sack_perm:
        out += bytes((NOP, NOP, SACK_PERM, 2))
    if sack:
        out += bytes((NOP, NOP, SACK, 2 + 8 * len(sack)))
        for left, right in sack:
            out += _TS.pack(left, right)
    if ws is not None:
        out += bytes((NOP, WS, 3, ws))
    while len(out) % 4:
        out.append(NOP)
    return bytes(out)


def parse_options(raw: bytes) -> tuple[tuple[Option, ...], bool]:
    """Parse option bytes into Options in wire order.

    Returns (options, malformed). Parsing stops at EOL or at the first option whose
    length field is impossible (malformed=True); it never raises.
    """
    opts: list[Option] = []
    i = 0
    n = len(raw)
    while i < n:
        kind = raw[i]
        if kind == EOL:
            opts.append(Option(EOL, None))
            break
        if kind == NOP:
            opts.append(Option(NOP, None))
            i += 1
            continue
        if i + 1 >= n:
            return tuple(opts), True
        olen = raw[i + 1]
        if olen < 2 or i + olen > n:
            return tuple(opts), True
        data = raw[i + 2 : i + olen]
        if kind == MSS and olen == 4:
            opts.append(Option(MSS, _U16.unpack(data)[0]))
        elif kind == WS and olen == 3:
            opts.append(Option(WS, data[0]))
        elif kind == SACK_PERM and olen == 2:
            opts.append(Option(SACK_PERM, True))
        elif kind == TIMESTAMPS and olen == 10:
            opts.append(Option(TIMESTAMPS, _TS.unpack(data)))
        elif kind == SACK and (olen - 2) % 8 == 0:
            blocks = tuple(_TS.unpack_from(data, k) for k in range(0, olen - 2, 8))
            opts.append(Option(SACK, blocks))
        elif kind == TFO:
            opts.append(Option(TFO, bytes(data)))
        elif kind in (MSS, WS, SACK_PERM, TIMESTAMPS, SACK):
            return tuple(opts), True
        else:
            opts.append(Option(kind, bytes(data)))
        i += olen
    return tuple(opts), False


def find(raw: bytes, kind: int) -> Any:
    """The value of the first option of `kind` in `raw`, or None."""
    for opt in parse_options(raw)[0]:
        if opt.kind == kind:
            return opt.value
    return None


def options_dict(raw: bytes) -> dict[str, Any]:
    """The JSON form of the options (DESIGN.md): {"mss": 1460, "ws": 8, "sack_perm": true,
    "tsval": 1, "tsecr": 0, "sack": [[l, r], ...], "tfo": "hex", "unknown": [{"kind": k, "data": "hex"}]}.

    SACK edges here are absolute; NOP and EOL are left out; a damaged list adds "malformed": true.
    """
    opts, malformed = parse_options(raw)
    out: dict[str, Any] = {}
    for kind, value in opts:
        if kind == MSS:
            out["mss"] = value
        elif kind == WS:
            out["ws"] = value
        elif kind == SACK_PERM:
            out["sack_perm"] = True
        elif kind == TIMESTAMPS:
            out["tsval"], out["tsecr"] = value
        elif kind == SACK:
            out["sack"] = [list(block) for block in value]
        elif kind == TFO:
            out["tfo"] = value.hex()
        elif kind in (NOP, EOL):
            continue
        else:
            out.setdefault("unknown", []).append({"kind": kind, "data": value.hex()})
    if malformed:
        out["malformed"] = True
    return out
