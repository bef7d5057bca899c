"""An index over a Timeline that the panes read: ladder lines, log rows, state changes.

A timeline is a list of frames; the screen needs other shapes of it:

- **ladder lines**: one line per segment (its send, delivery and drop frames share it, as
  they share `Frame.row`), and one per other event (an app call, a timer, a fault);
- **log rows**: the ladder lines that carry a segment, in the order they were sent;
- **state changes**: for each side, the frames where its state differs from the frame before.

Everything is worked out once per frame, in compact `array` columns, so that a capture of a
million segments costs a few megabytes and any question ("which rows exist at frame i?",
"what did the client go through before frame i?") is a bisection, not a scan. The index
follows an append-only timeline (`sync`) and forgets a forked-off future (`truncate`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Iterator

from tcp_lab.core.frame import Frame, Role, Timeline
from tcp_lab.core.states import State

#: Events whose segment gets its own row and may later get delivery/drop frames.
_OPENS_ROW = ("send", "segment")
#: Events that join the row of an earlier send (same `Frame.row`).
_JOINS_ROW = ("deliver", "drop")


class TimelineIndex:
    """Ladder lines, log rows and state changes of a timeline, built incrementally."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._reset()

    def _reset(self) -> None:
        self.synced = 0
        #: ladder line -> index of its first frame (increasing).
        self.line_first = array("q")
        #: ladder line -> log row number (0-based), or -1 for a line without a segment.
        self.line_row = array("q")
        #: ladder line -> later frames of the same segment (only lines that have some).
        self.line_more: dict[int, list[int]] = {}
        #: frame index -> its ladder line.
        self.frame_line = array("q")
        #: log row -> its ladder line.
        self.row_line = array("q")
        #: log row -> index of its first frame (increasing): for bisection.
        self.row_first = array("q")
        #: Frame.row -> ladder line, for simulated segments that may still be delivered.
        self._open_rows: dict[int, int] = {}
        #: role -> frame indices where the role's state changed (frame 0 always counts).
        self.changes: dict[str, array] = {"client": array("q"), "server": array("q")}
        self._last: Frame | None = None

    def retarget(self, timeline: Timeline) -> None:
        """Follow another timeline (a new scenario, a forked copy) from scratch."""
        self.timeline = timeline
        self._reset()
        self.sync()

    # -- following the timeline -------------------------------------------------------

    def sync(self) -> int:
        """Index the frames appended since the last call; returns how many there are now.

        If the timeline was cut and regrown behind our back (a fork nobody told us of),
        the index is rebuilt from scratch.
        """
        tl = self.timeline
        n = len(tl)
        if self.synced and (n < self.synced or tl[self.synced - 1] is not self._last):
            self._reset()
        for i in range(self.synced, n):
            self._add(i, tl[i])
        self.synced = n
        if n:
            self._last = tl[n - 1]
        return n

    def truncate(self, length: int) -> None:
        """Forget frames from index `length` on (the timeline was forked there)."""
        if length >= self.synced:
            return
        lines = bisect_right(self.line_first, length - 1)
        del self.line_first[lines:]
        del self.line_row[lines:]
        del self.frame_line[length:]
        for line in [k for k in self.line_more if k >= lines]:
            del self.line_more[line]
        for line, more in list(self.line_more.items()):
            kept = [i for i in more if i < length]
            if kept:
                self.line_more[line] = kept
            else:
                del self.line_more[line]
        rows = bisect_right(self.row_first, length - 1)
        del self.row_line[rows:]
        del self.row_first[rows:]
        self._open_rows = {r: line for r, line in self._open_rows.items() if line < lines}
        for role in ("client", "server"):
            ch = self.changes[role]
            del ch[bisect_right(ch, length - 1):]
        self.synced = length
        self._last = self.timeline[length - 1] if length else None

    def _add(self, i: int, frame: Frame) -> None:
        line = -1
        if frame.segment is not None and frame.event in _JOINS_ROW and frame.row is not None:
            line = self._open_rows.get(frame.row, -1)
            if line >= 0:
                self.line_more.setdefault(line, []).append(i)
        if line < 0:
            line = len(self.line_first)
            self.line_first.append(i)
            if frame.segment is not None:
                self.line_row.append(len(self.row_line))
                self.row_line.append(line)
                self.row_first.append(i)
                if frame.event == "send" and frame.row is not None:
                    self._open_rows[frame.row] = line
            else:
                self.line_row.append(-1)
        self.frame_line.append(line)
        prev = self._last if i else None
        for role in ("client", "server"):
            if prev is None or prev.endpoint(role).state is not frame.endpoint(role).state:
                self.changes[role].append(i)
        self._last = frame

    # -- questions the panes ask ------------------------------------------------------

    def lines_upto(self, cursor: int) -> int:
        """How many ladder lines exist once frame `cursor` has happened."""
        return bisect_right(self.line_first, cursor)

    def rows_upto(self, cursor: int) -> int:
        """How many log rows exist once frame `cursor` has happened."""
        return bisect_right(self.row_first, cursor)

    @property
    def line_count(self) -> int:
        return len(self.line_first)

    @property
    def row_count(self) -> int:
        return len(self.row_line)

    def line_frames(self, line: int, cursor: int | None = None) -> list[int]:
        """The frames of a ladder line (first, then deliveries/drops), up to `cursor`."""
        frames = [self.line_first[line], *self.line_more.get(line, ())]
        if cursor is not None:
            frames = [i for i in frames if i <= cursor]
        return frames

    def row_of_frame(self, index: int) -> int:
        """The log row a frame belongs to, or -1 (an app call, a timer, a fault)."""
        return self.line_row[self.frame_line[index]]

    def line_of_frame(self, index: int) -> int:
        return self.frame_line[index]

    def changed_at(self, role: Role, index: int) -> bool:
        """True when the role's state at frame `index` differs from the frame before."""
        ch = self.changes[role]
        k = bisect_right(ch, index)
        return k > 0 and ch[k - 1] == index

    def history(self, role: Role, cursor: int, count: int = 4) -> list[State]:
        """The last `count` states the role went through up to frame `cursor`, oldest first."""
        ch = self.changes[role]
        k = bisect_right(ch, cursor)
        tl = self.timeline
        return [tl[i].endpoint(role).state for i in ch[max(0, k - count):k]]

    def iter_line_frames(self, line: int, cursor: int) -> Iterator[Frame]:
        tl = self.timeline
        for i in self.line_frames(line, cursor):
            yield tl[i]
