"""An index over a Timeline that the panes read: ladder lines, log rows, state changes.

A timeline is a list of frames; the screen needs other shapes of it:

- **log rows**: one per segment, in the order they were sent. A simulated segment's later
  frames (its delivery, its drop, a fault applied to it, a duplicate copy's delivery) share
  its `Frame.row`; a captured segment (event "segment") is a row of its own.
- **ladder lines**, in time order: one per segment when it leaves its sender, one per other
  event (an app call, a timer, an armed fault). A segment's delivery (or drop) goes on the
  segment's own line when nothing else happened in between (the arrow is drawn whole);
  otherwise it gets an *arrival line* of its own, where it happened, so that crossing,
  delayed and reordered segments are drawn in the order things really happened.
- **state changes**: for each side, the frames where its state differs from the frame before.

Everything is worked out once per frame, in compact `array` columns, so that a capture of a
million segments costs a few megabytes and any question ("which rows exist at frame i?",
"what did the client go through before frame i?") is a bisection, not a scan. The index
follows an append-only timeline (`sync`) and starts over when the timeline was cut
(`truncate`, `retarget`, or a fork it notices by itself).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

from tcp_lab.core.frame import Frame, Role, Timeline
from tcp_lab.core.states import State


class TimelineIndex:
    """Ladder lines, log rows and state changes of a timeline, built incrementally."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._reset()

    def _reset(self) -> None:
        self.synced = 0
        #: ladder line -> index of its first frame (increasing).
        self.line_first = array("q")
        #: ladder line -> the log row it draws (its send or an arrival), or -1.
        self.line_row = array("q")
        #: ladder line -> later frames drawn on the same line (only lines that have some).
        self.line_more: dict[int, list[int]] = {}
        #: frame index -> its ladder line.
        self.frame_line = array("q")
        #: log row -> the ladder line of its send (its *origin* line).
        self.row_line = array("q")
        #: log row -> index of its first frame (increasing): for bisection.
        self.row_first = array("q")
        #: log row -> its later frames (delivery, drop, faults), only rows that have some.
        self.row_more: dict[int, list[int]] = {}
        #: log row -> the last ladder line drawing it (origin or latest arrival line).
        self._row_tail = array("q")
        #: Frame.row -> log row, for simulated segments (their later frames come back).
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

    def sync(self, upto: int | None = None) -> int:
        """Index the frames appended since the last call (up to `upto` frames); returns
        how many are indexed. If the timeline was cut and regrown behind our back (a fork
        nobody told us of), the index starts over."""
        tl = self.timeline
        n = len(tl) if upto is None else min(upto, len(tl))
        if self.synced and (len(tl) < self.synced or tl[self.synced - 1] is not self._last):
            self._reset()
        for i in range(self.synced, n):
            self._add(i, tl[i])
        self.synced = max(self.synced, n)
        return self.synced

    def truncate(self, length: int) -> None:
        """Forget frames from index `length` on (the timeline was forked there)."""
        if length >= self.synced:
            return
        self._reset()
        self.sync(length)

    def _new_line(self, i: int, row: int) -> int:
        line = len(self.line_first)
        self.line_first.append(i)
        self.line_row.append(row)
        return line

    def _add(self, i: int, frame: Frame) -> None:
        # A simulated segment's later frames come back with its Frame.row.
        tracked = frame.segment is not None and frame.row is not None and frame.event != "segment"
        row = self._open_rows.get(frame.row, -1) if tracked else -1  # type: ignore[arg-type]
        if row >= 0:
            self.row_more.setdefault(row, []).append(i)
            tail = self._row_tail[row]
            if tail == len(self.line_first) - 1:
                line = tail  # nothing happened since: drawn on the same line
                self.line_more.setdefault(line, []).append(i)
            else:
                line = self._new_line(i, row)  # an arrival line, where it happened
                self._row_tail[row] = line
        elif frame.segment is not None:
            row = len(self.row_line)
            line = self._new_line(i, row)
            self.row_line.append(line)
            self.row_first.append(i)
            self._row_tail.append(line)
            if tracked:
                self._open_rows[frame.row] = row  # type: ignore[index]
        else:
            line = self._new_line(i, -1)
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
        """The frames drawn on a ladder line, up to `cursor`."""
        frames = [self.line_first[line], *self.line_more.get(line, ())]
        if cursor is not None:
            frames = [i for i in frames if i <= cursor]
        return frames

    def row_frames(self, row: int, cursor: int | None = None) -> list[int]:
        """All frames of a log row's segment (its send first), up to `cursor`."""
        frames = [self.row_first[row], *self.row_more.get(row, ())]
        if cursor is not None:
            frames = [i for i in frames if i <= cursor]
        return frames

    def is_arrival_line(self, line: int) -> bool:
        """True for a line drawing a segment's late arrival (or loss), not its send."""
        row = self.line_row[line]
        return row >= 0 and self.row_line[row] != line

    def row_of_frame(self, index: int) -> int:
        """The log row a frame belongs to, or -1 (an app call, a timer, an armed fault)."""
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
