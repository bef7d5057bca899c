"""The replay screen through Pilot: a capture's connections, the selected one stepped with
the lab's keys, both endpoints' states at each step, filtering, a growing pipe, bad input,
and the teaching tools (g, z, e).

States are checked against the replay's own headless output (core/replay.py's JSON
lines, held to tshark and the kernel by the tracker's tests): what the panes show at step
i is what `tcp-lab replay FILE --format json` says of segment i.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from replay_fixture import CAPTURES, PipeFeeder, joined_capture, pcap_records
from teach_helpers import replay_file
from tui_helpers import lab_state, run_async, screen_text, toasts

from tcp_lab.core.replay import Replay
from tcp_lab.tui.capture_index import CaptureIndex
from tcp_lab.tui.conn_list import ConnList
from tcp_lab.tui.explain_pane import ExplainPane
from tcp_lab.tui.help_screen import HelpScreen
from tcp_lab.tui.keys import CAPTURE_KEYS
from tcp_lab.tui.replay_app import CaptureCommands, CaptureScreen, open_capture_file, replay_app
from tcp_lab.tui.segment_log import SegmentLog
from tcp_lab.tui.timeline_index import TimelineIndex

COURSE = CAPTURES / "course-example.pcap"

#: The course notes' seven lines (the handshake, then the teardown) and the states both
#: endpoints are in after each (client, server).
NOTES = [
    ("52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460", ("SYN_SENT", "SYN_RCVD")),
    ("80 → 52296 [SYN, ACK] Seq=0 Ack=1 Win=29200 Len=0 MSS=1300", ("ESTABLISHED", "SYN_RCVD")),
    ("52296 → 80 [ACK] Seq=1 Ack=1 Win=131072 Len=0", ("ESTABLISHED", "ESTABLISHED")),
    ("80 → 52296 [FIN, ACK] Seq=357 Ack=1539 Win=32768 Len=0", ("CLOSE_WAIT", "FIN_WAIT_1")),
    ("52296 → 80 [ACK] Seq=1539 Ack=358 Win=130816 Len=0", ("CLOSE_WAIT", "FIN_WAIT_2")),
    ("52296 → 80 [FIN, ACK] Seq=1539 Ack=358 Win=130816 Len=0", ("LAST_ACK", "TIME_WAIT")),
    ("80 → 52296 [ACK] Seq=358 Ack=1540 Win=32768 Len=0", ("CLOSED", "TIME_WAIT")),
]

JOINED = ["course-example.pcap", "normal.pcap", "ipv6.pcap", "refused.pcap", "rst-abort.pcap"]
#: Server ports in the joined capture (the shipped ones all use 80).
JOINED_PORTS = {"normal.pcap": 443, "ipv6.pcap": 8080, "rst-abort.pcap": 443}


def app_for(path, conn=None, **kw):
    """The replay app as `tcp-lab replay PATH` opens it (the whole file read first)."""
    replay, fd, done, whole = open_capture_file(str(path), conn)
    if whole:
        os.close(fd)
        fd = None
    kw.setdefault("highlight_seconds", None)
    kw.setdefault("cursor_blink", False)
    return replay_app(replay, fd, name=os.path.basename(str(path)), preread=done, conn=conn, **kw)


def expected_rows(path, conn=None) -> list[dict]:
    """What `tcp-lab replay PATH --format json` says of each segment (of `conn`)."""
    replay = replay_file(path)
    return [json.loads(line) for line in replay.json_lines(conn=conn)]


async def settle(pilot, screen=None):
    await pilot.pause()
    await pilot.pause()


def states(app) -> tuple[str, str]:
    s = lab_state(app)
    return s["client"], s["server"]


@run_async
async def test_course_example_the_notes_seven_lines_and_both_states_at_every_step():
    rows = expected_rows(COURSE)
    app = app_for(COURSE)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaptureScreen)
        log = screen.query_one(SegmentLog)
        infos = [log.row_values(r)[-1] for r in range(log.row_count())]
        assert infos == [r["info"] for r in rows] and len(infos) == 13
        seven = infos[:3] + infos[-4:]
        for info, (line, _) in zip(seven, NOTES):
            assert info.startswith(line), (info, line)
        # Step through every segment: both panes, the selected row and the explanation
        # say what the replay says of that segment.
        seen = []
        for i, row in enumerate(rows):
            if i:
                await pilot.press("n")
            s = lab_state(app)
            assert (s["client"], s["server"]) == (row["client"]["state"], row["server"]["state"])
            assert s["selected_row"] == i
            assert s["explain"].startswith(f"#{row['no']} · ")
            seen.append((s["client"], s["server"]))
        assert seen[:3] + seen[-4:] == [st for _, st in NOTES]
        # The ladder writes each state where it changed.
        ladder = lab_state(app)["ladder"]
        assert ladder[0].startswith("SYN_SENT") and ladder[0].rstrip().endswith("SYN_RCVD")
        assert "LAST_ACK" in ladder[11] and "TIME_WAIT" in ladder[11]
        # Back, home and end.
        await pilot.press("p", "p")
        assert states(app) == NOTES[4][1]
        await pilot.press("home")
        assert states(app) == NOTES[0][1] and screen.controller.cursor == 0
        await pilot.press("end")
        assert states(app) == NOTES[6][1]
        assert "step 13 of 13" in screen.sub_title


@run_async
async def test_course_example_connection_list_and_details():
    app = app_for(COURSE)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        conns = app.screen.query_one(ConnList)
        assert conns.display and conns.ids.tolist() == [0]
        entry = conns.visible_text()[0]
        assert "10.21.71.101:52296 → 118.178.116.8:80" in entry
        assert "13 seg" in entry and "1.9 kB" in entry and "CLOSED/TIME_WAIT" in entry
        text = screen_text(app)
        assert "Connections 1" in text
        assert "first SYN_SENT/SYN_RCVD" in text and "last  CLOSED/TIME_WAIT" in text
        assert "→ 7, 1538 B; ← 6, 356 B" in text
    # At 80 columns a single connection leaves the whole width to the panes; c shows the list.
    app = app_for(COURSE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.screen.query_one("#conn-box").display
        await pilot.press("c")
        assert app.screen.query_one("#conn-box").display
        assert app.screen.query_one(ConnList).has_focus
        await pilot.press("c")
        assert not app.screen.query_one("#conn-box").display


@run_async
async def test_clicking_a_row_and_a_ladder_line_jumps_there():
    app = app_for(COURSE)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        log = app.screen.query_one(SegmentLog)
        await pilot.click(log, offset=(20, 2))  # the third row
        assert app.screen.controller.cursor == 2 and states(app) == NOTES[2][1]
        from tcp_lab.tui.ladder import Ladder

        ladder = app.screen.query_one(Ladder)
        await pilot.click(ladder, offset=(40, 1 + 1))  # line 2, under the top border
        assert app.screen.controller.cursor == 1 and states(app) == NOTES[1][1]


@run_async
async def test_lab_only_keys_are_not_offered():
    app = app_for(COURSE)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n", "n")
        before = lab_state(app)
        for key in ("s", "t", "d", "u", "y", "o", "left_square_bracket", "right_square_bracket"):
            await pilot.press(key)
        await settle(pilot)
        assert lab_state(app) == before and isinstance(app.screen, CaptureScreen)
        footer = screen_text(app).splitlines()[-1]
        assert "Scenarios" not in footer and "Timer" not in footer and "Client call" not in footer
        assert "f Follow" in footer and "/ Filter" in footer and "g Diagram" in footer
        names = [name for name, _, _ in CaptureCommands(app.screen)._commands()]
        assert names == [key.en for key in CAPTURE_KEYS]  # the command palette (ctrl+p)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key in CAPTURE_KEYS:
            assert key.en[:30] in text
        assert "Choose a scenario" not in text


@run_async
async def test_toggles_relative_absolute_and_chinese():
    app = app_for(COURSE)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        assert "Seq=0 Ack=1" in lab_state(app)["log"][1]
        await pilot.press("r")
        assert "Seq=2741551189 Ack=3858868471" in lab_state(app)["log"][1]  # the raw numbers
        await pilot.press("r", "l")
        text = screen_text(app)
        assert "连接" in text and "客户端" in text


# -- several connections ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    return joined_capture(JOINED, tmp_path_factory.mktemp("joined") / "joined.pcap", ports=JOINED_PORTS)


@run_async
async def test_several_connections_select_with_the_list(joined):
    app = app_for(joined)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        conns = screen.query_one(ConnList)
        entries = conns.visible_text()
        assert len(entries) == len(JOINED) and "Connections 5" in screen_text(app)
        assert "[::1]:" in entries[2]  # the IPv6 connection
        assert conns.has_focus and screen.selected == 0
        await pilot.press("down", "down")
        assert screen.selected == 2 and conns.selected == 2
        rows = expected_rows(joined, conn=2)
        assert lab_state(app)["client_text"].splitlines()[0].startswith("Client ::1:") or "::1" in lab_state(app)["client_text"]
        assert len(lab_state(app)["log"]) == len(rows)
        await pilot.press("end")  # the last segment of connection 2
        assert states(app) == (rows[-1]["client"]["state"], rows[-1]["server"]["state"])
        # Back to connection 0: its own step is kept.
        await pilot.press("up", "up")
        assert screen.selected == 0 and screen.controller.cursor == 0
        await pilot.press("down", "down")
        assert screen.controller.cursor == len(rows) - 1
        # A click on an entry (two lines each at this width).
        await pilot.click(conns, offset=(5, 3 * 2))
        assert screen.selected == 3
        refused = expected_rows(joined, conn=3)
        assert [r["flags"] for r in refused][:2] == [["SYN"], ["RST", "ACK"]]
        await pilot.press("end")
        assert states(app) == (refused[-1]["client"]["state"], refused[-1]["server"]["state"])


@run_async
async def test_filter_by_port_and_by_address(joined):
    app = app_for(joined)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        conns = screen.query_one(ConnList)
        await pilot.press("slash")
        assert screen.query_one("#conn-filter").has_focus
        await pilot.press(*"443")
        assert conns.ids.tolist() == [1, 4]  # a port matches exactly (not 127.0.0.1:52296)
        assert "Connections 2 of 5 · /443" in screen_text(app)
        assert screen.selected == 1  # the one shown was filtered out: the first match is shown
        await pilot.press("escape")
        assert conns.ids.tolist() == [0, 1, 2, 3, 4] and conns.has_focus
        await pilot.press("slash", *"::1", "enter")
        assert conns.ids.tolist() == [2] and screen.selected == 2
        assert conns.has_focus
        await pilot.press("slash", "ctrl+u", *":80 127.0.0.1", "enter")  # every word must match
        assert conns.ids.tolist() == [3]
        await pilot.press("slash", "ctrl+u", *"10.21.71")
        assert conns.ids.tolist() == [0]
        await pilot.press("ctrl+u", *"nothing-here")
        assert conns.ids.tolist() == [] and "no connection matches" in screen_text(app)
        await pilot.press("escape")
        assert len(conns.ids) == 5


@run_async
async def test_conn_option_preselects(joined):
    app = app_for(joined, conn=4)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert app.screen.selected == 4 and app.screen.query_one(ConnList).selected == 4
        rows = expected_rows(joined, conn=4)
        assert states(app) == (rows[0]["client"]["state"], rows[0]["server"]["state"])


def test_conn_option_out_of_range_is_one_sentence(joined):
    from tcp_lab.tui.errors import CliError

    with pytest.raises(CliError, match="holds 5 conversations, numbered 0 to 4"):
        open_capture_file(str(joined), 9)


@run_async
async def test_a_client_guessed_from_the_ports_is_marked(tmp_path):
    header, records = pcap_records(COURSE.read_bytes())
    midstream = tmp_path / "midstream.pcap"
    midstream.write_bytes(header + b"".join(rec for _, _, rec in records[3:]))
    app = app_for(midstream)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        entry = app.screen.query_one(ConnList).visible_text()[0]
        assert entry.startswith("0?")
        text = screen_text(app)
        assert "? client guessed from the ports (no SYN)" in text and "handshake not captured" in text


# -- a growing capture on a pipe --------------------------------------------------------------


@run_async
async def test_a_growing_pipe_fills_the_screen_and_is_followed():
    feeder = PipeFeeder(COURSE.read_bytes())
    rows = expected_rows(COURSE)
    app = replay_app(Replay("stdin"), feeder.fd, name="stdin", stream=True, highlight_seconds=None, cursor_blink=False)
    try:
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await settle(pilot)
            screen = app.screen
            assert "Waiting for the first TCP segment" in screen_text(app)
            assert "Reading stdin" in screen_text(app)

            async def wait_rows(n):
                for _ in range(100):
                    if screen.controller.length >= n:
                        break
                    await pilot.pause(0.02)
                await settle(pilot)

            feeder.release(1)
            await wait_rows(1)
            assert states(app) == ("SYN_SENT", "SYN_RCVD") and "following" in screen.sub_title
            feeder.release(2)
            await wait_rows(3)
            assert screen.controller.cursor == 2 and states(app) == ("ESTABLISHED", "ESTABLISHED")
            # Stepping back pauses following: new segments do not move the cursor.
            await pilot.press("p")
            assert screen.following is False and any("Following paused" in t for t in toasts(app))
            feeder.release(6)
            await wait_rows(9)
            assert screen.controller.cursor == 1 and len(lab_state(app)["log"]) == 9
            # f follows again: the newest segment.
            await pilot.press("f")
            assert screen.controller.cursor == 8
            feeder.release()
            await wait_rows(13)
            feeder.close()
            for _ in range(100):
                if screen.ended:
                    break
                await pilot.pause(0.02)
            await settle(pilot)
            assert screen.ended and "stdin ended · 13 segments in 1 connection" in screen_text(app)
            assert states(app) == (rows[-1]["client"]["state"], rows[-1]["server"]["state"])
            assert [r[-1] for r in lab_state(app)["rows"]] == [r["info"] for r in rows]
    finally:
        os.close(feeder.fd)


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (b"", "the input is empty: there is no capture to read"),
        (b"hello, this is not a capture\n" * 4, "the input is a text file, not a pcap or pcapng capture"),
    ],
    ids=["empty", "text"],
)
@run_async
async def test_a_pipe_with_nothing_to_show_ends_the_app_with_one_sentence(data, sentence):
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    app = replay_app(Replay("stdin"), r, name="stdin", stream=True, highlight_seconds=None, cursor_blink=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(100):
                if app.failure:
                    break
                await pilot.pause(0.02)
        assert app.failure == sentence and app.return_code == 2
    finally:
        os.close(r)


# -- the teaching tools -----------------------------------------------------------------------


@run_async
async def test_teach_keys_diagram_quiz_and_pcap_export(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_for(COURSE)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        from tcp_lab.tui.quiz_screen import QuizScreen
        from tcp_lab.tui.state_diagram import DiagramCaption, StateDiagram

        # At the first segment the diagram starts from the states the tracker assumed
        # before it: the server was listening (not CLOSED).
        await pilot.press("g")
        await settle(pilot)
        caption = str(app.screen.query_one(DiagramCaption).render())
        assert "CLOSED → SYN_SENT" in caption and "LISTEN → SYN_RCVD" in caption and "not a move" not in caption
        await pilot.press("g", "n", "n", "g")
        await settle(pilot)
        assert app.screen.id == "state-diagram"
        assert any("C ESTABLISHED" in line for line in app.screen.query_one(StateDiagram).plain_lines())
        caption = str(app.screen.query_one(DiagramCaption).render())
        assert "SYN_RCVD → ESTABLISHED" in caption  # the third segment reached the server
        await pilot.press("n")  # the diagram steps with the replay's keys
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, CaptureScreen) and app.screen.controller.cursor == 3
        await pilot.press("z")
        await settle(pilot)
        assert isinstance(app.screen, QuizScreen)
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, CaptureScreen)
        await pilot.press("end", "e")
        await settle(pilot)
        assert app.screen.id == "export-menu"
        await pilot.press("1")
        await settle(pilot)
        await settle(pilot)
        exported = sorted(tmp_path.glob("*.pcap"))
        assert len(exported) == 1 and exported[0].name.startswith("tcp-lab-course-example-pcap")
        infos = subprocess.run(
            ["tshark", "-n", "-r", str(exported[0]), "-T", "fields", "-e", "_ws.col.Info"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.splitlines()
        assert [i.split(" Len=")[0] for i in infos] == [r["info"].split(" Len=")[0] for r in expected_rows(COURSE)]


# -- the index the panes read -------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CAPTURES.glob("*.pcap")), ids=lambda p: p.stem)
def test_capture_index_answers_as_the_lab_index_does(path):
    """CaptureIndex (from the columns) and TimelineIndex (frame by frame) agree on every
    shipped capture: lines, rows, state changes, histories."""
    replay = replay_file(path)
    for conn in range(len(replay.tracker.conversations)):
        fast = CaptureIndex(replay, conn)
        slow = TimelineIndex(replay.timeline(conn))
        assert fast.sync() == slow.sync()
        n = fast.synced
        assert (fast.line_count, fast.row_count) == (slow.line_count, slow.row_count)
        for role in ("client", "server"):
            assert list(fast.changes[role]) == list(slow.changes[role])
            for cursor in range(n):
                assert fast.changed_at(role, cursor) == slow.changed_at(role, cursor)
                assert fast.history(role, cursor, 8) == slow.history(role, cursor, 8)
        for i in range(n):
            assert fast.row_of_frame(i) == slow.row_of_frame(i) and fast.line_of_frame(i) == slow.line_of_frame(i)
            assert fast.lines_upto(i) == slow.lines_upto(i) and fast.rows_upto(i) == slow.rows_upto(i)
            assert fast.timeline[i] == slow.timeline[i]


def test_endpoints_before_the_first_segment_are_the_trackers_start():
    replay = replay_file(COURSE)
    client, server = CaptureIndex(replay, 0).initial_views()
    assert (client.addr, client.port, client.state.value) == ("10.21.71.101", 52296, "CLOSED")
    assert (server.addr, server.port, server.state.value) == ("118.178.116.8", 80, "LISTEN")
    header, records = pcap_records(COURSE.read_bytes())
    midstream = Replay("midstream")
    midstream.feed(header + b"".join(rec for _, _, rec in records[3:]))
    assert [v.state.value for v in CaptureIndex(midstream, 0).initial_views()] == ["ESTABLISHED", "ESTABLISHED"]


def test_capture_index_follows_a_growing_conversation_and_revisions():
    data = COURSE.read_bytes()
    header, records = pcap_records(data)
    replay = Replay("growing")
    replay.feed(header + b"".join(rec for _, _, rec in records[:2]))
    index = CaptureIndex(replay, 0)
    assert index.sync() == 2
    replay.feed(b"".join(rec for _, _, rec in records[2:]))
    assert index.sync() == 13
    full = replay_file(COURSE)
    slow = TimelineIndex(full.timeline(0))
    slow.sync()
    assert list(index.changes["client"]) == list(slow.changes["client"])
    # A revision of a row of the conversation: the changes are worked out again.
    assert index.revise({replay.tracker.conversations[0].rows[5]})
    assert list(index.changes["server"]) == list(slow.changes["server"])
    assert not index.revise(set())


@run_async
async def test_explanation_pane_says_what_the_segment_did():
    app = app_for(COURSE)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        text = app.screen.query_one(ExplainPane).text
        assert text.startswith("#1 · Client → Server SYN") and "RFC 9293" in text
