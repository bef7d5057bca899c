"""The segment log: one row per segment, as Wireshark's packet list shows them.

Columns: a mark (✕ lost, ×2 delivered twice, ~ delayed, * an injected old SYN, … still in
flight), No., Time, direction,
Flags, Seq, Ack, Win, Len and Wireshark's Info text. The row of the current step is
selected; clicking a row (or moving with ↑/↓ when the log has focus) asks the screen to
jump to that segment's last frame.

A line-API `ScrollView` over a TimelineIndex (the toolong shape, STYLE.md): it draws only
the visible rows, so it stays as fast with a million rows as with seven.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tcp_lab.core.frame import Frame
from .segment_text import ack_of, fate, flags_short, info_text, seq_of
from .timeline_index import TimelineIndex

Reveal = Literal["upto", "all"]


@dataclass(frozen=True)
class Columns:
    """Cell widths of the log's columns at one width (Info takes what is left)."""

    mark: int
    no: int
    time: int
    dir: int
    flags: int
    seq: int
    ack: int
    win: int
    len: int
    info: int

    @classmethod
    def fit(cls, width: int, rows: int, absolute: bool) -> "Columns":
        no = max(3, len(str(max(rows, 1))))
        num = 10 if absolute else 6
        fixed = dict(mark=2, no=no, time=8, dir=3, flags=11, seq=num, ack=num, win=6, len=4)
        used = sum(fixed.values()) + len(fixed)
        if width - used < 16:
            fixed["time"] = 7
            fixed["flags"] = 9
            used = sum(fixed.values()) + len(fixed)
        return cls(**fixed, info=max(0, width - used))

    def cells(self, values: tuple[str, ...]) -> str:
        """Values laid out in the columns: numbers right-aligned and never cut (a number too
        wide for its column pushes the rest of the row right), text left-aligned and cut
        to its column, Info to what is left of the row."""
        widths = (self.mark, self.no, self.time, self.dir, self.flags, self.seq, self.ack, self.win, self.len, self.info)
        numeric = (False, True, True, False, False, True, True, True, True, False)
        total = sum(widths) + len(widths) - 1
        out = []
        used = 0
        target = 0
        for value, width, is_number in zip(values, widths, numeric):
            target += width
            room = target - used
            if not is_number and cell_len(value) > room:
                value = set_cell_size(value, max(0, room))
            pad = " " * max(0, room - cell_len(value))
            cell = pad + value if is_number else value + pad
            out.append(cell)
            used += cell_len(cell) + 1
            target += 1
        text = " ".join(out)
        if cell_len(text) > total:
            text = set_cell_size(text, total)
        return text


HEADINGS = ("", "No.", "Time", "Dir", "Flags", "Seq", "Ack", "Win", "Len", "Info")


class SegmentLog(ScrollView, can_focus=True, inherit_bindings=False):
    """Every segment so far, one row each; the current step's row is selected."""

    BINDINGS = [
        Binding("up", "choose(-1)", "Previous segment", show=False),
        Binding("down", "choose(1)", "Next segment", show=False),
        Binding("pageup", "choose(-10)", "Ten segments back", show=False),
        Binding("pagedown", "choose(10)", "Ten segments on", show=False),
    ]

    COMPONENT_CLASSES = {
        "segment-log--selected",
        "segment-log--c2s",
        "segment-log--s2c",
        "segment-log--lost",
        "segment-log--flight",
        "segment-log--duplicate",
        "segment-log--future",
    }

    DEFAULT_CSS = """
    SegmentLog {
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    SegmentLog > .segment-log--selected { background: $primary 30%; text-style: bold; }
    SegmentLog:focus > .segment-log--selected { background: $primary 55%; }
    SegmentLog > .segment-log--c2s { color: $text-primary; }
    SegmentLog > .segment-log--s2c { color: $text-success; }
    SegmentLog > .segment-log--lost { color: $text-error; text-style: strike; }
    SegmentLog > .segment-log--flight { color: $foreground-muted; text-style: italic; }
    SegmentLog > .segment-log--duplicate { color: $text-warning; }
    SegmentLog > .segment-log--future { text-style: dim; }
    """

    @dataclass
    class RowChosen(Message):
        """The user picked a row: the screen should jump to `frame` (a timeline index)."""

        log: "SegmentLog"
        row: int
        frame: int

    def __init__(self, index: TimelineIndex, *, reveal: Reveal = "upto", id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.reveal: Reveal = reveal
        self.cursor = -1
        self.absolute = False
        self._styles: dict[str, Style] | None = None

    # -- what the screen asks ---------------------------------------------------------

    def show(self, cursor: int, *, absolute: bool = False) -> None:
        """Show the rows that exist once frame `cursor` has happened, with the current
        step's row selected and in view (scrolled as a function of the cursor only)."""
        self.cursor = cursor
        self.absolute = absolute
        count = self.row_count()
        self.virtual_size = Size(self.scrollable_content_region.width, count)
        # A ScrollView's scrollbars follow virtual_size only on a resize; bring them up to
        # date now so that the same step always shows the same scrollbar.
        self._scroll_update(self.virtual_size)
        height = max(1, self.scrollable_content_region.height)
        selected = self.selected_row()
        if self.reveal == "upto":
            top = max(0, count - height)
            if 0 <= selected < top:
                top = selected
        else:
            top = round(self.scroll_y)
            if selected >= 0 and not top <= selected < top + height:
                top = max(0, selected - height // 2)
        self.scroll_to(y=top, animate=False, force=True)
        self.refresh()

    def on_resize(self) -> None:
        self.show(self.cursor, absolute=self.absolute)

    def row_count(self) -> int:
        if self.cursor < 0:
            return 0
        if self.reveal == "upto":
            return self.index.rows_upto(self.cursor)
        return self.index.row_count

    def selected_row(self) -> int:
        """The row of the current frame, or -1 when the current frame is not a segment's."""
        if self.cursor < 0 or self.cursor >= self.index.synced:
            return -1
        return self.index.row_of_frame(self.cursor)

    def columns(self, width: int | None = None) -> Columns:
        width = self.scrollable_content_region.width if width is None else width
        return Columns.fit(width, self.index.row_count, self.absolute)

    def row_text(self, row: int, width: int = 120) -> str:
        """The plain text of a row as drawn (for tests and for reading the screen)."""
        values, _ = self._row(row)
        return Columns.fit(width, self.index.row_count, self.absolute).cells(values).rstrip()

    def row_values(self, row: int) -> tuple[str, ...]:
        """The row's cells as shown: mark, No., Time, Dir, Flags, Seq, Ack, Win, Len, Info."""
        return self._row(row)[0]

    def visible_text(self, width: int = 120) -> list[str]:
        """Every row the log holds at the current step, as plain text."""
        return [self.row_text(row, width) for row in range(self.row_count())]

    def header_text(self, width: int) -> str:
        return self.columns(width).cells(HEADINGS)

    # -- drawing ----------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def _style_table(self) -> dict[str, Style]:
        """The row styles, worked out once per style change (not per row drawn)."""
        if self._styles is None:
            names = ("selected", "c2s", "s2c", "lost", "flight", "duplicate", "future")
            table = {name: self.get_component_rich_style(f"segment-log--{name}", partial=True) for name in names}
            table["base"] = self.rich_style
            self._styles = table
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = round(self.scroll_y) + y
        styles = self._style_table()
        base = styles["base"]
        if row >= self.row_count() or width <= 0:
            return Strip.blank(width, base)
        values, kind = self._row(row)
        style = base + styles[kind]
        if row == self.selected_row():
            style += styles["selected"]
        elif self.reveal == "all" and self.index.row_first[row] > self.cursor:
            style += styles["future"]
        text = self.columns(width).cells(values)
        return Strip([Segment(text, style)], cell_len(text)).crop_extend(0, width, style)

    def _row(self, row: int) -> tuple[tuple[str, ...], str]:
        index = self.index
        tl = index.timeline
        line = index.row_line[row]
        cursor = self.cursor
        if self.reveal == "all" and index.row_first[row] > cursor:
            cursor = index.synced - 1
        frames = [tl[i] for i in index.row_frames(row, cursor)]
        first = frames[0]
        mark, kind = _status(frames)
        seg = first.segment
        assert seg is not None
        ack = ack_of(first, self.absolute)
        values = (
            mark,
            str(row + 1),
            f"{first.time:.3f}",
            "C→S" if first.sender == "client" else "S→C",
            flags_short(first),
            str(seq_of(first, self.absolute)),
            "" if ack is None else str(ack),
            str(first.win_scaled if first.win_scaled is not None else seg.win),
            str(seg.length),
            info_text(first, self.absolute),
        )
        return values, kind

    # -- choosing a row ---------------------------------------------------------------

    def _choose(self, row: int) -> None:
        # Any row of the timeline, also one not shown yet (↓ on the last row goes on to
        # the next segment the timeline holds).
        count = self.index.row_count
        if not count:
            return
        row = max(0, min(count - 1, row))
        frames = self.index.row_frames(row)
        self.post_message(self.RowChosen(self, row, frames[-1]))

    def action_choose(self, delta: int) -> None:
        current = self.selected_row()
        if current < 0:
            # Not on a segment's frame: start from the last row that exists now.
            current = self.row_count() if delta < 0 else -1
        self._choose(current + delta)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = round(self.scroll_y) + offset.y
        if 0 <= row < self.row_count():
            self._choose(row)


def _status(frames: list[Frame]) -> tuple[str, str]:
    """The row's mark and style: lost, duplicated, delayed or injected, in flight, or plain."""
    f = fate(frames)
    if f.where == "lost":
        kind = "lost"
    elif f.copies > 1 or f.delayed or f.injected:
        kind = "duplicate"
    elif f.where == "flight":
        kind = "flight"
    else:
        kind = "c2s" if frames[0].sender == "client" else "s2c"
    return f.mark, kind


class SegmentLogHeader(Widget):
    """The column headings above a SegmentLog, laid out with the log's own columns."""

    DEFAULT_CSS = """
    SegmentLogHeader { height: 1; text-style: bold; color: $text-muted; }
    """

    def __init__(self, log: SegmentLog, id: str | None = None) -> None:
        super().__init__(id=id)
        self.log_widget = log

    def render(self) -> str:
        return self.log_widget.header_text(max(0, self.size.width - 1))
