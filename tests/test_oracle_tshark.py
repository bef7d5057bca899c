"""tcp-lab against tshark 4.0, packet by packet: stream, seq, ack, len, window, flags,
analysis and the Info column, byte for byte.

Captures: every one shipped in captures/, hand-made conversations that raise each
Wireshark analysis flag (tests/craft_scenarios.py), and real connections recorded here
from the Linux kernel in a network namespace.
"""

from __future__ import annotations

import pathlib
import shutil

import pytest
from craft_scenarios import build_all
from tcp_craft import capture
from tshark_oracle import differences, our_rows, tshark_rows

from tcp_lab.core.replay import Replay

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (.ci/run installs it)")

CAPTURES = pathlib.Path(__file__).resolve().parent.parent / "captures"
SHIPPED = sorted(p for p in CAPTURES.glob("*.pcap*"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_capture_agrees_with_tshark(path):
    assert differences(path) == []


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    dialogs = build_all()
    path = tmp_path_factory.mktemp("crafted") / "crafted.pcap"
    path.write_bytes(capture(*(d for _, d in dialogs)))
    return path, dialogs


def test_crafted_captures_agree_with_tshark(crafted):
    path, _ = crafted
    assert differences(path, limit=50) == []


def test_each_crafted_scenario_shows_what_it_was_made_for(crafted):
    """So that the comparison above cannot pass with both sides showing nothing."""
    path, dialogs = crafted
    replay = Replay()
    replay.feed(path.read_bytes())
    rows_by_port: dict[int, list[int]] = {}
    for conv in replay.tracker.conversations:
        rows_by_port.setdefault(conv.port[0], []).extend(conv.rows)
    missing = []
    for scenario, dialog in dialogs:
        rows = rows_by_port[dialog.client[1]]
        labels = [label for r in rows for label in replay.analysis_labels(r)]
        infos = [replay.info(r) for r in rows]
        for want in scenario.labels:
            if not any(label.startswith(want) for label in labels):
                missing.append(f"{scenario.name}: no {want!r} in {labels}")
        for want in scenario.info:
            if not any(want in info for info in infos):
                missing.append(f"{scenario.name}: no {want!r} in the Info column")
    assert missing == []


def test_dup_ack_numbers_match_tshark_exactly(crafted):
    path, _ = crafted
    theirs = [r["_ws.col.Info"] for r in tshark_rows(path) if "Dup ACK" in r["_ws.col.Info"]]
    ours = [r["_ws.col.Info"] for r in our_rows(path) if "Dup ACK" in r["_ws.col.Info"]]
    assert len(ours) >= 5
    assert ours == theirs
