"""The quiz (z) and the state diagram (g) over the replay screen while the memory limits
bite underneath them (core/limits.py; the panes' side: tests/test_tui_limits.py).

A replay with tiny limits is fed in batches through a pipe, as `tcp-lab replay -` (and a
live sniff) feeds it, while the quiz or the diagram is the screen on top. What they show
is read as a user reads it (the question, the choices, the feedback, the score, the
diagram's C and S marks and its caption, the notifications) and held to a replay of the
same bytes without limits:

- the quiz keeps asking about the segments it had when it opened, in order, when the
  conversation's oldest segments (its own among them) are dropped; every answer the
  unlimited replay calls right is marked right; leaving it puts the screen on the last
  segment answered, or on the oldest kept if that one went;
- a quiz that reaches a segment dropped before it could take it (it holds a window of
  frames ahead) ends there with one line saying so;
- a quiz whose conversation is forgotten ends at once with one line saying so and the
  score so far; the keys do nothing more, q leaves it for the neighbour shown;
- the diagram shows the frame under the cursor after every trim (its own, while kept;
  the oldest kept once it went; the neighbour's when the conversation is forgotten; a
  caption that says so when none is left).
"""

from __future__ import annotations

import os
import re

from test_tui_limits import Pipe, connection, records, unlimited
from tui_helpers import run_async, toasts

from tcp_lab.core.limits import Limits
from tcp_lab.core.replay import Replay
from tcp_lab.tui.conn_list import ConnList
from tcp_lab.tui.explain_pane import ExplainPane
from tcp_lab.tui.quiz_screen import QuizScreen
from tcp_lab.tui import quiz_screen
from tcp_lab.tui.replay_app import replay_app
from tcp_lab.tui.state_diagram import DiagramCaption, StateDiagram


class UnderPipe(Pipe):
    """The pipe of tests/test_tui_limits.py, waiting on the replay screen while another
    screen (the quiz, the diagram) is on top."""

    async def send(self, pilot, n: int) -> None:
        batch = self.recs[self.sent : self.sent + n]
        os.write(self._w, b"".join(batch))
        self.sent += len(batch)
        screen = pilot.app.main_screen
        for _ in range(300):
            if screen.replay.frames >= self.sent and not screen._dirty and screen._pump_timer is None:
                break
            await pilot.pause(0.01)
        await pilot.pause()
        await pilot.pause()


def app_on(pipe: Pipe, limits: Limits):
    replay = Replay("stdin", limits=limits)
    return replay_app(replay, pipe.fd, name="stdin", stream=True, highlight_seconds=None, cursor_blink=False)


def heading_frame(app) -> int:
    """The frame number the replay screen's explanation heading names (under any screen)."""
    return int(app.main_screen.query_one(ExplainPane).heading.split(" ", 1)[0].lstrip("#"))


# -- reading and answering the quiz as a user does -------------------------------------------------


def question(app) -> str:
    return str(app.screen.query_one("#quiz-question").render())


def feedback(app) -> str:
    return str(app.screen.query_one("#quiz-feedback").render())


def right_choice(text: str, row: dict, before: dict) -> str:
    """The choice the unlimited replay calls right for the question on the screen."""
    sender = row["from"]
    state = before[sender]["state"]
    peer = "client" if sender == "server" else "server"
    assert f"Next: the {sender} (in {state}) sends the next captured segment to the {peer}." in text
    if "Which control bits" in text:
        return ", ".join(row["flags"])
    if "What acknowledgment number" in text:
        return str(row["ack"])
    asked = re.search(r"What state is the (client|server) in after it\?", text)
    assert asked, text
    return row[asked.group(1)]["state"]


async def answer_step(pilot, expected: dict[int, dict], no: int) -> int:
    """Answer every question of the step on the screen with the choice the unlimited
    replay's frame `no` makes right; each must be marked right, and the revealed step must
    be frame `no`. Returns the questions answered."""
    app = pilot.app
    asked = 0
    while "Press 1-" in (text := question(app)):
        choices = dict((c, k) for k, c in re.findall(r"^\s+(\d)\s+(.+?)\s*$", text, re.M))
        right = right_choice(text, expected[no], expected[no - 1])
        assert right in choices, (right, text)
        await pilot.press(choices[right])
        asked += 1
        assert feedback(app).splitlines()[asked - 1] == f"✓ Right: {right}."
    assert asked and f"#{no} · " in question(app)
    return asked


# -- the quiz -------------------------------------------------------------------------------------


@run_async
async def test_the_quiz_keeps_its_segments_when_the_limits_trim_its_conversation():
    recs = records(connection(40000, data=40))  # 87 segments
    expected = unlimited(recs)
    pipe = UnderPipe(recs)
    app = app_on(pipe, Limits(max_segments_per_conn=20))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            conv = screen.replay.tracker.conversations
            await pipe.send(pilot, 16)
            await pilot.press("p", "n")  # following paused on frame 16
            await pipe.send(pilot, 4)
            await pipe.send(pilot, 10)
            assert heading_frame(app) == 16 and conv[0].dropped == 0
            await pilot.press("z")
            await pilot.pause()
            assert isinstance(app.screen, QuizScreen)
            right = await answer_step(pilot, expected, 17)
            assert app.screen.sub_title == f"step 17 · {right}/{right} right"
            await pilot.press("n")

            # 10 of the conversation's oldest segments go: the quiz asks on, in order.
            await pipe.send(pilot, 10)
            assert conv[0].dropped == 10 and isinstance(app.screen, QuizScreen)
            for no in (18, 19):
                right += await answer_step(pilot, expected, no)
                await pilot.press("n")
            assert app.screen.sub_title == f"step 20 · {right}/{right} right"
            # ... and the screen underneath kept its cursor on the segment the quiz opened on.
            assert heading_frame(app) == 16

            # Now past the quiz's own segments: frames 20-30 go, the quiz still has them.
            for _ in range(2):
                await pipe.send(pilot, 10)
            assert conv[0].dropped == 30
            assert question(app).startswith("Next: the client (in ESTABLISHED)")
            for no in range(20, 23):
                if no > 20:
                    await pilot.press("n")
                right += await answer_step(pilot, expected, no)
            assert app.screen.sub_title == f"step 22 · {right}/{right} right"
            assert not any("Traceback" in t for t in toasts(app))

            # q: the score; q again: back on the replay screen, on the oldest segment kept
            # (the last one answered, frame 22, was dropped).
            await pilot.press("q")
            assert feedback(app).startswith(f"Score: {right} of {right} (100%).")
            assert question(app) == "The quiz is over: every step of the scenario has happened."
            await pilot.press("q")
            await pilot.pause()
            assert app.screen is screen
            assert heading_frame(app) == 31 and screen.controller.cursor == 0
            assert screen.sub_title.startswith("step 1 of those kept · 30 older dropped")
            assert any(t.startswith(f"Score: {right} of {right} (100%).") for t in toasts(app))
    finally:
        pipe.close()


@run_async
async def test_leaving_the_quiz_after_a_trim_lands_on_the_last_segment_answered():
    recs = records(connection(40000, data=40))
    expected = unlimited(recs)
    pipe = UnderPipe(recs)
    app = app_on(pipe, Limits(max_segments_per_conn=20))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            await pipe.send(pilot, 20)
            await pilot.press("p", "n")  # following paused on frame 20
            await pipe.send(pilot, 10)
            assert heading_frame(app) == 20
            await pilot.press("z")
            await pilot.pause()
            right = 0
            for no in (21, 22, 23):
                if no > 21:
                    await pilot.press("n")
                right += await answer_step(pilot, expected, no)
            await pipe.send(pilot, 10)  # frames 1-10 go; 23 is kept, now the 13th
            assert screen.replay.tracker.conversations[0].dropped == 10
            await pilot.press("n")  # frame 24's questions, left unanswered
            assert "Press 1-" in question(app)
            await pilot.press("escape", "escape")
            await pilot.pause()
            assert app.screen is screen
            # The last step answered, frame 23 (not the frame now at its old position, 33).
            assert heading_frame(app) == 23
            assert screen.sub_title.startswith("step 13 of those kept · 10 older dropped")
            assert any(t.startswith(f"Score: {right} of {right} (100%).") for t in toasts(app))
    finally:
        pipe.close()


@run_async
async def test_a_quiz_that_reaches_a_segment_dropped_before_it_was_taken_ends_there(monkeypatch):
    monkeypatch.setattr(quiz_screen, "TAKEN_FRAMES", 2)  # the window: the step on and the next
    recs = records(connection(40000, data=40))
    expected = unlimited(recs)
    pipe = UnderPipe(recs)
    app = app_on(pipe, Limits(max_segments_per_conn=20))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await pipe.send(pilot, 16)
            await pilot.press("p", "n")
            await pipe.send(pilot, 14)
            await pilot.press("z")
            await pilot.pause()
            right = await answer_step(pilot, expected, 17)
            await pilot.press("n")
            await pipe.send(pilot, 10)  # frames 1-10 go; the quiz takes 18 and 19
            await pipe.send(pilot, 10)  # frames 11-20 go, 20 before the quiz took it
            assert app.main_screen.replay.tracker.conversations[0].dropped == 20
            for no in (18, 19):
                right += await answer_step(pilot, expected, no)
                await pilot.press("n")
            assert question(app) == (
                "Connection #0's next segments were dropped to bound memory (see --max-segments-per-conn) "
                "before the quiz reached them: the quiz ends here."
            )
            assert feedback(app).startswith(f"Score: {right} of {right} (100%).")
            await pilot.press("q")
            await pilot.pause()
            assert app.screen is app.main_screen and heading_frame(app) == 21  # the oldest kept
    finally:
        pipe.close()


@run_async
async def test_a_quiz_whose_conversation_is_forgotten_ends_with_one_line_and_the_score():
    recs: list[bytes] = []
    for i in range(6):
        recs += records(connection(40000 + i, data=2), start=len(recs))  # 11 segments each
    expected = unlimited(recs)
    pipe = UnderPipe(recs)
    app = app_on(pipe, Limits(max_conns=2))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            await pipe.send(pilot, 11)
            await pipe.send(pilot, 11)
            conns = screen.query_one(ConnList)
            conns.focus()
            await pilot.press("down")  # connection #1 (frames 12-22), pinned
            await pilot.pause()
            assert screen.selected == 1
            await pilot.press("home", "z")
            await pilot.pause()
            right = await answer_step(pilot, expected, 13)  # the SYN,ACK
            await pilot.press("n")
            assert "Press 1-" in question(app)

            # Two more connections: before the fifth, four kept, #0 and #1 go.
            for _ in range(3):
                await pipe.send(pilot, 11)
            assert screen.replay.tracker.conversations[1] is None
            assert isinstance(app.screen, QuizScreen)
            assert question(app) == "Connection #1 was forgotten to bound memory (see --max-conns): the quiz ends here."
            score = f"Score: {right} of {right} (100%). States 2/2 · control bits 1/1 · ack numbers 1/1."
            assert feedback(app) == f"{score}\nPress q to leave."
            # The keys of a quiz in progress do nothing more.
            await pilot.press("1", "n", "space")
            assert feedback(app) == f"{score}\nPress q to leave."
            await pilot.press("l")
            assert question(app) == "为限制内存，连接 #1 已被忘记（见 --max-conns）：测验到此结束。"
            await pilot.press("l", "q")
            await pilot.pause()
            assert app.screen is screen and screen.selected == 2
            assert "Connection #1 was forgotten to bound memory (see --max-conns); now showing #2." in toasts(app)
            assert score in toasts(app)
            assert 23 <= heading_frame(app) <= 33  # a segment of #2
    finally:
        pipe.close()


# -- the state diagram ----------------------------------------------------------------------------


def caption(app) -> str:
    return str(app.screen.query_one(DiagramCaption).render())


def marked(app) -> tuple[list[str], list[str]]:
    """The states the diagram marks: C before the client's ("▶C ESTABLISHED"), S after the
    server's ("ESTABLISHED ↻✕ S◀")."""
    text = "\n".join(app.screen.query_one(StateDiagram).plain_lines())
    return re.findall(r"\bC ([A-Z][A-Z0-9_]+)", text), re.findall(r"\b([A-Z][A-Z0-9_]+) [ ↻✕]*S\b", text)


@run_async
async def test_the_diagram_shows_the_frame_under_the_cursor_after_each_trim():
    recs = records(connection(40000, data=40)) + records(connection(40001, data=2), start=87)
    expected = unlimited(recs)
    pipe = UnderPipe(recs)
    app = app_on(pipe, Limits(max_segments_per_conn=20))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            conv = screen.replay.tracker.conversations
            await pipe.send(pilot, 20)
            await pipe.send(pilot, 10)
            await pilot.press("home", "n", "n", "g")
            await pilot.pause()
            assert app.screen.id == "state-diagram"
            # Frame 3, the client's ACK: the server enters ESTABLISHED.
            assert "S Server: SYN_RCVD → ESTABLISHED" in caption(app)
            assert app.screen.sub_title.startswith("step 3 ·")

            # Frames 1-10 go, the cursor's among them: the diagram is frame 11's now.
            await pipe.send(pilot, 10)
            assert conv[0].dropped == 10 and heading_frame(app) == 11
            text = caption(app)
            assert "SYN_RCVD" not in text
            assert "C Client: ESTABLISHED (nothing happened to it at this step)" in text
            assert app.screen.sub_title.startswith("step 1 of those kept · 10 older dropped")
            assert marked(app) == (["ESTABLISHED"], ["ESTABLISHED"])

            # The teardown: End (the diagram steps with the replay's keys) on the client's
            # FIN, frame 84; following paused on it by p, n.
            for _ in range(4):
                await pipe.send(pilot, 10)
            await pipe.send(pilot, 4)
            await pilot.press("end", "p", "n")
            assert heading_frame(app) == 84 and not screen.following
            # The client sends its FIN, the server receives it (RFC 9293 3.6, 3.10.7.4 eighth).
            fin = ("C Client: ESTABLISHED → FIN_WAIT_1", "S Server: ESTABLISHED → CLOSE_WAIT")
            assert all(line in caption(app) for line in fin)
            assert (expected[84]["client"]["state"], expected[84]["server"]["state"]) == ("FIN_WAIT_1", "CLOSE_WAIT")
            await pipe.send(pilot, 3)  # 85-87
            await pipe.send(pilot, 3)  # the next connection: the limits look, #0 is trimmed
            dropped = conv[0].dropped
            assert dropped > 64 and heading_frame(app) == 84
            # Still frame 84 (its position moved; the frame did not).
            assert all(line in caption(app) for line in fin)
            assert app.screen.sub_title.startswith(f"step {84 - dropped} of those kept · {dropped} older dropped")
            assert marked(app) == (["FIN_WAIT_1"], ["CLOSE_WAIT"])
            # n: frame 85, the server's ACK of the FIN (RFC 9293 3.6).
            await pilot.press("n")
            assert heading_frame(app) == 85
            assert "C Client: FIN_WAIT_1 → FIN_WAIT_2" in caption(app)
            row = expected[85]
            assert marked(app) == ([row["client"]["state"]], [row["server"]["state"]]) == (["FIN_WAIT_2"], ["CLOSE_WAIT"])
            await pilot.press("g")
            await pilot.pause()
            assert app.screen is screen and heading_frame(app) == 85
    finally:
        pipe.close()


@run_async
async def test_the_diagram_over_a_forgotten_conversation_shows_its_neighbour_or_says_none_is_left():
    recs: list[bytes] = []
    for i in range(8):
        recs += records(connection(40000 + i, data=2), start=len(recs))
    expected = unlimited(recs)
    pipe = UnderPipe(recs)
    app = app_on(pipe, Limits(max_conns=2))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            await pipe.send(pilot, 11)
            await pipe.send(pilot, 11)
            await pilot.press("slash", *"40001")  # #1 alone in the list
            await pilot.pause()
            await pilot.press("enter")  # the filter closes on the list, still filtered
            assert screen.selected == 1
            await pilot.press("home", "g")
            await pilot.pause()
            assert "C Client: CLOSED → SYN_SENT" in caption(app)
            for _ in range(3):
                await pipe.send(pilot, 11)
            assert screen.replay.tracker.conversations[1] is None and screen.selected is None
            assert app.screen.id == "state-diagram"
            assert "Connection #1 was forgotten to bound memory (see --max-conns); no connection is left to show." in toasts(app)
            # No made-up CLOSED: the caption says why, and nothing is marked.
            assert caption(app).startswith("Connection #1 was forgotten\nTo bound memory,")
            assert marked(app) == ([], [])
            await pilot.press("n", "p", "end")  # nothing to step: no traceback
            assert caption(app).startswith("Connection #1 was forgotten")
            await pilot.press("g")
            await pilot.pause()
            assert app.screen is screen
            await pilot.press("slash", "escape")  # the filter cleared: #2, #3, #4 are listed
            await pilot.pause()
            assert screen.selected == 2

            # Over a connection shown when it is forgotten: its neighbour's frame.
            await pilot.press("g")
            await pilot.pause()
            await pipe.send(pilot, 11)  # three kept: not over 2 (+1 slack) yet
            await pipe.send(pilot, 11)  # four: #2 and #3 go
            assert screen.replay.tracker.conversations[2] is None
            assert app.screen.id == "state-diagram"
            shown = screen.selected
            assert shown is not None and shown > 3
            assert f"Connection #2 was forgotten to bound memory (see --max-conns); now showing #{shown}." in toasts(app)
            no = heading_frame(app)
            assert 11 * shown < no <= 11 * (shown + 1)  # a segment of the one shown
            row = expected[no]
            assert marked(app) == ([row["client"]["state"]], [row["server"]["state"]])
            assert app.screen.sub_title.startswith(f"step {screen.controller.cursor + 1}")
    finally:
        pipe.close()
