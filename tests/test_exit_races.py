"""The app ending while widgets are still being mounted (ctrl+c or a signal in the first
moments, q during a load): a handler that looks up a child already taken down must not
turn the exit the user asked for into a traceback and exit code 1 (tui/interrupts.py,
CtrlCQuits._handle_exception). tests/e2e/test_interrupts.py presses ctrl+c at such moments
in a real terminal; this holds the rule itself, without timing."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.widgets import Static
from tui_helpers import run_async

from tcp_lab.tui.interrupts import CtrlCQuits


class Probe(CtrlCQuits, App[int]):
    def __init__(self, exit_first: bool) -> None:
        super().__init__()
        self.exit_first = exit_first

    def compose(self) -> ComposeResult:
        yield Static("probe")

    def on_mount(self) -> None:
        if self.exit_first:
            self.exit(return_code=130)  # what a SIGINT before the screen is up does
        self.query_one("#gone")  # a child no longer there: NoMatches


@run_async
async def test_a_lookup_that_fails_while_the_app_ends_is_not_an_error():
    app = Probe(exit_first=True)
    await app.run_async(headless=True, size=(80, 24))  # it ends on its own, in on_mount
    assert app.return_code == 130


@run_async
async def test_the_same_lookup_while_the_app_runs_is_still_an_error():
    app = Probe(exit_first=False)
    await app.run_async(headless=True, size=(80, 24))  # the error ends it
    assert app.return_code == 1 and isinstance(app._exception, NoMatches)
