"""The quiz screen: predict each next step of a connection, then see the answer and why.

The quiz (core/quiz.py) walks a timeline frame by frame. For each frame the screen shows
what is about to happen and asks the questions one at a time (1-9 pick a choice), then
reveals the right answer with the frame's own explanation (the RFC 9293 rule the lab
applied). n, space or Enter go to the next step; q (or Escape) ends the quiz and shows
the score; l switches between English and Chinese. Everything works from the keyboard.

`QuizScreen(source, ...)` takes a `frame_at(i)` function: `tcp-lab quiz` gives it a
finished simulation's timeline (QuizApp); the lab's `z` key (`open_quiz(lab_screen)`)
gives it the lab's own controller, so the quiz starts at the lab's current step, makes
new steps as the lab would, and leaves the lab on the last step answered.

Over the replay and live screens (`z` there too) the quiz reads one conversation of a
capture through `CaptureQuizFrames`: a replay with memory limits (core/limits.py) can drop
the conversation's oldest segments while the quiz is open (every position shifts down) or
forget the whole conversation. The quiz is a fixed exercise: it takes the frames it will
ask about when it opens (and those that arrive while it is open) and counts its steps as
the conversation's positions were when it opened; a trim changes nothing it asks, and leaving puts the screen on the last segment answered
(or the oldest kept, if that one went). A forgotten conversation ends the quiz with one
line that says so, and the score so far.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from tcp_lab.core.explain import render
from tcp_lab.core.frame import Explanation, Frame
from tcp_lab.core.quiz import Answer, Quiz, question_text
from tcp_lab.core.states import State

from .interrupts import CTRL_C, CtrlCQuits
from .privilege import NoStrayFiles
from .timeline_view import event_heading
from .too_small import MinimumSize


def t(key: str, lang: str, **params: Any) -> str:
    return render(Explanation(key, params), lang)


#: Why a quiz over a capture ended early (the memory limits took its conversation away).
CUT_SHORT: dict[str, dict[str, str]] = {
    "forgotten": {
        "en": "Connection #{n} was forgotten to bound memory (see --max-conns): the quiz ends here.",
        "zh": "为限制内存，连接 #{n} 已被忘记（见 --max-conns）：测验到此结束。",
    },
    "passed": {
        "en": "Connection #{n}'s next segments were dropped to bound memory (see --max-segments-per-conn) "
              "before the quiz reached them: the quiz ends here.",
        "zh": "为限制内存，连接 #{n} 接下来的报文段在测验到达之前已被丢弃（见 --max-segments-per-conn）：测验到此结束。",
    },
}

#: Frames a quiz over a capture holds ahead of the step it is on (about 45 µs each to
#: build; a quiz of this many steps asks some 700 questions).
TAKEN_FRAMES = 256


class CaptureQuizFrames:
    """`frame_at(i)` for a quiz over one conversation of a capture (a CaptureStepper and
    its CaptureIndex, tui/replay_app.py): frame i is the one at position i when the quiz
    opened, whatever the memory limits dropped since.

    It takes the next `ahead` frames when the quiz opens, and (`take`, each time the screen
    below repaints) those that arrive later, up to `ahead` past the step the quiz is on:
    the limits drop segments only when a later batch arrives, so a segment the screen has
    shown is taken before it can go. Each step is read by its segment number in the
    conversation (position + the segments dropped before it): as the replay has it now
    while that segment is kept (hindsight may have rewritten its states since), else the
    frame taken. A segment dropped before it was taken, or the conversation forgotten,
    ends the quiz: `why_ended(lang)` says which."""

    def __init__(self, controller: Any, start: int, ahead: int | None = None) -> None:
        self.controller = controller
        self.index = controller.index
        controller.length  # noqa: B018  (brings the index up to date)
        #: Segments of the conversation dropped before position 0, when the quiz opened.
        self.base = self.index.dropped
        self.ahead = TAKEN_FRAMES if ahead is None else ahead
        self.taken: dict[int, Frame] = {}
        #: The first frame not taken yet (they are taken in order).
        self.upto = max(0, start)
        self.why: str | None = None
        self.take(start)

    def offset(self) -> int:
        """Position now of the quiz's frame i, minus i (the segments dropped since it opened, negated)."""
        self.controller.length  # noqa: B018  (follows what the limits dropped)
        return self.base - self.index.dropped

    def position(self, i: int) -> int:
        """Where the quiz's frame i is in the conversation now (< 0: dropped)."""
        return i + self.offset()

    def take(self, current: int) -> None:
        """Keep the frames from the quiz's step `current` on; take those kept now that are
        not taken yet, up to `ahead` past it."""
        if self.why is not None or self.gone():
            return
        offset = self.offset()
        n = self.controller.length
        for i in [i for i in self.taken if i < current]:
            del self.taken[i]
        lo = max(self.upto, current, -offset)
        hi = min(current + self.ahead, n - offset)
        timeline = self.controller.timeline
        for i in range(lo, hi):
            self.taken[i] = timeline[i + offset]
        self.upto = max(self.upto, hi)

    def __call__(self, i: int) -> Frame | None:
        if self.why is not None or self.gone():
            return None
        pos = self.position(i)
        if 0 <= pos < self.controller.length:
            return self.controller.timeline[pos]
        frame = self.taken.get(i)
        if frame is None and pos < 0:
            self.why = "passed"
        return frame

    def gone(self) -> bool:
        """True once the replay forgot the conversation (--max-conns)."""
        if self.why is None and self.index.forgotten:
            self.why = "forgotten"
        return self.why == "forgotten"

    def why_ended(self, lang: str) -> str | None:
        """The sentence saying why the quiz ended early, or None."""
        self.gone()
        if self.why is None:
            return None
        entry = CUT_SHORT[self.why]
        return (entry.get(lang) or entry["en"]).format(n=self.index.conn)


def score_text(quiz: Quiz, lang: str) -> str:
    kinds = quiz.by_kind()
    asked = quiz.asked
    percent = round(100 * quiz.score / asked) if asked else 0
    return t(
        "quiz.score",
        lang,
        right=quiz.score,
        asked=asked,
        percent=percent,
        state_right=kinds["state"][0],
        state_asked=kinds["state"][1],
        flags_right=kinds["flags"][0],
        flags_asked=kinds["flags"][1],
        ack_right=kinds["ack"][0],
        ack_asked=kinds["ack"][1],
    )


class QuizScreen(Screen):
    """Predict, answer, see why; the score at the end."""

    DEFAULT_CSS = """
    QuizScreen { layout: vertical; }
    #quiz-history { height: 1fr; border-top: solid $primary; padding: 0 1; color: $text-muted; }
    #quiz-states { height: auto; padding: 0 1; text-style: bold; }
    #quiz-question { height: auto; border-top: solid $primary; padding: 0 1; }
    #quiz-feedback { height: auto; min-height: 3; border-top: solid $primary; padding: 0 1; }
    QuizScreen.-tall #quiz-feedback { min-height: 6; }
    """

    BINDINGS = [
        *[Binding(str(k), f"choose({k})", str(k), show=False) for k in range(1, 10)],
        Binding("n,space,enter,right", "go_on", "Next", show=True),
        Binding("l", "toggle_lang", "中文/EN"),
        Binding("q,escape", "finish", "Quit quiz"),
    ]

    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    def __init__(
        self,
        frame_at: Callable[[int], Frame | None],
        *,
        title: str = "tcp-lab",
        lang: str = "en",
        start: int = 0,
        before: tuple[State, State] = (State.CLOSED, State.CLOSED),
        on_leave: Callable[["QuizScreen"], None] | None = None,
        history: list[str] | None = None,
        capture: CaptureQuizFrames | None = None,
    ) -> None:
        super().__init__(id="quiz")
        self.quiz = Quiz(frame_at, start=start, before=before)
        self.quiz_title = title
        self.lang = lang
        self.frame: Frame | None = None
        self.revealed: list[Answer] = []
        self.finished = False
        self.on_leave = on_leave
        self.history: list[str] = list(history or [])
        #: The frames of a quiz over a capture (what `frame_at` is then), else None.
        self.capture = capture
        #: True when the quiz ended because its source went away (the reason is shown).
        self.cut_short = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="?")
        with Vertical(id="quiz-body"):
            yield Static(id="quiz-history")
            yield Static(id="quiz-states")
            yield Static(id="quiz-question")
            yield Static(id="quiz-feedback")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.frame = self.quiz.next_step()
        if self.frame is None:
            self._end()
        self.refresh_all()

    def _end(self) -> None:
        self.finished = True
        self.cut_short = bool(self.capture is not None and self.capture.why_ended(self.lang))

    def lab_changed(self) -> None:
        """The screen under the quiz changed what it shows (a capture grew, or the memory
        limits took something away): the frames that arrived are taken; if the quiz's
        conversation is gone, the quiz ends now, with the line that says so and the score
        so far."""
        capture = self.capture
        if self.finished or capture is None or not self.is_mounted:
            return
        capture.take(max(self.quiz.index, self.quiz.start))
        if capture.why_ended(self.lang):
            self._end()
            self.refresh_all()

    # -- what the screen shows --------------------------------------------------------

    @property
    def waiting_for_answer(self) -> bool:
        return bool(self.quiz.pending) and not self.finished

    def refresh_all(self) -> None:
        lang = self.lang
        self.title = t("quiz.title", lang, title=self.quiz_title)
        self.sub_title = t("quiz.progress", lang, step=max(self.quiz.index + 1, 0), right=self.quiz.score, asked=self.quiz.asked)
        history = self.query_one("#quiz-history", Static)
        lines = self.history[-30:]
        history.update(Text("\n".join(lines)))
        history.scroll_end(animate=False)
        client, server = self.quiz.before
        self.query_one("#quiz-states", Static).update(t("quiz.states_now", lang, client=client.value, server=server.value))
        question = self.query_one("#quiz-question", Static)
        feedback = self.query_one("#quiz-feedback", Static)
        if self.finished:
            why = self.capture.why_ended(lang) if self.cut_short and self.capture is not None else None
            question.update(Text(why or t("quiz.done", lang), style="bold"))
            feedback.update(Text(score_text(self.quiz, lang) + "\n" + ("按 q 退出" if lang == "zh" else "Press q to leave."), style="bold"))
            return
        frame = self.frame
        assert frame is not None
        body = Text()
        if self.quiz.pending:
            q = self.quiz.pending[0]
            body.append(render(q.prompt, lang) + "\n", style="bold")
            body.append(render(question_text(q), lang) + "\n")
            for k, choice in enumerate(q.choices, start=1):
                body.append(f"  {k}  ", style="bold reverse")
                body.append(f" {choice}\n")
            body.append(t("quiz.keys", lang, n=len(q.choices)), style="dim")
        else:
            first = self.revealed[0].question.prompt if self.revealed else None
            if first is not None:
                body.append(render(first, lang) + "\n", style="bold")
            else:
                from tcp_lab.core.quiz import prompt

                body.append(render(prompt(self.quiz.before, frame), lang) + "\n", style="bold")
            body.append(event_heading(frame, lang))
        question.update(body)
        feedback.update(self.feedback_text())

    def feedback_text(self) -> Text:
        lang = self.lang
        out = Text()
        for a in self.revealed:
            if a.correct:
                out.append("✓ " + t("quiz.right", lang, answer=a.question.right) + "\n", style="bold green")
            else:
                out.append(
                    "✗ " + t("quiz.wrong", lang, chosen=a.question.choices[a.chosen], answer=a.question.right) + "\n",
                    style="bold red",
                )
        if not self.quiz.pending and self.frame is not None:
            why = render(self.frame.explain, lang)
            if why:
                out.append(f"{t('quiz.why', lang)}: ", style="bold")
                out.append(why + "\n")
            out.append(t("quiz.continue", lang) if self.revealed else t("quiz.watch", lang), style="dim")
        return out

    # -- keys -------------------------------------------------------------------------

    def action_choose(self, number: int) -> None:
        if not self.waiting_for_answer:
            return
        q = self.quiz.pending[0]
        if not 1 <= number <= len(q.choices):
            self.notify(t("quiz.keys", self.lang, n=len(q.choices)), severity="warning", timeout=3)
            return
        self.revealed.append(self.quiz.answer(number - 1))
        if not self.quiz.pending and self.frame is not None:
            self.history.append(event_heading(self.frame, self.lang))
        self.refresh_all()

    def action_go_on(self) -> None:
        if self.finished:
            return
        if self.quiz.pending:
            q = self.quiz.pending[0]
            self.notify(t("quiz.keys", self.lang, n=len(q.choices)), timeout=3)
            return
        if self.frame is not None and not self.revealed:
            self.history.append(event_heading(self.frame, self.lang))
        self.revealed = []
        self.frame = self.quiz.next_step()
        if self.frame is None:
            self._end()
        self.refresh_all()

    def action_toggle_lang(self) -> None:
        self.lang = "zh" if self.lang == "en" else "en"
        self.refresh_all()

    def action_finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.refresh_all()
            return
        self.leave()

    def leave(self) -> None:
        if self.on_leave is not None:
            self.on_leave(self)
        else:
            self.app.exit(self.quiz.score)

    @property
    def last_answered(self) -> int:
        """The index of the last frame the student has seen answered (or watched)."""
        if self.quiz.pending:
            return self.quiz.index - 1
        return self.quiz.index


class QuizApp(CtrlCQuits, MinimumSize, NoStrayFiles, App[int]):
    """`tcp-lab quiz`: the quiz over a finished simulation's timeline. ctrl+c quits; a
    terminal too small gets one sentence (tui/interrupts.py, tui/too_small.py)."""

    TITLE = "tcp-lab quiz"
    BINDINGS = [CTRL_C]

    def __init__(self, timeline: Any, *, title: str, lang: str = "en") -> None:
        super().__init__()
        self.timeline = timeline
        self.quiz_title = title
        self.lang = lang

    def frame_at(self, i: int) -> Frame | None:
        return self.timeline[i] if 0 <= i < len(self.timeline) else None

    def get_default_screen(self) -> Screen:
        return QuizScreen(self.frame_at, title=self.quiz_title, lang=self.lang)

    @property
    def quiz(self) -> Quiz:
        screen = self.screen
        assert isinstance(screen, QuizScreen)
        return screen.quiz


def open_quiz(lab_screen: Any) -> None:
    """Start a quiz at the lab's current step (the lab's `z` key). New steps are made by the
    lab's controller as the quiz goes; leaving the quiz leaves the lab on the last step
    answered."""
    controller = lab_screen.controller
    capture = hasattr(controller.index, "forgotten")
    if capture:
        controller.length  # noqa: B018  (the cursor follows what the limits dropped)
    start = controller.cursor + 1
    frames: CaptureQuizFrames | None = None
    frame_at: Callable[[int], Frame | None]
    if capture:
        # One conversation of a capture: positions may shift under the quiz.
        frames = frame_at = CaptureQuizFrames(controller, start)
    else:

        def frame_at(i: int) -> Frame | None:
            while i >= controller.length:
                if not controller.extend():
                    return None
            return controller.timeline[i]

    if controller.cursor >= 0:
        now = controller.timeline[controller.cursor]
        before = (now.client.state, now.server.state)
    else:
        initial = controller.initial_views()
        before = (initial[0].state, initial[1].state) if initial else (State.CLOSED, State.CLOSED)
    history = [event_heading(controller.timeline[i], lab_screen.lang) for i in range(max(0, start - 12), start)]

    def leave(screen: QuizScreen) -> None:
        last = screen.last_answered
        lab_screen.app.pop_screen()
        # (A forgotten conversation: the screen shows another one now; it stays as it is.)
        if last >= 0 and lab_screen.controller is controller:
            controller.jump(frames.position(last) if frames is not None else last)
        lab_screen.show()
        lab_screen.notify(score_text(screen.quiz, lab_screen.lang), timeout=8)

    scenario = getattr(controller, "scenario", None)
    title = scenario.title.get(lab_screen.lang, scenario.title["en"]) if scenario is not None else "tcp-lab"
    lab_screen.app.push_screen(
        QuizScreen(
            frame_at,
            title=title,
            lang=lab_screen.lang,
            start=start,
            before=before,
            on_leave=leave,
            history=history,
            capture=frames,
        )
    )
