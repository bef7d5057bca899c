"""How tcp-lab's screens end when interrupted: ctrl+c as a key, and signals from outside.

On a screen the terminal is in raw mode, so ctrl+c is a key, not a signal. Textual 8
binds it to "copy the selected text" (on screens and text inputs) and otherwise only says
"press ctrl+q to quit". A terminal user presses ctrl+c to leave, so on every tcp-lab
screen, and in every menu over it (help, scenario chooser, quiz, export, the command
palette), ctrl+c quits the app as q does on the main screen: exit code 0. One exception
is kept from Textual: with text selected (dragged with the mouse), ctrl+c copies it.
`CtrlCQuits` is the App mixin; `CTRL_C` its binding (a priority binding, so a focused
input cannot take the key).

A signal from outside (``kill -INT``, ``-TERM`` or ``-HUP``, or ctrl+c typed while the
terminal is not yet raw) must never leave the terminal raw or on the alternate screen:
`run_app()` runs an app with asyncio signal handlers that end it through Textual's own
exit (which restores the terminal, and lets the command close its files, threads and
sockets afterwards) with the exit code the command chose. Lab and replay use the shell's
convention, 128 + the signal's number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP);
a live sniff uses 0, as the headless sniff and tcpdump do: stopping is what a sniff is
for. A signal the process was told to ignore (``nohup``) stays ignored.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

from textual.binding import Binding

#: The signals that end a running screen cleanly.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def shell_code(signum: int) -> int:
    """The shell's exit status for a process ended by `signum`: 128 + its number."""
    return 128 + int(signum)


def run_app(app: Any, exit_code: Callable[[int], int] = shell_code) -> Any:
    """`app.run()`, but SIGINT, SIGTERM and SIGHUP end the app the way q does (terminal
    restored, the caller's clean-up runs after), with ``return_code = exit_code(signum)``.
    Returns what `app.run()` returns; read `app.return_code` for the code."""

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        installed: dict[int, Any] = {}

        def caught(signum: int) -> None:
            app.exit(return_code=exit_code(signum))

        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                previous = signal.getsignal(sig)
                if previous is signal.SIG_IGN:
                    continue
                try:
                    loop.add_signal_handler(sig, caught, sig)
                except (ValueError, RuntimeError, NotImplementedError):
                    # An event loop that cannot take signal handlers (not Unix, or not
                    # the main thread's): Textual's own handling of the signal stays.
                    continue
                installed[sig] = previous
        try:
            return await app.run_async()
        finally:
            for sig, previous in installed.items():
                loop.remove_signal_handler(sig)
                if previous is not None:
                    signal.signal(sig, previous)

    return asyncio.run(main())


#: ctrl+c on every screen of an app with `CtrlCQuits`.
CTRL_C = Binding("ctrl+c", "ctrl_c", "Quit", show=False, priority=True)


class CtrlCQuits:
    """App mixin: ctrl+c copies the selected text if there is some, else quits (exit 0).
    Put `CTRL_C` in the app's BINDINGS."""

    def action_ctrl_c(self) -> None:
        from textual.widgets import Input
        from textual.widgets.input import Selection

        app: Any = self
        screen = app.screen
        focused = screen.focused
        if isinstance(focused, Input) and focused.selected_text:
            app.copy_to_clipboard(focused.selected_text)
            focused.selection = Selection.cursor(focused.cursor_position)
        elif screen.get_selected_text():
            app.copy_to_clipboard(screen.get_selected_text())
            screen.clear_selection()
        else:
            app.exit(0)
            return
        # The selection is cleared, so a second ctrl+c quits.
        app.notify("Copied the selected text; ctrl+c again quits.", timeout=3)

    def _handle_exception(self, error: Exception) -> None:
        """Once the app is ending (q, ctrl+c, a signal), widgets are being taken down while
        handlers still run: a mount handler or a title watcher (Textual's own Header) that
        looks up a child already removed gets NoMatches (or NoScreen). That is the exit the
        user asked for, not an error: Textual would print a traceback and return 1."""
        from textual.css.query import NoMatches
        from textual.dom import NoScreen

        app: Any = self
        if app._exit and isinstance(error, (NoMatches, NoScreen)):
            return
        super()._handle_exception(error)  # type: ignore[misc]
