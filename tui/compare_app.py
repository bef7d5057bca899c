"""The compare screen: a real conversation beside the closest built-in scenario.

Each row is one aligned step: the real segment on the left, the RFC 9293 model's on the
right (direction, flags, numbers and both states after it), "!" where they differ. The
panel below explains the selected row's differences; the conversation-wide notes
(timestamps, TIME_WAIT) come first. ↑/↓ move, n/p jump to the next/previous marked row,
l switches English/Chinese, q quits.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from tcp_lab.core.explain import render
from tcp_lab.core.frame import Explanation

from .cmd_compare import note_text, step_text
from .interrupts import CTRL_C, CtrlCQuits
from .privilege import NoStrayFiles
from .too_small import MinimumSize


class CompareApp(CtrlCQuits, MinimumSize, NoStrayFiles, App[int]):
    """`tcp-lab compare` on a terminal. ctrl+c quits; a terminal too small gets one
    sentence (tui/interrupts.py, tui/too_small.py)."""

    TITLE = "tcp-lab compare"
    CSS = """
    #rows { height: 1fr; }
    #notes { height: auto; max-height: 12; border-top: solid $primary; padding: 0 1; }
    Screen.-tall #notes { max-height: 16; }
    """
    BINDINGS = [
        Binding("n", "mark(1)", "Next mark"),
        Binding("p", "mark(-1)", "Previous mark"),
        Binding("l", "toggle_lang", "中文/EN"),
        Binding("q,escape", "quit", "Quit"),
        CTRL_C,
    ]

    def __init__(self, comparison: Any, *, lang: str = "en", source: str = "") -> None:
        super().__init__()
        self.comparison = comparison
        self.lang = lang
        self.source = source

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⇄")
        yield DataTable(id="rows", cursor_type="row", zebra_stripes=True)
        yield Static(id="notes")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "real" if self.lang == "en" else "真实", "model: " + self.comparison.scenario, "!")
        for n, row in enumerate(self.comparison.rows, start=1):
            mark = Text("!", style="bold red") if row.notes else Text("")
            table.add_row(str(n), step_text(row.real), step_text(row.model), mark, key=str(n - 1))
        self.relabel()
        table.focus()
        self.show_notes(0)

    def relabel(self) -> None:
        c = self.comparison
        title = c.title.get(self.lang) or c.title["en"]
        self.title = render(Explanation("cmp.closest", {"scenario": c.scenario, "title": title, "marks": c.marks}), self.lang)
        self.sub_title = self.source

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_notes(event.cursor_row)

    def show_notes(self, index: int) -> None:
        c = self.comparison
        text = Text()
        if 0 <= index < len(c.rows):
            row = c.rows[index]
            for note in row.notes:
                text.append("! ", style="bold red")
                text.append(note_text(note, self.lang) + "\n")
            if not row.notes:
                same = "这一步真实协议栈和模型做的一样。" if self.lang == "zh" else "The real stack and the model did the same here."
                text.append(same + "\n", style="dim")
        for note in c.notes:
            text.append("* ", style="bold yellow")
            text.append(note_text(note, self.lang) + "\n")
        self.query_one("#notes", Static).update(text)

    @property
    def selected(self) -> int:
        return self.query_one(DataTable).cursor_row

    def action_mark(self, step: int) -> None:
        rows = self.comparison.rows
        i = self.selected + step
        while 0 <= i < len(rows):
            if rows[i].notes:
                self.query_one(DataTable).move_cursor(row=i)
                self.show_notes(i)
                return
            i += step

    def action_toggle_lang(self) -> None:
        self.lang = "zh" if self.lang == "en" else "en"
        self.relabel()
        self.show_notes(self.selected)
