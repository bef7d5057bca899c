"""Helpers for the lab engine's tests: two endpoints linked in memory, scenario runs, and
summaries of frames written the way the lab shows them ("client SYN 0 0")."""

from __future__ import annotations

from dataclasses import replace

from tcp_lab.core.endpoint import Endpoint, EndpointConfig, Outgoing
from tcp_lab.core.scenario import Scenario, Setup, get, parse_step
from tcp_lab.core.segment import ACK, FIN, PSH, RST, SYN, Segment, flag_names
from tcp_lab.core.simulation import Simulation
from tcp_lab.core.states import State

C_ADDR, C_PORT = "192.0.2.10", 52296
S_ADDR, S_PORT = "198.51.100.80", 80
ISN_C, ISN_S = 1000, 5000

__all__ = ["ACK", "FIN", "PSH", "RST", "SYN", "State", "Pair", "run", "lab", "segments", "states", "sends"]


# ============================================================== endpoints in memory ===


class Pair:
    """A client and a server endpoint joined by an instant, lossless link (h11's
    ConnectionPair shape). Segments move only when asked, so a test can drop, hold or
    forge any of them."""

    def __init__(self, *, isn_client: int = ISN_C, isn_server: int = ISN_S, **config) -> None:
        self.client = Endpoint(EndpointConfig("client", C_ADDR, C_PORT, S_ADDR, S_PORT, isn=isn_client, **config))
        self.server = Endpoint(EndpointConfig("server", S_ADDR, S_PORT, C_ADDR, C_PORT, isn=isn_server, **config))
        self.now = 0.0
        self.rows: set[str] = set()

    def ep(self, role: str) -> Endpoint:
        return self.client if role == "client" else self.server

    def peer(self, role: str) -> Endpoint:
        return self.server if role == "client" else self.client

    def out(self, role: str) -> list[Outgoing]:
        """What `role` wants sent, taken off it."""
        return self.ep(role).take_outgoing()

    def give(self, role: str, seg: Segment) -> list[str]:
        """Deliver `seg` to `role`; the rows it applied."""
        rows = self.ep(role).receive(seg, self.now)
        self.rows.update(rows)
        return rows

    def pump(self, *, lose=lambda sender, out: False) -> list[str]:
        """Deliver everything both sides send until both are quiet; returns what went by, as
        "client SYN 0 0" lines (lost ones end with " LOST")."""
        seen: list[str] = []
        moved = True
        while moved:
            moved = False
            for role in ("client", "server"):
                for out in self.out(role):
                    moved = True
                    lost = lose(role, out)
                    seen.append(self.show(role, out.segment) + (" LOST" if lost else ""))
                    if not lost:
                        self.give("server" if role == "client" else "client", out.segment)
        self.collect()
        return seen

    def fire(self, role: str) -> list[str]:
        """Move time to `role`'s next timer and fire it; the rows it applied."""
        due = self.ep(role).next_timer()
        assert due is not None, f"{role} has no timer running"
        self.now = due[1]
        rows = self.ep(role).handle_timer(self.now)
        self.rows.update(rows)
        return rows

    def call(self, role: str, call: str, *args) -> str:
        row = getattr(self.ep(role), call)(*args, self.now)
        self.collect()
        return row.id

    def collect(self) -> None:
        for ep in (self.client, self.server):
            self.rows.update(a.row for a in ep.applied)

    def show(self, sender: str, seg: Segment) -> str:
        """A segment as "client SYN+ACK 0 1" (relative to the ISNs; " len=N" for data)."""
        seq = (seg.seq - self.ep(sender).cfg.isn) % (1 << 32)
        ack = (seg.ack - self.peer(sender).cfg.isn) % (1 << 32) if seg.flags & ACK else 0
        text = f"{sender} {'+'.join(flag_names(seg.flags))} {seq} {ack}"
        return text + (f" len={seg.length}" if seg.length else "")

    def forge(self, sender: str, flags: int, seq: int, ack: int = 0, length: int = 0, *, options: bytes = b"") -> Segment:
        """A segment from `sender` with sequence numbers relative to the ISNs."""
        me, peer = self.ep(sender).cfg, self.peer(sender).cfg
        return Segment(
            me.addr, me.port, peer.addr, peer.port, (me.isn + seq) % (1 << 32), (peer.isn + ack) % (1 << 32) if flags & ACK else 0,
            flags, 501, length, options,
        )

    def established(self) -> "Pair":
        """Listen, connect and pump: both ESTABLISHED."""
        self.call("server", "listen")
        self.call("client", "connect")
        self.pump()
        assert (self.client.state, self.server.state) == (State.ESTABLISHED, State.ESTABLISHED)
        return self


# ================================================================== simulated runs ===


def run(name: str, *, isn_client: int = ISN_C, isn_server: int = ISN_S, **kwargs) -> Simulation:
    """A built-in scenario run to the end."""
    sim = Simulation(get(name), isn_client=isn_client, isn_server=isn_server, **kwargs)
    sim.run_to_end()
    return sim


def lab(*steps: str, setup: Setup | None = None, name: str = "test", isn_client: int = ISN_C, isn_server: int = ISN_S) -> Simulation:
    """A Simulation over steps written in the scenario language (not yet run)."""
    scenario = Scenario(
        name=name,
        title={"en": name, "zh": name},
        goal={"en": "", "zh": ""},
        steps=tuple(parse_step(s, i + 1) for i, s in enumerate(steps)),
        setup=setup or Setup(),
    )
    return Simulation(scenario, isn_client=isn_client, isn_server=isn_server)


def with_setup(**changes) -> Setup:
    return replace(Setup(), **changes)


def describe(frame) -> str:
    """A segment frame as "client SYN 0 0" (+ " len=N", " RETX", " (old-syn)")."""
    flags = "+".join(frame.segment.flag_names)
    text = f"{frame.sender} {flags} {frame.seq_rel} {frame.ack_rel}"
    if frame.segment.length:
        text += f" len={frame.segment.length}"
    if frame.analysis:
        text += " RETX"
    if frame.event == "fault" and frame.fault == "old-syn":
        text += " (old-syn)"
    return text


def segments(sim: Simulation) -> list[str]:
    """Every segment put on the wire, in order: sends, and injected old SYNs."""
    return [describe(f) for f in sim.timeline if f.event == "send" or (f.event == "fault" and f.fault == "old-syn")]


def sends(sim: Simulation) -> list[str]:
    return [describe(f) for f in sim.timeline if f.event == "send"]


def states(sim: Simulation) -> list[str]:
    """The (client, server) states as "CLIENT/SERVER", each change once."""
    out: list[str] = []
    for f in sim.timeline:
        pair = f"{f.client.state.value}/{f.server.state.value}"
        if not out or out[-1] != pair:
            out.append(pair)
    return out


def events(sim: Simulation, *kinds: str) -> list[tuple]:
    """(event, who, fault or timer, time) for the frames of the given kinds."""
    return [(f.event, f.who, f.fault or f.timer, round(f.time, 6)) for f in sim.timeline if f.event in kinds]
