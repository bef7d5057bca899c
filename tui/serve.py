"""Browser mode: the lab served to a browser with textual-serve, for a classroom projector.

textual-serve runs a web server; every browser tab that opens it gets its own lab process
(the same `tcp-lab lab` screen, run with Textual's web driver) whose screen is drawn in the
page by xterm.js and whose keys come from the page. Nothing but the lab runs: the command
is fixed here from the arguments, never taken from the browser.

The server listens on 127.0.0.1 unless told otherwise: a lab has no login, so anyone who
can reach the port can use it.
"""

from __future__ import annotations

import shlex
import sys
from typing import Sequence

DEFAULT_PORT = 8000


def lab_command(scenario: str | None = None, lang: str = "en", extra: Sequence[str] = ()) -> str:
    """The command line textual-serve starts for each browser tab: this Python, this
    tcp-lab, the lab screen (``--format tui``: under textual-serve stdout is a pipe, so the
    lab would otherwise choose text output)."""
    words = [sys.executable, "-m", "tcp_lab.tui.cli", "lab"]
    if scenario:
        words.append(scenario)
    words += ["--format", "tui", "--lang", lang, *extra]
    return " ".join(shlex.quote(w) for w in words)


def make_server(command: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT, title: str = "tcp-lab"):
    """A textual-serve Server for `command` (ImportError when textual-serve is missing)."""
    from textual_serve.server import Server

    return Server(command, host=host, port=port, title=title)
