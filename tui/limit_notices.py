"""What the memory limits did (core/limits.py), as lines on stderr for the headless
commands (`tcp-lab replay -`, `tcp-lab sniff --format text|json`).

A busy capture can reach a limit every second; one line each time would bury stderr. So
the first notice of each kind is printed at once; later ones of that kind are added up
(conversations forgotten, segments dropped) and printed at most every `interval`
seconds, and `flush()` prints what is left at the end (before the commands' closing
`Replay.memory_note` line with the totals).
"""

from __future__ import annotations

import sys
import time
from typing import IO

from tcp_lab.core.limits import Notice

#: Values that add up when notices of one kind are merged (the rest: the latest counts).
_SUMMED = {"count", "dropped"}


def _merge(older: Notice, newer: Notice) -> Notice:
    if newer.kind == "trim":  # one conversation's running figures: the latest says it all
        return newer
    values = dict(newer.values)
    for key in _SUMMED & values.keys():
        values[key] = older.values.get(key, 0) + newer.values[key]
    return Notice(newer.kind, values)


class NoticePrinter:
    """Prints a replay's notices on stderr, at most one line per kind per interval."""

    def __init__(self, prefix: str = "tcp-lab: ", interval: float = 5.0, lang: str = "en", out: IO[str] | None = None):
        self.prefix = prefix
        self.interval = interval
        self.lang = lang
        self.out = out
        self._last: dict[str, float] = {}
        self._pending: dict[str, Notice] = {}

    def __call__(self, replay) -> None:
        """Take the replay's new notices; print those whose kind may speak now."""
        pending = self._pending
        for notice in replay.take_notices():
            old = pending.get(notice.kind)
            pending[notice.kind] = notice if old is None else _merge(old, notice)
        now = time.monotonic()
        for kind in list(pending):
            last = self._last.get(kind)
            if last is None or now - last >= self.interval:
                self._last[kind] = now
                self._print(pending.pop(kind))

    def flush(self) -> None:
        """Print what is still held back."""
        for kind in list(self._pending):
            self._print(self._pending.pop(kind))

    def _print(self, notice: Notice) -> None:
        out = self.out if self.out is not None else sys.stderr
        print(f"{self.prefix}{notice.text(self.lang)}.", file=out, flush=True)
