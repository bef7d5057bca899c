"""The Simulation API the lab screen codes against: lazy advance, frames, fork, user actions."""

import copy
import pickle

import pytest
from labkit import describe, lab, run, segments, states

from tcp_lab.core import scenario
from tcp_lab.core.endpoint import IllegalCall
from tcp_lab.core.frame import Explanation, Timer
from tcp_lab.core.output import frame_json
from tcp_lab.core.simulation import Simulation, StepFailed
from tcp_lab.core.states import State


def fresh(name="handshake-teardown", **kw):
    return Simulation(scenario.get(name), isn_client=1000, isn_server=5000, **kw)


# ------------------------------------------------------------------------- frames ---


def test_every_frame_field_is_filled():
    sim = run("lost-final-ack")
    assert sim.timeline.title == "The last ACK is lost (why TIME_WAIT)"
    assert [f.no for f in sim.timeline] == list(range(1, len(sim.timeline) + 1))
    assert all(b.time >= a.time for a, b in zip(sim.timeline, sim.timeline[1:]))
    for f in sim.timeline:
        assert isinstance(f.explain, Explanation)
        assert f.client.addr == "192.0.2.10" and f.client.port == 52296
        assert f.server.addr == "198.51.100.80" and f.server.port == 80
        if f.event in ("send", "deliver", "drop"):
            assert f.segment is not None and f.row is not None and f.info and f.sender in ("client", "server")
            assert f.seq_rel is not None and f.ack_rel is not None and f.win_scaled is not None
        if f.event == "send":
            assert f.who == f.sender
        if f.event == "deliver":
            assert f.who != f.sender
        if f.event == "drop":
            assert f.who is None and f.fault == "drop"
        if f.event == "app":
            assert f.call in ("listen", "connect", "send", "close", "abort") and f.who
        if f.event == "timer":
            assert f.timer in ("rto", "2msl") and f.who


def test_send_and_deliver_share_a_row_and_crossing_segments_are_visible():
    sim = run("simultaneous-close")
    rows = {}
    for f in sim.timeline:
        if f.segment is not None:
            rows.setdefault(f.row, []).append(f.event)
    assert all(events == ["send", "deliver"] for events in rows.values())
    assert sorted(rows) == list(range(len(rows)))  # a new row per segment sent, from 0
    # Both FINs are in flight at once: sent at 0.15, delivered at 0.20.
    fins = [f for f in sim.timeline if f.segment is not None and f.segment.flags & 0x1]
    assert [(f.event, f.sender, round(f.time, 3)) for f in fins] == [
        ("send", "client", 0.15),
        ("send", "server", 0.15),
        ("deliver", "client", 0.2),
        ("deliver", "server", 0.2),
    ]


def test_timers_are_shown_on_the_endpoint_views():
    sim = run("lost-syn")
    first_send = next(f for f in sim.timeline if f.event == "send")
    assert first_send.client.timers == (Timer("rto", 1.0),)
    last = sim.timeline[-1]
    assert last.client.timers == () and last.server.timers == ()


def test_tcb_values_after_the_handshake():
    sim = run("handshake")
    last = sim.timeline[-1]
    c, s = last.client, last.server
    assert (c.iss, c.irs, c.snd_una, c.snd_nxt, c.rcv_nxt, c.snd_wnd, c.rcv_wnd) == (1000, 5000, 1001, 1001, 5001, 64240, 64240)
    assert (s.iss, s.irs, s.snd_una, s.snd_nxt, s.rcv_nxt, s.snd_wnd) == (5000, 1000, 5001, 5001, 1001, 64128)


def test_json_frame_has_the_design_keys():
    sim = run("handshake")
    import json

    obj = json.loads(frame_json(sim.timeline[2], "zh"))
    assert obj["event"] == "send" and obj["from"] == "client" and obj["flags"] == ["SYN"]
    assert obj["seq"] == 0 and obj["seq_raw"] == 1000 and obj["options"] == {"mss": 1460, "sack_perm": True, "ws": 7}
    assert obj["client"]["state"] == "SYN_SENT" and obj["server"]["state"] == "LISTEN"
    assert "客户端" in obj["explain"]


# ------------------------------------------------------------------------ advance ---


def test_advance_is_lazy_and_says_when_nothing_more_will_happen():
    sim = fresh("handshake")
    assert len(sim.timeline) == 0
    assert sim.advance() is True and len(sim.timeline) == 1  # "server listen"
    assert sim.advance() is True and sim.timeline[-1].call == "connect"
    while sim.advance():
        pass
    assert sim.advance() is False
    assert states(sim)[-1] == "ESTABLISHED/ESTABLISHED"


def test_free_play_advances_in_time_order_after_the_script():
    sim = fresh("free-play")
    sim.app_call("server", "listen")
    sim.app_call("client", "connect")
    assert [f.event for f in sim.timeline] == ["app", "app", "send"]
    sim.run_to_end()
    assert segments(sim) == ["client SYN 0 0", "server SYN+ACK 0 1", "client ACK 1 1"]
    assert sim.advance() is False


def test_run_to_end_respects_its_limit():
    sim = fresh("handshake-teardown")
    sim.run_to_end(limit=5)
    assert len(sim.timeline) == 5


# --------------------------------------------------------------------------- fork ---


@pytest.mark.parametrize("name", ["handshake-teardown", "stale-syn", "lost-final-ack", "two-way-handshake", "simultaneous-open"])
def test_fork_then_replay_gives_the_same_frames(name):
    original = run(name)
    frames = list(original.timeline)
    for index in range(len(frames)):
        sim = run(name)
        sim.fork(index)
        assert list(sim.timeline) == frames[: index + 1]
        sim.run_to_end()
        assert list(sim.timeline) == frames, f"fork at frame {index + 1}"


def test_stepping_back_and_acting_forks_a_new_future():
    sim = run("handshake-teardown")
    established = next(i for i, f in enumerate(sim.timeline) if f.server.state is State.ESTABLISHED)
    sim.fork(established)
    sim.app_call("client", "abort")
    sim.run_to_end()
    assert states(sim)[-2:] == ["CLOSED/ESTABLISHED", "CLOSED/CLOSED"]
    assert not any(f.client.state is State.TIME_WAIT for f in sim.timeline)


def test_fork_at_a_deliver_frame_keeps_the_answer_still_owed():
    sim = run("handshake")
    deliver = next(i for i, f in enumerate(sim.timeline) if f.event == "deliver")
    sim.fork(deliver)  # the server got the SYN; its SYN-ACK is not on the wire yet
    assert sim.in_flight() == []
    sim.app_call("server", "send", 10)  # the SYN-ACK leaves first, then the call
    assert [f.event for f in sim.timeline[deliver + 1 :]] == ["send", "app"]
    assert describe(sim.timeline[deliver + 1]) == "server SYN+ACK 0 1"


def test_fork_rejects_a_frame_that_does_not_exist():
    sim = run("handshake")
    with pytest.raises(IndexError):
        sim.fork(len(sim.timeline))


def test_deepcopy_is_independent():
    sim = run("handshake")
    twin = copy.deepcopy(sim)
    twin.fork(3)
    twin.app_call("client", "abort")
    assert len(sim.timeline) == 8 and sim.timeline[-1].client.state is State.ESTABLISHED
    assert twin.timeline[-1].call == "abort"


def test_a_headless_run_keeps_no_snapshots():
    sim = fresh("handshake", snapshots=False)
    sim.run_to_end()
    assert len(sim.timeline) == 8
    with pytest.raises(RuntimeError):
        sim.fork(0)


# ---------------------------------------------------------------- user actions ---


def test_illegal_app_call_raises_and_changes_nothing():
    sim = fresh("handshake")
    sim.advance()  # server listen
    before = (list(sim.timeline), pickle.dumps(sim._e))
    with pytest.raises(IllegalCall, match="can't send in LISTEN: the connection is not open yet"):
        sim.app_call("server", "send", 10)
    with pytest.raises(IllegalCall, match="there is no call 'dance'"):
        sim.app_call("server", "dance")
    with pytest.raises(IllegalCall):
        sim.app_call("nobody", "listen")
    assert (list(sim.timeline), pickle.dumps(sim._e)) == before


def test_inject_hits_the_first_segment_in_flight():
    sim = fresh("free-play")
    sim.app_call("server", "listen")
    sim.app_call("client", "connect")
    [flight] = sim.in_flight()
    assert (flight.row, flight.sender, flight.arrival) == (0, "client", pytest.approx(0.05))
    sim.inject("drop", "client")
    fault = sim.timeline[-1]
    assert (fault.event, fault.fault, fault.row, fault.sender, fault.who) == ("fault", "drop", 0, "client", None)
    sim.advance()
    assert (sim.timeline[-1].event, sim.timeline[-1].time) == ("drop", pytest.approx(0.05))


def test_inject_arms_when_nothing_is_in_flight():
    sim = fresh("free-play")
    sim.app_call("server", "listen")
    sim.inject("duplicate")  # either side
    armed = sim.timeline[-1]
    assert (armed.event, armed.fault, armed.segment, armed.row) == ("fault", "duplicate", None, None)
    sim.app_call("client", "connect")
    assert [f.event for f in sim.timeline[-3:]] == ["app", "send", "fault"]
    sim.run_to_end()
    delivered = [(f.row, f.fault, f.explain.key) for f in sim.timeline if f.event == "deliver" and f.who == "server"]
    assert delivered[:2] == [(0, None, "listen.rcv_syn"), (0, "duplicate", "sync.rcv_unacceptable")]


def test_inject_rejects_unknown_faults():
    sim = fresh("free-play")
    with pytest.raises(IllegalCall):
        sim.inject("explode")
    with pytest.raises(IllegalCall):
        sim.inject("drop", "everyone")
    with pytest.raises(IllegalCall):
        sim.inject("old-syn", "server")
    assert len(sim.timeline) == 0


def test_old_syn_frame_shape():
    sim = fresh("free-play")
    sim.app_call("server", "listen")
    sim.inject("old-syn")
    f = sim.timeline[-1]
    assert (f.event, f.fault, f.sender, f.who, f.row) == ("fault", "old-syn", "client", None, 0)
    assert f.segment.flags == 0x2 and f.segment.seq == (1000 - (1 << 30)) % (1 << 32)
    assert f.explain.key == "fault.old_syn"
    sim.advance()
    assert (sim.timeline[-1].event, sim.timeline[-1].fault) == ("deliver", "old-syn")


def test_fire_timer_processes_events_up_to_the_timer():
    sim = fresh("free-play")
    assert sim.fire_timer() is False and sim.next_timer() is None
    sim.app_call("server", "listen")
    sim.inject("drop", "client")
    sim.app_call("client", "connect")
    assert sim.next_timer() == ("client", "rto", 1.0)
    assert sim.fire_timer() is True
    assert [f.event for f in sim.timeline][-3:] == ["drop", "timer", "send"]
    assert sim.timeline[-1].analysis == ("TCP Retransmission",)
    assert sim.clock == 1.0


def test_a_scripted_step_that_cannot_run_names_itself():
    sim = lab("client send 10")
    with pytest.raises(StepFailed) as info:
        sim.advance()
    assert str(info.value).startswith('scenario test, line 1: the step "client send 10" can\'t run now: can\'t send in CLOSED')
    assert isinstance(info.value, IllegalCall) and len(sim.timeline) == 0


def test_wait_and_timer_steps():
    sim = lab("server listen", "drop client", "client connect", "wait 0.5", "timer")
    sim.run_to_end()
    assert [(f.event, round(f.time, 3)) for f in sim.timeline if f.event in ("drop", "timer")] == [("drop", 0.05), ("timer", 1.0)]
    sim2 = lab("wait 3")
    sim2.run_to_end()
    assert len(sim2.timeline) == 0 and sim2.clock == 3.0


def test_seed_makes_random_isns_reproducible_and_explicit_isns_win():
    a = Simulation(scenario.get("handshake"), seed=42)
    b = Simulation(scenario.get("handshake"), seed=42)
    c = Simulation(scenario.get("handshake"), seed=43)
    for s in (a, b, c):
        s.run_to_end()
    assert a.timeline[-1].client.iss == b.timeline[-1].client.iss != c.timeline[-1].client.iss
    d = Simulation(scenario.get("handshake"), seed=42, isn_client=7)
    d.run_to_end()
    assert d.timeline[-1].client.iss == 7 and d.timeline[-1].server.iss == a.timeline[-1].server.iss
