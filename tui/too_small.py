"""What a screen shows in a terminal too small for it: one sentence, until it is larger.

tcp-lab's panes need about 60 columns and 20 rows (the endpoint panes side by side, one
line each of ladder and segment log). Below that, a squashed picture would cut state
names and numbers into misleading pieces, so the app covers the whole terminal with one
sentence: "Terminal too small: 20x8. tcp-lab needs at least 60x20: make the window larger
(q quits)." It is a screen pushed over whatever was showing (the lab, a replay, a live
capture, and any menu over them), so nothing below it changes: when the terminal is large
enough again it is popped and the screen is exactly as it was (same step, same selection,
same menu): the screens below are not even laid out at the small size (see
`MinimumSize._background_screens`). A live capture goes on underneath. While it shows, q and ctrl+c quit, every
other key waits (the command palette too).

`MinimumSize` is the App mixin that pushes and pops it on every resize and at start.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_WIDTH = 60
MIN_HEIGHT = 20

TEXTS = {
    "en": "Terminal too small: {w}x{h}. tcp-lab needs at least {mw}x{mh}: make the window larger (q quits).",
    "zh": "终端太小：{w}x{h}。tcp-lab 至少需要 {mw}x{mh}：请把窗口调大（按 q 退出）。",
}


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


def too_small_text(width: int, height: int, lang: str = "en") -> str:
    return (TEXTS.get(lang) or TEXTS["en"]).format(w=width, h=height, mw=MIN_WIDTH, mh=MIN_HEIGHT)


class TooSmallScreen(ModalScreen[None]):
    """One sentence over the whole terminal, while it is smaller than MIN_WIDTH x MIN_HEIGHT."""

    DEFAULT_CSS = """
    TooSmallScreen {
        background: $background;
        align: center middle;
    }
    TooSmallScreen > Static {
        width: 100%;
        height: auto;
        text-align: center;
        color: $warning;
    }
    """

    BINDINGS = [Binding("q", "quit_app", "Quit", show=False)]

    def __init__(self, lang: str = "en") -> None:
        super().__init__(id="too-small")
        self.lang = lang

    def compose(self) -> ComposeResult:
        width, height = self.app.size
        yield Static(too_small_text(width, height, self.lang), id="too-small-text")

    def show_size(self, width: int, height: int) -> None:
        self.query_one("#too-small-text", Static).update(too_small_text(width, height, self.lang))

    def action_quit_app(self) -> None:
        self.app.exit(0)


class MinimumSize:
    """App mixin: TooSmallScreen over everything while the terminal is too small."""

    def on_mount(self) -> None:
        app: Any = self
        app.call_after_refresh(self.check_size)

    def on_resize(self, event: events.Resize) -> None:
        self.check_size(event.size.width, event.size.height)

    @property
    def terminal_too_small(self) -> bool:
        app: Any = self
        return any(isinstance(s, TooSmallScreen) for s in app.screen_stack)

    def check_size(self, width: int | None = None, height: int | None = None) -> None:
        app: Any = self
        if width is None or height is None:
            width, height = app.size
        top = app.screen_stack[-1] if app.screen_stack else None
        if too_small(width, height):
            if isinstance(top, TooSmallScreen):
                top.show_size(width, height)
            elif not self.terminal_too_small:
                app.push_screen(TooSmallScreen(self._size_lang()))
        elif isinstance(top, TooSmallScreen):
            app.pop_screen()

    def _size_lang(self) -> str:
        app: Any = self
        for screen in reversed(app.screen_stack):
            lang = getattr(screen, "lang", None)
            if lang in ("en", "zh"):
                return lang
        return "en"

    @property
    def _background_screens(self) -> list[Any]:
        """Textual's screens "visible behind the top one", which it also resizes with the
        terminal. Behind the (opaque) TooSmallScreen nothing is visible, and nothing may be
        resized: a screen laid out at 20x8 clamps its scroll positions (the ladder, the
        log, the connection list), and they would not come back at 100x30. Left at their
        size, they are exactly as they were when the terminal is large enough again."""
        app: Any = self
        stack = app._screen_stack
        if stack and isinstance(stack[-1], TooSmallScreen):
            return []
        return super()._background_screens  # type: ignore[misc]

    def action_command_palette(self) -> None:
        if self.terminal_too_small:
            return
        super().action_command_palette()  # type: ignore[misc]
