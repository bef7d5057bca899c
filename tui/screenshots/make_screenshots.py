"""Rebuild the README's pictures: `uv run python tui/screenshots/make_screenshots.py`.

Not shipped in the package (pyproject ships only tui/*.tcss). browser.png comes from the
end-to-end test:
`TCP_LAB_SCREENSHOT=tui/screenshots/browser.png uv run pytest tests/e2e/test_serve_chromium.py`.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))

from teach_helpers import finished, replay_file, teach_app  # noqa: E402

from tcp_lab.core.export import svg_export  # noqa: E402
from tcp_lab.tui.cmd_compare import compare_file  # noqa: E402
from tcp_lab.tui.compare_app import CompareApp  # noqa: E402
from tcp_lab.tui.replay_app import replay_app  # noqa: E402

ROOT = HERE.parent.parent


async def shot(app, keys, name, size=(120, 36)):
    async with app.run_test(size=size) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        (HERE / name).write_text(app.export_screenshot(title="tcp-lab"), encoding="utf-8")


async def main():
    await shot(teach_app(), ["n"] * 23, "lab.svg")
    await shot(teach_app("simultaneous-close", lang="zh"), ["n"] * 14, "lab-zh.svg")
    capture = ROOT / "captures" / "course-example.pcap"
    replay = replay_file(capture)
    await shot(
        replay_app(replay, None, name=capture.name, highlight_seconds=None, cursor_blink=False),
        ["n"] * 10,
        "replay.svg",
        size=(140, 40),
    )
    await shot(teach_app(), ["n"] * 6 + ["g"], "state-diagram.svg")
    await shot(teach_app("handshake"), ["n", "n", "n", "z", "4"], "quiz.svg")
    comparison, _ = compare_file(str(ROOT / "captures" / "lost-fin.pcap"), 0)
    await shot(CompareApp(comparison, source="captures/lost-fin.pcap #0"), ["n"], "compare.svg")
    await shot(teach_app("handshake"), ["n"] * 8 + ["e"], "export-menu.svg")
    (HERE / "ladder-export.svg").write_text(svg_export(finished("simultaneous-close"), "Simultaneous close: two FINs cross"), encoding="utf-8")


asyncio.run(main())
