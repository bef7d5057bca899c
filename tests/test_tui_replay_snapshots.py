"""Pictures of the replay screen (pytest-textual-snapshot) at 80x24 and 140x40: the course
notes' example at its first segment, the end of the handshake and the end of the
teardown; a capture of several connections with the list and a filter; the help.

The captures are read whole before the screen opens and nothing is timed (no highlight,
no blinking cursor), so the pictures do not depend on the machine. Regenerate after a
deliberate change with `uv run pytest --snapshot-update tests/test_tui_replay_snapshots.py`
and look at the .svg files.
"""

from __future__ import annotations

import os

import pytest
from replay_fixture import CAPTURES, joined_capture

from tcp_lab.tui.replay_app import open_capture_file, replay_app

SIZES = [(80, 24), (140, 40)]
JOINED = ["course-example.pcap", "normal.pcap", "ipv6.pcap", "refused.pcap", "rst-abort.pcap"]
JOINED_PORTS = {"normal.pcap": 443, "ipv6.pcap": 8080, "rst-abort.pcap": 443}


def app(path, conn=None):
    replay, fd, done, whole = open_capture_file(str(path), conn)
    assert whole
    os.close(fd)
    return replay_app(replay, None, name=os.path.basename(str(path)), conn=conn, highlight_seconds=None, cursor_blink=False)


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    return joined_capture(JOINED, tmp_path_factory.mktemp("snap") / "joined.pcap", ports=JOINED_PORTS)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
@pytest.mark.parametrize("steps", [0, 2, 12], ids=["syn", "handshake-done", "teardown-done"])
def test_course_example(snap_compare, size, steps):
    assert snap_compare(app(CAPTURES / "course-example.pcap"), press=["n"] * steps, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_several_connections(snap_compare, joined, size):
    assert snap_compare(app(joined), press=["down", "down", "n", "n"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_filtered_by_port(snap_compare, joined, size):
    assert snap_compare(app(joined), press=["slash", *"443", "enter"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_help(snap_compare, size):
    assert snap_compare(app(CAPTURES / "course-example.pcap"), press=["question_mark"], terminal_size=size)
