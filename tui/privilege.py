"""Running as root on a user's behalf (``sudo tcp-lab sniff``): write nothing the user did
not ask for, and give them what they did ask for.

Capturing needs root (or CAP_NET_RAW), so `tcp-lab sniff` is often run with sudo from a
user's own checkout or virtual environment, in a folder of theirs. What must then hold:

- The files the user asked for (``--write F.pcap``, the export menu's files) belong to
  the user who ran sudo (SUDO_UID / SUDO_GID), as if they had made them; a file that was
  already there keeps its owner. `give_to_sudo_user(fd)`.
- Nothing else is written. Python would write bytecode caches (``__pycache__/*.pyc``) of
  the modules it imports into the user's tree, owned by root: tui/cli.py's main() turns
  that off first thing (sys.dont_write_bytecode), before it imports anything else.
  scapy would create ~/.config, ~/.local/share and ~/.cache/scapy: tui/live_capture.py
  imports it with nowhere to write. Textual's palette command "Screenshot" would save an
  SVG in ~/Downloads: `NoStrayFiles` leaves it out (the export menu, e, makes screenshots
  in the current folder, given to the user).

`tcp-lab replay` never needs root (a capture from a privileged tcpdump can be piped in).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any


def sudo_user() -> tuple[int, int | None] | None:
    """(uid, gid) of the user who ran sudo, when this process is root on their behalf."""
    if os.geteuid() != 0:
        return None

    def num(name: str) -> int | None:
        value = os.environ.get(name, "")
        return int(value) if value.isdigit() else None

    uid = num("SUDO_UID")
    if uid is None or uid == 0:
        return None
    return uid, num("SUDO_GID")


def give_to_sudo_user(fd: int) -> None:
    """Under sudo, hand the file open on `fd` (just created by us) to the invoking user."""
    owner = sudo_user()
    if owner is None:
        return
    uid, gid = owner
    try:
        os.fchown(fd, uid, gid if gid is not None else -1)
    except OSError:
        pass


class NoStrayFiles:
    """App mixin: the command palette without Textual's "Screenshot" (it saves to
    ~/Downloads, as root under sudo); the export menu (e) makes screenshots instead."""

    def get_system_commands(self, screen: Any) -> Iterable[Any]:
        for command in super().get_system_commands(screen):  # type: ignore[misc]
            if command.title != "Screenshot":
                yield command
