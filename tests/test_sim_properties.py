"""Properties of the lab engine under random play (hypothesis): random application calls,
faults, steps, timer firings and step-backs never raise anything but IllegalCall, never
make a move the transition table lacks, always come to rest, fork() restores exactly, and
once both applications close and time passes, both endpoints end CLOSED.

The last property is stated for the course's setting (the server listens, the client
connects) without aborts and with fewer drops than the retry limit. Outside it RFC 9293 TCP
really can leave a FIN_WAIT_2 waiting forever for a peer that is gone (a lost RST after an
abort, or a simultaneous open confused by reconnecting and duplicated SYNs until one side
gives up): RFC 9293 has no FIN_WAIT_2 timer (Linux times out orphaned ones after 60 s).
tests/lab_drills.py shows one such case."""

import copy

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tcp_lab.core import scenario, transitions
from tcp_lab.core.endpoint import IllegalCall
from tcp_lab.core.simulation import Simulation
from tcp_lab.core.states import State

ROLES = st.sampled_from(["client", "server"])
CALL = st.tuples(st.just("call"), ROLES, st.sampled_from(["listen", "connect", "send", "close"]), st.integers(1, 4000))
#: The course's setting: the server listens, the client connects; both send and close.
SERVER_CALL = st.tuples(st.just("call"), st.just("server"), st.sampled_from(["listen", "send", "close"]), st.integers(1, 4000))
CLIENT_CALL = st.tuples(st.just("call"), st.just("client"), st.sampled_from(["connect", "send", "close"]), st.integers(1, 4000))
ABORT = st.tuples(st.just("call"), ROLES, st.just("abort"), st.just(0))
FAULT = st.tuples(st.just("inject"), st.sampled_from(["drop", "duplicate", "delay", "old-syn"]), st.sampled_from([None, "client", "server"]), st.just(0))
STEP = st.tuples(st.sampled_from(["advance", "advance", "advance", "fire"]), st.just(None), st.just(None), st.just(0))
FORK = st.tuples(st.just("fork"), st.floats(0, 1), st.just(None), st.just(0))


def play(sim: Simulation, actions) -> dict:
    """Do `actions`; only IllegalCall may come out of an app call. Returns counts of what was done."""
    done = {"abort": 0, "drop": 0}
    for kind, a, b, n in actions:
        if kind == "call":
            try:
                sim.app_call(a, b, n if b == "send" else None)
                if b == "abort":
                    done["abort"] += 1
            except IllegalCall:
                pass
        elif kind == "inject":
            if a == "old-syn" and b == "server":
                b = None
            sim.inject(a, b)
            if a == "drop":
                done["drop"] += 1
        elif kind == "advance":
            sim.advance()
        elif kind == "fire":
            sim.fire_timer()
        elif kind == "fork" and len(sim.timeline):
            sim.fork(min(len(sim.timeline) - 1, int(a * len(sim.timeline))))
    return done


def check_moves(sim: Simulation) -> None:
    for state in sorted({a.new.value for _, a in sim.transitions}):
        event(f"reached {state}")
    for role, applied in sim.transitions:
        row = transitions.row(applied.row)
        assert applied.old in row.states, (role, applied)
        assert applied.new is row.target(applied.old), (role, applied)
        assert (applied.old, applied.new) in transitions.allowed_moves()
    for frame in sim.timeline:
        assert frame.explain is not None


#: Where a random run starts: from nothing, a listening server, or an open connection.
START = st.sampled_from(["nothing", "listening", "established", "established", "established"])


def new_sim(seed: int, start: str = "nothing") -> Simulation:
    sim = Simulation(scenario.get("free-play"), seed=seed)
    if start != "nothing":
        sim.app_call("server", "listen")
    if start == "established":
        sim.app_call("client", "connect")
        while sim.server.state is not State.ESTABLISHED:
            sim.advance()
    return sim


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(CALL, CALL, ABORT, FAULT, STEP, STEP, FORK), min_size=4, max_size=60), st.integers(0, 2**16), START)
def test_random_play_only_raises_illegal_call_and_follows_the_table(actions, seed, start):
    sim = new_sim(seed, start)
    play(sim, actions)
    sim.run_to_end(limit=len(sim.timeline) + 3000)
    check_moves(sim)
    assert sim.advance() is False  # it comes to rest: no endless exchange (ACK throttling)
    last = sim.timeline[-1] if len(sim.timeline) else None
    if last is not None:
        assert last.client.state is sim.client.state and last.server.state is sim.server.state


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(SERVER_CALL, CLIENT_CALL, FAULT, STEP, STEP), min_size=4, max_size=60), st.integers(0, 2**16), START)
def test_when_both_close_and_time_passes_both_end_closed(actions, seed, start):
    """The server listens and the client connects, any faults but fewer drops than the
    retry limit (6) so nobody gives up on a peer that is still there, no aborts. Then both
    applications close and time runs out."""
    drops = sum(1 for a in actions if a[0] == "inject" and a[1] == "drop")
    if drops > 5:
        actions = [a for a in actions if not (a[0] == "inject" and a[1] == "drop")]
    sim = new_sim(seed, start)
    play(sim, actions)
    for role in ("client", "server"):
        try:
            sim.app_call(role, "close")
        except IllegalCall:
            pass  # CLOSED already, or already closing
    sim.run_to_end(limit=len(sim.timeline) + 5000)
    check_moves(sim)
    assert sim.advance() is False
    assert (sim.client.state, sim.server.state) == (State.CLOSED, State.CLOSED), [
        (f.no, f.event, f.who, f.info, f.client.state.value, f.server.state.value) for f in sim.timeline[-12:]
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(CALL, ABORT, FAULT, STEP), max_size=30), st.integers(0, 2**16), st.floats(0, 1), START)
def test_fork_restores_the_engine_exactly(actions, seed, where, start):
    sim = new_sim(seed, start)
    play(sim, actions)
    start = len(sim.timeline)
    reference = copy.deepcopy(sim)
    reference.run_to_end(limit=start + 400)
    frames = list(reference.timeline)
    if len(frames) <= start or start == 0:
        return
    index = start - 1 + int(where * (len(frames) - start))
    replay = copy.deepcopy(reference)
    replay.fork(index)
    replay.run_to_end(limit=start + 400)
    assert list(replay.timeline) == frames
