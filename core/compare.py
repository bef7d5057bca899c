"""Simulated vs real: a captured conversation beside the closest built-in scenario.

`compare(real, scenarios)` takes a real conversation's timeline (core/replay.py, one frame
per captured segment) and the finished runs of the built-in scenarios (their segments, as
the RFC 9293 model of core/simulation.py sends them), and:

1. reduces both to a sequence of segment *kinds* per sender (SYN, SYN-ACK, ACK, data,
   FIN, FIN+data, RST ...);
2. aligns the real sequence with each scenario's (an edit distance where a real
   retransmission, duplicate ACK or window update costs little to skip) and keeps the
   scenario with the lowest cost per step: the closest one;
3. marks every place the real stack did something the model would not, and explains it
   (Notes with keys into core/texts_teach.py):

   * a FIN carrying data, PSH on a FIN, a FIN riding on the ACK of the peer's FIN;
   * a delayed ACK (RFC 9293 3.8.6.3 allows up to 0.5 s; Linux waits 40 ms and more; the
     model acknowledges at once), measured against the side's own reply time in the
     handshake so a long path is not mistaken for a delay;
   * retransmission timing: the gap before each retransmission against RFC 6298 (initial
     RTO 1 s, never below 1 s: 2.1, 2.4) and Linux (200 ms minimum, TCP_RTO_MIN);
   * a challenge ACK (RFC 5961, RFC 9293 3.10.7.4): a bare ACK answering a SYN or an
     in-window RST on a synchronized connection;
   * an RST answering a FIN after a FIN_WAIT_2 that Linux timed out (tcp_fin_timeout; RFC
     9293 has no such timer);
   * TIME_WAIT: shorter than the model's 2MSL when the same four-tuple is reused sooner,
     else how much of it the capture shows;
   * options the model does not use: timestamps (RFC 7323), SACK blocks (RFC 2018);
   * segments one side sent that the other has no counterpart for, and states that
     differ after a matching step.

Pure: frames in, a Comparison out; the CLI reads the capture and runs the scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .frame import Frame
from .options import options_dict
from .segment import ACK, FIN, PSH, RST, SYN, flag_names
from .states import State

#: Scenarios never offered as the closest one: free play has no steps, and the two-way
#: handshake is not TCP.
SKIP_SCENARIOS = ("free-play", "two-way-handshake")
#: A reply later than the side's handshake reply time by this much is a delayed ACK.
DELAYED_ACK_MIN = 0.010
#: RFC 6298 2.1/2.4: the initial RTO, and the least RTO, is 1 s. Linux: TCP_RTO_MIN.
RFC_RTO = 1.0
LINUX_RTO_MIN = 0.200
#: Linux's TIME_WAIT length (TCP_TIMEWAIT_LEN); RFC 9293 3.4.2: MSL is 2 minutes.
LINUX_TIME_WAIT = 60.0
RFC_MSL = 120.0
#: Analysis labels that mark a segment the model would not send in that place.
_EXTRA_LABELS = ("TCP Retransmission", "TCP Spurious Retransmission", "TCP Fast Retransmission", "TCP Dup ACK", "TCP Window Update", "TCP Keep-Alive")


@dataclass(frozen=True, slots=True)
class Step:
    """One segment of a conversation: the frame that carries it, its sender and its kind."""

    frame: Frame
    sender: str
    kind: str
    extra: bool = False  # a retransmission, dup ACK or window update (cheap to leave out)
    minor: bool = False  # data, or the bare ACK of data: the application's part, cheap to leave out
    after: Frame | None = None  # both states after the segment (the model: after delivery)

    def states(self) -> tuple[State, State] | None:
        f = self.after or self.frame
        return (f.client.state, f.server.state)


@dataclass(frozen=True, slots=True)
class Note:
    """One difference, explained: `key` into core/texts_teach.py with its params."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    """One aligned step: the real segment, the model's, or both, and what differs."""

    real: Step | None
    model: Step | None
    model_after: Frame | None = None  # the model's frame after delivery (its states)
    notes: list[Note] = field(default_factory=list)

    @property
    def marked(self) -> bool:
        return bool(self.notes)


@dataclass
class Comparison:
    """The result: the closest scenario, the aligned rows and the notes on the whole
    conversation (options, TIME_WAIT)."""

    scenario: str
    title: dict[str, str]
    cost: float
    rows: list[Row]
    notes: list[Note]
    candidates: list[tuple[str, float]]

    @property
    def marks(self) -> int:
        return sum(len(r.notes) for r in self.rows) + len(self.notes)


# =================================================================== segment kinds ===


def kind_of(frame: Frame) -> str:
    """A segment's kind: what it does in the connection, not its numbers."""
    seg = frame.segment
    assert seg is not None
    f = seg.flags
    if f & RST:
        return "RST+ACK" if f & ACK else "RST"
    if f & SYN:
        return "SYN+ACK" if f & ACK else "SYN"
    if f & FIN:
        return "FIN+data" if seg.length else "FIN"
    return "data" if seg.length else "ACK"


def steps_of(timeline: Sequence[Frame], events: tuple[str, ...]) -> list[Step]:
    out: list[Step] = []
    for i in range(len(timeline)):
        f = timeline[i]
        if f.segment is None or f.event not in events or f.sender is None:
            continue
        extra = any(label.startswith(_EXTRA_LABELS) for label in f.analysis)
        kind = kind_of(f)
        minor = kind == "data" or (kind == "ACK" and bool(out) and out[-1].sender != f.sender and out[-1].kind == "data")
        out.append(Step(f, f.sender, kind, extra, minor))
    return out


def _sub_cost(a: Step, b: Step) -> float | None:
    if a.sender != b.sender:
        return None
    cost = 0.0
    if a.kind != b.kind:
        near = {frozenset(("FIN", "FIN+data")), frozenset(("RST", "RST+ACK")), frozenset(("data", "ACK"))}
        if frozenset((a.kind, b.kind)) not in near:
            return None
        cost = 0.6
    sa, sb = a.states(), b.states()
    if sa is not None and sb is not None:
        cost += 0.25 * ((sa[0] is not sb[0]) + (sa[1] is not sb[1]))
    return cost


def _skip_cost(s: Step) -> float:
    """Leaving a step out: cheap for a retransmission, dup ACK or window update, and for a
    data segment (how an application cuts its data is not TCP's doing)."""
    if s.extra:
        return 0.4
    if s.minor:
        return 0.3
    return 1.0


def align(real: list[Step], model: list[Step]) -> tuple[float, list[tuple[Step | None, Step | None]]]:
    """Edit-distance alignment of the real steps with the model's (costs in `_sub_cost`;
    leaving out a step costs `_skip_cost`)."""
    n, m = len(real), len(model)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[int]] = [[0] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            c = cost[i][j]
            if c == inf:
                continue
            if i < n:
                skip = _skip_cost(real[i])
                if c + skip < cost[i + 1][j]:
                    cost[i + 1][j], back[i + 1][j] = c + skip, 1
            if j < m and c + _skip_cost(model[j]) < cost[i][j + 1]:
                cost[i][j + 1], back[i][j + 1] = c + _skip_cost(model[j]), 2
            if i < n and j < m:
                sub = _sub_cost(real[i], model[j])
                if sub is not None and c + sub < cost[i + 1][j + 1]:
                    cost[i + 1][j + 1], back[i + 1][j + 1] = c + sub, 3
            if i + 1 < n and j + 1 < m and real[i].sender != real[i + 1].sender:
                # Two segments that cross on the wire may be captured in either order.
                a, b = _sub_cost(real[i], model[j + 1]), _sub_cost(real[i + 1], model[j])
                if a is not None and b is not None and c + a + b + 0.2 < cost[i + 2][j + 2]:
                    cost[i + 2][j + 2], back[i + 2][j + 2] = c + a + b + 0.2, 4
    pairs: list[tuple[Step | None, Step | None]] = []
    i, j = n, m
    while i or j:
        how = back[i][j]
        if how == 4:
            pairs.append((real[i - 1], model[j - 2]))
            pairs.append((real[i - 2], model[j - 1]))
            i, j = i - 2, j - 2
        elif how == 3:
            pairs.append((real[i - 1], model[j - 1]))
            i, j = i - 1, j - 1
        elif how == 1:
            pairs.append((real[i - 1], None))
            i -= 1
        else:
            pairs.append((None, model[j - 1]))
            j -= 1
    pairs.reverse()
    return cost[n][m], pairs


# ====================================================================== the notes ===


def _zh(role: str) -> str:
    return {"client": "客户端", "server": "服务端"}[role]


def _who(role: str) -> dict[str, str]:
    peer = "server" if role == "client" else "client"
    return {"who": role, "Who": role.capitalize(), "who_zh": _zh(role), "peer": peer, "Peer": peer.capitalize(), "peer_zh": _zh(peer)}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _reply_times(real: list[Step]) -> dict[str, float]:
    """How fast each side answered in the handshake (its reply time without any delay:
    the path's round trip as seen from the capture point, plus processing)."""
    out = {"client": 0.0, "server": 0.0}
    syn = next((s for s in real if s.kind == "SYN"), None)
    synack = next((s for s in real if s.kind == "SYN+ACK"), None)
    if syn is not None and synack is not None and synack.frame.time >= syn.frame.time:
        out[synack.sender] = synack.frame.time - syn.frame.time
        third = next((s for s in real if s.sender == syn.sender and s.frame.time >= synack.frame.time and s.kind in ("ACK", "data")), None)
        if third is not None:
            out[syn.sender] = third.frame.time - synack.frame.time
    return out


def step_notes(real: list[Step], k: int, replies: dict[str, float], model: Step | None) -> list[Note]:
    """What the real stack did in step k that the model would not (see the module text)."""
    s = real[k]
    f = s.frame
    seg = f.segment
    assert seg is not None
    notes: list[Note] = []
    who = _who(s.sender)
    flags = ", ".join(flag_names(seg.flags))
    earlier = [r for r in real[:k] if r.sender != s.sender]
    mine = [r for r in real[:k] if r.sender == s.sender]
    if seg.flags & FIN and seg.length:
        notes.append(Note("cmp.fin_with_data", {**who, "len": seg.length}))
    if seg.flags & FIN and seg.flags & PSH:
        notes.append(Note("cmp.psh_fin", {**who, "flags": flags}))
    peer_fin = next((r for r in reversed(earlier) if r.frame.segment and r.frame.segment.flags & FIN), None)
    if (
        seg.flags & FIN
        and peer_fin is not None
        and peer_fin.frame.segment is not None
        and f.ack_rel is not None
        and peer_fin.frame.seq_rel is not None
        and f.ack_rel == peer_fin.frame.seq_rel + peer_fin.frame.segment.seg_len
        and not any(r.frame.time >= peer_fin.frame.time and r.kind == "ACK" for r in mine)
        and not any(r.frame.segment and r.frame.segment.flags & FIN for r in mine)
    ):
        notes.append(Note("cmp.fin_with_ack", {**who, "model": "merged" if model is not None and model.kind.startswith("FIN") else "separate"}))
    # A delayed ACK: a bare ACK of new data or a FIN, later than this side's reply time.
    if s.kind == "ACK" and earlier:
        last = earlier[-1]
        lseg = last.frame.segment
        acked_new = lseg is not None and (lseg.length or lseg.flags & FIN) and not last.extra
        answered = any(r.frame.time > last.frame.time for r in mine)
        if acked_new and not answered:
            gap = f.time - last.frame.time
            delay = gap - replies.get(s.sender, 0.0)
            if delay >= DELAYED_ACK_MIN:
                notes.append(Note("cmp.delayed_ack", {**who, "ms": _ms(gap), "delay_ms": _ms(delay)}))
    # Retransmission timing.
    if any(label.startswith(("TCP Retransmission", "TCP Spurious Retransmission")) for label in f.analysis):
        first = next(
            (r for r in mine if r.frame.segment is not None and r.frame.segment.seq == seg.seq and (r.frame.segment.flags & (SYN | FIN)) == (seg.flags & (SYN | FIN))),
            None,
        )
        if first is not None:
            gap = f.time - first.frame.time
            tries = sum(1 for r in mine if r.frame.segment is not None and r.frame.segment.seq == seg.seq and r.frame.time > first.frame.time) + 1
            key = "cmp.rto_initial" if gap >= 0.9 * RFC_RTO else "cmp.rto_linux"
            notes.append(Note(key, {**who, "flags": flags, "ms": _ms(gap), "tries": tries}))
    # A challenge ACK: a bare ACK right after a SYN or RST reached a synchronized side.
    if s.kind == "ACK" and earlier:
        last = earlier[-1]
        lseg = last.frame.segment
        before = _state_before(real, k, s.sender)
        if (
            lseg is not None
            and (lseg.flags & RST or (lseg.flags & SYN and not lseg.flags & ACK))
            and before is not None
            and before.synchronized
            and f.time - last.frame.time < 1.0
        ):
            why = "RST" if lseg.flags & RST else "SYN"
            notes.append(Note("cmp.challenge_ack", {**who, "why": why}))
    # An RST answering a FIN: the FIN_WAIT_2 connection was gone (Linux's tcp_fin_timeout).
    if s.kind == "RST" and earlier:
        last = earlier[-1]
        if last.frame.segment is not None and last.frame.segment.flags & FIN:
            before = _state_before(real, k - 1, s.sender)
            if before in (State.FIN_WAIT_2, State.CLOSED):
                notes.append(Note("cmp.fin_wait_2_timeout", {**who, "seconds": f"{last.frame.time - _fin_wait_2_since(real, s.sender):.1f}"}))
    for label in f.analysis:
        if label.startswith(("TCP Dup ACK", "TCP Window Update", "TCP Keep-Alive")):
            notes.append(Note("cmp.analysis", {**who, "label": label}))
    return notes


def _state_before(real: list[Step], k: int, role: str) -> State | None:
    """The side's inferred state just before step k (after step k-1)."""
    if k <= 0:
        return None
    return real[k - 1].frame.endpoint(role).state  # type: ignore[arg-type]


def _fin_wait_2_since(real: list[Step], role: str) -> float:
    for r in real:
        if r.frame.endpoint(role).state is State.FIN_WAIT_2:  # type: ignore[arg-type]
            return r.frame.time
    return real[0].frame.time if real else 0.0


def conversation_notes(real: list[Step], reuse_at: float | None, capture_end: float | None) -> list[Note]:
    """Notes on the whole conversation: options the model does not use, and TIME_WAIT."""
    notes: list[Note] = []
    ts_sides = set()
    sack_sides = set()
    for s in real:
        seg = s.frame.segment
        if seg is None or not seg.options:
            continue
        opts = options_dict(seg.options)
        if "tsval" in opts:
            ts_sides.add(s.sender)
        if "sack" in opts:
            sack_sides.add(s.sender)
    if ts_sides:
        notes.append(Note("cmp.timestamps", {"sides": " and ".join(sorted(ts_sides)), "sides_zh": "和".join(_zh(x) for x in sorted(ts_sides))}))
    if sack_sides:
        notes.append(Note("cmp.sack_blocks", {"sides": " and ".join(sorted(sack_sides)), "sides_zh": "和".join(_zh(x) for x in sorted(sack_sides))}))
    if real:
        end = real[-1].frame
        for role in ("client", "server"):
            if end.endpoint(role).state is not State.TIME_WAIT:  # type: ignore[arg-type]
                continue
            since = next((r.frame.time for r in real if r.frame.endpoint(role).state is State.TIME_WAIT), end.time)  # type: ignore[arg-type]
            if reuse_at is not None:
                notes.append(Note("cmp.time_wait_short", {**_who(role), "seconds": f"{reuse_at - since:.1f}"}))
            else:
                last = capture_end if capture_end is not None else end.time
                notes.append(Note("cmp.time_wait_unseen", {**_who(role), "seconds": f"{last - since:.3f}"}))
    return notes


# ===================================================================== comparison ===


def compare(
    real_timeline: Sequence[Frame],
    runs: Sequence[tuple[Any, Sequence[Frame]]],
    *,
    reuse_at: float | None = None,
    capture_end: float | None = None,
) -> Comparison:
    """Compare a real conversation with the closest of `runs` ((scenario, its timeline)
    pairs: built-in scenarios run to the end). `reuse_at` is when the same four-tuple was
    used again in the capture (a new SYN), `capture_end` the capture's last time."""
    real = steps_of(real_timeline, ("segment",))
    if not real:
        raise ValueError("the conversation has no TCP segments to compare")
    scored = []
    for scenario, timeline in runs:
        if scenario.name in SKIP_SCENARIOS:
            continue
        after = _deliveries(timeline)
        model = [
            Step(s.frame, s.sender, s.kind, s.extra, s.minor, after.get(s.frame.row) if s.frame.row is not None else None)
            for s in _with_old_syns(timeline, steps_of(timeline, ("send",)))
        ]
        cost, pairs = align(real, model)
        scored.append((cost / max(len(real), len(model), 1), scenario, timeline, pairs, cost))
    if not scored:
        raise ValueError("no scenario to compare with")
    scored.sort(key=lambda x: x[0])
    best_norm, scenario, timeline, pairs, cost = scored[0]
    after = _deliveries(timeline)
    replies = _reply_times(real)
    position = {id(s): k for k, s in enumerate(real)}
    rows: list[Row] = []
    for r, m in pairs:
        row = Row(r, m, after.get(m.frame.row) if m is not None and m.frame.row is not None else None)
        if r is not None:
            row.notes.extend(step_notes(real, position[id(r)], replies, m))
            if m is None and not row.notes:
                key = "cmp.app_data" if r.minor else "cmp.extra_real"
                row.notes.append(Note(key, {**_who(r.sender), "kind": r.kind, "scenario": scenario.name}))
            elif m is not None and m.kind != r.kind and not any(n.key.startswith("cmp.fin_with") for n in row.notes):
                row.notes.append(Note("cmp.kind_differs", {**_who(r.sender), "kind": r.kind, "model_kind": m.kind}))
            if m is not None and row.model_after is not None:
                for role in ("client", "server"):
                    got = r.frame.endpoint(role).state  # type: ignore[arg-type]
                    want = row.model_after.endpoint(role).state  # type: ignore[arg-type]
                    if got is not want:
                        row.notes.append(Note("cmp.state_differs", {**_who(role), "real": got.value, "model": want.value}))
        elif m is not None:
            key = "cmp.app_data" if m.minor else "cmp.missing_real"
            row.notes.append(Note(key, {**_who(m.sender), "kind": m.kind, "scenario": scenario.name}))
        rows.append(row)
    candidates = [(sc.name, round(norm, 3)) for norm, sc, *_ in scored[:5]]
    return Comparison(
        scenario=scenario.name,
        title=dict(scenario.title),
        cost=round(best_norm, 3),
        rows=rows,
        notes=conversation_notes(real, reuse_at, capture_end),
        candidates=candidates,
    )


def _with_old_syns(timeline: Sequence[Frame], model: list[Step]) -> list[Step]:
    """Put injected old duplicate SYNs (fault frames carrying a segment) in their place."""
    extra = [
        Step(timeline[i], "client", "SYN")
        for i in range(len(timeline))
        if timeline[i].event == "fault" and timeline[i].fault == "old-syn" and timeline[i].segment is not None
    ]
    if not extra:
        return model
    return sorted(model + extra, key=lambda s: s.frame.no)


def _deliveries(timeline: Sequence[Frame]) -> dict[int, Frame]:
    """Each segment row's delivery (or loss) frame: the model's states after it."""
    out: dict[int, Frame] = {}
    for i in range(len(timeline)):
        f = timeline[i]
        if f.row is not None and f.event in ("deliver", "drop"):
            out.setdefault(f.row, f)
    return out


def comparison_dict(c: Comparison, render) -> dict[str, Any]:
    """The comparison as plain data (`tcp-lab compare --format json`); `render(note)` gives a
    note's text."""

    def step(s: Step | None) -> dict[str, Any] | None:
        if s is None:
            return None
        f = s.frame
        return {
            "no": f.no,
            "time": round(f.time, 6),
            "from": s.sender,
            "kind": s.kind,
            "flags": list(f.segment.flag_names) if f.segment else [],
            "info": f.info,
            "client": f.client.state.value,
            "server": f.server.state.value,
        }

    return {
        "scenario": c.scenario,
        "title": c.title,
        "cost": c.cost,
        "candidates": [{"scenario": n, "cost": v} for n, v in c.candidates],
        "marks": c.marks,
        "notes": [{"key": n.key, "text": render(n)} for n in c.notes],
        "rows": [
            {
                "real": step(r.real),
                "model": step(r.model),
                "model_after": (
                    {"client": r.model_after.client.state.value, "server": r.model_after.server.state.value}
                    if r.model_after is not None
                    else None
                ),
                "notes": [{"key": n.key, "text": render(n)} for n in r.notes],
            }
            for r in c.rows
        ],
    }
