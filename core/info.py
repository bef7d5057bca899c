"""Wireshark's Info column for a TCP segment, byte for byte as tshark 4.0 prints it.

What `dissect_tcp()` (epan/dissectors/packet-tcp.c, Wireshark 4.0.17) writes, in order:

    [analysis prefixes] SPORT → DPORT [FLAGS] Seq=N [Ack=N] Win=N [Urg=N] Len=N [options]

- the analysis prefixes are prepended last (core/analysis.py `info_prefix`);
- ports joined by " → " (U+2192; tshark -n prints numbers);
- FLAGS: the set control bits in the order FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE
  joined by ", "; "Reserved" when a reserved bit is set; "<None>" when none is. Once
  Accurate ECN is negotiated (a SYN with AE+CWR+ECE and a SYN/ACK answering it, or an AccECN
  option seen), the last three bits of a non-SYN segment are shown as "ACE=n" instead;
- Seq and Ack relative (Ack only when the ACK bit is set), Win scaled, Urg only with URG;
- the options in wire order, each as its dissector appends it: ` MSS=1460`, ` WS=256`
  (the multiplier), ` SACK_PERM`, ` SLE=n SRE=n` (relative to the other side's base),
  ` TSval=n TSecr=n`, ` ECHO=n`, ` CC=n`, ` MD5`, `TCP AO` (sic: no leading space),
  ` USER_TO=n`, ` TFO=R`/` TFO=C`, ` AccECN`/` EE0B=n`/` ECEB=n`/` EE1B=n`, ` ExID=HEX`,
  ` TARR`/` TARR=n`. Unknown kinds add nothing. The option walk stops where Wireshark's
  does: at a length byte past the end, a length below 2, an option running past the
  header, or a non-zero byte after EOL.

Not reproduced (they need state tcp-lab does not keep, or are vanishingly rare on real
traffic): the SCPS, SNACK, record-boundary, corruption-experienced, Quick-Start, MPTCP and
Riverbed options, and checksum verdicts (tshark leaves checksums unchecked by default).
"""

from __future__ import annotations

import struct

from .segment import ACK, AE, CWR, ECE, URG

ARROW = " \u2192 "

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_TS = struct.Struct("!II")
_NOP_NOP_TS = b"\x01\x01\x08\x0a"

_FLAG_NAMES = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE")
RESERVED = 0xE00

_flags_cache: dict[tuple[int, bool], str] = {}


def flags_text(flags: int, use_ace: bool = False) -> str:
    """The text between the brackets: "SYN, ACK", "ACK, AE", "<None>" ..."""
    key = (flags, use_ace)
    text = _flags_cache.get(key)
    if text is not None:
        return text
    names = [name for i, name in enumerate(_FLAG_NAMES[: 6 if use_ace else 9]) if flags & (1 << i)]
    if use_ace:
        ace = (4 if flags & AE else 0) + (2 if flags & CWR else 0) + (1 if flags & ECE else 0)
        # tcp_flags_to_str appends ", ACE=n" even when no other flag is set.
        text = ", ".join(names) + f", ACE={ace}"
    else:
        text = ", ".join(names)
    if flags & RESERVED:
        text = f"{text}, Reserved" if text else "Reserved"
    if not text:
        text = "<None>"
    _flags_cache[key] = text
    return text


class OptionEffects:
    """What the options of one segment change in the conversation, beside the text:
    the window scale shift a WS option announces (None without one) and whether an
    Accurate ECN option was seen."""

    __slots__ = ("ws_shift", "acc_ecn")

    def __init__(self) -> None:
        self.ws_shift: int | None = None
        self.acc_ecn = False


def options_text(raw: bytes, sack_base: int = 0, effects: OptionEffects | None = None) -> str:
    """The Info text the TCP options in `raw` add, in wire order (see the module docstring).

    `sack_base` is subtracted from SACK edges (the other side's base sequence number, as
    Wireshark's relative numbers). `effects`, when given, receives the WS shift and the
    AccECN sighting.
    """
    n = len(raw)
    if not n:
        return ""
    if n == 12 and raw[:4] == _NOP_NOP_TS:
        tsval, tsecr = _TS.unpack_from(raw, 4)
        return f" TSval={tsval} TSecr={tsecr}"
    out: list[str] = []
    i = 0
    length = n
    eol_seen = False
    while length > 0:
        kind = raw[i]
        if eol_seen and kind != 0:
            break
        length -= 1
        if kind == 0 or kind == 1:
            i += 1
        else:
            if length == 0:
                break
            optlen = raw[i + 1]
            length -= 1
            if optlen < 2 or optlen - 2 > length:
                break
            _one_option(kind, raw, i, optlen, sack_base, out, effects)
            i += optlen
            length -= optlen - 2
        if kind == 0:
            eol_seen = True
    return "".join(out)


def _one_option(
    kind: int, raw: bytes, i: int, optlen: int, sack_base: int, out: list[str], effects: OptionEffects | None
) -> None:
    if kind == 2:  # MSS (RFC 9293 section 3.2)
        if optlen == 4:
            out.append(f" MSS={_U16.unpack_from(raw, i + 2)[0]}")
    elif kind == 3:  # Window scale (RFC 7323): the multiplier; shifts above 14 count as 14
        if optlen == 3:
            shift = min(raw[i + 2], 14)
            out.append(f" WS={1 << shift}")
            if effects is not None:
                effects.ws_shift = shift
    elif kind == 4:  # SACK permitted (RFC 2018): printed before the length is checked
        out.append(" SACK_PERM")
    elif kind == 5:  # SACK blocks, relative to the other side's base
        left = optlen - 2
        off = i + 2
        while left > 0:
            if left < 4:
                break
            sle = (_U32.unpack_from(raw, off)[0] - sack_base) & 0xFFFFFFFF
            left -= 4
            if left < 4:
                break
            sre = (_U32.unpack_from(raw, off + 4)[0] - sack_base) & 0xFFFFFFFF
            left -= 4
            out.append(f" SLE={sle} SRE={sre}")
            off += 8
    elif kind == 8:  # Timestamps (RFC 7323)
        if optlen == 10:
            tsval, tsecr = _TS.unpack_from(raw, i + 2)
            out.append(f" TSval={tsval} TSecr={tsecr}")
    elif kind == 6 or kind == 7:  # Echo / Echo reply (RFC 1072), both printed as ECHO
        if optlen == 6:
            out.append(f" ECHO={_U32.unpack_from(raw, i + 2)[0]}")
    elif kind in (11, 12, 13):  # CC, CC.NEW, CC.ECHO (RFC 1644)
        if optlen == 6:
            out.append(f" CC={_U32.unpack_from(raw, i + 2)[0]}")
    elif kind == 19:  # TCP MD5 signature (RFC 2385): printed before the length is checked
        out.append(" MD5")
    elif kind == 29:  # TCP-AO (RFC 5925): Wireshark 4.0 appends it without a space
        out.append("TCP AO")
    elif kind == 28:  # User timeout (RFC 5482)
        if optlen == 4:
            out.append(f" USER_TO={_U16.unpack_from(raw, i + 2)[0] & 0x7FFF}")
    elif kind == 34:  # TCP Fast Open (RFC 7413): a cookie request or a cookie
        _tfo(optlen, out)
    elif kind == 0xAC or kind == 0xAE:  # Accurate ECN (draft-ietf-tcpm-accurate-ecn)
        if optlen in (2, 5, 8, 11):
            _acc_ecn(raw, i + 2, optlen - 2, kind == 0xAC, out, effects)
    elif kind == 0xFD or kind == 0xFE:  # Experimental (RFC 6994: a 16-bit ExID first)
        if optlen >= 4:
            exid = _U16.unpack_from(raw, i + 2)[0]
            if exid == 0x00AC:  # TCP ACK Rate Request
                if optlen == 4:
                    out.append(" TARR")
                elif optlen == 5:
                    out.append(f" TARR={(raw[i + 4] & 0xFE) >> 1}")
            elif exid in (0xACC0, 0xACC1):
                if optlen in (4, 7, 10, 13):
                    _acc_ecn(raw, i + 4, optlen - 4, exid == 0xACC0, out, effects)
            elif exid == 0xF989:  # Fast Open before kind 34 was assigned
                _tfo(optlen - 2, out)
            else:
                out.append(f" ExID={exid:X}")


def _tfo(optlen: int, out: list[str]) -> None:
    if optlen == 2:
        out.append(" TFO=R")
    elif optlen > 2:
        out.append(" TFO=C")


def _u24(raw: bytes, off: int) -> int:
    return (raw[off] << 16) | (raw[off + 1] << 8) | raw[off + 2]


def _acc_ecn(raw: bytes, off: int, data_len: int, order_0: bool, out: list[str], effects: OptionEffects | None) -> None:
    first, last = ("EE0B", "EE1B") if order_0 else ("EE1B", "EE0B")
    if data_len == 0:
        out.append(" AccECN")
    elif data_len == 3:
        out.append(f" {first}={_u24(raw, off)}")
    elif data_len == 6:
        out.append(f" {first}={_u24(raw, off)} ECEB={_u24(raw, off + 3)}")
    elif data_len == 9:
        out.append(f" {first}={_u24(raw, off)} ECEB={_u24(raw, off + 3)} {last}={_u24(raw, off + 6)}")
    if effects is not None:
        effects.acc_ecn = True


def info_text(
    sport: int,
    dport: int,
    flags: int,
    seq_rel: int,
    ack_rel: int,
    win_scaled: int,
    length: int,
    options: bytes = b"",
    urg: int = 0,
    prefix: str = "",
    sack_base: int = 0,
    use_ace: bool = False,
) -> str:
    """The whole Info column of one TCP segment (`prefix` from analysis.info_prefix)."""
    head = f"{prefix}{sport}{ARROW}{dport} [{flags_text(flags, use_ace)}] Seq={seq_rel}"
    if flags & ACK:
        head += f" Ack={ack_rel}"
    head += f" Win={win_scaled}"
    if flags & URG:
        head += f" Urg={urg}"
    return f"{head} Len={length}{options_text(options, sack_base) if options else ''}"



#: The options Linux puts on a SYN (and a SYN/ACK) when timestamps are on: MSS,
#: SACK_PERM, TS, NOP, WS (20 bytes).
_LINUX_SYN = struct.Struct("!2sH4sIIB2sB")
_JSON_OPTIONS = None


def options_json_info(raw: bytes, sack_base: int = 0) -> tuple[bytes, bytes]:
    """The options of a segment as the JSON writer needs them, UTF-8 encoded: the JSON
    object of `core/options.options_dict` (as `json.dumps(..., ensure_ascii=False,
    separators=(", ", ": "))` writes it) and the Info column's text (`options_text`).
    The two layouts Linux sends (timestamps alone; MSS, SACK_PERM, TS, NOP, WS on a SYN)
    are formatted directly; tests hold them to the general code."""
    global _JSON_OPTIONS
    n = len(raw)
    if n == 12 and raw[:4] == _NOP_NOP_TS:
        tsval, tsecr = _TS.unpack_from(raw, 4)
        return b'{"tsval": %d, "tsecr": %d}' % (tsval, tsecr), b" TSval=%d TSecr=%d" % (tsval, tsecr)
    if n == 20:
        mss_kind, mss, ts_kind, tsval, tsecr, nop, ws_kind, shift = _LINUX_SYN.unpack(raw)
        if mss_kind == b"\x02\x04" and ts_kind == b"\x04\x02\x08\x0a" and nop == 1 and ws_kind == b"\x03\x03":
            return (
                b'{"mss": %d, "sack_perm": true, "tsval": %d, "tsecr": %d, "ws": %d}' % (mss, tsval, tsecr, shift),
                b" MSS=%d SACK_PERM TSval=%d TSecr=%d WS=%d" % (mss, tsval, tsecr, 1 << min(shift, 14)),
            )
    if _JSON_OPTIONS is None:
        import json

        _JSON_OPTIONS = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
    from .options import options_dict

    return _JSON_OPTIONS.encode(options_dict(raw)).encode(), options_text(raw, sack_base).encode()
