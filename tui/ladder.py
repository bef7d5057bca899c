"""The ladder: a sequence diagram of the connection, drawn line by line.

Two vertical lines are the client's and the server's timelines; time runs down the screen.
Each segment is an arrow from its sender to its receiver labelled with its flags and
sequence numbers (the way Wireshark's Flow Graph draws it). An arrow still in flight stops
half-way with an open head, a lost one ends in a cross. Beside each timeline the side's
new state is written on the line of the event that changed it; app calls, timers and
faults get lines of their own.

It is a line-API `ScrollView` over a TimelineIndex (the toolong shape): only the visible
lines are drawn, so a capture of a million segments scrolls as fast as a handshake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tcp_lab.core.frame import Frame
from .segment_text import arrow_labels, fate
from .timeline_index import TimelineIndex
from .ui_text import ui

Reveal = Literal["upto", "all"]

_PIECE_STYLES = ("bar", "state", "c2s", "s2c", "lost", "flight", "note")


class Ladder(ScrollView, can_focus=False):
    """The sequence diagram between the client's (left) and the server's (right) timelines."""

    COMPONENT_CLASSES = {
        "ladder--bar",
        "ladder--state",
        "ladder--c2s",
        "ladder--s2c",
        "ladder--lost",
        "ladder--flight",
        "ladder--note",
        "ladder--current",
        "ladder--future",
    }

    DEFAULT_CSS = """
    Ladder {
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    Ladder > .ladder--bar { color: $foreground-muted; }
    Ladder > .ladder--state { text-style: bold; color: $text-warning; }
    Ladder > .ladder--c2s { color: $text-primary; }
    Ladder > .ladder--s2c { color: $text-success; }
    Ladder > .ladder--lost { color: $text-error; text-style: bold; }
    Ladder > .ladder--flight { color: $foreground-muted; text-style: italic; }
    Ladder > .ladder--note { color: $text-muted; text-style: italic; }
    Ladder > .ladder--current { background: $primary 30%; }
    Ladder > .ladder--future { text-style: dim; }
    """

    @dataclass
    class LineChosen(Message):
        """The user clicked a ladder line: the screen should jump to `frame` (the line's
        last frame: a segment's arrival, or the event itself)."""

        ladder: "Ladder"
        line: int
        frame: int

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        line = round(self.scroll_y) + offset.y
        if 0 <= line < self.visible_line_count():
            self.post_message(self.LineChosen(self, line, self.index.line_frames(line)[-1]))

    def __init__(self, index: TimelineIndex, *, reveal: Reveal = "upto", id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.reveal: Reveal = reveal
        self.cursor = -1
        self.absolute = False
        self.lang = "en"
        self._styles: dict[str, Style] | None = None

    # -- what the screen asks ---------------------------------------------------------

    def show(self, cursor: int, *, absolute: bool = False, lang: str = "en") -> None:
        """Draw the ladder as it is once frame `cursor` has happened, and scroll so that
        the current line is in view (a function of the cursor only, so that stepping back
        gives back the same picture)."""
        self.cursor = cursor
        self.absolute = absolute
        self.lang = lang
        count = self.visible_line_count()
        self.virtual_size = Size(self.scrollable_content_region.width, count)
        # A ScrollView's scrollbars follow virtual_size only on a resize; bring them up to
        # date now so that the same step always shows the same scrollbar.
        self._scroll_update(self.virtual_size)
        height = max(1, self.scrollable_content_region.height)
        current = self.current_line()
        if self.reveal == "upto":
            top = max(0, count - height)
            if 0 <= current < top:
                top = current
        else:
            top = round(self.scroll_y)
            if current >= 0 and not top <= current < top + height:
                top = max(0, current - height // 2)
        self.scroll_to(y=top, animate=False, force=True)
        self.refresh()

    def on_resize(self) -> None:
        if self.cursor >= 0 or self.index.synced:
            self.show(self.cursor, absolute=self.absolute, lang=self.lang)

    def visible_line_count(self) -> int:
        if self.cursor < 0:
            return 0
        if self.reveal == "upto":
            return self.index.lines_upto(self.cursor)
        return self.index.line_count

    def current_line(self) -> int:
        if self.cursor < 0 or self.cursor >= self.index.synced:
            return -1
        return self.index.line_of_frame(self.cursor)

    def line_text(self, line: int, width: int | None = None) -> str:
        """The plain text of a ladder line as drawn (for tests and for reading the screen)."""
        width = width or max(40, self.scrollable_content_region.width)
        return "".join(text for text, _ in self._pieces(line, width))

    def visible_text(self) -> list[str]:
        """Every line the ladder shows at the current step, top to bottom, as plain text."""
        return [self.line_text(line).rstrip() for line in range(self.visible_line_count())]

    # -- drawing ----------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def _style_table(self) -> dict[str, Style]:
        """The line styles, worked out once per style change (not per line drawn)."""
        if self._styles is None:
            table = {name: self.get_component_rich_style(f"ladder--{name}", partial=True) for name in _PIECE_STYLES}
            table["base"] = self.rich_style
            table["current"] = self.get_component_rich_style("ladder--current", partial=True)
            table["future"] = self.get_component_rich_style("ladder--future", partial=True)
            self._styles = table
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = round(self.scroll_y) + y
        styles = self._style_table()
        base = styles["base"]
        if line >= self.visible_line_count() or width <= 0:
            return Strip.blank(width, base)
        if line == self.current_line():
            base = base + styles["current"]
        elif self.reveal == "all" and self.index.line_first[line] > self.cursor:
            base = base + styles["future"]
        segments = [Segment(text, base + styles[kind] if kind else base) for text, kind in self._pieces(line, width)]
        return Strip(segments, width).crop_extend(0, width, base)

    def _pieces(self, line: int, width: int) -> list[tuple[str, str | None]]:
        """A line as (text, style name) pieces, exactly `width` cells wide."""
        label_w = 12 if width >= 64 else max(4, (width - 24) // 2)
        area = width - 2 * label_w - 2
        index = self.index
        tl = index.timeline
        cursor = self.cursor
        if self.reveal == "all" and index.line_first[line] > cursor:
            cursor = index.synced - 1
        frames = index.line_frames(line, cursor)
        left = right = ""
        for i in frames:
            if index.changed_at("client", i):
                left = tl[i].client.state.value
            if index.changed_at("server", i):
                right = tl[i].server.state.value
        first = tl[frames[0]]
        row = index.line_row[line]
        if row < 0:
            middle = self._note(first, area)
        else:
            middle = self._segment(line, row, frames, cursor, area)
        return [
            (set_cell_size(left, label_w - 1).rjust(label_w - 1) + " " if left else " " * label_w, "state"),
            ("│", "bar"),
            *middle,
            ("│", "bar"),
            (" " + set_cell_size(right, label_w - 1) if right else " " * label_w, "state"),
        ]

    def _segment(self, line: int, row: int, frames: list[int], cursor: int, area: int) -> list[tuple[str, str | None]]:
        """The arrow of a segment's line: its origin line (the send) or an arrival line."""
        index = self.index
        tl = index.timeline
        here = [tl[i] for i in frames]
        seg_frame = tl[index.row_first[row]]
        to_server = seg_frame.sender == "client"
        # Where this segment arrives (or is lost) on the screen: lanes keep crossing
        # segments apart.
        elbow = max(2, min(area - 3, area // 2 + ((row % 3) - 1) * 4))
        if index.is_arrival_line(line):
            f = fate(here)
            arrival = here[0]
            extra = {"duplicate": " (copy)", "delay": " (delayed)", "old-syn": " (old)"}.get(arrival.fault or "", "")
            room = area - elbow - 5
            label = self._label(seg_frame, extra, room)
            return _draw("arrive_lost" if f.where == "lost" else "arrive", to_server, label, area, elbow)
        f = fate(here)
        all_frames = [tl[i] for i in index.row_frames(row, cursor)]
        whole = fate(all_frames)
        extra = f" ×{f.copies}" if f.copies > 1 else ""
        if whole.injected:
            extra += " (old)"
        elif whole.delayed:
            extra += " (delayed)"
        if f.where in ("arrived", "captured"):
            return _draw("whole", to_server, self._label(seg_frame, extra, area - 4), area, elbow)
        if f.where == "lost":
            return _draw("lost", to_server, self._label(seg_frame, extra, area * 3 // 4 - 3), area, elbow)
        if whole.where != "flight":
            # It arrived (or was lost) later, on an arrival line of its own.
            return _draw("departed", to_server, self._label(seg_frame, extra, elbow - 3), area, elbow)
        return _draw("flight", to_server, self._label(seg_frame, extra, area * 3 // 5 - 3), area, elbow)

    def _label(self, frame: Frame, extra: str, room: int) -> str:
        """The longest arrow label that fits in `room` cells."""
        candidates = arrow_labels(frame, self.absolute)
        for candidate in candidates:
            if cell_len(candidate + extra) <= room:
                return candidate + extra
        for candidate in candidates:
            if cell_len(candidate) <= room:
                return candidate
        return set_cell_size(candidates[-1], max(0, room))

    def _note(self, frame: Frame, area: int) -> list[tuple[str, str | None]]:
        text = note_text(frame, self.lang)
        text = set_cell_size(text, min(cell_len(text), max(0, area - 2)))
        pad = area - cell_len(text)
        if frame.who == "client":
            return [(" " + text, "note"), (" " * (pad - 1), None)]
        if frame.who == "server":
            return [(" " * (pad - 1), None), (text + " ", "note")]
        return [(" " * (pad // 2), None), (text, "note"), (" " * (pad - pad // 2), None)]


def note_text(frame: Frame, lang: str) -> str:
    """The short text a ladder line shows for an event that is not a segment."""
    if frame.event == "app":
        return f"{frame.call}()"
    if frame.event == "timer":
        return ui("timer_fires", lang).format(timer=(frame.timer or "").upper())
    if frame.event == "fault":
        fault = frame.fault or ""
        named = ui(fault, lang) if fault in ("drop", "duplicate", "delay", "old-syn") else fault
        return ui("fault_note", lang).format(fault=named)
    return frame.event


def _draw(kind: str, to_server: bool, label: str, area: int, elbow: int) -> list[tuple[str, str | None]]:
    """An arrow `area` cells wide. Kinds: "whole" (sent and arrived), "flight" (on the wire),
    "lost" (lost on the wire), "departed" (sent; arrives on a later line, where it turns
    down at the elbow), "arrive" / "arrive_lost" (that later line: from the elbow to the
    receiver, or to a cross). `elbow` is the elbow's distance from the sender's timeline."""
    part = f" {label} " if label else " "
    n = cell_len(part)
    style = "c2s" if to_server else "s2c"
    if kind == "whole":
        fill = "─" * max(0, area - 2 - n)
        return [(("─" + part + fill + "▶") if to_server else ("◀" + fill + part + "─"), style)]
    if kind in ("flight", "lost"):
        reach = min(area, max(n + 3, area * 3 // 5 if kind == "flight" else area * 3 // 4))
        line = "╌" if kind == "flight" else "─"
        head_style = "lost" if kind == "lost" else "flight"
        body_style = "flight" if kind == "flight" else style
        fill = line * max(0, reach - 2 - n)
        gap = " " * (area - reach)
        if to_server:
            return [(line + part + fill, body_style), ("▷" if kind == "flight" else "✕", head_style), (gap, None)]
        return [(gap, None), ("◁" if kind == "flight" else "✕", head_style), (fill + part + line, body_style)]
    col = elbow if to_server else area - 1 - elbow  # the elbow's column
    if kind == "departed":
        if to_server:
            return [("─" + part + "─" * max(0, col - 1 - n) + "╮", style), (" " * (area - col - 1), None)]
        return [(" " * col, None), ("╭" + "─" * max(0, area - col - 2 - n) + part + "─", style)]
    if kind == "arrive":
        if to_server:
            return [(" " * col, None), ("╰─" + part + "─" * max(0, area - col - 3 - n) + "▶", style)]
        return [("◀" + "─" * max(0, col - 2 - n) + part + "─╯", style), (" " * (area - col - 1), None)]
    # arrive_lost: from the elbow to a cross two thirds of the way.
    if to_server:
        end = min(area - 1, col + max(n + 3, (area - col) * 2 // 3))
        return [(" " * col, None), ("╰─" + part + "─" * max(0, end - col - 2 - n), style), ("✕", "lost"), (" " * (area - end - 1), None)]
    begin = max(0, col - max(n + 3, (col + 1) * 2 // 3))
    return [(" " * begin, None), ("✕", "lost"), ("─" * max(0, col - begin - 2 - n) + part + "─╯", style), (" " * (area - col - 1), None)]
