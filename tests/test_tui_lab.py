"""The lab screen over the real Simulation: keys pressed, panes read, in both languages.

Every built-in scenario is walked with the keyboard alone; at each step the endpoint panes,
the segment log, the ladder and the explanation must show what the frame says. Then the
lab's own actions: faults, timers, app calls, forks, the scenario chooser, help, the
command palette, play/pause, and scapy never imported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from tui_helpers import lab_state, run_async, screen_picture, screen_text, toasts

from tcp_lab.core.explain import render
from tcp_lab.core.scenario import builtin, get
from tcp_lab.core.simulation import Simulation
from tcp_lab.tui.app import lab_app
from tcp_lab.tui.commands import LabCommands
from tcp_lab.tui.endpoint_pane import EndpointPane
from tcp_lab.tui.help_screen import HelpScreen
from tcp_lab.tui.keys import KEYS
from tcp_lab.tui.ladder import Ladder
from tcp_lab.tui.scenario_picker import ScenarioPicker
from tcp_lab.tui.segment_log import SegmentLog

SIZE = (100, 30)


def make_app(name: str = "handshake-teardown", **kw):
    sim = Simulation(get(name), isn_client=1000, isn_server=5000)
    kw.setdefault("highlight_seconds", None)
    return lab_app(sim, **kw)


async def walk(app, pilot, check=None, limit: int = 400) -> int:
    """Press n until nothing more happens; call check(frame_index) at each step."""
    c = app.screen.controller
    steps = 0
    while steps < limit:
        before = c.cursor
        await pilot.press("n")
        if c.cursor == before:
            return steps
        steps += 1
        if check is not None:
            check(c.cursor)
    raise AssertionError("the scenario never ended")


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", [s.name for s in builtin()])
@run_async
async def test_every_scenario_step_by_step_shows_what_each_frame_says(name, lang):
    app = make_app(name, lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        tl = app.screen.controller.timeline
        start = lab_state(app)
        assert (start["client"], start["server"]) == ("CLOSED", "CLOSED")
        assert start["log"] == [] and start["ladder"] == []
        goal = get(name).goal[lang]
        assert goal[:30] in start["explain"]

        def check(i: int) -> None:
            frame = tl[i]
            shown = lab_state(app)
            assert shown["client"] == frame.client.state.value
            assert shown["server"] == frame.server.state.value
            assert f"RFC {frame.client.state.rfc_name} · ss {frame.client.state.ss_name}" in shown["client_text"]
            assert f"{frame.server.addr}:{frame.server.port}" in shown["server_text"]
            heading, body = shown["explain"].split("\n", 1)
            assert heading.startswith(f"#{frame.no} · ")
            assert body == render(frame.explain, lang)
            index = app.screen.controller.index
            assert len(shown["log"]) == index.rows_upto(i)
            assert len(shown["ladder"]) == index.lines_upto(i)
            if frame.segment is not None:
                row = shown["rows"][shown["selected_row"]]
                assert row[9] == frame.info  # the selected row is this frame's segment
                assert row[3] == ("C→S" if frame.sender == "client" else "S→C")
            else:
                assert shown["selected_row"] == -1
            if frame.event == "app":
                assert f"{frame.call}()" in shown["ladder"][-1]

        steps = await walk(app, pilot, check)
        assert steps == len(tl)
        assert app.screen.controller.at_end


@run_async
async def test_default_scenario_handshake_and_teardown_on_screen():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        seen = {"client": [], "server": []}
        order: list[str] = []

        def note(_):
            s = lab_state(app)
            for role in ("client", "server"):
                if not seen[role] or seen[role][-1] != s[role]:
                    seen[role].append(s[role])
                    if s[role] not in order:
                        order.append(s[role])

        await walk(app, pilot, note)
        assert seen["client"] == ["CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED"]
        assert seen["server"] == ["LISTEN", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]
        assert order == ["CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "CLOSE_WAIT",
                         "FIN_WAIT_2", "LAST_ACK", "TIME_WAIT"]
        s = lab_state(app)
        assert [r[4] for r in s["rows"]] == ["SYN", "SYN,ACK", "ACK", "PSH,ACK", "ACK", "PSH,ACK", "ACK",
                                             "FIN,ACK", "ACK", "FIN,ACK", "ACK"]
        assert s["rows"][0][9] == "52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM WS=128"
        ladder = s["ladder"]
        assert ladder[0].endswith("listen() │ LISTEN")
        assert ladder[2].endswith("▶│ SYN_RCVD") and "SYN seq=0" in ladder[2]
        assert ladder[3].lstrip().startswith("ESTABLISHED │◀") and "SYN,ACK seq=0 ack=1" in ladder[3]
        assert ladder[-1].lstrip().startswith("CLOSED      │ 2MSL timer fires")
        assert "TIME_WAIT" in " ".join(ladder) and "LAST_ACK" in " ".join(ladder)


@run_async
async def test_handshake_tcb_and_timers_at_syn_rcvd():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"nnnn")  # listen, connect, SYN sent, SYN delivered
        s = lab_state(app)
        assert (s["client"], s["server"]) == ("SYN_SENT", "SYN_RCVD")
        lines = s["server_text"].splitlines()
        snd = next(line for line in lines if line.startswith("SND"))
        rcv = next(line for line in lines if line.startswith("RCV"))
        # RFC 9293 3.10.7.2: IRS = the SYN's seq (1000), RCV.NXT = IRS + 1; ISS = 5000,
        # SND.UNA = ISS, SND.NXT = ISS + 1 (relative: 0 and 1).
        assert snd.split()[:4] == ["SND", "5000", "0", "1"]
        assert rcv.split()[:3] == ["RCV", "1000", "1"]
        assert "RTO 1.00 s" in s["server_text"]
        assert "RTO 0.95 s" in s["client_text"]  # its SYN left 50 ms ago
        await pilot.press("r")  # absolute numbers
        snd = next(line for line in lab_state(app)["server_text"].splitlines() if line.startswith("SND"))
        assert snd.split()[:4] == ["SND", "5000", "5000", "5001"]


@run_async
async def test_stepping_back_restores_each_earlier_screen_exactly():
    app = make_app("simultaneous-close")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pictures = [screen_picture(app)]
        texts = [screen_text(app)]
        await walk(app, pilot, lambda _: (pictures.append(screen_picture(app)), texts.append(screen_text(app))))
        for picture, text in zip(reversed(pictures[:-1]), reversed(texts[:-1])):
            await pilot.press("p")
            assert screen_text(app) == text
            assert screen_picture(app) == picture
        await pilot.press("end")
        assert screen_picture(app) == pictures[-1]
        await pilot.press("home")
        assert screen_picture(app) == pictures[0]


@run_async
async def test_crossing_fins_are_drawn_in_the_order_they_happen():
    app = make_app("simultaneous-close")
    async with app.run_test(size=SIZE) as pilot:
        await walk(app, pilot)
        ladder = lab_state(app)["ladder"]
        both_close = [i for i, line in enumerate(ladder) if "close()" in line]
        closing = [i for i, line in enumerate(ladder) if "CLOSING" in line]
        # Both sides call close() before either FIN arrives; each then enters CLOSING.
        assert len(both_close) == 2 and len(closing) == 2
        assert max(both_close) < min(closing)
        assert any("╮" in line for line in ladder) and any("╰" in line for line in ladder)


@run_async
async def test_free_play_calls_faults_timer_and_fork():
    app = make_app("free-play")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        c = app.screen.controller
        await pilot.press("right_square_bracket", "l")  # server listen()
        assert lab_state(app)["server"] == "LISTEN"
        await pilot.press("left_square_bracket", "c")  # client connect()
        assert lab_state(app)["client"] == "SYN_SENT"
        await walk(app, pilot)
        assert (lab_state(app)["client"], lab_state(app)["server"]) == ("ESTABLISHED", "ESTABLISHED")
        # Drop the next segment, then send data: it is lost, and the RTO resends it.
        await pilot.press("d")
        assert lab_state(app)["explain"].split("\n")[0].endswith("Fault armed: the next segment will be lost")
        await pilot.press("left_square_bracket", "s")
        await walk(app, pilot)  # sent, lost; then only the RTO timer is left
        s = lab_state(app)
        lost = [r for r in s["rows"] if r[0] == "✕"]
        assert len(lost) == 1 and lost[0][8] == "100"
        await pilot.press("t")
        await walk(app, pilot)
        s = lab_state(app)
        assert s["rows"][-2][9].startswith("[TCP Retransmission] 52296 → 80 [PSH, ACK] Seq=1 Ack=1")
        assert any("RTO timer fires" in line for line in s["ladder"])
        # Step back three steps and act: the old future is replaced (an editor's undo).
        length = c.length
        await pilot.press("p", "p", "p")
        back_at = c.cursor
        await pilot.press("u")  # duplicate next
        assert c.cursor == c.length - 1 and c.timeline[c.cursor].event == "fault"
        assert c.timeline[c.cursor].fault == "duplicate"
        assert c.length < length
        await pilot.pause(0.2)
        assert f"The future after step {back_at + 1} was replaced by your action." in toasts(app)


@run_async
async def test_illegal_app_call_is_a_notification_and_changes_nothing():
    app = make_app("free-play")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = screen_picture(app)
        c = app.screen.controller
        await pilot.press("left_square_bracket", "x")  # client close() while CLOSED
        await pilot.pause()
        assert c.length == 0 and c.cursor == -1
        messages = [n.message for n in app._notifications]
        assert len(messages) == 1 and "close" in messages[0]
        app.clear_notifications()
        await pilot.pause()
        assert screen_picture(app) == before


@run_async
async def test_fire_timer_with_no_timer_running_says_so():
    app = make_app("free-play")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        assert [n.message for n in app._notifications] == ["No timer is running."]
        assert app.screen.controller.length == 0


@run_async
async def test_old_duplicate_syn_key_injects_a_marked_segment():
    app = make_app("free-play")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket", "l", "o")
        s = lab_state(app)
        assert s["rows"][0][0] == "*" and s["rows"][0][4] == "SYN"
        assert "(old)" in s["ladder"][-1]
        await walk(app, pilot)
        assert any(r[4] == "RST" for r in lab_state(app)["rows"])  # the client resets the stale SYN-ACK


@run_async
async def test_scenario_chooser_filters_and_restarts():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "n", "s")
        picker = app.screen
        assert isinstance(picker, ScenarioPicker)
        assert len(picker.matches("")) == len(builtin())
        await pilot.press(*"simultaneous close")
        assert [sc.name for sc in picker.matches("simultaneous close")] == ["simultaneous-close"]
        assert "Simultaneous close: two FINs cross" in screen_text(app)
        await pilot.press("enter")
        assert app.screen.title == get("simultaneous-close").title["en"]
        assert app.screen.controller.cursor == -1
        assert get("simultaneous-close").goal["en"][:40] in lab_state(app)["explain"]
        # Searching works on goals and in Chinese too.
        await pilot.press("s", *"四次")
        assert {sc.name for sc in app.screen.matches("四次")} >= {"handshake-teardown"}
        await pilot.press("escape")
        assert app.screen.title == get("simultaneous-close").title["en"]


@run_async
async def test_help_screen_lists_every_key():
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key in KEYS:
            assert key.en[:30] in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@run_async
async def test_command_palette_runs_lab_commands():
    app = make_app("free-play")
    async with app.run_test(size=SIZE) as pilot:
        provider = LabCommands(app.screen)
        names = [name for name, _, _ in provider._lab_commands()]
        for key in KEYS:
            assert key.en in names
        assert "Server: listen()" in names and "Scenario: Simultaneous close: two FINs cross" in names
        await pilot.press("ctrl+p")
        await pilot.press(*"Server: listen")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert lab_state(app)["server"] == "LISTEN"


@run_async
async def test_play_pause_steps_on_its_own():
    app = make_app(play_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause(0.5)
        moved = app.screen.controller.cursor
        assert moved >= 3
        await pilot.press("a")
        await pilot.pause(0.3)
        assert app.screen.controller.cursor in (moved, moved + 1)


@run_async
async def test_language_key_and_chinese_start():
    app = make_app(lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        assert "按 n、空格或 → 走第一步" in lab_state(app)["explain"]
        assert app.screen.title == get("handshake-teardown").title["zh"]
        await pilot.press("n")
        frame = app.screen.controller.timeline[0]
        assert lab_state(app)["explain"] == f"#1 · 服务端调用 listen()\n{render(frame.explain, 'zh')}"
        await pilot.press("l")
        assert lab_state(app)["explain"] == f"#1 · Server calls listen()\n{render(frame.explain, 'en')}"
        assert app.screen.query_one("#server", EndpointPane).title_text() == "Server 198.51.100.80:80"


@run_async
async def test_chinese_explanations_fit_the_pane_at_80_columns():
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(app, pilot, lambda _: _check_width(app, 80))


def _check_width(app, width):
    from rich.cells import cell_len

    assert all(cell_len(line) <= width for line in screen_text(app).splitlines())


@run_async
async def test_clicking_a_row_in_a_real_run_jumps_there():
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await walk(app, pilot)
        log = app.screen.query_one(SegmentLog)
        top = round(log.scroll_y)
        assert top > 0  # eleven rows do not fit: the log is scrolled to the current one
        await pilot.click(log, offset=(20, 0))  # the first row in view
        s = lab_state(app)
        assert s["selected_row"] == top
        c = app.screen.controller
        assert c.cursor == c.index.row_frames(top)[-1]  # the segment's delivery
        frame = c.timeline[c.cursor]
        assert frame.event == "deliver" and (s["client"], s["server"]) == (frame.client.state.value, frame.server.state.value)
        # The ladder and log now end where that segment arrived.
        assert app.screen.query_one(Ladder).visible_line_count() == c.index.lines_upto(c.cursor)
        assert len(s["log"]) == c.index.rows_upto(c.cursor)


def test_lab_mode_never_imports_scapy():
    code = textwrap.dedent(
        """
        import asyncio, sys
        from tcp_lab.core.scenario import get
        from tcp_lab.core.simulation import Simulation
        from tcp_lab.tui.app import lab_app

        async def main():
            app = lab_app(Simulation(get("handshake-teardown")))
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.press("n", "n", "n", "question_mark", "escape", "s", "escape")
                await pilot.pause()
            print("scapy" in sys.modules, any(m.startswith("scapy") for m in sys.modules))

        asyncio.run(main())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


@run_async
async def test_clicking_a_ladder_line_jumps_to_that_event():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"n" * 8)  # the handshake is complete
        ladder = app.screen.query_one(Ladder)
        top = round(ladder.scroll_y)
        target = 2 - top  # the SYN's line (line 3)
        assert 0 <= target < ladder.scrollable_content_region.height
        await pilot.click(ladder, offset=(30, target + 1))  # + its top border
        c = app.screen.controller
        assert c.timeline[c.cursor].event == "deliver" and c.timeline[c.cursor].sender == "client"
        assert (lab_state(app)["client"], lab_state(app)["server"]) == ("SYN_SENT", "SYN_RCVD")
        assert ladder.current_line() == 2
