"""The screens' header: Textual's `Header`, made safe to update while the app shuts down.

Textual's `Header` watches the app's and the screen's `title` and `sub_title` and, on each
change, looks up its `HeaderTitle` child. The replay screen changes its sub-title as a big
file loads (the progress) and the lab as it steps; when ctrl+c or `q` ends the app at that
moment, the header's children can already be gone while its screen is not, and Textual's
handler (which only expects `NoScreen`) ends the app with a `NoMatches` traceback and exit
code 1 (seen in tests/e2e/test_interrupts.py, ctrl+c while a 1M-segment capture opens).
This header registers the same watchers with a handler that lets a header being taken down
stay quiet.
"""

from __future__ import annotations

from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.events import Mount
from textual.widget import Widget
from textual.widgets import Header
from textual.widgets._header import HeaderTitle


class SafeHeader(Header):
    """`Header` whose title updates are skipped once it is being taken down."""

    def _on_mount(self, event: Mount) -> None:
        # Header._on_mount would register the unguarded watchers: stop the MRO walk here,
        # and do what Widget._on_mount (scrollbars) and Header._on_mount (watchers) do.
        event.prevent_default()
        Widget._on_mount(self, event)

        async def set_title() -> None:
            if not self.is_attached:
                return
            try:
                self.query_one(HeaderTitle).update(self.format_title())
            except (NoScreen, NoMatches):
                pass

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)
