"""Coverage-guided fuzzing of the frame decoder (core/decode.py) and the option parsers
(core/options.py, core/info.py) with atheris.

    uv run --group fuzz python tests/fuzz/fuzz_decode.py -atheris_runs=1000000

An input is: 2 bytes choosing the link type (every supported one, or any 16-bit value),
4 bytes of wire length (or none), then the frame. decode() must answer a segment with
fields in range or a one-line reason, and the fast path (core/tcpscan.py, the same frame as
a one-record pcap) must give exactly what decode() gives. Seeds: every TCP frame of the
shipped captures on each link type.
"""

from __future__ import annotations

import struct

import atheris

import fuzzkit

with atheris.instrument_imports(include=["tcp_lab"]):
    from tcp_lab.core.decode import SUPPORTED_LINKTYPES, Decoded, decode
    from tcp_lab.core.info import OptionEffects, options_text
    from tcp_lab.core.options import options_dict
    from tcp_lab.core.pcapfile import CaptureReader
    from tcp_lab.core.tcpscan import TcpScanner

LINKTYPES = sorted(SUPPORTED_LINKTYPES)


def split(data: bytes) -> tuple[int, int | None, bytes]:
    if len(data) < 2:
        return 1, None, data
    sel = struct.unpack_from("<H", data)[0]
    linktype = LINKTYPES[sel % len(LINKTYPES)] if sel < 0xF000 else sel & 0x0FFF
    rest = data[2:]
    if len(rest) >= 4 and rest[0] & 1:
        return linktype, struct.unpack_from("<I", rest)[0] & 0x1FFFF, rest[4:]
    return linktype, None, rest[4:] if len(rest) >= 4 else rest


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    linktype, wirelen, frame = split(data)
    seg = decode(linktype, frame, wirelen)
    if isinstance(seg, str):
        assert seg.strip() and "\n" not in seg, repr(seg)
    else:
        assert isinstance(seg, Decoded)
        assert seg.ip_version in (4, 6) and len(seg.src) == len(seg.dst) == (4 if seg.ip_version == 4 else 16)
        assert 0 <= seg.sport <= 65535 and 0 <= seg.dport <= 65535
        assert 0 <= seg.seq <= 0xFFFFFFFF and 0 <= seg.ack <= 0xFFFFFFFF
        assert 0 <= seg.flags <= 0x1FF and 0 <= seg.win <= 0xFFFF
        assert seg.length >= 0 and len(seg.options) <= 40 and len(seg.options) % 4 == 0
        options_dict(seg.options)
        effects = OptionEffects()
        assert "\n" not in options_text(seg.options, seg.ack, effects)
        assert effects.ws_shift is None or 0 <= effects.ws_shift <= 14
    wl = len(frame) if wirelen is None or wirelen < len(frame) else wirelen
    capture = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype) + struct.pack(
        "<IIII", 1, 0, len(frame), wl) + frame
    scan = TcpScanner()
    out = scan.feed(capture)
    scan.finish()
    fast = out[0][1] if out else None
    slow = decode(linktype, frame, wl)
    assert fast == (None if isinstance(slow, str) else slow), f"fast {fast} != slow {slow}"
    assert scan.frames == 1 and scan.segments + sum(scan.skipped.values()) == 1, dict(scan.skipped)
    fuzzkit.check_memory()


def seeds() -> dict[str, bytes]:
    from hostile import seed_captures

    out: dict[str, bytes] = {}
    for name, data in seed_captures().items():
        if name.startswith("malformed") or not name.endswith(".pcap"):
            continue
        reader = CaptureReader()
        reader.feed(data)
        for i, rec in enumerate(reader.records()):
            if i < 4:
                sel = LINKTYPES.index(rec.linktype)
                out[f"{name}-{i}"] = struct.pack("<H", sel) + b"\0\0\0\0" + bytes(rec.data)
    return out


def main() -> None:
    argv, _ = fuzzkit.setup("decode", seeds())
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
