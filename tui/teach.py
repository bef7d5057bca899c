"""The teaching tools on the lab screen: the hook the lab (and the replay) screen mounts.

To wire them into a screen that shows a timeline through a `controller` (tui/app.py's
LabScreen, the replay screen):

1. add `TEACH_KEYS` to tui/keys.py's KEYS (g: state diagram, z: quiz, e: export), so the
   bindings, the footer, the help screen and the command palette all list them;
2. mix `TeachingMixin` into the screen class (`class LabScreen(TeachingMixin, Screen)`):
   it supplies `action_state_diagram`, `action_quiz` and `action_export`.

`TeachingLabScreen` / `teaching_lab_app` are exactly that, built on today's LabScreen
without touching it: the tests and `tcp-lab serve` use them until the lab has the keys.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from .keys import Key

TEACH_KEYS: tuple[Key, ...] = (
    Key("g", "g", "state_diagram", "State diagram (RFC 9293) with both sides on it; g again: back to the ladder", "状态图（RFC 9293），标出两端的位置；再按 g 返回时序图", "Diagram"),
    Key("z", "z", "quiz", "Quiz: predict the next steps (state, flags, ack), then see why", "测验：预测接下来的步骤（状态、控制位、确认号），再看原因", "Quiz"),
    Key("e", "e", "export", "Export: pcap for Wireshark, Mermaid, SVG, screenshot", "导出：pcap（Wireshark）、Mermaid、SVG、截图", "Export"),
)


def teach_bindings() -> list[Binding]:
    """Bindings for TEACH_KEYS (the same shape tui/keys.py's bindings() makes)."""
    return [
        Binding(k.keys, k.action, k.footer or k.en, show=k.footer is not None, tooltip=k.en, id=k.action)
        for k in TEACH_KEYS
    ]


class TeachingMixin:
    """Actions of the teaching tools for a screen with `controller`, `lang`, `show()`."""

    def action_state_diagram(self) -> None:
        from .state_diagram import open_state_diagram

        open_state_diagram(self)

    def action_quiz(self) -> None:
        from .quiz_screen import open_quiz

        stop = getattr(self, "_stop_play", None)
        if callable(stop):
            stop()
        open_quiz(self)

    def action_export(self) -> None:
        from .export_actions import open_export_menu

        open_export_menu(self)


def teaching_lab_app(simulation: Any, **kwargs: Any):
    """The lab app (tui/app.py lab_app) whose screen has the teaching keys."""
    from .app import LabApp, LabScreen, lab_app
    from .keys import bindings

    class TeachingLabScreen(TeachingMixin, LabScreen):
        BINDINGS = bindings() + teach_bindings()

    app = lab_app(simulation, **kwargs)

    def default_screen() -> Any:
        return TeachingLabScreen(app.controller, **app._screen_args)

    app.get_default_screen = default_screen  # type: ignore[method-assign]
    return app
