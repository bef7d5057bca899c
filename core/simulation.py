"""A lab run: two RFC 9293 endpoints joined by a simulated wire, stepped into a timeline.

The Simulation runs a Scenario's steps and then, in free play, whatever happens next in
time order (the next segment to arrive, else the next timer). It produces the timeline of
frames the screen and the headless writers show (core/frame.py, DESIGN.md):

* ``app``: an application call (``call`` says which; ``who`` made it);
* ``send``: a segment leaves its sender (a new ``row`` of the segment log);
* ``deliver``: the segment arrives and the receiver (``who``) processes it; ``drop``: the wire
  lost it, shown at the time it would have arrived; both reuse the segment's row;
* ``timer``: a retransmission timer (``rto``) or TIME_WAIT's ``2msl`` fires;
* ``fault``: the user armed a fault, or one was applied to a segment (``fault`` says which;
  an old duplicate SYN appears as a fault frame carrying the segment, sent by "client"
  with ``who`` None).

Every frame stores a snapshot of the whole engine (endpoints, wire, script position,
clock), so ``fork(i)`` puts the engine back exactly as it was after frame i; acting from
there forks a new future. The script goes on after the user acts (app_call, inject,
fire_timer), but a scripted call that no longer fits (say "client send" after the user
aborted the client) is then skipped; before any user action, such a step raises StepFailed
(the scenario is wrong). Time is simulation seconds, never the wall clock. Randomness (the
ISNs when none are given) comes from one ``random.Random(seed)``, used in ``__init__`` only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .endpoint import Applied, Endpoint, EndpointConfig, IllegalCall, Outgoing
from .frame import Explanation, Frame, ListTimeline, other
from .info import info_text
from .options import build_options
from .scenario import CALLS, Scenario, ScenarioError, Setup, Step
from .segment import ACK, SEQ_MOD, SYN, Segment, flag_names, seq_add
from .states import State
from .wire import FAULTS, InFlight, Wire

APP_CALLS = ("listen", "connect", "send", "close", "abort")
#: How far from the client's ISN an injected old duplicate SYN is: a quarter of the
#: sequence space, far outside any receive window.
OLD_SYN_DISTANCE = 1 << 30


class StepFailed(ScenarioError, IllegalCall):
    """A scripted step could not run (an illegal call at that moment). One sentence that
    names the step and its line; nothing changed."""


@dataclass
class _Engine:
    """Everything that changes during a run; cloned after every frame for fork()."""

    clock: float
    client: Endpoint
    server: Endpoint
    wire: Wire
    step: int = 0
    wait_until: float | None = None
    next_row: int = 0
    #: The ISN each direction's relative numbers count from (Wireshark's "base").
    bases: dict[str, int | None] = field(default_factory=lambda: {"client": None, "server": None})
    #: Fault frames owed: (flight id, fault) applied when a segment was put on the wire.
    owed: list[tuple[int, str]] = field(default_factory=list)
    #: The user acted (app_call, inject, fire_timer): scripted steps that no longer make
    #: sense are skipped instead of stopping the run.
    user_acted: bool = False

    def endpoint(self, role: str) -> Endpoint:
        return self.client if role == "client" else self.server

    def clone(self) -> "_Engine":
        """An independent copy. Segments, in-flight entries and frames are immutable and
        shared; only the containers are copied."""
        return _Engine(
            clock=self.clock,
            client=self.client.clone(),
            server=self.server.clone(),
            wire=self.wire.clone(),
            step=self.step,
            wait_until=self.wait_until,
            next_row=self.next_row,
            bases=dict(self.bases),
            owed=list(self.owed),
            user_acted=self.user_acted,
        )


class Simulation:
    """A scenario run as a timeline of frames (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        isn_client: int | None = None,
        isn_server: int | None = None,
        seed: int | None = None,
        snapshots: bool = True,
    ) -> None:
        """`snapshots=False` keeps no per-frame snapshots (a headless run that never forks)."""
        self.scenario = scenario
        #: The choices this run was made with (None: random), so a new run can repeat them.
        self.isn_client = isn_client
        self.isn_server = isn_server
        self.seed = seed
        rng = random.Random(seed)
        random_client, random_server = rng.getrandbits(32), rng.getrandbits(32)
        setup: Setup = scenario.setup
        isn_c = _first(isn_client, setup.client.isn, random_client)
        isn_s = _first(isn_server, setup.server.isn, random_server)
        client = Endpoint(_config("client", setup, isn_c))
        server = Endpoint(_config("server", setup, isn_s))
        self.timeline = ListTimeline(scenario.title["en"])
        self._e = _Engine(clock=0.0, client=client, server=server, wire=Wire(delay=setup.delay))
        self._snapshots: list[_Engine] = []
        self._keep_snapshots = snapshots
        #: Every transition-table row the endpoints applied in this run (forks included).
        self.rows_used: set[str] = set()
        #: Every (role, applied row) in the order applied (forks included): for tests.
        self.transitions: list[tuple[str, Applied]] = []

    def __deepcopy__(self, memo: dict) -> "Simulation":
        """An independent copy: frames are immutable and shared, the engine is cloned."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin.timeline = ListTimeline(self.timeline.title, list(self.timeline))
        twin._snapshots = list(self._snapshots)
        twin._e = self._e.clone()
        twin.rows_used = set(self.rows_used)
        twin.transitions = list(self.transitions)
        return twin

    # ============================================================== public API ===

    @property
    def clock(self) -> float:
        return self._e.clock

    @property
    def client(self) -> Endpoint:
        return self._e.client

    @property
    def server(self) -> Endpoint:
        return self._e.server

    @property
    def script_done(self) -> bool:
        return self._e.step >= len(self.scenario.steps)

    def advance(self) -> bool:
        """Append the next frame(s), at least one. False when nothing more will happen
        (the script is finished, nothing is in flight and no timer runs)."""
        start = len(self.timeline)
        while len(self.timeline) == start:
            if not self._unit():
                return len(self.timeline) > start
        return True

    def run_to_end(self, limit: int = 100_000) -> None:
        """Advance until nothing more will happen (or the timeline holds `limit` frames)."""
        while len(self.timeline) < limit and self.advance():
            pass

    def fork(self, index: int) -> None:
        """Restore the engine exactly as it was after timeline[index] and drop later frames."""
        if not self._keep_snapshots:
            raise RuntimeError("this simulation keeps no snapshots (snapshots=False): it cannot fork")
        if not 0 <= index < len(self.timeline):
            raise IndexError(f"no frame {index} (the timeline has {len(self.timeline)})")
        self._e = self._snapshots[index].clone()
        self.timeline.truncate(index + 1)
        del self._snapshots[index + 1 :]

    def app_call(self, role: str, call: str, nbytes: int | None = None) -> None:
        """The application of `role` calls listen, connect, send (nbytes), close or abort.

        An illegal call raises IllegalCall and changes nothing."""
        if role not in ("client", "server"):
            raise IllegalCall(f"there is no {role!r}: the roles are client and server")
        if call not in APP_CALLS and call != "close-on-fin":
            raise IllegalCall(f"there is no call {call!r}: the calls are {', '.join(APP_CALLS)}")
        self._check_call(role, call, nbytes)
        self._settle()
        self._e.user_acted = True
        self._do_call(role, call, nbytes)
        self._settle()

    def inject(self, fault: str, direction: str | None = None) -> None:
        """Make the wire misbehave: "drop", "duplicate", "delay" (reorder) or "old-syn".

        The fault hits the first in-flight segment of that direction (None: either); with
        none in flight it is armed for the next segment sent that way."""
        if fault not in FAULTS:
            raise IllegalCall(f"there is no fault {fault!r}: the faults are {', '.join(FAULTS)}")
        if direction not in (None, "client", "server"):
            raise IllegalCall(f"there is no direction {direction!r}: use client, server or None")
        if fault == "old-syn" and direction == "server":
            raise IllegalCall("an old duplicate SYN always comes from the client's address")
        self._settle()
        self._e.user_acted = True
        if fault == "old-syn":
            self._old_syn()
        else:
            self._fault(fault, direction, arm_only=False)

    def fire_timer(self) -> bool:
        """Process events in time order up to and including the next timer firing (and the
        segments it sends). False, changing nothing, if no timer runs."""
        if self.next_timer() is None:
            return False
        self._settle()
        self._e.user_acted = True
        while True:
            kind = self._next_event_kind()
            if kind is None:
                return True
            self._process_event()
            self._settle()
            if kind == "timer":
                return True

    def next_timer(self) -> tuple[str, str, float] | None:
        """(role, timer name, deadline) of the timer that fires first, or None."""
        best: tuple[str, str, float] | None = None
        for role in ("client", "server"):
            due = self._e.endpoint(role).next_timer()
            if due is not None and (best is None or due[1] < best[2]):
                best = (role, due[0], due[1])
        return best

    def in_flight(self) -> list[InFlight]:
        """The segments on the wire now, first to arrive first (with row and arrival time)."""
        return self._e.wire.in_flight()

    # ============================================================ units of work ===

    def _unit(self) -> bool:
        """Do the next piece of work (at most one frame). False when nothing more will happen."""
        if self._owed_one():
            return True
        e = self._e
        if e.step < len(self.scenario.steps):
            self._script_unit(self.scenario.steps[e.step])
            return True
        if self._next_event_kind() is None:
            return False
        self._process_event()
        return True

    def _owed_one(self) -> bool:
        """Emit one frame owed at the current time: a segment leaving, or a fault applied."""
        e = self._e
        for role in ("client", "server"):
            ep = e.endpoint(role)
            if ep.outbox:
                out = ep.outbox.pop(0)
                self._send(role, out)
                return True
        if e.owed:
            flight_id, fault = e.owed.pop(0)
            flight = next((f for f in e.wire.flights if f.id == flight_id), None)
            if flight is not None:
                self._fault_frame(fault, flight)
            return True
        return False

    def _settle(self) -> None:
        while self._owed_one():
            pass

    def _script_unit(self, step: Step) -> None:
        e = self._e
        if step.is_call:
            if not self._check_step(step):
                e.step += 1  # after the user took a hand, a step that no longer fits is skipped
                return
            e.step += 1
            self._do_call(step.role, step.action, int(step.amount) if step.amount is not None else None)
        elif step.action in ("drop", "duplicate", "delay"):
            e.step += 1
            self._fault(step.action, step.role, arm_only=True)
        elif step.action == "old-syn":
            e.step += 1
            self._old_syn()
        elif step.action == "deliver":
            e.step += 1
            if self._next_event_kind() is not None:
                self._process_event()
        elif step.action == "run":
            if self._next_event_kind() is None:
                e.step += 1
            else:
                self._process_event()
        elif step.action == "timer":
            kind = self._next_event_kind()
            if kind is None or self.next_timer() is None:
                e.step += 1
            else:
                if kind == "timer":
                    e.step += 1
                self._process_event()
        elif step.action == "wait":
            if e.wait_until is None:
                e.wait_until = e.clock + float(step.amount or 0.0)
            due = self._next_event_time()
            if due is not None and due <= e.wait_until + 1e-12:
                self._process_event()
            else:
                e.clock = max(e.clock, e.wait_until)
                e.wait_until = None
                e.step += 1
        else:  # pragma: no cover - parse_step only makes the actions above
            raise AssertionError(step.action)

    def _check_step(self, step: Step) -> bool:
        """True if the scripted call can run. If not: False once the user has acted (the
        script no longer fits the story), else StepFailed (the scenario itself is wrong)."""
        try:
            self._check_call(step.role, step.action, int(step.amount) if step.amount is not None else None)
        except IllegalCall as exc:
            if self._e.user_acted:
                return False
            raise StepFailed(f"{self.scenario.where(step)}: the step \"{step.text}\" can't run now: {exc}.") from None
        return True

    # ---------------------------------------------------------------- events ---

    def _next_event_time(self) -> float | None:
        flight = self._e.wire.next_arrival()
        timer = self.next_timer()
        times = [t for t in (flight.arrival if flight else None, timer[2] if timer else None) if t is not None]
        return min(times) if times else None

    def _next_event_kind(self) -> str | None:
        flight = self._e.wire.next_arrival()
        timer = self.next_timer()
        if flight is None and timer is None:
            return None
        if timer is None or (flight is not None and flight.arrival <= timer[2]):
            return "segment"
        return "timer"

    def _process_event(self) -> None:
        """The next event in time order: a segment arrives (or is lost), else a timer fires."""
        kind = self._next_event_kind()
        e = self._e
        if kind == "segment":
            flight = e.wire.next_arrival()
            e.wire.remove(flight)
            e.clock = max(e.clock, flight.arrival)
            self._arrive(flight)
        elif kind == "timer":
            role, name, deadline = self.next_timer()
            e.clock = max(e.clock, deadline)
            ep = e.endpoint(role)
            old = ep.state
            ep.handle_timer(e.clock)
            applied = self._collect(role)
            params = _people(role)
            params.update(timer=name, old=old, new=ep.state, tries=ep.retries, rto=f"{ep.rto_current:g}", msl2=f"{2 * ep.cfg.msl:g}")
            self._frame("timer", who=role, timer=name, explain=Explanation(_main_row(applied), params))

    def _arrive(self, flight: InFlight) -> None:
        e = self._e
        seg = flight.segment
        receiver = other(flight.sender)  # type: ignore[arg-type]
        base = dict(
            sender=flight.sender,
            segment=seg,
            seq_rel=flight.seq_rel,
            ack_rel=flight.ack_rel,
            win_scaled=flight.win_scaled,
            row=flight.row,
            info=flight.info,
            analysis=flight.analysis,
        )
        params = _segment_params(flight, receiver)
        if flight.lost:
            self._frame("drop", who=None, fault="drop", explain=Explanation("wire.drop", params), **base)
            return
        ep = e.endpoint(receiver)
        old = ep.state
        ep.receive(seg, e.clock)
        applied = self._collect(receiver)
        params.update(old=old, new=ep.state)
        fault = flight.fault if flight.fault in ("duplicate", "delay", "old-syn") else None
        self._frame("deliver", who=receiver, fault=fault, explain=Explanation(_main_row(applied), params), **base)

    # ------------------------------------------------------------ app and faults ---

    def _check_call(self, role: str, call: str, nbytes: int | None) -> None:
        ep = self._e.endpoint(role)
        if call == "close-on-fin":
            return
        if call == "send" and (not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 1):
            raise IllegalCall(f"can't send {nbytes!r} bytes: give a whole number of bytes, 1 or more")
        ep._legal(call)

    def _do_call(self, role: str, call: str, nbytes: int | None) -> None:
        e = self._e
        ep = e.endpoint(role)
        old = ep.state
        now = e.clock
        if call == "close-on-fin":
            ep.close_on_fin = True
            key = "app.close_on_fin"
        else:
            if call == "send":
                row = ep.send(nbytes, now)
            else:
                row = getattr(ep, call)(now)
            self._collect(role)
            key = row.id
        params = _people(role)
        params.update(old=old, new=ep.state, n=nbytes or 0)
        self._frame("app", who=role, call=call, explain=Explanation(key, params))

    def _fault(self, fault: str, direction: str | None, *, arm_only: bool) -> None:
        e = self._e
        flight = None if arm_only else e.wire.apply(fault, direction)
        if flight is None:
            e.wire.arm(fault, direction)
            params = _people(direction) if direction else dict(_EITHER)
            self._frame(
                "fault",
                who=None,
                fault=fault,
                explain=Explanation(f"fault.armed.{fault}", params),
            )
            return
        self._fault_frame(fault, flight)

    def _fault_frame(self, fault: str, flight: InFlight) -> None:
        """A fault frame for a fault applied to `flight` (it carries the segment and its row)."""
        params = _segment_params(flight, flight.sender)
        params.update(fault=fault)
        self._frame(
            "fault",
            who=None,
            fault=fault,
            sender=flight.sender,
            segment=flight.segment,
            seq_rel=flight.seq_rel,
            ack_rel=flight.ack_rel,
            win_scaled=flight.win_scaled,
            row=flight.row,
            info=flight.info,
            analysis=flight.analysis,
            explain=Explanation(f"fault.{fault.replace('-', '_')}", params),
        )

    def _old_syn(self) -> None:
        """RFC 9293 3.5 Figure 9: an old duplicate SYN of an earlier incarnation shows up."""
        e = self._e
        client = e.client
        cfg = client.cfg
        anchor = client.iss if client.iss is not None else cfg.isn
        seq = seq_add(anchor, -OLD_SYN_DISTANCE)
        opts = build_options(mss=cfg.mss, ws=cfg.wscale, sack_perm=cfg.sack_perm)
        seg = Segment(cfg.addr, cfg.port, cfg.peer_addr, cfg.peer_port, seq, 0, SYN, min(cfg.window, 0xFFFF), 0, opts)
        flight = self._make_flight("client", seg, seg.win, (), injected=True, fault="old-syn")
        e.wire.put(flight)
        params = _segment_params(flight, "client")
        params.update(fault="old-syn")
        self._frame(
            "fault",
            who=None,
            fault="old-syn",
            sender="client",
            segment=seg,
            seq_rel=flight.seq_rel,
            ack_rel=flight.ack_rel,
            win_scaled=flight.win_scaled,
            row=flight.row,
            info=flight.info,
            explain=Explanation("fault.old_syn", params),
        )

    # ------------------------------------------------------------------ sending ---

    def _send(self, role: str, out: Outgoing) -> None:
        e = self._e
        seg, why, win_scaled = out.segment, out.why, out.win_scaled
        # Labels the lab knows for certain, worded as Wireshark's expert analysis.
        analysis = (("TCP Retransmission",) if out.retransmission else ()) + (("TCP Window Full",) if out.window_full else ())
        flight = self._make_flight(role, seg, win_scaled, analysis)
        fault = e.wire.put(flight)
        if fault is not None:
            e.owed.append((flight.id, fault))
        params = _segment_params(flight, role)
        ep = e.endpoint(role)
        params.update(state=ep.state, rto=f"{ep.rto_current:g}", tries=ep.retries)
        self._frame(
            "send",
            who=role,
            sender=role,
            segment=seg,
            seq_rel=flight.seq_rel,
            ack_rel=flight.ack_rel,
            win_scaled=win_scaled,
            row=flight.row,
            info=flight.info,
            analysis=analysis,
            explain=Explanation(f"send.{why}", params),
        )

    def _make_flight(
        self,
        role: str,
        seg: Segment,
        win_scaled: int,
        analysis: tuple[str, ...],
        *,
        injected: bool = False,
        fault: str | None = None,
    ) -> InFlight:
        e = self._e
        seq_base = self._base(role, seg)
        seq_rel = (seg.seq - seq_base) % SEQ_MOD if seq_base is not None else None
        if seg.flags & ACK:
            ack_base = self._base(other(role), None)  # type: ignore[arg-type]
            ack_rel = (seg.ack - ack_base) % SEQ_MOD if ack_base is not None else seg.ack
        else:
            ack_rel = 0  # Wireshark shows no Ack without the ACK bit
        prefix = "".join(f"[{label}] " for label in analysis)
        info = info_text(
            seg.sport,
            seg.dport,
            seg.flags,
            seg.seq if seq_rel is None else seq_rel,
            ack_rel,
            win_scaled,
            seg.length,
            seg.options,
            prefix=prefix,
        )
        row = e.next_row
        e.next_row += 1
        fid = e.wire.new_id()
        return InFlight(
            id=fid,
            row=row,
            sender=role,
            segment=seg,
            sent=e.clock,
            arrival=e.clock + e.wire.delay,
            order=float(fid),
            fault=fault,
            injected=injected,
            seq_rel=seq_rel,
            ack_rel=ack_rel,
            win_scaled=win_scaled,
            info=info,
            analysis=analysis,
        )

    def _base(self, role: str, seg: Segment | None) -> int | None:
        """The number `role`'s sequence numbers count from: its ISS; without one, the last one
        known; without that, what Wireshark assumes (a SYN's own number, else one less)."""
        e = self._e
        ep = e.endpoint(role)
        if ep.iss is not None:
            e.bases[role] = ep.iss
            return ep.iss
        known = e.bases.get(role)
        if known is not None or seg is None:
            return known
        base = seg.seq if seg.flags & SYN else (seg.seq - 1) % SEQ_MOD
        e.bases[role] = base
        return base

    # ------------------------------------------------------------------- frames ---

    def _collect(self, role: str) -> list[Applied]:
        ep = self._e.endpoint(role)
        applied = list(ep.applied)
        ep.applied.clear()
        for a in applied:
            self.rows_used.add(a.row)
            self.transitions.append((role, a))
        return applied

    def _frame(self, event: str, **fields) -> None:
        e = self._e
        frame = Frame(
            no=len(self.timeline) + 1,
            time=e.clock,
            event=event,  # type: ignore[arg-type]
            client=e.client.view(),
            server=e.server.view(),
            **fields,
        )
        self.timeline.append(frame)
        if self._keep_snapshots:
            self._snapshots.append(e.clone())


def _first(*values: int | None) -> int:
    for v in values:
        if v is not None:
            return v % SEQ_MOD
    raise AssertionError("no ISN")


def _config(role: str, setup: Setup, isn: int) -> EndpointConfig:
    me, peer = (setup.client, setup.server) if role == "client" else (setup.server, setup.client)
    return EndpointConfig(
        role=role,
        addr=me.addr,
        port=me.port,
        peer_addr=peer.addr,
        peer_port=peer.port,
        isn=isn,
        mss=me.mss,
        window=me.window,
        wscale=me.wscale,
        sack_perm=me.sack_perm,
        msl=setup.msl,
        rto=setup.rto,
        retries=setup.retries,
        two_way=setup.two_way,
    )


def _main_row(applied: list[Applied]) -> str:
    """The row that best explains a frame: the last one that changed the state, else the first."""
    for a in reversed(applied):
        if a.old is not a.new:
            return a.row
    return applied[0].row if applied else "none"


_ZH = {"client": "客户端", "server": "服务端"}
_EITHER = {"who": "either side", "Who": "Either side", "who_zh": "任一方", "peer": "", "Peer": "", "peer_zh": ""}


def _people(who: str) -> dict:
    """Explanation params naming the endpoint a text is about and its peer, in both languages."""
    peer = "server" if who == "client" else "client"
    return {"who": who, "Who": who.capitalize(), "who_zh": _ZH[who], "peer": peer, "Peer": peer.capitalize(), "peer_zh": _ZH[peer]}


def _segment_params(flight: InFlight, who: str) -> dict:
    """Params for a frame carrying a segment; `who` is the endpoint the text is about."""
    seg = flight.segment
    return {
        **_people(who),
        "sender": flight.sender,
        "flags": ", ".join(flag_names(seg.flags)),
        "seq": flight.seq_rel if flight.seq_rel is not None else seg.seq,
        "ack": flight.ack_rel if flight.ack_rel is not None else seg.ack,
        "len": seg.length,
        "row": flight.row,
    }


__all__ = ["Simulation", "StepFailed", "IllegalCall", "CALLS", "State"]
