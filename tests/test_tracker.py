"""The tracker (core/tracker.py) and the replay timelines (core/replay.py): conversations
numbered like tcp.stream, the client found from the first SYN, relative numbers, window
scaling, hindsight, timelines, and the fast writer held to core/output.py."""

from __future__ import annotations

import pathlib

import pytest
from craft_scenarios import build_all
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tcp_craft import CLIENT_ISN as C
from tcp_craft import SERVER_ISN as S
from tcp_craft import Dialog, capture

from tcp_lab.core.frame import Timeline
from tcp_lab.core.options import build_options
from tcp_lab.core.output import frame_json, frame_text
from tcp_lab.core.replay import Replay
from tcp_lab.core.segment import ACK, FIN, PSH, RST, SYN
from tcp_lab.core.states import State
from tcp_lab.core.store import META_LOST
from tcp_lab.core.tcpscan import TcpScanner
from tcp_lab.core.tracker import Tracker

CAPTURES = pathlib.Path(__file__).resolve().parent.parent / "captures"
SHIPPED = sorted(CAPTURES.glob("*.pcap"))


def replay(data: bytes, chunk: int | None = None) -> Replay:
    r = Replay("test")
    if chunk is None:
        r.feed(data)
    else:
        for i in range(0, len(data), chunk):
            r.feed(data[i : i + chunk])
    r.finish()
    return r


def states(r: Replay, conn: int = 0) -> list[tuple[str, str]]:
    tl = r.timeline(conn)
    return [(tl[i].client.state.value, tl[i].server.state.value) for i in range(len(tl))]


@pytest.fixture(scope="module")
def crafted_bytes() -> bytes:
    return capture(*(d for _, d in build_all()))


# -- conversations -------------------------------------------------------------------------


def test_conversations_are_numbered_in_order_of_first_appearance():
    a = Dialog(cport=40001, t0=100.0).handshake()
    b = Dialog(cport=40002, t0=100.005).handshake()
    c = Dialog(cport=40003, t0=100.001).handshake()
    r = replay(capture(a, b, c))
    assert [conv.port[0] for conv in r.tracker.conversations] == [40001, 40003, 40002]
    # Every segment of a conversation carries its number.
    for conv in r.tracker.conversations:
        assert {r.store.conv[row] for row in conv.rows} == {conv.id}


def test_a_new_syn_on_a_closed_four_tuple_starts_a_new_conversation():
    d = Dialog()
    d.handshake()
    d.c(FIN | ACK, C + 1, S + 1)
    d.s(FIN | ACK, S + 1, C + 2)
    d.c(ACK, C + 2, S + 2)
    d.c(SYN, C + 9999, 0, dt=2.0)
    d.s(SYN | ACK, S + 7777, C + 10000)
    r = replay(capture(d))
    first, second = r.tracker.conversations
    assert first.reused_by == 1 and second.reuses == 0
    assert r.analysis_labels(second.rows[0]) == ("TCP Port numbers reused",)
    assert r.summary(first).last_states == (State.TIME_WAIT, State.CLOSED)
    assert r.summary(second).last_states == (State.ESTABLISHED, State.SYN_RCVD)
    # Relative numbers start again from the new ISNs.
    assert r.relative(second.rows[1]) == (0, 1)


def test_the_client_is_the_side_of_the_first_syn():
    d = Dialog(cport=80, sport=40000)  # the client uses the low port here
    d.handshake()
    conv = replay(capture(d)).tracker.conversations[0]
    assert conv.port == (80, 40000) and not conv.client_guess and conv.start == "syn"


def test_without_a_syn_the_higher_port_is_the_client_marked_as_a_guess():
    d = Dialog(cport=51000, sport=443)
    d.s(ACK | PSH, S + 100, C + 50, data=20)  # the server speaks first in the capture
    d.c(ACK, C + 50, S + 120)
    r = replay(capture(d))
    conv = r.tracker.conversations[0]
    assert conv.port == (51000, 443) and conv.client_guess and conv.start == "midstream"
    frame = r.timeline(0)[0]
    assert frame.sender == "server"
    assert frame.client.note == frame.server.note == "handshake not captured"
    assert (frame.client.state, frame.server.state) == (State.ESTABLISHED, State.ESTABLISHED)
    # Wireshark's relative numbers for a capture that starts mid-stream start at 1.
    assert (frame.seq_rel, frame.ack_rel) == (1, 1)


def test_syn_ack_first_means_the_syn_was_not_captured():
    d = Dialog()
    d.s(SYN | ACK, S, C + 1)
    d.c(ACK, C + 1, S + 1)
    r = replay(capture(d))
    conv = r.tracker.conversations[0]
    assert conv.start == "synack" and conv.port == (40000, 80)
    tl = r.timeline(0)
    assert tl[0].client.note == "SYN not captured"
    assert states(r) == [("ESTABLISHED", "SYN_RCVD"), ("ESTABLISHED", "ESTABLISHED")]


# -- window scaling, relative numbers ---------------------------------------------------------


def test_window_scaling_needs_ws_on_both_syns():
    both = Dialog(cport=40001).handshake(ws=7)
    both.c(ACK, C + 1, S + 1, win=100)
    one = Dialog(cport=40002, t0=1_700_000_100.0)
    one.c(SYN, C, 0, opts=build_options(mss=1460, ws=7))
    one.s(SYN | ACK, S, C + 1, opts=build_options(mss=1460))
    one.c(ACK, C + 1, S + 1, win=100)
    r = replay(capture(both, one))
    assert r.store.win_scaled(r.tracker.conversations[0].rows[-1]) == 100 << 7
    assert r.store.win_scaled(r.tracker.conversations[1].rows[-1]) == 100  # "-2": not scaled


# -- hindsight ---------------------------------------------------------------------------------


def test_a_syn_sent_again_unanswered_marks_the_first_copy_lost():
    d = Dialog()
    d.c(SYN, C, 0)
    d.c(SYN, C, 0, dt=1.0)
    d.s(SYN | ACK, S, C + 1)
    d.c(ACK, C + 1, S + 1)
    r = replay(capture(d))
    assert r.store.meta[0] & META_LOST
    assert states(r) == [
        ("SYN_SENT", "LISTEN"),  # the first SYN never arrived
        ("SYN_SENT", "SYN_RCVD"),
        ("ESTABLISHED", "SYN_RCVD"),
        ("ESTABLISHED", "ESTABLISHED"),
    ]
    assert r.timeline(0)[0].explain.key == "cap:send.syn+recv.lost"


def test_a_refused_connection_never_had_a_server():
    d = Dialog()
    d.c(SYN, C, 0)
    d.s(RST | ACK, 0, C + 1, win=0)
    r = replay(capture(d))
    assert states(r) == [("SYN_SENT", "CLOSED"), ("CLOSED", "CLOSED")]


def test_a_stream_cannot_look_back_but_a_file_can(crafted_bytes):
    """Fed in small chunks, the rows already inferred are rewritten by hindsight all the
    same: the store ends identical whatever the chunk size."""
    whole = replay(crafted_bytes)
    pieces = replay(crafted_bytes, chunk=997)
    for name in ("frame", "conv", "seq", "ack", "flags", "meta", "analysis", "states", "explain"):
        assert getattr(pieces.store, name) == getattr(whole.store, name), name


def test_revised_rows_are_reported_for_live_views():
    d = Dialog()
    d.c(SYN, C, 0)
    tracker = Tracker()
    scanner = TcpScanner(flat=True)
    data = capture(d)
    tracker.feed(scanner.feed(data))
    assert tracker.take_revised() == set()
    d2 = Dialog()
    d2.c(SYN, C, 0)
    d2.s(RST | ACK, 0, C + 1, dt=0.02)
    tracker = Tracker()
    tracker.feed(TcpScanner(flat=True).feed(capture(d2)))
    assert tracker.take_revised() == {0, 1}


# -- summary mode ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_summary_mode_ends_in_the_same_states_as_the_full_tracker(path):
    data = path.read_bytes()
    full = Tracker()
    full.feed(TcpScanner(flat=True).feed(data))
    summary = Tracker(summary_only=True)
    summary.feed(TcpScanner(flat=True).feed(data))
    assert [c.state_byte for c in summary.conversations] == [c.state_byte for c in full.conversations]
    assert [c.counts for c in summary.conversations] == [c.counts for c in full.conversations]
    assert len(summary.store) == 0


def test_summary_mode_on_the_crafted_conversations(crafted_bytes):
    full = Tracker()
    full.feed(TcpScanner(flat=True).feed(crafted_bytes))
    summary = Tracker(summary_only=True)
    summary.feed(TcpScanner(flat=True).feed(crafted_bytes))
    assert [c.state_byte for c in summary.conversations] == [c.state_byte for c in full.conversations]


# -- timelines ---------------------------------------------------------------------------------


def test_timelines_are_core_frame_timelines_backed_by_the_store():
    r = replay((CAPTURES / "course-example.pcap").read_bytes())
    whole = r.timeline()
    conv = r.timeline(0)
    assert isinstance(whole, Timeline) and isinstance(conv, Timeline)
    assert len(whole) == len(conv) == 13
    assert whole[-1] == conv[12]
    f = whole[0]
    assert (f.no, f.time, f.event, f.who, f.sender, f.conn, f.row) == (1, 0.0, "segment", "client", "client", 0, 0)
    assert f.segment.src == "10.21.71.101" and f.segment.dport == 80
    with pytest.raises(IndexError):
        conv[13]


def test_tcb_values_follow_the_handshake():
    r = replay((CAPTURES / "course-example.pcap").read_bytes())
    tl = r.timeline(0)
    syn, synack, ack = tl[0], tl[1], tl[2]
    c_isn = syn.segment.seq
    s_isn = synack.segment.seq
    assert (syn.client.iss, syn.client.snd_una, syn.client.snd_nxt) == (c_isn, c_isn, c_isn + 1)
    assert syn.client.irs is None and syn.client.rcv_nxt is None
    assert (syn.server.irs, syn.server.rcv_nxt, syn.server.iss) == (c_isn, c_isn + 1, None)
    assert (synack.server.iss, synack.server.snd_nxt, synack.client.irs) == (s_isn, s_isn + 1, s_isn)
    assert synack.client.snd_una == c_isn + 1  # its SYN is acknowledged
    assert ack.server.snd_una == s_isn + 1
    assert ack.client.rcv_wnd == 131072 and ack.server.snd_wnd == 131072
    last = tl[12]
    assert last.client.iss is None  # CLOSED: no TCB any more


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_fast_writers_equal_frame_json_and_frame_text(path):
    r = replay(path.read_bytes())
    tl = r.timeline()
    for lang in (None, "en", "zh"):
        assert list(r.json_lines(lang=lang)) == [frame_json(tl[i], lang) for i in range(len(tl))]
    assert list(r.text_lines()) == [frame_text(tl[i]) for i in range(len(tl))]
    chunks = b"".join(r.json_chunks(lang="en")).decode().splitlines()
    assert chunks == list(r.json_lines(lang="en"))


def test_fast_writer_equals_frame_json_on_every_crafted_scenario(crafted_bytes):
    r = replay(crafted_bytes)
    tl = r.timeline()
    assert list(r.json_lines(lang="en")) == [frame_json(tl[i], "en") for i in range(len(tl))]
    # One conversation only, and a range that starts mid-conversation.
    conv = r.tracker.conversations[5]
    start = conv.rows[3]
    mine = list(r.json_lines(start=start, conn=5))
    assert mine == [frame_json(tl[row]) for row in conv.rows[3:]]


def test_conversation_summary():
    r = replay((CAPTURES / "course-example.pcap").read_bytes())
    (s,) = r.conversations()
    assert (s.client_addr, s.client_port, s.server_addr, s.server_port) == ("10.21.71.101", 52296, "118.178.116.8", 80)
    assert s.packets == (7, 6) and s.bytes == (1538, 356)
    assert s.first_states == (State.SYN_SENT, State.SYN_RCVD)
    assert s.last_states == (State.CLOSED, State.TIME_WAIT)
    assert s.start == 0.0 and s.duration == pytest.approx(5.089435)
    assert not s.client_guess and s.handshake == "syn"


def test_a_growing_capture_grows_its_timelines():
    data = (CAPTURES / "normal.pcap").read_bytes()
    r = Replay("live")
    whole = r.timeline()
    r.feed(data[:300])
    first = len(whole)
    r.feed(data[300:])
    assert 0 < first < len(whole) == 11
    assert len(r.timeline(0)) == 11


def test_the_store_is_compact():
    d = Dialog().handshake()
    for i in range(2000):
        d.c(ACK | PSH, C + 1 + 100 * i, S + 1, data=100, dt=0.0001)
    r = replay(capture(d))
    per_row = r.store.nbytes() / len(r.store)
    assert per_row < 50, per_row


# -- robustness --------------------------------------------------------------------------------

_FLAGS = [SYN, SYN | ACK, ACK, ACK | PSH, FIN | ACK, RST, RST | ACK, FIN, 0, FIN | SYN, SYN | RST]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1),
            st.sampled_from(_FLAGS),
            st.sampled_from([0, 0, 1, -1, 5, 2**31]),
            st.sampled_from([0, 1, -1, 3]),
            st.sampled_from([0, 0, 1, 10]),
            st.sampled_from([0.00001, 0.001, 0.3]),
            st.sampled_from([0, 1000, 65535]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_segment_sequence_is_tracked_and_written_consistently(segments):
    """Whatever the capture holds, nothing raises, and the fast writer still equals
    core/output.frame_json for every frame (hindsight rewrites included)."""
    d = Dialog()
    seqs = [C, S]
    for who, flags, jitter, ack_jitter, length, dt, win in segments:
        send = d.c if who == 0 else d.s
        send(flags, seqs[who] + jitter, seqs[1 - who] + ack_jitter, data=length, dt=dt, win=win)
        seqs[who] += length + (1 if flags & (SYN | FIN) else 0)
    r = replay(capture(d))
    tl = r.timeline()
    assert list(r.json_lines(lang="zh")) == [frame_json(tl[i], "zh") for i in range(len(tl))]
    assert all(r.explain_text(row, "en") for row in range(len(r.store)))


class _ReferenceTracker(Tracker):
    FAST_ANALYSIS = False


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1),
            st.sampled_from([ACK, ACK, ACK | PSH, FIN | ACK, SYN, RST]),
            st.sampled_from([0, 0, 0, 1, -1, 100]),
            st.sampled_from([0, 0, 1, 100]),
            st.sampled_from([0, 0, 1, 100]),
            st.sampled_from([0.00001, 0.001, 0.3]),
            st.sampled_from([0, 100, 100, 65535]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_the_inline_analysis_fast_path_equals_analyze(segments):
    d = Dialog().handshake()
    seqs = [C + 1, S + 1]
    for who, flags, jitter, ack_jitter, length, dt, win in segments:
        send = d.c if who == 0 else d.s
        send(flags, seqs[who] + jitter, seqs[1 - who] + ack_jitter, data=length, dt=dt, win=win)
        seqs[who] += length + (1 if flags & (SYN | FIN) else 0)
    data = capture(d)
    fast, ref = Tracker(), _ReferenceTracker()
    fast.feed(TcpScanner(flat=True).feed(data))
    ref.feed(TcpScanner(flat=True).feed(data))
    assert fast.store.analysis == ref.store.analysis
    assert fast.store.dupack == ref.store.dupack


def test_the_inline_analysis_fast_path_on_the_captures(crafted_bytes):
    for data in [crafted_bytes] + [p.read_bytes() for p in SHIPPED]:
        fast, ref = Tracker(), _ReferenceTracker()
        fast.feed(TcpScanner(flat=True).feed(data))
        ref.feed(TcpScanner(flat=True).feed(data))
        assert fast.store.analysis == ref.store.analysis and fast.store.dupack == ref.store.dupack


def test_a_live_view_learns_which_rows_hindsight_rewrote():
    d = Dialog()
    d.c(SYN, C, 0)
    d.s(RST | ACK, 0, C + 1, dt=0.02)
    data = capture(d)
    r = Replay("live")
    r.feed(data[:-54])  # everything but the RST
    assert r.timeline()[0].server.state == State.SYN_RCVD and r.take_revised() == set()
    r.feed(data[-54:])
    assert r.take_revised() == {0, 1}
    assert r.timeline()[0].server.state == State.CLOSED


class _SlowStatesTracker(Tracker):
    FAST_STATES = False


def _fast_and_slow_states(items):
    out = []
    for cls, summary in ((Tracker, False), (_SlowStatesTracker, False), (Tracker, True), (_SlowStatesTracker, True)):
        t = cls(summary_only=summary)
        t.feed(list(items))
        out.append(t)
    return out


def _assert_same_states(fast, slow, fast_sum, slow_sum):
    assert fast.store.states == slow.store.states
    assert fast.store.explain == slow.store.explain
    assert fast.store.meta == slow.store.meta
    for a, b in zip(fast.conversations, slow.conversations):
        assert a.state_byte == b.state_byte and a.first_states == b.first_states
        assert a.observer.freeze() == b.observer.freeze()
    for a, b, c in zip(fast_sum.conversations, slow_sum.conversations, fast.conversations):
        assert a.state_byte == b.state_byte == c.state_byte
        assert a.observer.freeze()[:2] is not None and a.counts == b.counts == c.counts


def test_the_inline_state_fast_path_equals_observer_step_on_the_captures(crafted_bytes):
    """The tracker's inline path for segments that change no state (full and summary
    loops) leaves exactly what Observer.step leaves: states, explain codes, and the whole
    observer (SND.NXT, the FIN's ACK time, the TIME_WAIT clock ...)."""
    for data in [crafted_bytes] + [p.read_bytes() for p in SHIPPED]:
        _assert_same_states(*_fast_and_slow_states(TcpScanner(flat=True).feed(data)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_inline_state_fast_path_equals_observer_step(data):
    from hostile import build_segments

    items = build_segments(lambda lo, hi: data.draw(st.integers(lo, hi)), max_segments=60)
    _assert_same_states(*_fast_and_slow_states(items))
