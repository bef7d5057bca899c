"""The screen's panes over hand-made timelines (tests/lab_fixture.py): what a user sees at
each step of a textbook connection, with a lost and a duplicated segment, and as a capture
replay shows it. Independent of the simulation engine."""

from __future__ import annotations

import pytest
from lab_fixture import CLIENT_STATES, SERVER_STATES, captured, handshake_teardown
from rich.cells import cell_len
from textual.app import App
from tui_helpers import lab_state, run_async, screen_picture, screen_text

from tcp_lab.tui.app import LabApp
from tcp_lab.tui.controller import Stepper
from tcp_lab.tui.explain_pane import ExplainPane
from tcp_lab.tui.ladder import Ladder
from tcp_lab.tui.segment_log import SegmentLog
from tcp_lab.tui.timeline_index import TimelineIndex
from tcp_lab.tui.timeline_view import TimelineView


def fixture_app(faults: bool = False, **kw) -> LabApp:
    return LabApp(Stepper(handshake_teardown(faults=faults)), highlight_seconds=None, **kw)


def _dedupe(states):
    out = []
    for s in states:
        if not out or out[-1] != s:
            out.append(s)
    return out


@run_async
async def test_every_step_shows_both_endpoints_as_the_frame_says():
    tl = handshake_teardown()
    app = LabApp(Stepper(tl), highlight_seconds=None)
    seen_client, seen_server = [], []
    async with app.run_test(size=(100, 30)) as pilot:
        for i, frame in enumerate(tl):
            if i:
                await pilot.press("n")
            shown = lab_state(app)
            assert shown["client"] == frame.client.state.value
            assert shown["server"] == frame.server.state.value
            assert f"{frame.client.addr}:{frame.client.port}" in shown["client_text"]
            assert shown["explain"].startswith(f"#{frame.no} · ")
            assert app.screen.sub_title.startswith(f"step {i + 1} of {len(tl)}")
            seen_client.append(shown["client"])
            seen_server.append(shown["server"])
        # At the end: one log row per segment, seven segments, in order.
        rows = lab_state(app)["rows"]
        assert [row[4] for row in rows] == ["SYN", "SYN,ACK", "ACK", "FIN,ACK", "ACK", "FIN,ACK", "ACK"]
    assert _dedupe(seen_client) == CLIENT_STATES
    assert _dedupe(seen_server) == SERVER_STATES


@run_async
async def test_handshake_panes_tcb_ladder_and_log_step_by_step():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        s = lab_state(app)  # frame 1: the server listens
        assert (s["client"], s["server"]) == ("CLOSED", "LISTEN")
        assert s["log"] == [] and s["selected_row"] == -1
        assert "listen()" in s["ladder"][0] and s["ladder"][0].rstrip().endswith("LISTEN")
        await pilot.press("n")  # client connect()
        s = lab_state(app)
        assert s["client"] == "SYN_SENT"
        assert "RFC SYN-SENT · ss SYN-SENT" in s["client_text"]
        assert "RTO 1.00 s" in s["client_text"]
        assert s["ladder"][1].lstrip().startswith("SYN_SENT") and "connect()" in s["ladder"][1]
        await pilot.press("space")  # the SYN leaves the client: in flight
        s = lab_state(app)
        assert s["log"][0].startswith("…") and "52296 → 80 [SYN] Seq=0 Win=64240 Len=0" in s["log"][0]
        assert s["selected_row"] == 0
        assert "▷" in s["ladder"][2] and "SYN seq=0" in s["ladder"][2]
        assert "SYN_RCVD" not in s["ladder"][2]
        await pilot.press("right")  # the SYN arrives: the server is in SYN_RCVD
        s = lab_state(app)
        assert s["server"] == "SYN_RCVD"
        assert "▶" in s["ladder"][2] and s["ladder"][2].endswith("SYN_RCVD")
        assert not s["log"][0].startswith("…")
        server = s["server_text"]
        assert "RFC SYN-RECEIVED · ss SYN-RECV" in server
        # TCB, relative to ISS=5000 / IRS=1000: SND.UNA 0, SND.NXT 1; RCV.NXT 1.
        snd = next(line for line in server.splitlines() if line.startswith("SND"))
        rcv = next(line for line in server.splitlines() if line.startswith("RCV"))
        assert snd.split() == ["SND", "5000", "0", "1", "64240"]
        assert rcv.split() == ["RCV", "1000", "1", "64240"]
        assert "LISTEN → SYN_RCVD" in server
        await pilot.press("n", "n")  # SYN-ACK sent and delivered
        s = lab_state(app)
        assert s["client"] == "ESTABLISHED"
        assert s["ladder"][3].lstrip().startswith("ESTABLISHED") and "◀" in s["ladder"][3]
        assert "SYN,ACK seq=0 ack=1" in s["ladder"][3]
        assert s["rows"][1][:9] == ("", "2", "0.002", "S→C", "SYN,ACK", "0", "1", "64240", "0")


@run_async
async def test_stepping_back_restores_every_earlier_screen_exactly():
    app = fixture_app(faults=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pictures = [screen_picture(app)]
        for _ in range(len(app.controller.timeline) - 1):
            await pilot.press("n")
            pictures.append(screen_picture(app))
        assert len(set(pictures)) == len(pictures)  # every step looks different
        for expected in reversed(pictures[:-1]):
            await pilot.press("p")
            assert screen_picture(app) == expected
        await pilot.press("end")
        assert screen_picture(app) == pictures[-1]
        await pilot.press("home")
        assert screen_picture(app) == pictures[0]


@run_async
async def test_lost_and_duplicated_segments_are_marked_in_log_and_ladder():
    app = fixture_app(faults=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n", "n", "n")  # listen, connect, send SYN, drop
        s = lab_state(app)
        assert s["log"][0].startswith("✕")
        assert "✕" in s["ladder"][2] and "▶" not in s["ladder"][2]
        assert s["explain"].startswith("#4 · The wire loses the client's SYN")
        await pilot.press("end")
        s = lab_state(app)
        assert s["log"][0].startswith("✕") and s["log"][1].startswith(" ")
        assert s["rows"][5][:5] == ("×2", "6", "1.008", "S→C", "ACK")
        assert any("ACK seq=1 ack=2 ×2" in line for line in s["ladder"])
        assert any("RTO timer fires" in line for line in s["ladder"])


@run_async
async def test_absolute_sequence_numbers_toggle_with_r():
    app = fixture_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("n", "n", "n", "n", "n")  # up to the SYN-ACK sent
        rel = lab_state(app)
        await pilot.press("r")
        s = lab_state(app)
        assert "absolute seq" in app.screen.sub_title
        assert s["rows"][1][5:7] == ("5000", "1001")
        assert "Seq=5000 Ack=1001" in s["log"][1]
        assert "SYN,ACK seq=5000 ack=1001" in s["ladder"][3]
        snd = next(line for line in s["server_text"].splitlines() if line.startswith("SND"))
        assert snd.split() == ["SND", "5000", "5000", "5001", "64240"]
        await pilot.press("r")
        assert lab_state(app) == rel


@run_async
async def test_clicking_a_log_row_jumps_the_whole_screen():
    tl = handshake_teardown()
    app = LabApp(Stepper(tl), highlight_seconds=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("end")
        log = app.screen.query_one(SegmentLog)
        # Click row 2 (the SYN-ACK) where it is on the screen: it jumps to its delivery.
        y = 1 - round(log.scroll_y)
        assert 0 <= y < log.scrollable_content_region.height
        await pilot.click(log, offset=(10, y))
        await pilot.pause()
        frame = tl[app.controller.cursor]
        assert frame.event == "deliver" and frame.segment is not None and frame.sender == "server"
        assert lab_state(app)["client"] == "ESTABLISHED"
        assert log.selected_row() == 1
        # With the log focused, ↑ and ↓ move between segments.
        log.focus()
        await pilot.press("down")
        assert log.selected_row() == 2
        await pilot.press("up", "up")
        assert log.selected_row() == 0
        assert lab_state(app)["server"] == "SYN_RCVD"


@run_async
async def test_language_key_switches_explanations_and_titles_to_chinese():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        await pilot.press("l")
        s = lab_state(app)
        assert s["explain"].startswith("#2 · 客户端调用 connect()")
        assert s["client_text"].startswith("客户端 10.0.0.1:52296")
        assert "第 2 步" in app.screen.sub_title
        assert "客户端" in screen_text(app)
        await pilot.press("l")
        assert lab_state(app)["explain"].startswith("#2 · Client calls connect()")


@run_async
async def test_state_change_is_highlighted_for_a_moment():
    # A key press through Pilot takes about 0.15 s on a busy 2-core machine: the highlight
    # lasts long enough to be seen after it.
    app = LabApp(Stepper(handshake_teardown()), highlight_seconds=0.6)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        client = app.screen.query_one("#client")
        server = app.screen.query_one("#server")
        assert client.has_class("-changed") and not server.has_class("-changed")
        await pilot.pause(0.9)
        assert not client.has_class("-changed")


@run_async
async def test_timers_show_the_time_left():
    tl = handshake_teardown(faults=True)
    app = LabApp(Stepper(tl), highlight_seconds=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")  # connect() at 0 s: the RTO runs until 1 s
        assert "RTO 1.00 s" in lab_state(app)["client_text"]
        assert "no timer running" in lab_state(app)["server_text"]
        await pilot.press("n", "n")  # the SYN is sent, then lost; still 0 s
        assert "RTO 1.00 s" in lab_state(app)["client_text"]
        await pilot.press("n")  # at 1 s the RTO fires and is armed again, doubled (RFC 6298)
        assert "RTO 2.00 s" in lab_state(app)["client_text"]
        time_wait = next(i for i, f in enumerate(tl) if f.client.state.value == "TIME_WAIT")
        await pilot.press(*["n"] * (time_wait - app.controller.cursor))
        s = lab_state(app)
        assert s["client"] == "TIME_WAIT"
        assert "2MSL 60.00 s" in s["client_text"]
        await pilot.press("end")  # 2MSL has run out: CLOSED, no timer
        assert lab_state(app)["client"] == "CLOSED"
        assert "no timer running" in lab_state(app)["client_text"]


@pytest.mark.parametrize("size", [(80, 24), (140, 40)])
@run_async
async def test_layout_fits_small_and_large_terminals(size):
    app = fixture_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("end")
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == size[1]
        assert all(cell_len(line) <= size[0] for line in lines)
        assert "Client 10.0.0.1:52296" in text and "Server 10.0.0.2:80" in text
        assert "No." in text and "Info" in text
        ladder = app.screen.query_one(Ladder)
        log = app.screen.query_one(SegmentLog)
        # The current step is in view in the ladder and in the log.
        assert ladder.scroll_y <= ladder.current_line() < ladder.scroll_y + ladder.scrollable_content_region.height
        if size == (140, 40):
            assert "┏━╸ ╻   ┏━┓ ┏━╸ ┏━╸ ┳━┓" in text  # CLOSED in large type
            assert log.scrollable_content_region.height >= 7  # every row fits
        else:
            assert log.scrollable_content_region.height >= 3


def test_index_truncate_equals_rebuilding_at_every_cut():
    tl = handshake_teardown(faults=True)
    for cut in range(len(tl) + 1):
        full = TimelineIndex(tl)
        full.sync()
        full.truncate(cut)
        short = handshake_teardown(faults=True)
        short.truncate(cut)
        fresh = TimelineIndex(short)
        fresh.sync()
        for name in ("line_first", "line_row", "frame_line", "row_line", "row_first"):
            assert list(getattr(full, name)) == list(getattr(fresh, name)), (cut, name)
        assert full.line_more == fresh.line_more
        assert {r: list(v) for r, v in full.changes.items()} == {r: list(v) for r, v in fresh.changes.items()}


def test_index_follows_a_timeline_regrown_behind_its_back():
    tl = handshake_teardown()
    index = TimelineIndex(tl)
    index.sync()
    tl.truncate(5)
    for frame in handshake_teardown(faults=True)[5:]:
        tl.append(frame)
    index.sync()
    fresh = TimelineIndex(tl)
    fresh.sync()
    assert list(index.line_first) == list(fresh.line_first)
    assert index.row_count == fresh.row_count


class _ReplayApp(App):
    """The panes as a replay screen uses them: every row shown, the cursor anywhere."""

    def __init__(self, timeline, cursor):
        super().__init__()
        self.index = TimelineIndex(timeline)
        self.cursor = cursor

    def compose(self):
        yield TimelineView(self.index, reveal="all", highlight_seconds=None)

    def on_mount(self):
        self.query_one(TimelineView).show(self.cursor)


@run_async
async def test_replay_shape_shows_every_row_and_selects_the_current_one():
    tl = captured()
    app = _ReplayApp(tl, 1)
    async with app.run_test(size=(100, 30)):
        log = app.query_one(SegmentLog)
        assert log.row_count() == 7
        assert log.selected_row() == 1
        # A captured segment updates both sides at once (sender's then receiver's transition).
        assert lab_state(app)["client"] == "ESTABLISHED"
        assert lab_state(app)["server"] == "SYN_RCVD"
        ladder = app.query_one(Ladder)
        assert ladder.visible_line_count() == 7
        assert "◀" in ladder.line_text(1) and "ESTABLISHED" in ladder.line_text(1)
        assert app.query_one(ExplainPane).text.startswith("#2 · Server → Client SYN,ACK")


@run_async
async def test_cjk_explanation_wraps_by_cells_without_losing_text():
    body = "服务端收到了客户端的 SYN，于是进入 SYN_RCVD 状态，并回复 SYN+ACK：它确认客户端的初始序号加一，同时带上自己的初始序号（RFC 9293 第 3.5 节）。" * 2

    class _One(App):
        def compose(self):
            yield ExplainPane(id="explain")

        def on_mount(self):
            self.query_one(ExplainPane).show("#4 · 服务端收到 SYN", body)

    app = _One()
    async with app.run_test(size=(41, 20)):
        lines = [line.rstrip() for line in screen_text(app).splitlines()]
        assert all(cell_len(line) <= 41 for line in lines)
        joined = "".join(line.strip() for line in lines[1:] if line.strip())
        assert joined.replace(" ", "") == body.replace(" ", "")
