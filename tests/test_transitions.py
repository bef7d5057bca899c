"""The transition table (core/transitions.py) is the one place state changes come from."""

import re

import pytest

pytest.register_assert_rewrite("lab_drills")

import lab_drills  # noqa: E402

from tcp_lab.core import scenario, texts_lab, transitions  # noqa: E402
from tcp_lab.core.simulation import Simulation  # noqa: E402
from tcp_lab.core.states import State  # noqa: E402


def test_every_row_has_an_id_a_section_and_a_known_event():
    ids = [r.id for r in transitions.TABLE]
    assert len(ids) == len(set(ids))
    for row in transitions.TABLE:
        assert re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", row.id), row.id
        assert row.states, row.id
        assert row.action
        # The RFC 9293 section (or the companion RFC) the rule comes from; the two
        # hypothetical rows say plainly that they are not TCP.
        if row.event.endswith("two_way"):
            assert row.section.startswith("not TCP") and row.action.startswith("NOT TCP")
        else:
            assert re.match(r"(\d\.\d+(\.\d+)*|RFC \d+)", row.section), row.id


def test_one_row_per_state_and_event():
    seen = {}
    for row in transitions.TABLE:
        for state in row.states:
            assert (state, row.event) not in seen, (state, row.event, seen.get((state, row.event)))
            seen[(state, row.event)] = row.id
    assert transitions.lookup(State.ESTABLISHED, "close").id == "established.close"
    assert transitions.lookup(State.LISTEN, "send") is None


def test_every_state_has_rows_and_can_be_left():
    for state in State:
        rows = [r for r in transitions.TABLE if state in r.states]
        assert rows, state
        if state is not State.CLOSED:
            assert any(r.target(state) is not state for r in rows), f"{state} is a trap"


def test_the_course_moves_are_in_the_table():
    moves = transitions.allowed_moves()
    S = State
    for move in [
        (S.CLOSED, S.LISTEN), (S.CLOSED, S.SYN_SENT), (S.LISTEN, S.SYN_RCVD), (S.SYN_SENT, S.ESTABLISHED),
        (S.SYN_SENT, S.SYN_RCVD), (S.SYN_RCVD, S.ESTABLISHED), (S.SYN_RCVD, S.LISTEN),
        (S.ESTABLISHED, S.FIN_WAIT_1), (S.ESTABLISHED, S.CLOSE_WAIT), (S.FIN_WAIT_1, S.FIN_WAIT_2),
        (S.FIN_WAIT_1, S.CLOSING), (S.FIN_WAIT_1, S.TIME_WAIT), (S.FIN_WAIT_2, S.TIME_WAIT),
        (S.CLOSING, S.TIME_WAIT), (S.CLOSE_WAIT, S.LAST_ACK), (S.LAST_ACK, S.CLOSED), (S.TIME_WAIT, S.CLOSED),
    ]:
        assert move in moves, move
    # ... and moves TCP never makes are not.
    for move in [(S.CLOSE_WAIT, S.TIME_WAIT), (S.FIN_WAIT_2, S.CLOSING), (S.TIME_WAIT, S.ESTABLISHED)]:
        assert move not in moves, move


def test_only_the_labelled_hypothetical_rows_open_in_two_segments():
    two_way = [r for r in transitions.TABLE if r.event.endswith("two_way")]
    assert {r.id for r in two_way} == {"listen.rcv_syn_two_way", "syn_sent.rcv_syn_ack_two_way"}
    # Without them, a listener can only reach ESTABLISHED through SYN_RCVD.
    assert all(r.target(State.LISTEN) is not State.ESTABLISHED for r in transitions.TABLE if State.LISTEN in r.states and r not in two_way)


def test_every_row_has_a_text_in_both_languages():
    for row_id in transitions.row_ids():
        assert row_id in texts_lab.TEXTS, row_id
        assert texts_lab.TEXTS[row_id]["en"] and texts_lab.TEXTS[row_id]["zh"]


def test_every_row_is_exercised_by_the_scenarios_and_the_drills():
    used: set[str] = set()
    for sc in scenario.builtin():
        sim = Simulation(sc, seed=7)
        sim.run_to_end()
        used |= sim.rows_used
    for drill in lab_drills.DRILLS:
        used |= drill()
    missing = sorted(set(transitions.row_ids()) - used)
    assert missing == []
    assert used <= set(transitions.row_ids())


def test_illegal_calls_are_explained():
    assert "not open yet" in transitions.illegal_reason("send", State.LISTEN)
    assert "already exists" in transitions.illegal_reason("connect", State.ESTABLISHED)
    assert "no connection" in transitions.illegal_reason("close", State.CLOSED)
    assert "already closed" in transitions.illegal_reason("close", State.TIME_WAIT)
