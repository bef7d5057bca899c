"""A real terminal (tmux) around one tcp-lab run, for the interrupt and resize tests.

`Terminal(command)` starts a detached tmux session on a private server socket, 100x30,
running `command` (a shell command line: pipes and ``ip netns exec`` allowed) inside a
bash wrapper that:

- ignores nothing: it traps SIGINT with a no-op (a ctrl+c typed while the terminal is
  cooked goes to the whole foreground group; the trap keeps the wrapper alive to report,
  and a trap, unlike an ignore, is reset in the child, so tcp-lab gets the default);
- saves the terminal modes (``stty -g``) before the command and compares them after;
- prints ``EXITED <code> STTY same|changed`` and ``MODES`` with the state of five modes a
  raw-mode app turns off (icanon, echo, isig, icrnl, opost; ``-echo`` if still off), then
  waits.

So after tcp-lab ends, `result()` says its exit code, whether every terminal mode is back
as it was (echo, canonical mode, signals, ...), and `restored()` checks what tmux knows of
the screen: the alternate screen left, the cursor visible, no mouse reporting left on.

`pid()` is tcp-lab's own process id (the wrapper's child whose command line names
tcp-lab), for signals sent from outside, by id.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 100, 30

WRAPPER = r"""
trap : INT
before=$(stty -g)
eval "$TCP_LAB_COMMAND"
rc=$?
after=$(stty -g)
if [ "$before" = "$after" ]; then same=same; else same=changed; fi
echo "EXITED $rc STTY $same"
echo "MODES $(stty -a | grep -owE -- '-?(icanon|echo|isig|icrnl|opost)' | tr '\n' ' ')"
exec sleep 120
"""

#: tmux flags that must all be 0 once a full-screen app has ended (mouse reporting off).
MOUSE_FLAGS = ("mouse_any_flag", "mouse_button_flag", "mouse_all_flag", "mouse_sgr_flag", "mouse_standard_flag")


def tcp_lab_command() -> str:
    venv = Path(sys.executable).parent / "tcp-lab"
    assert venv.exists(), "tcp-lab is not installed in this environment (uv sync installs it)"
    return str(venv)


class Terminal:
    """One tcp-lab run in a detached tmux session."""

    def __init__(self, command: str, env: dict[str, str] | None = None, width: int = WIDTH,
                 height: int = HEIGHT) -> None:
        self.socket = f"tcplab-{uuid.uuid4().hex[:8]}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("TMUX") and k not in ("COLUMNS", "LINES")}
        base["TERM"] = "xterm-256color"
        base.update(env or {})
        base["TCP_LAB_COMMAND"] = command
        self.env = base
        self.run("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "t", "bash", "-c", WRAPPER)

    def run(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                             env=self.env, cwd=ROOT, timeout=10)
        if out.returncode:
            raise RuntimeError(f"tmux {args[0]}: {out.stderr.strip()}")
        return out.stdout

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env)

    # -- the screen ---------------------------------------------------------------------------

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def flag(self, name: str) -> str:
        return self.run("display-message", "-p", "-t", "t", f"#{{{name}}}").strip()

    def resize(self, width: int, height: int) -> None:
        self.run("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def wait_for(self, predicate, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        text = self.screen()
        while not predicate(text):
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen did not become as expected:\n{text}")
            time.sleep(0.05)
            text = self.screen()
        return text

    def settled(self, quiet: float = 0.3, timeout: float = 15.0) -> str:
        """The screen once it has not changed for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        text = self.screen()
        still = time.monotonic()
        while time.monotonic() - still < quiet:
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen kept changing:\n{text}")
            time.sleep(0.04)
            now = self.screen()
            if now != text:
                text, still = now, time.monotonic()
        return text

    def screen_up(self) -> bool:
        return self.flag("alternate_on") == "1"

    # -- the process ----------------------------------------------------------------------------

    def pid(self, timeout: float = 10.0) -> int:
        """tcp-lab's process id: the wrapper's child running tcp-lab (waits for it)."""
        shell = int(self.flag("pane_pid"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kids = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True, text=True).stdout.split()
            for kid in kids:
                try:
                    cmdline = Path(f"/proc/{kid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"tcp-lab" in cmdline and b"TCP_LAB_COMMAND" not in cmdline:
                    return int(kid)
            time.sleep(0.01)
        raise AssertionError("tcp-lab did not start")

    def result(self, timeout: float = 15.0) -> tuple[int, bool, str]:
        """(exit code, terminal modes as before, the screen) once tcp-lab has ended."""
        screen = self.wait_for(lambda s: re.search(r"EXITED \d+ STTY \w+", s) is not None and "MODES " in s, timeout)
        m = re.search(r"EXITED (\d+) STTY (\w+)", screen)
        assert m is not None
        return int(m.group(1)), m.group(2) == "same", screen

    def restored(self, screen: str) -> None:
        """Everything a full-screen app changes is back (call after `result()`)."""
        assert self.flag("alternate_on") == "0", "still on the alternate screen"
        assert self.flag("cursor_flag") == "1", "the cursor is still hidden"
        for name in MOUSE_FLAGS:
            assert self.flag(name) in ("0", ""), f"{name} is still on"
        line = next(line for line in screen.splitlines() if line.startswith("MODES "))
        modes = set(line.split()[1:])
        assert modes == {"icanon", "echo", "isig", "icrnl", "opost"}, f"terminal modes after the run: {line}"
        assert "Traceback" not in screen and "KeyboardInterrupt" not in screen, screen

