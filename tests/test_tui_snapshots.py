"""Pictures of the lab screen (pytest-textual-snapshot): the main screen at several steps,
the scenario list and the help screen, at 80x24 and 140x40.

Fixed ISNs (client 1000, server 5000) and no timed highlight keep the pictures stable.
Regenerate after a deliberate change with
`uv run pytest --snapshot-update tests/test_tui_snapshots.py` and look at the .svg files.
"""

from __future__ import annotations

import pytest

from tcp_lab.core.scenario import get
from tcp_lab.core.simulation import Simulation
from tcp_lab.tui.app import lab_app

SIZES = [(80, 24), (140, 40)]


def app(name: str = "handshake-teardown", lang: str = "en"):
    sim = Simulation(get(name), isn_client=1000, isn_server=5000)
    return lab_app(sim, lang=lang, highlight_seconds=None, cursor_blink=False)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
@pytest.mark.parametrize(
    "steps",
    [0, 3, 4, 8, 21, 26, 29],
    ids=["start", "syn-in-flight", "syn-rcvd", "established", "close-wait", "time-wait", "closed"],
)
def test_main_screen(snap_compare, size, steps):
    assert snap_compare(app(), press=["n"] * steps, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_main_screen_in_chinese(snap_compare, size):
    assert snap_compare(app(lang="zh"), press=["n"] * 6, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_crossing_fins(snap_compare, size):
    assert snap_compare(app("simultaneous-close"), press=["n"] * 17, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_lost_syn(snap_compare, size):
    assert snap_compare(app("lost-syn"), press=["n"] * 7, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_scenario_list(snap_compare, size):
    assert snap_compare(app(), press=["s"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_scenario_list_filtered(snap_compare, size):
    assert snap_compare(app(), press=["s", *"lost"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_help_screen(snap_compare, size):
    assert snap_compare(app(), press=["question_mark"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_client_call_menu(snap_compare, size):
    assert snap_compare(app("free-play"), press=["left_square_bracket"], terminal_size=size)
