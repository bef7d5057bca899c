"""The installed `tcp-lab` in a real terminal (tmux): keys in, screen out.

A student opens `tcp-lab`, presses n (and t when only a timer is left) and reads the two
endpoint panes; the states of a full handshake and teardown must appear in order. After q
the terminal must be back as it was: the alternate screen left, the cursor visible, the
shell prompt back with the exit status.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 100, 30

STATES = r"\b(CLOSED|LISTEN|SYN_SENT|SYN_RCVD|ESTABLISHED|FIN_WAIT_1|FIN_WAIT_2|CLOSE_WAIT|CLOSING|LAST_ACK|TIME_WAIT)\b"


def tcp_lab_command() -> str:
    """The installed entry point: the project's venv script, else the one on PATH."""
    venv = Path(sys.executable).parent / "tcp-lab"
    if venv.exists():
        return str(venv)
    found = shutil.which("tcp-lab")
    assert found, "tcp-lab is not installed (uv sync installs it)"
    return found


class Tmux:
    """One detached tmux session on a private server socket."""

    def __init__(self, command: str) -> None:
        self.socket = f"tcplab-{uuid.uuid4().hex[:8]}"
        # A clean terminal environment: no outer tmux, and no COLUMNS/LINES (pytest and
        # xdist set them; they would override the size of the tmux window).
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX") and k not in ("COLUMNS", "LINES")}
        env["TERM"] = "xterm-256color"
        self.env = env
        self.run("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", "lab", command)

    def run(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, env=self.env, cwd=ROOT, timeout=10,
        )
        if out.returncode:
            raise RuntimeError(f"tmux {args[0]}: {out.stderr.strip()}")
        return out.stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "lab", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "lab")

    def flag(self, name: str) -> str:
        return self.run("display-message", "-p", "-t", "lab", f"#{{{name}}}").strip()

    def wait_for(self, predicate, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        text = self.screen()
        while not predicate(text):
            if time.monotonic() > deadline:
                raise AssertionError(f"screen did not become as expected:\n{text}")
            time.sleep(0.05)
            text = self.screen()
        return text

    def settled(self, quiet: float = 0.15, timeout: float = 10.0) -> str:
        """The screen once it has stopped changing for `quiet` seconds (a redraw is done)."""
        deadline = time.monotonic() + timeout
        text = self.screen()
        still_since = time.monotonic()
        while time.monotonic() - still_since < quiet:
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen kept changing:\n{text}")
            time.sleep(0.03)
            now = self.screen()
            if now != text:
                text, still_since = now, time.monotonic()
        return text

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env)


def pane_states(screen: str) -> tuple[str, str] | None:
    """The client's and the server's state as the endpoint panes show them: the state name
    in the left half and in the right half of the row under the panes' titles."""
    lines = screen.splitlines()
    title = next((i for i, line in enumerate(lines) if "Client " in line and "Server " in line), None)
    if title is None or title + 1 >= len(lines):
        return None
    half = WIDTH // 2
    line = lines[title + 1]
    client, server = _first_state(line[:half]), _first_state(line[half:])
    if client is None or server is None:
        return None
    return client, server


def _first_state(text: str) -> str | None:
    m = re.search(STATES, text)
    return m.group(1) if m else None


@pytest.fixture
def lab():
    session = Tmux(f"sh -c '{tcp_lab_command()}; echo EXITED $?; exec sleep 60'")
    try:
        yield session
    finally:
        session.kill()


def test_keyboard_alone_walks_a_handshake_and_teardown_then_q_restores_the_terminal(lab: Tmux):
    lab.wait_for(lambda s: pane_states(s) is not None and "Press n" in s)
    screen = lab.settled()
    # The app sized itself to the 100x30 window: the log's title rule spans it.
    assert any(line.startswith("─Segments") and len(line) == WIDTH for line in screen.splitlines()), screen
    assert lab.flag("alternate_on") == "1"
    assert pane_states(screen) == ("CLOSED", "CLOSED")
    seen = {"client": ["CLOSED"], "server": ["CLOSED"]}
    order = ["CLOSED"]
    for _ in range(60):
        before = lab.screen()
        lab.keys("n")
        try:
            lab.wait_for(lambda s: s != before, timeout=3)
        except AssertionError:
            break  # nothing changes any more: the end of the scenario
        screen = lab.settled()
        if "Nothing more happens on its own" in screen:
            break
        states = pane_states(screen)
        assert states is not None, screen
        for role, state in zip(("client", "server"), states):
            if seen[role][-1] != state:
                seen[role].append(state)
                if state not in order:
                    order.append(state)
    assert seen["client"] == ["CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED"]
    assert seen["server"] == ["CLOSED", "LISTEN", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]
    assert order == [
        "CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "CLOSE_WAIT", "FIN_WAIT_2",
        "LAST_ACK", "TIME_WAIT",
    ]
    # The ladder's last line: the client's 2MSL ran out, it is CLOSED.
    assert re.search(r"CLOSED +│ 2MSL timer fires", screen), screen
    assert "[FIN, ACK]" in screen  # the log shows the teardown's segments

    lab.keys("q")
    screen = lab.wait_for(lambda s: "EXITED" in s)
    assert "EXITED 0" in screen
    assert lab.flag("alternate_on") == "0"  # the alternate screen is left
    assert lab.flag("cursor_flag") == "1"  # the cursor is visible again
    # Nothing of the lab is left on the normal screen.
    assert "Segments" not in screen and "Client " not in screen and "ESTABLISHED" not in screen
