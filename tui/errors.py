"""Errors the command line turns into one sentence on stderr and an exit code (DESIGN.md)."""

from __future__ import annotations

#: Bad input or usage: an unknown scenario, a malformed file, a bad option.
EXIT_USAGE = 2
#: A missing permission or device: no right to capture, no such interface.
EXIT_PERMISSION = 3


class CliError(Exception):
    """An error the user can act on: printed as one sentence, no traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class PermissionProblem(CliError):
    """A missing permission or device (exit code 3)."""

    exit_code = EXIT_PERMISSION
