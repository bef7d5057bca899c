"""Helpers for the screen's tests: read the screen the way a user sees it."""

from __future__ import annotations

import io

from rich.console import Console


def screen_text(app) -> str:
    """The whole screen as plain text, one line per terminal row (what a user reads)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def screen_picture(app) -> str:
    """The whole screen with colours and styles (an SVG): equal pictures mean equal screens."""
    return app.export_screenshot(title="tcp-lab")


def lab_state(app) -> dict:
    """What the lab screen shows, read through the panes' small APIs."""
    from tcp_lab.tui.endpoint_pane import EndpointPane
    from tcp_lab.tui.explain_pane import ExplainPane
    from tcp_lab.tui.ladder import Ladder
    from tcp_lab.tui.segment_log import SegmentLog

    screen = app.screen
    return {
        "client": screen.query_one("#client", EndpointPane).state_name,
        "server": screen.query_one("#server", EndpointPane).state_name,
        "client_text": screen.query_one("#client", EndpointPane).plain_text(),
        "server_text": screen.query_one("#server", EndpointPane).plain_text(),
        "ladder": screen.query_one(Ladder).visible_text(),
        "log": screen.query_one(SegmentLog).visible_text(),
        "rows": [screen.query_one(SegmentLog).row_values(r) for r in range(screen.query_one(SegmentLog).row_count())],
        "selected_row": screen.query_one(SegmentLog).selected_row(),
        "explain": screen.query_one(ExplainPane).text,
    }


def run_async(test):
    """Run an `async def` test with asyncio.run (the project has no asyncio pytest plugin)."""
    import asyncio
    import functools

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def toasts(app) -> list[str]:
    """The notifications on screen now, as their text (run_test(notifications=True))."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]
