"""The panes' index over one conversation of a replayed (or live) capture, read from the
replay's columns instead of from frames.

The lab's TimelineIndex (tui/timeline_index.py) works frame by frame: it builds every
Frame once to find ladder lines, log rows and state changes. A captured conversation needs
none of that work: each captured segment is one frame, one log row and one ladder line
(DESIGN.md: event "segment"), so lines, rows and frames share their numbers, and the
states after each segment are a byte in the store's `states` column. `CaptureIndex`
answers the panes' questions from those columns: a conversation of a million segments is
indexed in a fraction of a second and a Frame is built only for what is drawn (the visible
rows and lines, the current step), through a small cache.

A growing capture (a stream on stdin, a live sniff) appends rows: `sync()` takes them in.
Hindsight can rewrite the states of earlier rows (a SYN answered by RST, a FIN sent
again: `Replay.take_revised()`); `revise(rows)` recomputes the state changes from the
first rewritten row and drops the cached frames.

A replay with memory limits (core/limits.py) can take rows away between two looks: the
conversation's oldest segments (`conv.dropped` grows by k: every position shifts down by
k, and `sync()` shifts the index with it, adding k to `shifted` for the screen's cursor),
or the whole conversation (its slot in the tracker becomes None: `forgotten`; the index
then stops reading it, since its rows no longer name store rows).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from typing import Any

from tcp_lab.core.addr import addr_text
from tcp_lab.core.frame import EndpointView, Frame, ListTimeline, Role
from tcp_lab.core.inference import STATES
from tcp_lab.core.states import State

from .timeline_index import TimelineIndex

#: Frames kept built at once (a screen draws a few dozen).
CACHE_FRAMES = 2048


class CachedTimeline:
    """A timeline whose frames, built on demand by the replay, are kept for a while: the
    log, the ladder and the panes ask for the same few frames several times a repaint."""

    def __init__(self, timeline: Any) -> None:
        self.inner = timeline
        self.title = getattr(timeline, "title", "capture")
        self._cache: dict[int, Frame] = {}

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> Frame:
        if index < 0:
            index += len(self.inner)
        frame = self._cache.get(index)
        if frame is None:
            if len(self._cache) >= CACHE_FRAMES:
                self._cache.clear()
            frame = self._cache[index] = self.inner[index]
        return frame

    def forget(self) -> None:
        """Drop every built frame (the rows they came from were rewritten)."""
        self._cache.clear()


class _Numbers:
    """The sequence 0, 1, ..., n-1 (ladder line i draws log row i, which is frame i)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i


class CaptureIndex(TimelineIndex):
    """TimelineIndex for conversation `conn` of a core.replay.Replay (None: an empty
    timeline, for a screen still waiting for its first segment)."""

    def __init__(self, replay: Any = None, conn: int | None = None) -> None:
        self.replay = replay
        self.conn = conn
        if replay is None or conn is None:
            inner: Any = ListTimeline("no segment yet")
            self.conv = None
        else:
            inner = replay.timeline(conn)
            self.conv = replay.tracker.conversations[conn]
        #: The conversation's segments dropped (core/limits.py) when last looked at.
        self.dropped_seen = self.conv.dropped if self.conv is not None else 0
        #: Positions the index shifted down since the screen last took them
        #: (`take_shifted`): the cursor moves with them.
        self.shifted = 0
        super().__init__(CachedTimeline(inner))  # type: ignore[arg-type]

    def _reset(self) -> None:
        self.synced = 0
        numbers = _Numbers()
        self._numbers = numbers
        # Lines, rows and frames share their numbers.
        self.line_first = numbers  # type: ignore[assignment]
        self.line_row = numbers  # type: ignore[assignment]
        self.frame_line = numbers  # type: ignore[assignment]
        self.row_line = numbers  # type: ignore[assignment]
        self.row_first = numbers  # type: ignore[assignment]
        self.line_more = {}
        self.row_more = {}
        self.changes = {"client": array("q"), "server": array("q")}
        #: State codes after the last indexed segment (-1: none yet).
        self._codes = (-1, -1)

    def retarget(self, timeline: Any) -> None:  # pragma: no cover - a capture is not forked
        raise TypeError("a CaptureIndex follows one conversation; make a new one")

    def truncate(self, length: int) -> None:  # pragma: no cover - a capture is not forked
        raise TypeError("a captured timeline is never cut")

    # -- following the conversation ---------------------------------------------------

    @property
    def dropped(self) -> int:
        """The conversation's oldest segments dropped to bound memory (position 0 is its
        segment number `dropped`, counting from 0)."""
        return self.dropped_seen

    @property
    def forgotten(self) -> bool:
        """True once the replay forgot the conversation to bound memory (--max-conns)."""
        conv = self.conv
        return conv is not None and self.replay.tracker.conversations[self.conn] is not conv

    def take_shifted(self) -> int:
        """Positions shifted down since the last call (the screen moves its cursor)."""
        k, self.shifted = self.shifted, 0
        return k

    def _follow_drops(self) -> None:
        """The conversation lost its `k` oldest segments since the last look: every
        position moves down by k; state changes before the first kept segment go, and the
        first kept segment starts the record (as a fresh scan would have it)."""
        conv = self.conv
        k = conv.dropped - self.dropped_seen  # type: ignore[union-attr]
        if k <= 0:
            return
        self.dropped_seen = conv.dropped  # type: ignore[union-attr]
        self.shifted += k
        synced = max(0, self.synced - k)
        self.synced = synced
        self._numbers.n = synced
        for role in ("client", "server"):
            kept = array("q", (p - k for p in self.changes[role] if p >= k))
            if synced and (not kept or kept[0] != 0):
                kept.insert(0, 0)
            self.changes[role] = kept
        if not synced:
            self._codes = (-1, -1)
        self.timeline.forget()  # type: ignore[attr-defined]

    def sync(self, upto: int | None = None) -> int:
        conv = self.conv
        if conv is None or self.forgotten:
            return self.synced if conv is not None else 0
        if conv.dropped != self.dropped_seen:
            self._follow_drops()
        n = len(conv.rows)
        if upto is not None:
            n = min(n, upto)
        if n > self.synced:
            self._scan(self.synced, n)
            self.synced = n
            self._numbers.n = n
            self.timeline.forget()  # type: ignore[attr-defined]
        return self.synced

    def _scan(self, start: int, stop: int) -> None:
        """Record where each side's state changes among positions [start, stop)."""
        rows = self.conv.rows  # type: ignore[union-attr]
        states = self.replay.store.states
        client = self.changes["client"]
        server = self.changes["server"]
        c, s = self._codes
        for pos in range(start, stop):
            st = states[rows[pos]]
            if st >> 4 != c:
                c = st >> 4
                client.append(pos)
            if st & 0xF != s:
                s = st & 0xF
                server.append(pos)
        self._codes = (c, s)

    def revise(self, rows: set[int]) -> bool:
        """Take in rewritten store rows; True when some belong to this conversation (the
        state changes are worked out again from the first of them)."""
        conv = self.conv
        if conv is None or not rows or self.forgotten:
            return False
        if conv.dropped != self.dropped_seen:
            self._follow_drops()
        cid = self.conn
        store_conv = self.replay.store.conv
        mine = [r for r in rows if store_conv[r] == cid]
        if not mine:
            return False
        first = bisect_left(conv.rows, min(mine))
        if first >= self.synced:
            return True
        for role in ("client", "server"):
            ch = self.changes[role]
            del ch[bisect_left(ch, first):]
        if first:
            st = self.replay.store.states[conv.rows[first - 1]]
            self._codes = (st >> 4, st & 0xF)
        else:
            self._codes = (-1, -1)
        self._scan(first, self.synced)
        self.timeline.forget()  # type: ignore[attr-defined]
        return True

    def initial_views(self) -> tuple[EndpointView, EndpointView] | None:
        """Both endpoints before the conversation's first captured segment, as the tracker
        starts them: client CLOSED and server LISTEN (CLOSED once the SYN was refused);
        SYN_SENT for a client whose SYN was not captured; ESTABLISHED on both sides when
        the handshake was not captured. Once its oldest segments were dropped to bound
        memory: the tracker's states before the first segment kept (`Conversation.base`,
        worked out from the segments dropped), never a guess."""
        conv = self.conv
        if conv is None or self.forgotten:
            return None
        observer = conv.base_observer()
        return tuple(  # type: ignore[return-value]
            EndpointView(addr_text(conv.addr[role]), conv.port[role], STATES[observer.sides[role].state])
            for role in (0, 1)
        )

    # -- questions the panes ask ------------------------------------------------------

    def lines_upto(self, cursor: int) -> int:
        return max(0, min(cursor + 1, self.synced))

    def rows_upto(self, cursor: int) -> int:
        return max(0, min(cursor + 1, self.synced))

    @property
    def line_count(self) -> int:
        return self.synced

    @property
    def row_count(self) -> int:
        return self.synced

    def line_frames(self, line: int, cursor: int | None = None) -> list[int]:
        return [line] if cursor is None or line <= cursor else []

    def row_frames(self, row: int, cursor: int | None = None) -> list[int]:
        return [row] if cursor is None or row <= cursor else []

    def is_arrival_line(self, line: int) -> bool:
        return False

    def row_of_frame(self, index: int) -> int:
        return index

    def line_of_frame(self, index: int) -> int:
        return index

    def history(self, role: Role, cursor: int, count: int = 4) -> list[State]:
        ch = self.changes[role]
        k = bisect_right(ch, cursor)
        states = self.replay.store.states
        rows = self.conv.rows  # type: ignore[union-attr]
        shift = 4 if role == "client" else 0
        return [STATES[(states[rows[pos]] >> shift) & 0xF] for pos in ch[max(0, k - count):k]]
