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

from typing import Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tcp_lab.core.frame import Frame
from .segment_text import arrow_labels
from .timeline_index import TimelineIndex
from .ui_text import ui

Reveal = Literal["upto", "all"]
#: How a segment's arrow looks at the current step.
Status = Literal["flight", "arrived", "lost"]

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
    Ladder > .ladder--state { text-style: bold; color: $warning; }
    Ladder > .ladder--c2s { color: $primary-lighten-2; }
    Ladder > .ladder--s2c { color: $secondary-lighten-2; }
    Ladder > .ladder--lost { color: $error; text-style: bold; }
    Ladder > .ladder--flight { color: $foreground-muted; text-style: italic; }
    Ladder > .ladder--note { color: $text-muted; text-style: italic; }
    Ladder > .ladder--current { background: $accent 35%; }
    Ladder > .ladder--future { text-style: dim; }
    """

    def __init__(self, index: TimelineIndex, *, reveal: Reveal = "upto", id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.reveal: Reveal = reveal
        self.cursor = -1
        self.absolute = False
        self.lang = "en"

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

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = round(self.scroll_y) + y
        base = self.rich_style
        if line >= self.visible_line_count() or width <= 0:
            return Strip.blank(width, base)
        styles = {name: self.get_component_rich_style(f"ladder--{name}", partial=True) for name in _PIECE_STYLES}
        if line == self.current_line():
            base = base + self.get_component_rich_style("ladder--current", partial=True)
        elif self.reveal == "all" and self.index.line_first[line] > self.cursor:
            base = base + self.get_component_rich_style("ladder--future", partial=True)
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
        if first.segment is not None:
            middle = self._arrow(first, [tl[i] for i in frames], area)
        else:
            middle = self._note(first, area)
        return [
            (set_cell_size(left, label_w - 1).rjust(label_w - 1) + " " if left else " " * label_w, "state"),
            ("│", "bar"),
            *middle,
            ("│", "bar"),
            (" " + set_cell_size(right, label_w - 1) if right else " " * label_w, "state"),
        ]

    def _arrow(self, first: Frame, frames: list[Frame], area: int) -> list[tuple[str, str | None]]:
        status: Status = "arrived"
        if first.event == "send":
            status = "flight"
        delivered = 0
        for f in frames:
            if f.event == "drop":
                status = "lost"
            elif f.event == "deliver":
                delivered += 1
                if status != "lost":
                    status = "arrived"
        extra = f" ×{delivered}" if delivered > 1 else ""
        label = ""
        for candidate in arrow_labels(first, self.absolute):
            if cell_len(candidate + extra) + 5 <= area:
                label = candidate + extra
                break
        if not label:
            label = set_cell_size(arrow_labels(first, self.absolute)[-1], max(0, area - 5))
        part = f" {label} "
        to_server = first.sender == "client"
        kind = "c2s" if to_server else "s2c"
        if status == "arrived":
            fill = "─" * max(0, area - 2 - cell_len(part))
            body = ("─" + part + fill + "▶") if to_server else ("◀" + fill + part + "─")
            return [(body, kind)]
        reach = max(cell_len(part) + 3, area * 3 // 5 if status == "flight" else area * 3 // 4)
        reach = min(reach, area)
        if status == "flight":
            line, head, back = "╌", "▷", "◁"
            style = "flight"
        else:
            line, head, back = "─", "✕", "✕"
            style = kind
        fill = line * max(0, reach - 2 - cell_len(part))
        gap = " " * (area - reach)
        if to_server:
            pieces = [(line + part + fill, style), (head, "lost" if status == "lost" else style), (gap, None)]
        else:
            pieces = [(gap, None), (back, "lost" if status == "lost" else style), (fill + part + line, style)]
        return pieces

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
        return ui("fault_note", lang).format(fault=frame.fault or "")
    return frame.event
