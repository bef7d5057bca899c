"""The scenario chooser: a searchable list of the built-in scenarios with titles and goals.

Typing filters the list (every word must appear in the name, title or goal, in either
language); ↑/↓ move, Enter chooses, Escape goes back. The screen returns the chosen
scenario's name, or None.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from .ui_text import ui


def _lang_text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return value.get(lang) or value.get("en") or ""
    return str(value or "")


class ScenarioPicker(ModalScreen[str | None]):
    """A modal list of scenarios; dismisses with the chosen scenario's name."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Back"),
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
    ]

    DEFAULT_CSS = """
    ScenarioPicker { align: center middle; }
    ScenarioPicker > Vertical {
        width: 90%; max-width: 100; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ScenarioPicker #picker-title { text-style: bold; width: 1fr; }
    ScenarioPicker OptionList, ScenarioPicker OptionList:focus { height: 1fr; border: none; padding: 0; }
    ScenarioPicker Input, ScenarioPicker Input:focus { margin: 0 0 1 0; border: none; height: 1; padding: 0 1; background: $boost; }
    ScenarioPicker #picker-goal {
        height: auto; max-height: 35%; border-top: solid $accent; color: $text-muted; overflow-y: auto;
    }
    """

    def __init__(self, scenarios: Iterable[Any], *, current: str | None = None, lang: str = "en") -> None:
        super().__init__()
        self.scenarios = list(scenarios)
        self.current = current
        self.lang = lang

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(ui("choose_scenario", self.lang) + "  (Enter / Esc)", id="picker-title")
            yield Input(placeholder=ui("filter_hint", self.lang), id="picker-filter")
            yield OptionList(id="picker-list")
            yield Static(id="picker-goal", markup=False)

    def on_mount(self) -> None:
        self._fill("")
        search = self.query_one(Input)
        search.cursor_blink = getattr(self.app, "cursor_blink", True)
        search.focus()

    def matches(self, query: str) -> list[Any]:
        """The scenarios whose name, title or goal (in either language) hold every word."""
        words = query.lower().split()
        out = []
        for sc in self.scenarios:
            hay = " ".join(
                [sc.name, _lang_text(sc.title, "en"), _lang_text(sc.title, "zh"), _lang_text(sc.goal, "en"), _lang_text(sc.goal, "zh")]
            ).lower()
            if all(w in hay for w in words):
                out.append(sc)
        return out

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        found = self.matches(query)
        for sc in found:
            prompt = Text()
            prompt.append(_lang_text(sc.title, self.lang), style="bold")
            prompt.append(f"  {sc.name}", style="dim")
            goal = _first_sentence(_lang_text(sc.goal, self.lang))
            if goal:
                prompt.append("\n" + goal, style="italic")
            options.add_option(Option(prompt, id=sc.name))
        if found:
            names = [sc.name for sc in found]
            options.highlighted = names.index(self.current) if self.current in names else 0
        self._show_goal()

    @on(OptionList.OptionHighlighted, "#picker-list")
    def _show_goal(self) -> None:
        """The whole goal of the highlighted scenario, below the list."""
        options = self.query_one(OptionList)
        goal = ""
        if options.highlighted is not None and options.option_count:
            name = options.get_option_at_index(options.highlighted).id
            sc = next(sc for sc in self.scenarios if sc.name == name)
            goal = f"{ui('goal', self.lang)}: {_lang_text(sc.goal, self.lang)}"
        self.query_one("#picker-goal", Static).update(goal)

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#picker-filter")
    def _submit(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected, "#picker-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if not options.option_count:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(options.option_count - 1, current + delta))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def _first_sentence(text: str) -> str:
    """The goal's first sentence, for the list (the whole goal is shown below it)."""
    for end in ("。", ". ", "! ", "? "):
        k = text.find(end)
        if 0 < k:
            text = text[: k + len(end.strip())]
            break
    return text
