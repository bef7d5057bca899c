"""The quiz: its answers are the timeline's own states, flags and ack numbers; choices are
moves the transition table allows; the score counts; it runs from the keyboard in the lab
(z) and as `tcp-lab quiz` (screen and text), in English and Chinese."""

from __future__ import annotations

import subprocess
import sys

import pytest
from teach_helpers import finished, teach_app
from tui_helpers import run_async, screen_text

from tcp_lab.core.explain import render
from tcp_lab.core.quiz import Quiz, question_text
from tcp_lab.core.scenario import names
from tcp_lab.core.states import State
from tcp_lab.core.transitions import INDEX


def walk(timeline, pick):
    quiz = Quiz(lambda i: timeline[i] if 0 <= i < len(timeline) else None)
    asked = []
    while (frame := quiz.next_step()) is not None:
        while quiz.pending:
            q = quiz.pending[0]
            asked.append((frame, q))
            quiz.answer(pick(q))
    return quiz, asked


@pytest.mark.parametrize("name", [n for n in names() if n != "free-play"])
def test_the_right_answers_are_what_the_timeline_does(name):
    timeline = finished(name)
    quiz, asked = walk(timeline, lambda q: q.answer)
    assert quiz.score == quiz.asked == len(asked) > 0
    for frame, q in asked:
        if q.kind == "state":
            assert q.right == frame.endpoint(q.role).state.value
        elif q.kind == "flags":
            assert q.right == ", ".join(frame.segment.flag_names)
        else:
            assert q.right == str(frame.ack_rel) and "ACK" in frame.segment.flag_names
        assert len(set(q.choices)) == len(q.choices) >= 2
        assert render(q.prompt, "en") and render(question_text(q), "zh")


def test_state_choices_are_moves_the_table_allows():
    timeline = finished("handshake-teardown")
    quiz, asked = walk(timeline, lambda q: 0)
    for frame, q in asked:
        if q.kind != "state":
            continue
        idx = frame.no - 1
        before = timeline[idx - 1].endpoint(q.role).state if idx > 0 else State.CLOSED
        allowed = {before} | {r.target(s) for (s, _e), r in INDEX.items() if s is before}
        assert {State(c) for c in q.choices} == allowed
    assert quiz.score < quiz.asked


def test_ack_choices_hold_the_classic_slips():
    timeline = finished("handshake-teardown")
    _quiz, asked = walk(timeline, lambda q: q.answer)
    ack_of_data = next(q for f, q in asked if q.kind == "ack" and q.right == "1201")
    assert set(ack_of_data.choices) == {"1", "1200", "1201", "1202"}  # 1: the data's own Seq


def test_wrong_answers_are_counted_per_kind():
    timeline = finished("handshake")
    quiz, asked = walk(timeline, lambda q: (q.answer + 1) % len(q.choices))
    assert quiz.score == 0
    kinds = quiz.by_kind()
    assert sum(a for _r, a in kinds.values()) == len(asked)
    assert kinds["state"][1] == 5 and kinds["flags"][1] == 3 and kinds["ack"][1] == 2


@run_async
async def test_z_in_the_lab_asks_before_each_step_and_leaves_the_lab_there():
    app = teach_app("handshake")
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await pilot.press("n", "z")
        await pilot.pause()
        text = screen_text(app)
        assert "calls connect() while the client is in CLOSED" in text and "What state is the client in" in text
        screen = app.screen
        q = screen.quiz.pending[0]
        await pilot.press(str(q.answer + 1))
        await pilot.pause()
        assert "✓ Right: SYN_SENT." in screen_text(app) and "Why:" in screen_text(app)
        await pilot.press("n")  # the SYN leaves: flags
        await pilot.pause()
        q = screen.quiz.pending[0]
        assert q.kind == "flags" and q.right == "SYN"
        wrong = next(i for i in range(len(q.choices)) if i != q.answer)
        await pilot.press(str(wrong + 1))
        await pilot.pause()
        assert f"✗ Not quite: you chose {q.choices[wrong]}, the answer is SYN." in screen_text(app)
        await pilot.press("q")
        await pilot.pause()
        assert "Score: 1 of 2 (50%)" in screen_text(app)
        await pilot.press("q")
        await pilot.pause()
        assert app.screen.id == "lab" and app.controller.cursor == 2  # the SYN is on the lab's screen


@run_async
async def test_quiz_screen_in_chinese_and_switching_language():
    from tcp_lab.tui.quiz_screen import QuizApp

    app = QuizApp(finished("handshake"), title="三次握手", lang="zh")
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        assert "服务端处于 CLOSED，它的应用程序调用 listen()" in screen_text(app)
        await pilot.press("l")
        await pilot.pause()
        assert "the server's application calls listen()" in screen_text(app)
        for _ in range(40):
            q = app.quiz.pending[0] if app.quiz.pending else None
            await pilot.press(str(q.answer + 1) if q else "n")
            if app.screen.finished:
                break
        await pilot.pause()
        assert app.screen.finished and f"Score: {app.quiz.asked} of {app.quiz.asked} (100%)" in screen_text(app)


def test_tcp_lab_quiz_text_mode_from_stdin():
    timeline = finished("handshake", 1000, 5000)
    _quiz, asked = walk(timeline, lambda q: q.answer)
    answers = "".join(f"{q.answer + 1}\n" for _f, q in asked)
    proc = subprocess.run(
        [sys.executable, "-m", "tcp_lab.tui.cli", "quiz", "handshake", "--format", "text", "--isn-client", "1000", "--isn-server", "5000"],
        input=answers, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Quiz: The three-way handshake"
    assert lines[-1] == f"Score: {len(asked)} of {len(asked)} (100%). States 5/5 · control bits 3/3 · ack numbers 2/2."
    assert proc.stdout.count("✓ Right") == len(asked)
    zh = subprocess.run(
        [sys.executable, "-m", "tcp_lab.tui.cli", "quiz", "--format", "text", "--lang", "zh"],
        input="2\nq\n", capture_output=True, text=True, timeout=60,
    )
    assert zh.returncode == 0 and "得分：1 题答对 1 题（100%）" in zh.stdout.splitlines()[-1]


def test_tcp_lab_quiz_bad_scenario_is_one_sentence():
    proc = subprocess.run([sys.executable, "-m", "tcp_lab.tui.cli", "quiz", "lost-synn", "--format", "text"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "lost-syn" in proc.stderr
