"""The state diagram view: RFC 9293's state machine (core/diagram.py) with both endpoints on it.

`StateDiagram` draws the diagram laid out for its size. "C" marks the state the client is
in, "S" the server's; the arrow (or the ↻ / ✕ mark) of the transition each side just took
is lit in that side's colour. `DiagramCaption` says in words what each side did at this
step and which RFC 9293 rule made it.

`StateDiagramScreen` shows both over the lab screen's controller. It steps with the lab's
own keys (n, space, →, p, ←, Home, End), so the diagram moves as the ladder did, and `g`
(or Escape) goes back to the ladder. The lab screen opens it with
`open_state_diagram(lab_screen)`; any screen with a `controller` (a Stepper), `lang` and
`show()` will do (the replay screen too).

Over a capture that changes underneath (a growing capture followed, or the memory limits
of core/limits.py dropping the conversation's oldest segments or forgetting it), the
screen below calls `lab_changed()` (tui/teach.py) each time it repaints: the diagram is
drawn again for the frame now under the cursor (the cursor moves with its segment, or to
the oldest kept; a forgotten conversation's neighbour), or, with no conversation left to
show, the caption says why.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Static

from tcp_lab.core.diagram import EVENT_LABELS, MIN_HEIGHT, MIN_WIDTH, Diagram, DiagramTooSmall, Move, layout, step_moves
from tcp_lab.core.states import State
from tcp_lab.core.transitions import row as table_row

from .ui_text import ui

ROLE_LETTER = {"client": "C", "server": "S"}


def moves_at(controller: Any, cursor: int) -> tuple[State, State, dict[str, Move]]:
    """(client state, server state, each side's move) at frame `cursor` of a controller's
    timeline; before the first frame: the initial states and no moves."""
    timeline = controller.timeline
    if cursor < 0 or len(timeline) == 0:
        initial = controller.initial_views() if hasattr(controller, "initial_views") else None
        if initial:
            return initial[0].state, initial[1].state, {}
        return State.CLOSED, State.CLOSED, {}
    frame = timeline[cursor]
    if cursor > 0:
        prev = timeline[cursor - 1]
        before = (prev.client.state, prev.server.state)
    else:
        initial = controller.initial_views() if hasattr(controller, "initial_views") else None
        before = (initial[0].state, initial[1].state) if initial else None
    return frame.client.state, frame.server.state, step_moves(before, frame)


class StateDiagram(Widget):
    """The RFC 9293 state diagram with each endpoint's state and last transition lit."""

    COMPONENT_CLASSES = {
        "diagram--line",
        "diagram--state",
        "diagram--client",
        "diagram--server",
        "diagram--both",
        "diagram--mark",
    }

    DEFAULT_CSS = """
    StateDiagram { height: 1fr; }
    StateDiagram > .diagram--line { color: $foreground-muted; }
    StateDiagram > .diagram--state { text-style: bold; }
    StateDiagram > .diagram--client { color: $text-primary; text-style: bold; }
    StateDiagram > .diagram--server { color: $text-success; text-style: bold; }
    StateDiagram > .diagram--both { color: $text-warning; text-style: bold; }
    StateDiagram > .diagram--mark { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.client_state = State.CLOSED
        self.server_state = State.CLOSED
        self.moves: dict[str, Move] = {}
        #: False when there is no connection to mark (the diagram alone, no C or S).
        self.marked = True

    def show(self, client: State, server: State, moves: dict[str, Move]) -> None:
        self.client_state, self.server_state, self.moves = client, server, moves
        self.marked = True
        self.refresh()

    def show_nothing(self) -> None:
        """The diagram without marks: no connection to show."""
        self.client_state, self.server_state, self.moves = State.CLOSED, State.CLOSED, {}
        self.marked = False
        self.refresh()

    # -- what is lit ----------------------------------------------------------------

    def lit_cells(self, diagram: Diagram) -> dict[tuple[int, int], set[str]]:
        """Cells of the transitions just taken, with the roles that took them."""
        lit: dict[tuple[int, int], set[str]] = {}
        for role, move in self.moves.items():
            if not move.rows:
                continue
            if move.changed:
                edge = diagram.edge(move.old, move.new)
                if edge is not None:
                    for cell in edge.path:
                        lit.setdefault(cell, set()).add(role)
            else:
                for node in diagram.nodes_of(move.old):
                    if node.copy == 0:
                        lit.setdefault(node.loop_mark, set()).add(role)
        return lit

    def closed_copy(self, role: str, diagram: Diagram) -> int:
        """Which CLOSED a side sits on: the one the arrow it just took points to, else the
        one it sat on at the previous step, else the top one."""
        move = self.moves.get(role)
        if move is not None and move.changed and move.new is State.CLOSED:
            edge = diagram.edge(move.old, move.new)
            if edge is not None:
                return edge.target_copy
        return 0

    def node_roles(self, diagram: Diagram) -> dict[tuple[State, int], set[str]]:
        where: dict[tuple[State, int], set[str]] = {}
        if not self.marked:
            return where
        for role, state in (("client", self.client_state), ("server", self.server_state)):
            copy = self.closed_copy(role, diagram) if state is State.CLOSED else 0
            where.setdefault((state, copy), set()).add(role)
        return where

    def plain_lines(self) -> list[str]:
        """The diagram as text with the C/S marks (what a user reads, for tests)."""
        try:
            diagram = layout(self.size.width, self.size.height)
        except DiagramTooSmall:
            return [self._too_small_text()]
        grid = [list(line) for line in diagram.lines]
        for node in diagram.nodes:
            roles = self.node_roles(diagram).get((node.state, node.copy), set())
            if "client" in roles:
                x, y = node.client_mark
                grid[y][x] = "C"
            if "server" in roles:
                x, y = node.server_mark
                grid[y][x] = "S"
        return ["".join(row) for row in grid]

    def _too_small_text(self) -> str:
        return f"(the state diagram needs {MIN_WIDTH}x{MIN_HEIGHT} cells; this pane is {self.size.width}x{self.size.height})"

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        try:
            diagram = layout(width, height)
        except DiagramTooSmall:
            return Text(self._too_small_text())
        styles = {name: self.get_component_rich_style(f"diagram--{name}", partial=True) for name in ("line", "state", "client", "server", "both", "mark")}
        lit = self.lit_cells(diagram)
        where = self.node_roles(diagram)
        node_at: dict[tuple[int, int], Any] = {}
        for node in diagram.nodes:
            for cell in node.cells():
                node_at[cell] = node
        lines = self.plain_lines()
        out = Text(no_wrap=True, overflow="crop")
        for y, line in enumerate(lines):
            for x, ch in enumerate(line):
                cell = (x, y)
                style: Style = styles["line"]
                node = node_at.get(cell)
                roles = lit.get(cell)
                if node is not None:
                    here = where.get((node.state, node.copy), set())
                    if cell == node.client_mark and "client" in here:
                        style = styles["client"] + Style(reverse=True)
                    elif cell == node.server_mark and "server" in here:
                        style = styles["server"] + Style(reverse=True)
                    elif roles:
                        style = self._role_style(roles, styles) + Style(reverse=True)
                    elif ch in "↻✕":
                        style = styles["mark"]
                    elif here:
                        style = self._role_style(here, styles) + Style(reverse=True)
                    else:
                        style = styles["state"]
                elif roles:
                    style = self._role_style(roles, styles)
                out.append(ch, style)
            if y < len(lines) - 1:
                out.append("\n")
        return out

    @staticmethod
    def _role_style(roles: set[str], styles: dict[str, Style]) -> Style:
        if len(roles) > 1:
            return styles["both"]
        return styles["client"] if "client" in roles else styles["server"]


def move_text(move: Move | None, state: State, lang: str) -> str:
    """One side's step in words: "SYN_SENT → ESTABLISHED · rcv SYN,ACK · RFC 9293 3.10.7.3"."""
    zh = lang == "zh"
    if move is None or (not move.changed and not move.rows):
        return f"{state.value}（这一步没有变化）" if zh else f"{state.value} (nothing happened to it at this step)"
    if move.rows:
        first = table_row(move.rows[0])
        events = " / ".join(dict.fromkeys(EVENT_LABELS.get(table_row(r).event, table_row(r).event) for r in move.rows))
        sections = ", ".join(dict.fromkeys(table_row(r).section for r in move.rows))
        head = f"{move.old.value} → {move.new.value}" if move.changed else (f"保持 {move.old.value} ↻" if zh else f"stays {move.old.value} ↻")
        text = f"{head} · {events} · RFC 9293 {sections}"
        if len(move.rows) == 1:
            text += f" · {first.action}"
        return text
    if zh:
        return f"{move.old.value} → {move.new.value}：RFC 9293 的状态表中没有这一转换（真实协议栈的行为，例如 Linux 的 FIN_WAIT_2 超时）"
    return f"{move.old.value} → {move.new.value}: not a move of RFC 9293's table (a real stack's own rule, e.g. Linux's FIN_WAIT_2 timeout)"


class DiagramCaption(Static):
    """Two lines under the diagram: what the client and the server did at this step."""

    DEFAULT_CSS = """
    DiagramCaption { height: 6; border-top: solid $primary; padding: 0 1; }
    """

    def show(self, client: State, server: State, moves: dict[str, Move], lang: str) -> None:
        text = Text()
        for n, (role, state) in enumerate((("client", client), ("server", server))):
            if n:
                text.append("\n")
            style = "bold blue" if role == "client" else "bold green"
            text.append(f"{ROLE_LETTER[role]} {ui(role, lang)}: ", style=style)
            text.append(move_text(moves.get(role), state, lang))
        legend = (
            "↻ 状态不变的规则   ✕ 复位 / 中止 / 放弃 → CLOSED   g 返回时序图"
            if lang == "zh"
            else "↻ rules that keep the state   ✕ RST / ABORT / give up → CLOSED   g back to the ladder"
        )
        text.append("\n" + legend, style="dim")
        self.update(text)


class StateDiagramScreen(Screen):
    """The state diagram over the lab's timeline, stepped with the lab's keys."""

    DEFAULT_CSS = """
    StateDiagramScreen { layout: vertical; }
    StateDiagramScreen StateDiagram { height: 1fr; padding: 0 1; }
    """

    BINDINGS = [
        Binding("g,escape", "close", "Ladder", tooltip="Back to the ladder"),
        Binding("n,space,right", "step('next')", "Next"),
        Binding("p,left", "step('prev')", "Back"),
        Binding("home", "step('first')", "First", show=False),
        Binding("end", "step('last')", "Last", show=False),
        Binding("l", "toggle_lang", "中文/EN"),
    ]

    def __init__(self, lab_screen: Any) -> None:
        super().__init__(id="state-diagram")
        self.lab_screen = lab_screen

    @property
    def lang(self) -> str:
        return getattr(self.lab_screen, "lang", "en")

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⇄")
        yield StateDiagram(id="diagram")
        yield DiagramCaption(id="diagram-caption")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.update_view()

    def on_resize(self) -> None:
        self.query_one(StateDiagram).refresh()

    def update_view(self) -> None:
        controller = self.lab_screen.controller
        n = controller.length  # a capture's cursor follows what the memory limits dropped
        waiting = getattr(self.lab_screen, "waiting_text", None)
        if n == 0 and controller.cursor < 0 and callable(waiting):
            # A capture with no conversation to show (none yet, or the one shown was
            # forgotten and none is left): say so rather than mark a made-up CLOSED.
            heading, body = waiting()
            self.query_one(StateDiagram).show_nothing()
            self.query_one(DiagramCaption).update(Text.assemble((heading, "bold"), "\n", body))
        else:
            client, server, moves = moves_at(controller, controller.cursor)
            self.query_one(StateDiagram).show(client, server, moves)
            self.query_one(DiagramCaption).show(client, server, moves, self.lang)
        title = "RFC 9293 状态图" if self.lang == "zh" else "RFC 9293 state diagram"
        self.title = title
        status = getattr(self.lab_screen, "status_text", None)
        self.sub_title = status() if callable(status) else ""

    def lab_changed(self) -> None:
        """The screen below changed what it shows (tui/teach.py): draw its frame now."""
        if self.is_mounted:
            self.update_view()

    def action_step(self, how: str) -> None:
        action = getattr(self.lab_screen, f"action_{how}")
        action()
        self.update_view()

    def action_toggle_lang(self) -> None:
        self.lab_screen.action_toggle_lang()
        self.update_view()

    def action_close(self) -> None:
        self.app.pop_screen()
        show = getattr(self.lab_screen, "show", None)
        if callable(show):
            show()


def open_state_diagram(lab_screen: Any) -> None:
    """Show the state diagram over `lab_screen` (the lab's `g` key)."""
    lab_screen.app.push_screen(StateDiagramScreen(lab_screen))
