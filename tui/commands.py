"""The command palette (ctrl+p) of the lab screen: every key's command by name, each app
call of each side, and each scenario by title (LabCommands, a Textual Provider)."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .app import lab_screen_of, lang_text
from .call_menu import CALLS
from .keys import KEYS


class LabCommands(Provider):
    """Every lab command in the command palette (ctrl+p): the keys, each app call, and
    each scenario by title."""

    def _lab_commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        screen = lab_screen_of(self.app)
        if screen is None:
            return []
        out: list[tuple[str, Callable[[], Any], str]] = []
        for key in KEYS:
            out.append((key.en, partial(screen.run_action, key.action), f"key: {key.display}"))
        if screen.lab is not None:
            for role in ("client", "server"):
                for _, call, nbytes, en, _zh in CALLS:
                    out.append((f"{role.capitalize()}: {call}()", partial(screen.app_call, role, call, nbytes), en))
            try:
                scenarios = screen.scenario_list()
            except Exception:  # noqa: BLE001 - no scenarios is not worth a crash in the palette
                scenarios = []
            for sc in scenarios:
                title = lang_text(sc.title, "en")
                out.append((f"Scenario: {title}", partial(screen.choose_scenario, sc.name), lang_text(sc.goal, "en")))
        return out

    async def discover(self) -> Hits:
        for name, command, help_text in self._lab_commands():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, command, help_text in self._lab_commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=help_text)
