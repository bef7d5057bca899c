"""The lab screen: a Textual app that steps through a simulated TCP connection.

`run_lab(simulation, lang)` is the entry point of `tcp-lab` / `tcp-lab lab` on a terminal.
The screen (LabScreen) is a TimelineView (both endpoints, ladder, segment log,
explanation) driven by a LabController; its keys come from tui/keys.py and every one of
them is also a command in the palette (ctrl+p, LabCommands). The teaching tools (state
diagram, quiz, exports: tui/teach.py) are mixed in.

Lab mode never imports scapy (tests check sys.modules after mounting).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer as TextualTimer
from textual.widgets import Footer, Header

from .controller import LabController, NoTimer, Stepper
from .interrupts import CTRL_C, CtrlCQuits, run_app
from .keys import bindings
from .ladder import Ladder
from .privilege import NoStrayFiles
from .segment_log import SegmentLog
from .teach import TeachingMixin
from .timeline_view import TimelineView
from .too_small import MinimumSize
from .ui_text import ui

# The modal screens (help, scenario chooser, app-call menu) and the command palette's
# provider are imported when first used: the lab must open fast (issue 3: < 0.5 s).


def lang_text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return value.get(lang) or value.get("en") or ""
    return str(value or "")


class LabScreen(TeachingMixin, Screen):
    """The main screen: a TimelineView stepped by the keys of tui/keys.py; g, z and e open
    the teaching tools (tui/teach.py)."""

    BINDINGS = bindings()

    #: 36 rows and more: room for the state in large type (lab.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    def __init__(
        self,
        controller: Stepper,
        *,
        lang: str = "en",
        highlight_seconds: float | None = 1.5,
        play_interval: float = 1.0,
        scenarios: Callable[[], Iterable[Any]] | None = None,
    ) -> None:
        super().__init__(id="lab")
        self.controller = controller
        self.lang = lang
        self.absolute = False
        self.highlight_seconds = highlight_seconds
        self.play_interval = play_interval
        self._scenarios = scenarios
        self._player: TextualTimer | None = None
        self._end_noted: tuple[int, int] | None = None

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⇄")
        yield TimelineView(self.controller.index, reveal="upto", highlight_seconds=self.highlight_seconds, id="view")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show()

    @property
    def view(self) -> TimelineView:
        return self.query_one(TimelineView)

    @property
    def lab(self) -> LabController | None:
        return self.controller if isinstance(self.controller, LabController) else None

    def scenario(self) -> Any:
        lab = self.lab
        return lab.scenario if lab is not None else None

    def show(self) -> None:
        """Bring every pane to the controller's cursor."""
        c = self.controller
        sc = self.scenario()
        title = lang_text(sc.title, self.lang) if sc is not None else getattr(c.timeline, "title", "tcp-lab")
        intro = None
        if c.cursor < 0:
            goal = lang_text(sc.goal, self.lang) if sc is not None else ""
            body = ui("start_hint", self.lang) + (f"\n\n{ui('goal', self.lang)}: {goal}" if goal else "")
            intro = (title, body)
        self.view.show(c.cursor, absolute=self.absolute, lang=self.lang, intro=intro, initial=c.initial_views())
        self.title = title
        self.sub_title = self.status_text()

    def status_text(self) -> str:
        """The header's right part: the step, and relative or absolute numbers. The lab
        shows no total (the timeline grows as you step; the same step must look the same
        when you come back to it); a fixed timeline (a capture) shows "of N"."""
        c = self.controller
        if c.cursor < 0:
            step = ui("before_start", self.lang)
        elif c.more_may_come:
            step = ui("step_only", self.lang).format(n=c.cursor + 1)
        else:
            step = ui("step", self.lang).format(n=c.cursor + 1, total=c.length)
        seq = ui("seq_absolute" if self.absolute else "seq_relative", self.lang)
        return f"{step} · {seq}"

    # -- stepping ---------------------------------------------------------------------

    def action_next(self) -> None:
        self._step_on()

    def _step_on(self) -> bool:
        """One step on (at the end, the simulation makes the next event happen). False,
        and play stops, when nothing more happens or a scripted step can't run."""
        try:
            moved = self.controller.next()
        except ValueError as exc:  # a scripted step that can't run after the user's actions
            self._stop_play()
            self.notify(str(exc), severity="warning", timeout=8)
            return False
        if moved:
            self.show()
            return True
        self._stop_play()
        self._note_end()
        return False

    def _note_end(self) -> None:
        """Say once (per end reached) that nothing more happens on its own."""
        self.show()
        here = (id(self.controller.timeline), self.controller.length)
        if self.lab is not None and self._end_noted != here:
            self._end_noted = here
            self.notify(ui("end_reached", self.lang), timeout=6)

    def action_prev(self) -> None:
        if self.controller.prev():
            self.show()

    def action_first(self) -> None:
        self.controller.first()
        self.show()

    def action_last(self) -> None:
        self.controller.last()
        self.show()

    def action_play(self) -> None:
        if self._player is not None:
            self._stop_play()
            self.notify(ui("paused", self.lang), timeout=2)
            return
        self._player = self.set_interval(self.play_interval, self._play_step)
        self.notify(ui("playing", self.lang), timeout=2)

    def _stop_play(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._player = None

    def _play_step(self) -> None:
        self._step_on()

    @on(SegmentLog.RowChosen)
    @on(Ladder.LineChosen)
    def _row_chosen(self, event: SegmentLog.RowChosen | Ladder.LineChosen) -> None:
        if self.controller.jump(event.frame):
            self.show()

    # -- the lab's actions --------------------------------------------------------------

    def _lab_only(self) -> LabController | None:
        lab = self.lab
        if lab is None:
            self.notify("Only the lab can change what happens; a capture is what it is.", severity="warning")
        return lab

    def _after_action(self, forked: bool, before: int) -> None:
        if forked:
            self.notify(ui("forked", self.lang).format(n=before + 1), timeout=4)
        self.show()

    def action_timer(self) -> None:
        lab = self._lab_only()
        if lab is None:
            return
        before = lab.cursor
        try:
            forked = lab.fire_timer()
        except NoTimer:
            self.notify(ui("no_timer", self.lang), severity="warning")
            return
        self._after_action(forked, before)

    def action_fault(self, fault: str) -> None:
        lab = self._lab_only()
        if lab is None:
            return
        before = lab.cursor
        try:
            forked = lab.inject(fault)
        except ValueError as exc:
            self.notify(str(exc), severity="warning", title="Not possible now")
            return
        self._after_action(forked, before)

    def app_call(self, role: str, call: str, nbytes: int | None = None) -> None:
        """Make an app call; an illegal one is shown as a notification and changes nothing."""
        lab = self._lab_only()
        if lab is None:
            return
        before = lab.cursor
        try:
            forked = lab.app_call(role, call, nbytes)
        except ValueError as exc:
            self.notify(str(exc), severity="warning", title=f"{role}.{call}() not allowed")
            return
        self._after_action(forked, before)

    def action_call_menu(self, role: str) -> None:
        if self._lab_only() is None:
            return
        from .call_menu import CallMenu

        def chosen(result: tuple[str, int | None] | None) -> None:
            if result is not None:
                self.app_call(role, result[0], result[1])

        self.app.push_screen(CallMenu(role, self.lang), chosen)

    def scenario_list(self) -> list[Any]:
        if self._scenarios is not None:
            found = self._scenarios()
        else:
            from tcp_lab.core.scenario import builtin

            found = builtin()
        if isinstance(found, dict):
            found = found.values()
        return list(found)

    def action_scenarios(self) -> None:
        lab = self._lab_only()
        if lab is None:
            return
        current = getattr(lab.scenario, "name", None)
        from .scenario_picker import ScenarioPicker

        def chosen(name: str | None) -> None:
            if name is not None:
                self.choose_scenario(name)

        self.app.push_screen(ScenarioPicker(self.scenario_list(), current=current, lang=self.lang), chosen)

    def choose_scenario(self, name: str) -> None:
        lab = self._lab_only()
        if lab is None:
            return
        for sc in self.scenario_list():
            if sc.name == name:
                self._stop_play()
                lab.restart(sc)
                self.show()
                return

    # -- display ------------------------------------------------------------------------

    def action_toggle_seq(self) -> None:
        self.absolute = not self.absolute
        self.notify(ui("seq_now_abs" if self.absolute else "seq_now_rel", self.lang), timeout=2)
        self.show()

    def action_toggle_lang(self) -> None:
        self.lang = "zh" if self.lang == "en" else "en"
        self.show()

    def action_help(self) -> None:
        from .help_screen import HelpScreen

        self.app.push_screen(HelpScreen(self.lang))

    def action_quit(self) -> None:
        self.app.exit(0)


def _lab_commands_provider():
    from .commands import LabCommands

    return LabCommands


def lab_screen_of(app: App) -> LabScreen | None:
    for screen in reversed(app.screen_stack):
        if isinstance(screen, LabScreen):
            return screen
    return None


class LabApp(CtrlCQuits, MinimumSize, NoStrayFiles, App[int]):
    """tcp-lab's lab: one LabScreen over a controller. ctrl+c quits like q (or copies the
    selected text) and a terminal too small gets one sentence (tui/interrupts.py,
    tui/too_small.py)."""

    CSS_PATH = "lab.tcss"
    TITLE = "tcp-lab"
    COMMANDS = App.COMMANDS | {lambda: _lab_commands_provider()}
    BINDINGS = [Binding("ctrl+q", "quit_lab", "Quit", show=False, priority=True), CTRL_C]
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        controller: Stepper,
        *,
        lang: str = "en",
        highlight_seconds: float | None = 1.5,
        play_interval: float = 1.0,
        scenarios: Callable[[], Iterable[Any]] | None = None,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.controller = controller
        #: Whether text inputs (the scenario filter) blink their cursor; snapshots turn it off.
        self.cursor_blink = cursor_blink
        self._screen_args = dict(
            lang=lang, highlight_seconds=highlight_seconds, play_interval=play_interval, scenarios=scenarios
        )

    def get_default_screen(self) -> Screen:
        return LabScreen(self.controller, **self._screen_args)  # type: ignore[arg-type]

    @property
    def lab_screen(self) -> LabScreen:
        screen = lab_screen_of(self)
        assert screen is not None
        return screen

    def action_quit_lab(self) -> None:
        self.exit(0)


def simulation_factory(simulation: Any) -> Callable[[Any], Any]:
    """Build new Simulations like `simulation` (same class, same ISN choices) for other
    scenarios."""
    cls = type(simulation)
    kwargs: dict[str, Any] = {}
    for name in ("isn_client", "isn_server", "seed"):
        for attr in (name, f"_{name}"):
            if hasattr(simulation, attr):
                kwargs[name] = getattr(simulation, attr)
                break
    return lambda scenario: cls(scenario, **kwargs)


def lab_app(
    simulation: Any,
    *,
    lang: str = "en",
    highlight_seconds: float | None = 1.5,
    play_interval: float = 1.0,
    cursor_blink: bool = True,
) -> LabApp:
    """The lab app over a Simulation (tests use this with fixed ISNs; snapshots with
    highlight_seconds=None and cursor_blink=False, so that pictures do not depend on timing)."""
    controller = LabController(simulation, simulation_factory(simulation))
    return LabApp(
        controller, lang=lang, highlight_seconds=highlight_seconds, play_interval=play_interval, cursor_blink=cursor_blink
    )


def run_lab(simulation: Any, lang: str = "en") -> int:
    """Run the lab screen on the terminal until the user quits; returns the exit code.

    Textual puts the terminal back (main screen, cursor, modes) when the app ends, also
    when it ends on an error or on SIGINT/SIGTERM/SIGHUP from outside (exit code 128 + the
    signal's number: tui/interrupts.py)."""
    app = lab_app(simulation, lang=lang)
    result = run_app(app)
    if app.return_code not in (None, 0):
        return int(app.return_code)
    return int(result or 0)
