"""Pictures of the state diagram and quiz screens (pytest-textual-snapshot), 80x24 and 140x40,
fixed ISNs. Regenerate after a deliberate change with
`uv run pytest --snapshot-update tests/test_teach_snapshots.py` and look at the .svg files."""

from __future__ import annotations

import pytest
from teach_helpers import teach_app

SIZES = [(80, 24), (140, 40)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_state_diagram_after_the_syn_ack(snap_compare, size):
    assert snap_compare(teach_app(), press=["n"] * 6 + ["g"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_state_diagram_in_time_wait(snap_compare, size):
    assert snap_compare(teach_app(), press=["n"] * 26 + ["g"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_quiz_question(snap_compare, size):
    assert snap_compare(teach_app("handshake"), press=["n", "n", "n", "z"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_quiz_answer_revealed_in_chinese(snap_compare, size):
    assert snap_compare(teach_app("handshake", lang="zh"), press=["n", "n", "n", "z", "4"], terminal_size=size)
