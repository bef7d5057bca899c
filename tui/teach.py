"""The teaching tools on a screen that shows a timeline: the state diagram (g), the quiz (z)
and the export menu (e).

Their keys are `TEACH_KEYS` in tui/keys.py (part of the lab's `KEYS` and of the replay and
live screens' `CAPTURE_KEYS`, so the bindings, the footer, the help screen and the command
palette all list them). A screen gets their actions by taking `TeachingMixin` first among
its bases: `class LabScreen(TeachingMixin, Screen)` (tui/app.py), and the replay and live
screens (tui/replay_app.py, tui/live_app.py) likewise.

A screen whose timeline changes by itself (the replay and live screens: a capture that
grows, the memory limits dropping a conversation's oldest segments or forgetting it) calls
`refresh_teaching()` each time it repaints, so that the diagram or the quiz open over it
follows (their `lab_changed()`).
"""

from __future__ import annotations

from .keys import TEACH_KEYS

__all__ = ["TEACH_KEYS", "TeachingMixin"]


class TeachingMixin:
    """Actions of the teaching tools for a screen with `controller` (a Stepper), `lang` and
    `show()`; the state diagram also steps with the screen's `action_next`/`action_prev`/
    `action_first`/`action_last` and `action_toggle_lang`."""

    def action_state_diagram(self) -> None:
        from .state_diagram import open_state_diagram

        open_state_diagram(self)

    def action_quiz(self) -> None:
        from .quiz_screen import open_quiz

        stop = getattr(self, "_stop_play", None)
        if callable(stop):
            stop()
        open_quiz(self)

    def refresh_teaching(self) -> None:
        """Tell the teaching screens open over this one (`lab_changed()`: the state
        diagram, the quiz) that what this screen shows changed."""
        app = self.app  # type: ignore[attr-defined]
        stack = app.screen_stack
        if self not in stack:
            return
        for screen in stack[stack.index(self) + 1 :]:
            changed = getattr(screen, "lab_changed", None)
            if callable(changed):
                changed()

    def action_export(self) -> None:
        from .export_actions import open_export_menu

        open_export_menu(self)
