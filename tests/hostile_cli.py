"""Running the real `tcp-lab` command on hostile input, for tests: as root or as `nobody`,
with a timeout (a hang is a failure), and the checks every run must pass whatever the
input: no traceback, no "internal error", one line per problem on stderr.

`nobody_argv(argv)` wraps a command so it runs as the unprivileged user `nobody` (group
`nogroup`, no supplementary groups) through `setpriv`. On this machine the Python that the
project's .venv links to lives under /root/.pyenv, and /root is mode 0700: `nobody` could
not even start the interpreter. So the wrapper first enters a private mount namespace
(`unshare --mount`, seen by that process alone) and lays a world-readable tmpfs over /root
with only .pyenv bind-mounted back into it: the host is not changed, and tcp-lab runs with
no privilege at all (a user who installed tcp-lab under their own home needs none of this).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The console script uv installed (faster to start than `uv run`).
TCP_LAB = str(Path(sys.prefix) / "bin" / "tcp-lab")

_NOBODY_SCRIPT = r"""
set -e
real="$(readlink -f "$TCPLAB_PYTHON")"
case "$real" in
  /root/*)
    hold=/tmp/tcp-lab-nobody-hold  # an empty directory; the mount on it is private
    mkdir -p "$hold"
    mount --bind /root "$hold"
    mount -t tmpfs -o mode=755,size=1m tcp-lab-root /root
    top="${real#/root/}"; top="${top%%/*}"
    mkdir -p "/root/$top"
    mount --bind "$hold/$top" "/root/$top"
    ;;
esac
exec setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env -- "$@"
"""


def nobody_argv(argv: list[str]) -> list[str]:
    """`argv` run as user nobody (see the module docstring). Needs root, unshare, setpriv."""
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"running as nobody needs {tool} (util-linux)")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _NOBODY_SCRIPT, "nobody-wrapper", *argv]


def nobody_env() -> dict[str, str]:
    env = dict(os.environ)
    env["TCPLAB_PYTHON"] = sys.executable
    return env


@dataclass
class Run:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def err_lines(self) -> list[str]:
        return self.stderr.splitlines()

    @property
    def out_lines(self) -> list[str]:
        return self.stdout.splitlines()


def run_tcp_lab(args: list[str], *, stdin: bytes | None = None, stdin_file: str | None = None,
                as_nobody: bool = False, timeout: float = 30.0, cwd: str | None = None) -> Run:
    """`tcp-lab ARGS`, stdin from bytes, a file, or nothing (/dev/null)."""
    argv = [TCP_LAB, *args]
    env = dict(os.environ)
    env.pop("TCP_LAB_DEBUG", None)
    if as_nobody:
        argv = nobody_argv(argv)
        env = nobody_env()
    stdin_fh = open(stdin_file, "rb") if stdin_file else None  # noqa: SIM115
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            stdin=stdin_fh if stdin_fh else (None if stdin is not None else subprocess.DEVNULL),
            capture_output=True,
            timeout=timeout,
            env=env,
            cwd=cwd,
        )
    finally:
        if stdin_fh:
            stdin_fh.close()
    return Run(argv, proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def assert_clean(run: Run) -> None:
    """What every run must be, whatever it was given: no traceback, no internal error,
    every stderr line a one-sentence `tcp-lab: ...` message."""
    assert "Traceback" not in run.stderr, f"a traceback:\n{run.stderr}"
    assert "internal error" not in run.stderr, f"an internal error: {run.stderr}"
    assert run.returncode in (0, 2, 3), f"exit {run.returncode}: {run.stderr}"
    for line in run.err_lines:
        assert line.startswith("tcp-lab: "), f"stderr line not a tcp-lab message: {line!r}"


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A fresh directory every user may enter (pytest's tmp_path lives under a 0700
    directory that `nobody` cannot pass through); removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix="tcp-lab-public-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        for p in d.iterdir():
            p.chmod(0o644) if p.is_file() else None
        shutil.rmtree(d, ignore_errors=True)
