"""The state diagram is drawn from the transition table: every arrow is a table move, every
move and every state is drawn, arrows are connected lines that avoid the states, and the
screen lights each side's state and the transition it just took."""

from __future__ import annotations

import pytest
from teach_helpers import teach_app
from tui_helpers import run_async

from tcp_lab.core import diagram
from tcp_lab.core.diagram import Move, layout, moves, step_moves
from tcp_lab.core.frame import EndpointView, Frame
from tcp_lab.core.states import State
from tcp_lab.core.transitions import TABLE, row

SIZES = [(64, 13), (78, 17), (96, 24), (138, 33)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_drawn_edge_is_a_table_move_and_every_move_is_drawn(size):
    d = layout(*size)
    drawn = {(e.source, e.target): e.rows for e in d.edges}
    # Each drawn edge: its rows are table rows that take its source to its target.
    for (source, target), rows in drawn.items():
        assert rows, f"{source}->{target} has no rows"
        for rid in rows:
            r = row(rid)
            assert source in r.states and r.target(source) is target
    # Every state change of the table (but the not-TCP rows) is drawn.
    table_moves = {
        (s, r.target(s)) for r in TABLE if not r.section.startswith("not TCP") for s in r.states if r.target(s) is not s
    }
    assert set(drawn) == table_moves == set(moves())
    # Every state is drawn, with its name on the grid.
    assert {n.state for n in d.nodes} == set(State)
    for n in d.nodes:
        assert d.lines[n.y][n.x : n.x + n.width].strip().startswith(n.state.value)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_arrows_are_connected_lines_from_source_to_target(size):
    d = layout(*size)
    node_cells = {c for n in d.nodes for c in n.cells()}
    for e in d.edges:
        if e.kind == "reset":
            (cell,) = e.path
            src = next(n for n in d.nodes if n.state is e.source and n.copy == 0)
            assert cell == src.reset_mark and d.lines[cell[1]][cell[0]] == "✕"
            assert e.target is State.CLOSED and all(row(r).event in diagram.RESET_EVENTS for r in e.rows)
            continue
        src = next(n for n in d.nodes if n.state is e.source and n.copy == e.source_copy)
        dst = next(n for n in d.nodes if n.state is e.target and n.copy == e.target_copy)
        assert not set(e.path) & node_cells
        for a, b in zip(e.path, e.path[1:]):
            assert abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1
        assert _touches(e.path[0], src) and _touches(e.path[-1], dst)
        assert d.lines[e.head[1]][e.head[0]] in "▲▼◀▶"
        assert all(d.lines[y][x] != " " for x, y in e.path)


def _touches(cell, node) -> bool:
    x, y = cell
    return (y in (node.y - 1, node.y + 1) and node.x <= x < node.x + node.width) or (y == node.y and x in (node.x - 1, node.x + node.width))


def test_too_small_says_so():
    with pytest.raises(diagram.DiagramTooSmall):
        layout(40, 10)


def _frame(client: State, server: State, **kw) -> Frame:
    return Frame(1, 0.0, kw.pop("event", "segment"), EndpointView("192.0.2.1", 1, client), EndpointView("192.0.2.2", 2, server), **kw)


def test_a_captured_move_is_explained_by_the_rows_that_make_it_or_by_none():
    """A capture names no row: the rows that make the move explain it; a move no row makes
    (an inference the table cannot reach) has none, and the screen says so."""
    moves_ = step_moves((State.FIN_WAIT_2, State.LAST_ACK), _frame(State.CLOSED, State.LAST_ACK, sender="server"))
    assert moves_["client"] == Move("client", State.FIN_WAIT_2, State.CLOSED, ("sync.abort", "sync.rcv_rst"))
    assert layout(78, 17).edge(State.FIN_WAIT_2, State.CLOSED).kind == "reset"
    moves_ = step_moves((State.LISTEN, State.CLOSED), _frame(State.TIME_WAIT, State.CLOSED, sender="server"))
    assert moves_["client"].rows == () and layout(78, 17).edge(State.LISTEN, State.TIME_WAIT) is None
    from tcp_lab.tui.state_diagram import move_text

    assert "not a move of RFC 9293's table" in move_text(moves_["client"], State.TIME_WAIT, "en")
    moves_ = step_moves((State.ESTABLISHED, State.ESTABLISHED), _frame(State.FIN_WAIT_1, State.CLOSE_WAIT, sender="client"))
    assert moves_["server"].rows == ("established.rcv_fin",)


@run_async
async def test_g_shows_the_diagram_with_both_sides_and_the_transition_just_taken():
    app = teach_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press(*"n" * 6, "g")
        await pilot.pause()
        from tcp_lab.tui.state_diagram import DiagramCaption, StateDiagram

        view = app.screen.query_one(StateDiagram)
        lines = view.plain_lines()
        assert any("C ESTABLISHED" in line for line in lines)
        assert any("SYN_RCVD" in line and line.rstrip().endswith("") for line in lines)
        d = layout(view.size.width, view.size.height)
        lit = view.lit_cells(d)
        edge = d.edge(State.SYN_SENT, State.ESTABLISHED)
        assert set(edge.path) <= set(lit) and all(lit[c] == {"client"} for c in edge.path)
        caption = str(app.screen.query_one(DiagramCaption).render())
        assert "SYN_SENT → ESTABLISHED" in caption and "3.10.7.3" in caption
        server_node = next(n for n in d.nodes if n.state is State.SYN_RCVD)
        assert lines[server_node.y][server_node.server_mark[0]] == "S"
        # The lab's keys step the diagram: the ACK reaches the server.
        await pilot.press("n", "n")
        await pilot.pause()
        lit = view.lit_cells(d)
        assert set(d.edge(State.SYN_RCVD, State.ESTABLISHED).path) <= set(lit)
        assert "SYN_RCVD → ESTABLISHED" in str(app.screen.query_one(DiagramCaption).render())
        await pilot.press("g")
        await pilot.pause()
        assert app.screen.id == "lab" and app.controller.cursor == 7


@run_async
async def test_a_loop_row_lights_the_mark_and_closed_sits_where_the_arrow_went():
    app = teach_app("handshake-teardown")
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press(*"n" * 11, "g")  # the server receives the client's data
        await pilot.pause()
        from tcp_lab.tui.state_diagram import StateDiagram

        view = app.screen.query_one(StateDiagram)
        d = layout(view.size.width, view.size.height)
        est = next(n for n in d.nodes if n.state is State.ESTABLISHED)
        assert view.lit_cells(d) == {est.loop_mark: {"server"}}
        await pilot.press("g", *"n" * 17, "g")  # the server's LAST_ACK ends: bottom CLOSED
        await pilot.pause()
        view = app.screen.query_one(StateDiagram)
        assert view.closed_copy("server", d) == 1
        bottom = next(n for n in d.nodes if n.state is State.CLOSED and n.copy == 1)
        assert view.plain_lines()[bottom.y][bottom.server_mark[0]] == "S"
