"""The RFC 9293 state diagram, laid out for a terminal from the transition table itself.

RFC 9293 section 3.3.2 (Figure 5) draws the TCP state machine by hand. Here it is drawn
from core/transitions.py: every arrow is the set of table rows that take one state to
another, so the picture cannot drift from what the lab's endpoints do. What stays a
layout choice is only *where* each state sits: the places of Figure 5 (CLOSED at the top,
the handshake below it, ESTABLISHED in the middle, the active close on the left, the
passive close on the right, TIME_WAIT and a second CLOSED at the bottom), scaled to the
space there is. Arrows are routed between the states on a character grid (a shortest
path that avoids other states, prefers few bends, may cross another arrow at a right
angle and may merge with arrows that go to the same state, the way Figure 5's arrows into
CLOSED merge).

What is not drawn, on purpose:

* rows that leave the state unchanged (a retransmission, data in ESTABLISHED ...): the
  state gets a ``↻`` mark instead, and the screen lights it when such a row was taken;
* the two rows that are not TCP (the hypothetical two-way handshake, section "not TCP").

CLOSED is drawn twice, as in Figure 5: arrows into CLOSED go to the nearer copy.

Pure: `layout(width, height)` returns a `Diagram` (the characters of every line and, for
each cell, which arrows pass there), cached per size.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import lru_cache

from .states import State
from .transitions import TABLE, Row

# Figure 5's places: (state, copy, column as a fraction of the width, layer).
_PLACES: tuple[tuple[State, int, float, int], ...] = (
    (State.CLOSED, 0, 0.50, 0),
    (State.LISTEN, 0, 0.50, 1),
    (State.SYN_RCVD, 0, 0.14, 2),
    (State.SYN_SENT, 0, 0.86, 2),
    (State.ESTABLISHED, 0, 0.50, 3),
    (State.FIN_WAIT_1, 0, 0.14, 4),
    (State.CLOSING, 0, 0.50, 4),
    (State.CLOSE_WAIT, 0, 0.86, 4),
    (State.FIN_WAIT_2, 0, 0.14, 5),
    (State.LAST_ACK, 0, 0.86, 5),
    (State.TIME_WAIT, 0, 0.50, 6),
    (State.CLOSED, 1, 0.86, 6),
)
LAYERS = 7
#: The smallest grid the diagram fits in.
MIN_WIDTH = 64
MIN_HEIGHT = 13

#: Short names of the table's events, as Figure 5 labels its arrows ("rcv SYN", "CLOSE").
EVENT_LABELS: dict[str, str] = {
    "listen": "LISTEN call",
    "connect": "CONNECT call",
    "send": "SEND call",
    "close": "CLOSE call",
    "close_queued": "CLOSE call (data queued)",
    "abort": "ABORT call",
    "rto": "RTO fires",
    "rto_give_up": "RTO: give up",
    "rto_give_up_passive": "RTO: give up",
    "2msl": "2MSL timer fires",
    "rst": "rcv RST",
    "rst_ignored": "rcv RST (ignored)",
    "rst_passive": "rcv RST",
    "rst_in_window": "rcv RST in window",
    "segment": "rcv segment",
    "ack": "rcv ACK",
    "ack_data": "rcv ACK + data",
    "ack_fin": "rcv ACK + FIN",
    "ack_of_fin": "rcv ACK of FIN",
    "ack_unacceptable": "rcv unacceptable ACK",
    "bad_ack": "rcv bad ACK",
    "syn": "rcv SYN",
    "syn_passive": "rcv SYN",
    "syn_ack": "rcv SYN,ACK",
    "syn_two_way": "rcv SYN (not TCP)",
    "syn_ack_two_way": "rcv SYN,ACK (not TCP)",
    "other": "rcv other",
    "unacceptable": "rcv out-of-window",
    "unacceptable_rst": "rcv RST out of window",
    "throttled": "rcv (ACK throttled)",
    "out_of_order": "rcv out of order",
    "no_ack": "rcv no ACK bit",
    "data": "rcv data",
    "fin": "rcv FIN",
    "fin_app_closes": "rcv FIN, app closes",
    "fin_ack_of_fin": "rcv FIN + ACK of FIN",
    "fin_again": "rcv FIN again",
}

# Directions as bits (a cell's line joins its neighbours in these directions).
N, E, S, W = 1, 2, 4, 8
_STEP = {N: (0, -1), E: (1, 0), S: (0, 1), W: (-1, 0)}
_OPPOSITE = {N: S, S: N, E: W, W: E}
_BOX = {
    N | S: "│", E | W: "─", N: "│", S: "│", E: "─", W: "─",
    N | E: "└", N | W: "┘", S | E: "┌", S | W: "┐",
    N | E | S: "├", N | W | S: "┤", E | W | S: "┬", E | W | N: "┴", N | E | S | W: "┼",
}
_HEAD = {N: "▲", S: "▼", E: "▶", W: "◀"}  # pointing towards the target state


def drawn_rows() -> tuple[Row, ...]:
    """The table rows the diagram draws as arrows or loops (all but the not-TCP ones)."""
    return tuple(r for r in TABLE if not r.section.startswith("not TCP"))


def moves() -> dict[tuple[State, State], tuple[str, ...]]:
    """Every state change the table allows, (from, to) -> the ids of the rows that make it,
    in table order (drawn rows only)."""
    out: dict[tuple[State, State], list[str]] = {}
    for r in drawn_rows():
        for s in r.states:
            t = r.target(s)
            if t is not s:
                out.setdefault((s, t), []).append(r.id)
    return {k: tuple(v) for k, v in out.items()}


def loops() -> dict[State, tuple[str, ...]]:
    """Rows that keep a state as it is, per state (drawn as the state's ↻ mark)."""
    out: dict[State, list[str]] = {}
    for r in drawn_rows():
        for s in r.states:
            if r.target(s) is s:
                out.setdefault(s, []).append(r.id)
    return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class Node:
    """A state drawn on the grid: its label spans columns x .. x+width-1 of line y.

    The label is "C NAME ↻✕ S": the first and last cells hold the "C" (client here) and
    "S" (server here) marks, then the ↻ mark (rows that keep the state) and the ✕ mark
    (rows that reset the connection: RST, ABORT, giving up; they go to CLOSED)."""

    state: State
    copy: int
    x: int
    y: int
    width: int

    @property
    def text(self) -> str:
        return f"  {self.state.value}     "

    def cells(self) -> list[tuple[int, int]]:
        return [(self.x + i, self.y) for i in range(self.width)]

    @property
    def client_mark(self) -> tuple[int, int]:
        return (self.x, self.y)

    @property
    def server_mark(self) -> tuple[int, int]:
        return (self.x + self.width - 1, self.y)

    @property
    def loop_mark(self) -> tuple[int, int]:
        return (self.x + self.width - 4, self.y)

    @property
    def reset_mark(self) -> tuple[int, int]:
        return (self.x + self.width - 3, self.y)


@dataclass(frozen=True, slots=True)
class Edge:
    """An arrow: the state change `source` -> `target` made by the table rows `rows`.

    An "arrow" runs through the cells of `path`, from next to the source to the arrowhead
    next to the target copy `target_copy`. A "reset" (a move to CLOSED made only by RST,
    ABORT or giving up) is the source's ✕ mark: `path` is that one cell, as Figure 5 leaves
    these moves out and a line from every state to CLOSED would hide the rest."""

    source: State
    target: State
    rows: tuple[str, ...]
    path: tuple[tuple[int, int], ...]
    source_copy: int
    target_copy: int
    kind: str = "arrow"

    @property
    def head(self) -> tuple[int, int]:
        return self.path[-1]


@dataclass(frozen=True, slots=True)
class Diagram:
    """The laid-out diagram: `lines` are its characters (each exactly `width` cells; one
    cell per character), `nodes` the states, `edges` the arrows, `edge_cells` for each
    cell the indices of the arrows through it."""

    width: int
    height: int
    lines: tuple[str, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    edge_cells: dict[tuple[int, int], tuple[int, ...]]
    loops: dict[State, tuple[str, ...]]

    def nodes_of(self, state: State) -> list[Node]:
        return [n for n in self.nodes if n.state is state]

    def edge(self, source: State, target: State) -> Edge | None:
        """The arrow for a state change, or None when the table has no row for it."""
        for e in self.edges:
            if e.source is source and e.target is target:
                return e
        return None

    def edge_index(self, source: State, target: State) -> int | None:
        for i, e in enumerate(self.edges):
            if e.source is source and e.target is target:
                return i
        return None


class DiagramTooSmall(ValueError):
    """The grid is smaller than MIN_WIDTH x MIN_HEIGHT."""


#: Events that end a connection abnormally; a move to CLOSED made only by these is a ✕ mark.
RESET_EVENTS = frozenset({"abort", "rst", "rto_give_up"})


def is_reset(target: State, rows: tuple[str, ...]) -> bool:
    """True when the move to `target` is drawn as a ✕ mark (see Edge)."""
    from .transitions import row as table_row

    return target is State.CLOSED and all(table_row(r).event in RESET_EVENTS for r in rows)


def transition_rows(old: State, new: State, row_id: str | None = None) -> tuple[str, ...]:
    """The rows that explain `old` -> `new`: the given row if it does, else every row of the
    table that makes this move (empty: the table has no such move)."""
    by_move = moves()
    if old is new:
        candidates = loops().get(old, ())
    else:
        candidates = by_move.get((old, new), ())
    if row_id is not None and row_id in candidates:
        return (row_id,)
    return candidates


# ============================================================================ layout ===


@lru_cache(maxsize=8)
def layout(width: int, height: int) -> Diagram:
    """Lay the diagram out on a `width` x `height` character grid (see the module text)."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise DiagramTooSmall(f"the state diagram needs at least {MIN_WIDTH}x{MIN_HEIGHT} cells, not {width}x{height}")
    nodes = _place(width, height)
    router = _Router(width, height, nodes)
    edges: list[Edge] = []
    for (source, target), rows in _edge_order():
        s_node = _node(nodes, source, 0)
        if is_reset(target, rows):
            edges.append(Edge(source, target, rows, (s_node.reset_mark,), 0, 1, "reset"))
            continue
        t_node = _nearest_copy(nodes, s_node, target)
        path = router.route(len(edges), s_node, t_node)
        edges.append(Edge(source, target, rows, tuple(path), s_node.copy, t_node.copy))
    grid = [[" "] * width for _ in range(height)]
    dirs: dict[tuple[int, int], int] = {}
    cells: dict[tuple[int, int], list[int]] = {}
    heads: dict[tuple[int, int], int] = {}
    for i, e in enumerate(edges):
        if e.kind == "reset":
            cells[e.path[0]] = [i]
            continue
        s_node = _node(nodes, e.source, e.source_copy)
        t_node = _node(nodes, e.target, e.target_copy)
        path = e.path
        for k, cell in enumerate(path):
            cells.setdefault(cell, [])
            if i not in cells[cell]:
                cells[cell].append(i)
            d = 0
            if k == 0:
                d |= _toward(cell, s_node)
            else:
                d |= _dir(cell, path[k - 1])
            if k + 1 < len(path):
                d |= _dir(cell, path[k + 1])
            dirs[cell] = dirs.get(cell, 0) | d
        heads[path[-1]] = _toward(path[-1], t_node)
    for (x, y), d in dirs.items():
        grid[y][x] = _BOX.get(d, "┼")
    for (x, y), d in heads.items():
        grid[y][x] = _HEAD[d]
    loop_rows = loops()
    for n in nodes:
        for k, ch in enumerate(n.text):
            grid[n.y][n.x + k] = ch
        if n.state in loop_rows and n.copy == 0:
            x, y = n.loop_mark
            grid[y][x] = "↻"
    for e in edges:
        if e.kind == "reset":
            x, y = e.path[0]
            grid[y][x] = "✕"
    return Diagram(
        width=width,
        height=height,
        lines=tuple("".join(row) for row in grid),
        nodes=tuple(nodes),
        edges=tuple(edges),
        edge_cells={c: tuple(v) for c, v in cells.items()},
        loops=loop_rows,
    )


def _place(width: int, height: int) -> list[Node]:
    nodes = []
    for state, copy, fx, layer in _PLACES:
        w = len(state.value) + 7
        cx = round(fx * (width - 1))
        x = max(0, min(width - w, cx - w // 2))
        y = round(layer * (height - 1) / (LAYERS - 1))
        nodes.append(Node(state, copy, x, y, w))
    return nodes


def _node(nodes: list[Node], state: State, copy: int) -> Node:
    return next(n for n in nodes if n.state is state and n.copy == copy)


def _nearest_copy(nodes: list[Node], source: Node, state: State) -> Node:
    """The copy of `state` closest to `source` (CLOSED is drawn twice)."""
    copies = [n for n in nodes if n.state is state]
    sx, sy = source.x + source.width // 2, source.y

    def distance(n: Node) -> tuple[int, int]:
        return (abs(n.x + n.width // 2 - sx) + 3 * abs(n.y - sy), n.copy)

    return min(copies, key=distance)


#: The arrows of the textbook path are routed first, so they get the straightest lines.
_MAIN_PATH = (
    (State.CLOSED, State.LISTEN),
    (State.CLOSED, State.SYN_SENT),
    (State.LISTEN, State.SYN_RCVD),
    (State.SYN_SENT, State.ESTABLISHED),
    (State.SYN_RCVD, State.ESTABLISHED),
    (State.ESTABLISHED, State.FIN_WAIT_1),
    (State.ESTABLISHED, State.CLOSE_WAIT),
    (State.FIN_WAIT_1, State.FIN_WAIT_2),
    (State.CLOSE_WAIT, State.LAST_ACK),
    (State.FIN_WAIT_1, State.CLOSING),
    (State.FIN_WAIT_2, State.TIME_WAIT),
    (State.CLOSING, State.TIME_WAIT),
    (State.LAST_ACK, State.CLOSED),
    (State.TIME_WAIT, State.CLOSED),
)


def _edge_order() -> list[tuple[tuple[State, State], tuple[str, ...]]]:
    by_move = moves()
    rank = {pair: i for i, pair in enumerate(_MAIN_PATH)}
    order = list(_PLACES_ORDER)
    return sorted(
        by_move.items(),
        key=lambda kv: (rank.get(kv[0], len(rank)), order.index(kv[0][0]), order.index(kv[0][1])),
    )


_PLACES_ORDER = tuple(dict.fromkeys(p[0] for p in _PLACES))


def _dir(cell: tuple[int, int], other: tuple[int, int]) -> int:
    dx, dy = other[0] - cell[0], other[1] - cell[1]
    return {(0, -1): N, (1, 0): E, (0, 1): S, (-1, 0): W}[(dx, dy)]


def _toward(cell: tuple[int, int], node: Node) -> int:
    """The direction from a cell next to `node` into it."""
    x, y = cell
    if y == node.y - 1:
        return S
    if y == node.y + 1:
        return N
    return E if x < node.x else W


class _Router:
    """Routes arrows one by one on the grid (Dijkstra over cell x direction)."""

    TURN = 2.0
    CROSS = 6.0
    SHARE = 0.5  # running along an arrow with the same source or target: cheap (buses merge)
    NEAR_NODE = 3.0  # running right next to a state the arrow has nothing to do with

    def __init__(self, width: int, height: int, nodes: list[Node]) -> None:
        self.w, self.h = width, height
        self.nodes = nodes
        self.blocked: set[tuple[int, int]] = set()
        self.near: dict[tuple[int, int], Node] = {}
        for n in nodes:
            self.blocked.update(n.cells())
        for n in nodes:
            for c in self._ports(n, all_sides=True):
                self.near.setdefault(c, n)
        # cell -> list of (edge id, source key, target key, axis bits used)
        self.used: dict[tuple[int, int], list[tuple[int, tuple, tuple, int]]] = {}
        self.heads: dict[tuple[int, int], tuple] = {}
        self.starts: dict[tuple[int, int], tuple] = {}

    def _ports(self, n: Node, all_sides: bool = False) -> list[tuple[int, int]]:
        out = []
        inner = range(n.x + 2, n.x + n.width - 2) if not all_sides else range(n.x, n.x + n.width)
        for x in inner:
            for y in (n.y - 1, n.y + 1):
                if 0 <= y < self.h:
                    out.append((x, y))
        for x in (n.x - 1, n.x + n.width):
            if 0 <= x < self.w:
                out.append((x, n.y))
        return [c for c in out if c not in self.blocked]

    def route(self, eid: int, src: Node, dst: Node) -> list[tuple[int, int]]:
        skey, tkey = (src.state, src.copy), (dst.state, dst.copy)
        starts = [c for c in self._ports(src) if self._may_start(c, skey)]
        goals = {c for c in self._ports(dst) if self._may_end(c, tkey)}
        path = self._search(starts, goals, skey, tkey, strict=True)
        if path is None:  # never leave an arrow out: allow overlaps at a high price
            path = self._search(self._ports(src), set(self._ports(dst)), skey, tkey, strict=False)
        assert path is not None, f"no route from {src.state} to {dst.state}"
        for k, cell in enumerate(path):
            axis = 0
            if k > 0:
                axis |= _dir(cell, path[k - 1])
            if k + 1 < len(path):
                axis |= _dir(cell, path[k + 1])
            if k == 0:
                axis |= _toward(cell, src)
                self.starts.setdefault(cell, skey)
            self.used.setdefault(cell, []).append((eid, skey, tkey, axis))
        self.heads[path[-1]] = tkey
        return path

    def _may_start(self, cell, skey) -> bool:
        if cell in self.heads:
            return False
        return all(u[1] == skey for u in self.used.get(cell, ()))

    def _may_end(self, cell, tkey) -> bool:
        if cell in self.starts:
            return False
        return all(u[2] == tkey for u in self.used.get(cell, ()))

    def _enter_cost(self, cell, move_dir: int, skey, tkey, strict: bool) -> float | None:
        """The price of running through `cell` straight along `move_dir`'s axis (None: not allowed)."""
        if cell in self.blocked:
            return None
        cost = 1.0
        users = self.used.get(cell)
        if users:
            if all(u[2] == tkey for u in users) or all(u[1] == skey for u in users):
                cost = self.SHARE
            else:
                axis = move_dir | _OPPOSITE[move_dir]
                if cell in self.heads or cell in self.starts or any(u[3] & axis for u in users):
                    if strict:
                        return None
                    cost = 40.0
                else:
                    cost = self.CROSS
        near = self.near.get(cell)
        if near is not None and (near.state, near.copy) not in (skey, tkey):
            cost += self.NEAR_NODE
        return cost

    def _search(self, starts, goals, skey, tkey, strict: bool):
        if not starts or not goals:
            return None
        x0, x1 = min(c[0] for c in goals), max(c[0] for c in goals)
        y0, y1 = min(c[1] for c in goals), max(c[1] for c in goals)
        share = self.SHARE

        def h(c) -> float:
            x, y = c
            return share * (max(x0 - x, 0, x - x1) + max(y0 - y, 0, y - y1))

        heap: list = []
        best: dict = {}
        prev: dict = {}
        counter = 0
        for c in starts:
            for d in (N, E, S, W):
                key = (c, d)
                best[key] = 0.0
                heapq.heappush(heap, (h(c), counter, c, d))
                counter += 1
        while heap:
            _, _, cell, d = heapq.heappop(heap)
            cost = best[(cell, d)]
            if cell in goals:
                path = [cell]
                key = (cell, d)
                while key in prev:
                    key = prev[key]
                    path.append(key[0])
                path.reverse()
                return path
            for nd, (dx, dy) in _STEP.items():
                if nd == _OPPOSITE[d] and (cell, d) in prev:
                    continue
                nx, ny = cell[0] + dx, cell[1] + dy
                if not (0 <= nx < self.w and 0 <= ny < self.h):
                    continue
                nxt = (nx, ny)
                step = self._enter_cost(nxt, nd, skey, tkey, strict)
                if step is None:
                    continue
                if nd != d and (cell, d) in prev:
                    # A bend: the cell we turn in must not be a crossing.
                    if strict and self._crossed(cell, skey, tkey):
                        continue
                    step += self.TURN
                total = cost + step
                if total < best.get((nxt, nd), 1e18):
                    best[(nxt, nd)] = total
                    prev[(nxt, nd)] = (cell, d)
                    heapq.heappush(heap, (total + h(nxt), counter, nxt, nd))
                    counter += 1
        return None

    def _crossed(self, cell, skey, tkey) -> bool:
        users = self.used.get(cell)
        if not users:
            return False
        return not (all(u[2] == tkey for u in users) or all(u[1] == skey for u in users))


# ====================================================================== one step's moves ===


@dataclass(frozen=True, slots=True)
class Move:
    """What one endpoint did at one step: `old` -> `new` state, and the table rows that
    explain it (the row the lab applied when the frame names one, else every row that makes
    this move; empty when the table has no such move, e.g. Linux dropping an orphaned
    FIN_WAIT_2 seen in a capture)."""

    role: str
    old: State
    new: State
    rows: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.old is not self.new


def step_moves(before: tuple[State, State] | None, frame) -> dict[str, Move]:
    """Each endpoint's move at `frame` (a core.frame.Frame), given both states before it
    (client, server); None before the first frame means both were CLOSED.

    A frame of the lab names the row its actor applied (`explain.key`); a captured frame
    does not, so its moves are explained by the rows that make them."""
    old_c, old_s = before if before is not None else (State.CLOSED, State.CLOSED)
    out: dict[str, Move] = {}
    key = frame.explain.key if frame.explain is not None else None
    for role, old, view in (("client", old_c, frame.client), ("server", old_s, frame.server)):
        new = view.state
        acted = frame.who == role and frame.event in ("app", "deliver", "timer")
        if not acted and old is new:
            out[role] = Move(role, old, new, ())
            continue
        out[role] = Move(role, old, new, transition_rows(old, new, key if acted else None))
    return out
