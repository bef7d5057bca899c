"""The explanation pane: what the current frame did and why, in English or Chinese.

The text comes from the frame's Explanation rendered by core/explain.py. Chinese characters
take two cells each; the pane wraps by cells (Textual's wrapping measures cell widths and
folds a run of CJK text that has no spaces), so lines never overflow the pane.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class ExplainPane(VerticalScroll, can_focus=False):
    """A scrollable paragraph: a short heading line, then the explanation."""

    DEFAULT_CSS = """
    ExplainPane { scrollbar-size-vertical: 1; }
    ExplainPane > Static { width: 1fr; }
    ExplainPane > #explain-heading { text-style: bold; color: $accent; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.heading = ""
        self.body = ""

    def compose(self):
        yield Static(id="explain-heading", markup=False)
        yield Static(id="explain-body", markup=False)

    def show(self, heading: str, body: str) -> None:
        """Replace the text: `heading` in bold on its own line, then `body`."""
        self.heading = heading
        self.body = body
        self.query_one("#explain-heading", Static).update(Text(heading))
        self.query_one("#explain-body", Static).update(Text(body))
        self.scroll_home(animate=False)

    @property
    def text(self) -> str:
        """The whole text shown, heading and body."""
        return f"{self.heading}\n{self.body}" if self.heading else self.body
