"""The replay's fast paths give exactly what the general code gives (Part of issue 4 item
7: speed never at the cost of a byte of output).

- the keyed and lean segment tuples (core/tcpscan.py) carry the flat tuples' fields;
- the JSON writer's precompiled usual row equals its general code, line for line, on every
  shipped capture, the crafted scenarios, a long made-up run and made-up segment streams;
- the Linux option layouts `options_json_info` formats directly equal the general JSON and
  Info text.
(The tracker's inline paths are held to analysis.analyze and Observer.step in
tests/test_tracker.py.)
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import longrun
from hostile import build_segments
from tcp_lab.core.info import options_json_info, options_text
from tcp_lab.core.options import options_dict
from tcp_lab.core.replay import Replay, _JsonWriter
from tcp_lab.core.tcpscan import TcpScanner, flat_to_keyed, flat_to_lean, split_key
from test_tcpscan import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = sorted((ROOT / "captures").glob("*.pcap")) + sorted((ROOT / "tests" / "regressions").glob("*.pcap"))


def test_keyed_and_lean_tuples_carry_the_flat_fields():
    for name, data in SAMPLES.items():
        for chunk in (len(data), 997, 61):
            pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
            flat, keyed, lean = TcpScanner(flat=True), TcpScanner(keyed=True), TcpScanner(keyed=True, lean=True)
            f, k, ln = [], [], []
            for piece in pieces:
                f += flat.feed(piece)
                k += keyed.feed(piece)
                ln += lean.feed(piece)
            assert k == flat_to_keyed(f), name
            assert ln == flat_to_lean(f), name
            assert keyed.segments == lean.segments == flat.segments and keyed.skipped == flat.skipped
            for item, key_item in zip(f, k):
                assert split_key(key_item[3]) == (item[3], item[4], item[5], item[6], item[7])


def _both_writers(replay: Replay, lang=None) -> tuple[bytes, bytes]:
    fast = b"".join(replay.json_chunks(lang=lang))

    class General(_JsonWriter):
        USUAL = False

    slow = b"".join(General(replay, lang).chunks(0, None, None))
    return fast, slow


def test_the_usual_json_row_equals_the_general_code():
    datas = [p.read_bytes() for p in CAPTURES] + [longrun.pcap(20_000)]
    for data in datas:
        replay = Replay("x")
        replay.feed(data)
        fast, slow = _both_writers(replay)
        assert fast == slow
        fast, slow = _both_writers(replay, "zh")
        assert fast == slow
    # Mid-store and one conversation: the same lines as from the start.
    replay = Replay("x")
    replay.feed(longrun.pcap(5_000))
    n = len(replay)
    whole = b"".join(replay.json_chunks()).splitlines()
    assert b"".join(replay.json_chunks(n // 3, n // 2)).splitlines() == whole[n // 3 : n // 2]
    mine = [json.loads(line) for line in replay.json_lines(conn=0)]
    assert mine == [json.loads(line) for line in whole if json.loads(line)["conn"] == 0]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_usual_json_row_on_made_up_streams(data):
    items = build_segments(lambda lo, hi: data.draw(st.integers(lo, hi)), max_segments=50)
    replay = Replay("x")
    replay.feed_segments(items)
    fast, slow = _both_writers(replay)
    assert fast == slow


def test_linux_option_layouts_formatted_directly():
    rng = random.Random(7)
    cases = []
    for shift in list(range(0, 20)) + [255]:
        cases.append(struct.pack("!BBHBBBBIIBBBB", 2, 4, rng.randrange(65536), 4, 2, 8, 10,
                                 rng.getrandbits(32), rng.getrandbits(32), 1, 3, 3, shift))  # fmt: skip
    for _ in range(50):
        cases.append(b"\x01\x01\x08\x0a" + rng.randbytes(8))
    # Near misses take the general code.
    cases += [b"\x01\x01\x08\x0b" + bytes(8), b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + bytes(8) + b"\x01\x03\x03",
              b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + bytes(8) + b"\x00\x03\x03\x07"]  # fmt: skip
    for raw in cases:
        want = (
            json.dumps(options_dict(raw), ensure_ascii=False, separators=(", ", ": ")).encode(),
            options_text(raw, 12345).encode(),
        )
        assert options_json_info(raw, 12345) == want, raw.hex()
