"""IP addresses as text: packed address bytes from a decoded segment -> "10.0.0.1" / "2001:db8::1".

The decoder leaves addresses as packed bytes (4 for IPv4, 16 for IPv6) so that a million
segments cost no string formatting; whoever shows an address calls `addr_text`, which is
cached because a capture holds few distinct addresses.

IPv6 text follows RFC 5952 exactly as glibc's inet_ntop writes it, which is what tshark
and tcpdump print: lower-case hex, the longest run of two or more zero groups (the first
one on a tie) becomes "::", and the IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible
(::a.b.c.d) forms end in dotted quads.
"""

from __future__ import annotations

import struct

_WORDS = struct.Struct("!8H")
_CACHE: dict[bytes, str] = {}
#: The cache is cleared when it reaches this many addresses (a fuzzer could feed millions).
_CACHE_LIMIT = 1 << 16


def _ipv6_text(packed: bytes) -> str:
    """glibc's inet_ntop6 (from BIND): the same text tshark and tcpdump print."""
    words = _WORDS.unpack(packed)
    best_base, best_len = -1, 0
    cur_base, cur_len = -1, 0
    for i, word in enumerate(words):
        if word == 0:
            if cur_base == -1:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
        elif cur_base != -1:
            if cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if cur_base != -1 and cur_len > best_len:
        best_base, best_len = cur_base, cur_len
    if best_len < 2:
        best_base = -1
    parts: list[str] = []
    i = 0
    while i < 8:
        if best_base != -1 and i == best_base:
            parts.append(":")
            i += best_len
            continue
        if i:
            parts.append(":")
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            parts.append("%d.%d.%d.%d" % tuple(packed[12:16]))
            break
        parts.append("%x" % words[i])
        i += 1
    else:
        if best_base != -1 and best_base + best_len == 8:
            parts.append(":")
    return "".join(parts)


def addr_text(packed: bytes) -> str:
    """The text form of a packed IPv4 (4 bytes) or IPv6 (16 bytes) address, cached.

    Any other length (never produced by the decoder) gives the bytes in hex.
    """
    text = _CACHE.get(packed)
    if text is not None:
        return text
    packed = bytes(packed)
    if len(packed) == 4:
        text = "%d.%d.%d.%d" % tuple(packed)
    elif len(packed) == 16:
        text = _ipv6_text(packed)
    else:
        text = packed.hex()
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[packed] = text
    return text
