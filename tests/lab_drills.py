"""Drills: short lab stories that reach the rarer rows of the transition table.

Each drill checks what a student would see and returns the ids of the rows the endpoints
applied. tests/test_lab_drills.py runs each one as a test; tests/test_transitions.py
collects their rows, with the built-in scenarios', to show every row is exercised.
"""

from __future__ import annotations

from labkit import ACK, FIN, RST, SYN, Pair, State, events, lab, sends, states, with_setup

from tcp_lab.core.options import build_options


# ----------------------------------------------------------- application calls ---


def listening_side_connects_instead() -> set[str]:
    """Both sides listen; then the client changes its mind and connects: a passive OPEN
    becomes an active one (RFC 9293 3.10.1), and the handshake runs as usual."""
    sim = lab("server listen", "client listen", "client connect", "run")
    sim.run_to_end()
    assert states(sim)[:3] == ["CLOSED/LISTEN", "LISTEN/LISTEN", "SYN_SENT/LISTEN"]
    assert sends(sim) == ["client SYN 0 0", "server SYN+ACK 0 1", "client ACK 1 1"]
    return sim.rows_used


def stop_listening() -> set[str]:
    """The server listens, stops (close), listens again and aborts: no segment ever moves."""
    sim = lab("server listen", "server close", "server listen", "server abort")
    sim.run_to_end()
    assert states(sim) == ["CLOSED/LISTEN", "CLOSED/CLOSED", "CLOSED/LISTEN", "CLOSED/CLOSED"]
    assert sends(sim) == []
    return sim.rows_used


def give_up_connecting() -> set[str]:
    """The client connects and closes before any answer; connects again and aborts. Neither
    sends a RST: the peer never synchronized (RFC 9293 3.10.4, 3.10.5). The first SYN still
    reaches the listening server, whose SYN-ACK then meets a closed port: RST."""
    sim = lab("server listen", "client connect", "client close", "run")
    sim.run_to_end()
    assert sends(sim) == ["client SYN 0 0", "server SYN+ACK 0 1", "client RST 1 0"]
    assert states(sim)[-1] == "CLOSED/LISTEN"
    p = Pair()
    p.call("client", "connect")
    assert p.call("client", "abort") == "syn_sent.abort"
    assert [o.why for o in p.out("client")] == ["syn"]  # the SYN, and no RST after it
    return sim.rows_used | p.rows


def close_and_abort_while_closing() -> set[str]:
    """After a simultaneous close both sides are in CLOSING/TIME_WAIT; an abort there sends
    no RST (RFC 9293 3.10.5: "respond with ok and delete the TCB")."""
    sim = lab("server listen", "client connect", "run", "client close", "server close", "deliver", "deliver", "deliver", "deliver", "client abort")
    sim.run_to_end()
    assert "CLOSING/CLOSING" in states(sim)
    last = sim.timeline[-1]
    assert last.client.state is State.CLOSED
    assert not [f for f in sim.timeline if f.event == "send" and f.segment.flags & RST]
    return sim.rows_used


def close_during_handshake() -> set[str]:
    """The server's application closes while its SYN-ACK is unanswered: FIN at once,
    FIN_WAIT_1 (RFC 9293 3.10.4); the client's ACK of the SYN then arrives in FIN_WAIT_1."""
    p = Pair()
    p.call("server", "listen")
    p.call("client", "connect")
    p.give("server", p.out("client")[0].segment)
    syn_ack = p.out("server")[0].segment
    assert p.call("server", "close") == "syn_rcvd.close"
    fin = p.out("server")
    assert [p.show("server", o.segment) for o in fin] == ["server FIN+ACK 1 1"]
    assert p.server.state is State.FIN_WAIT_1
    p.give("client", syn_ack)
    p.give("client", fin[0].segment)
    p.pump()
    assert (p.client.state, p.server.state) == (State.CLOSE_WAIT, State.FIN_WAIT_2)
    return p.rows


def close_with_data_queued_during_handshake() -> set[str]:
    """In SYN_RCVD the server's application writes 300 bytes and closes. The CLOSE waits
    for the data (RFC 9293 3.10.4): when the third segment arrives the data leaves with the
    FIN on it, and the server is in FIN_WAIT_1."""
    p = Pair()
    p.call("server", "listen")
    p.call("client", "connect")
    p.give("server", p.out("client")[0].segment)
    assert p.call("server", "send", 300) == "syn_sent.send"
    assert p.call("server", "close") == "syn_rcvd.close_queued"
    assert p.server.state is State.SYN_RCVD
    seen = p.pump()
    assert seen == [
        "server SYN+ACK 0 1",
        "client ACK 1 1",
        "server FIN+PSH+ACK 1 1 len=300",
        "client ACK 1 302",
    ]
    assert (p.client.state, p.server.state) == (State.CLOSE_WAIT, State.FIN_WAIT_2)
    return p.rows


# ---------------------------------------------------------------------- timers ---


def _server_in_syn_rcvd() -> Pair:
    p = Pair()
    p.call("server", "listen")
    p.call("client", "connect")
    p.give("server", p.out("client")[0].segment)
    p.out("server")
    return p



def data_lost_and_resent() -> set[str]:
    """The client's data segment is lost; after the RTO (1 s) it is sent again and acked."""
    sim = lab("server listen", "client connect", "run", "drop client", "client send 500", "run")
    sim.run_to_end()
    assert sends(sim)[3:] == ["client PSH+ACK 1 1 len=500", "client PSH+ACK 1 1 len=500 RETX", "server ACK 1 501"]
    assert ("timer", "client", "rto", 1.15) in events(sim, "timer")
    return sim.rows_used


def fin_lost_and_resent() -> set[str]:
    """The client's FIN is lost: FIN_WAIT_1 resends it after the RTO."""
    sim = lab("server listen", "client connect", "run", "drop client", "client close", "run")
    sim.run_to_end()
    assert sends(sim)[3:5] == ["client FIN+ACK 1 1", "client FIN+ACK 1 1 RETX"]
    assert states(sim)[-4:] == ["ESTABLISHED/ESTABLISHED", "FIN_WAIT_1/ESTABLISHED", "FIN_WAIT_1/CLOSE_WAIT", "FIN_WAIT_2/CLOSE_WAIT"]
    assert events(sim, "drop", "timer") == [("drop", None, "drop", 0.2), ("timer", "client", "rto", 1.15)]
    return sim.rows_used


def server_never_answers() -> set[str]:
    """Every SYN is lost: the client retransmits at 1, 3, 7, 15, 31 and 63 s, then gives up
    at 127 s (Linux's tcp_syn_retries = 6) and is CLOSED, "timed out"."""
    p = Pair()
    p.call("client", "connect")
    p.out("client")
    times = []
    while p.client.state is State.SYN_SENT:
        rows = p.fire("client")
        times.append((p.now, rows[0]))
        p.out("client")
    assert times == [
        (1.0, "syn_sent.rto"), (3.0, "syn_sent.rto"), (7.0, "syn_sent.rto"), (15.0, "syn_sent.rto"),
        (31.0, "syn_sent.rto"), (63.0, "syn_sent.rto"), (127.0, "rto.give_up"),
    ]
    assert p.client.state is State.CLOSED and "timed out" in p.client.view().note
    return p.rows


def client_never_completes() -> set[str]:
    """A SYN reaches the server but its SYN-ACKs are never acknowledged: it retransmits the
    SYN-ACK, then drops the half-open connection and keeps listening (SYN_RCVD -> LISTEN)."""
    p = _server_in_syn_rcvd()
    rows = []
    while p.server.state is State.SYN_RCVD:
        rows.append(p.fire("server")[0])
        assert [o.why for o in p.out("server")] in ([], ["retransmit"])
    assert rows == ["syn_rcvd.rto"] * 6 + ["syn_rcvd.give_up"]
    assert p.server.state is State.LISTEN
    return p.rows


# ------------------------------------------------------------- LISTEN and CLOSED ---


def half_open_connection_found() -> set[str]:
    """The server crashes (aborts, and its RST is lost) and listens again. The client, still
    ESTABLISHED, sends data: a LISTEN socket answers any ACK with a RST <SEQ=SEG.ACK>
    (RFC 9293 3.10.7.2), which resets the client."""
    sim = lab("server listen", "client connect", "run", "drop server", "server abort", "run", "server listen", "client send 100", "run")
    sim.run_to_end()
    assert sends(sim)[-2:] == ["client PSH+ACK 1 1 len=100", "server RST 1 0"]
    assert states(sim)[-2:] == ["ESTABLISHED/LISTEN", "CLOSED/LISTEN"]
    assert "listen.rcv_ack" in sim.rows_used
    return sim.rows_used


def resets_cross() -> set[str]:
    """Both applications abort at once: the two RSTs cross, and each reaches an endpoint that
    is already CLOSED, where a RST is simply discarded (RFC 9293 3.10.7.1)."""
    sim = lab("server listen", "client connect", "run", "client abort", "server abort", "run")
    sim.run_to_end()
    assert sends(sim)[-2:] == ["client RST 1 0", "server RST 1 0"]
    assert [f.explain.key for f in sim.timeline if f.event == "deliver"][-2:] == ["closed.rcv_rst", "closed.rcv_rst"]
    return sim.rows_used


def stray_segments_at_a_listener() -> set[str]:
    """A listener ignores a RST and drops a segment with neither SYN nor ACK."""
    p = Pair()
    p.call("server", "listen")
    assert p.give("server", p.forge("client", RST, 7)) == ["listen.rcv_rst"]
    assert p.give("server", p.forge("client", FIN, 7)) == ["listen.rcv_other"]
    assert p.out("server") == [] and p.server.state is State.LISTEN
    return p.rows


# ------------------------------------------------------------------- SYN_SENT ---


def syn_ack_lost() -> set[str]:
    """The server's SYN-ACK is lost. The client's RTO resends the SYN; the server, in
    SYN_RCVD, finds it old and answers with an ACK (RFC 9293 3.10.7.4, first step), which the
    client in SYN_SENT drops (no SYN in it). The server's own RTO resends the SYN-ACK and the
    handshake completes. (Linux would answer the repeated SYN with its SYN-ACK at once.)"""
    sim = lab("server listen", "drop server", "client connect", "run")
    sim.run_to_end()
    assert sends(sim) == [
        "client SYN 0 0",
        "server SYN+ACK 0 1",
        "client SYN 0 0 RETX",
        "server ACK 1 1",
        "server SYN+ACK 0 1 RETX",
        "client ACK 1 1",
    ]
    keys = [f.explain.key for f in sim.timeline if f.event == "deliver"]
    assert keys[1:4] == ["sync.rcv_unacceptable", "syn_sent.rcv_other", "syn_sent.rcv_syn_ack"]
    assert states(sim)[-1] == "ESTABLISHED/ESTABLISHED"
    return sim.rows_used


def rst_without_ack_in_syn_sent() -> set[str]:
    """In SYN_SENT, a RST that does not acknowledge our SYN is dropped (RFC 9293 3.10.7.3)."""
    p = Pair()
    p.call("client", "connect")
    p.out("client")
    assert p.give("client", p.forge("server", RST, 0)) == ["syn_sent.rcv_rst_ignored"]
    assert p.give("client", p.forge("server", RST | ACK, 0, 7)) == ["syn_sent.rcv_rst_ignored"]
    assert p.client.state is State.SYN_SENT and p.out("client") == []
    return p.rows


# ------------------------------------------------------------------- SYN_RCVD ---


def third_ack_lost_then_fin() -> set[str]:
    """The third segment is lost and the client closes at once: its FIN (with an ACK of the
    SYN-ACK) completes the handshake and closes the client's half in one go: SYN_RCVD ->
    CLOSE_WAIT. (A fault step arms the wire for the next segment, so it comes before the
    delivery that makes the client send its ACK.)"""
    sim = lab("server listen", "client connect", "deliver", "drop client", "deliver", "client close", "run")
    sim.run_to_end()
    assert [f.explain.key for f in sim.timeline if f.event == "deliver" and f.who == "server"][1:] == ["syn_rcvd.rcv_ack_fin"]
    assert "FIN_WAIT_1/CLOSE_WAIT" in states(sim)
    return sim.rows_used


def bad_ack_in_syn_rcvd() -> set[str]:
    """In SYN_RCVD an ACK of something never sent gets <SEQ=SEG.ACK><CTL=RST>."""
    p = _server_in_syn_rcvd()
    assert p.give("server", p.forge("client", ACK, 1, 99)) == ["syn_rcvd.rcv_bad_ack"]
    [rst] = p.out("server")
    assert rst.segment.flags == RST and rst.segment.seq == (5000 + 99)
    assert p.server.state is State.SYN_RCVD
    return p.rows


def new_syn_in_syn_rcvd() -> set[str]:
    """In SYN_RCVD (passive) a SYN inside the window sends the connection back to LISTEN
    (RFC 9293 3.10.7.4, fourth step); a RST at RCV.NXT does the same (second step)."""
    p = _server_in_syn_rcvd()
    assert p.give("server", p.forge("client", SYN, 101)) == ["syn_rcvd.rcv_syn_passive"]
    assert p.server.state is State.LISTEN and p.server.iss is None
    return p.rows


def simultaneous_open_refused() -> set[str]:
    """After a simultaneous open (SYN_RCVD from SYN_SENT), a RST at RCV.NXT means the
    connection is refused: CLOSED, not LISTEN (RFC 9293 3.10.7.4)."""
    p = Pair()
    p.call("client", "connect")
    p.call("server", "connect")
    c_syn, s_syn = p.out("client")[0].segment, p.out("server")[0].segment
    p.give("client", s_syn)
    p.give("server", c_syn)
    assert (p.client.state, p.server.state) == (State.SYN_RCVD, State.SYN_RCVD)
    assert p.give("client", p.forge("server", RST, 1)) == ["syn_rcvd.rcv_rst"]
    assert p.client.state is State.CLOSED and p.client.view().note == "connection refused"
    return p.rows


# ------------------------------------------------------------- ESTABLISHED on ---


def reordered_data() -> set[str]:
    """The client sends 3000 bytes (1460 + 1460 + 80) and the wire delays the first segment
    until the second has arrived. The server holds the second (out of order) and sends a
    duplicate ACK (Ack=1); when the first arrives, both are in order and one ACK covers
    them (Ack=2921); the third follows in order."""
    sim = lab("server listen", "client connect", "run", "delay client", "client send 3000", "run")
    sim.run_to_end()
    assert sends(sim)[3:] == [
        "client ACK 1 1 len=1460",
        "client ACK 1461 1 len=1460",
        "client PSH+ACK 2921 1 len=80",
        "server ACK 1 1",
        "server ACK 1 2921",
        "server ACK 1 3001",
    ]
    server = [f for f in sim.timeline if f.event == "deliver" and f.who == "server"][2:]
    assert [f.explain.key for f in server] == ["sync.rcv_out_of_order", "sync.rcv_data", "sync.rcv_data"]
    assert [f.fault for f in server] == [None, "delay", None]
    return sim.rows_used


def forged_resets_and_syns() -> set[str]:
    """RFC 5961 in ESTABLISHED: a RST in the window but not at RCV.NXT and a SYN both get a
    challenge ACK; a RST outside the window is dropped; an ACK of unsent data gets an ACK;
    a segment without ACK is dropped. Answers to such dataless segments are throttled to one
    per 0.5 s (RFC 5961 7), so each probe here comes a second after the last. The connection
    survives all of it."""
    p = Pair().established()

    def probe(seg):
        p.now += 1.0
        return p.give("server", seg)

    assert probe(p.forge("client", RST, 1 + 1000)) == ["sync.rcv_rst_in_window"]
    assert [p.show("server", o.segment) for o in p.out("server")] == ["server ACK 1 1"]
    assert probe(p.forge("client", SYN, 1 + 500, options=build_options(mss=1460))) == ["sync.rcv_syn"]
    assert [o.why for o in p.out("server")] == ["challenge_ack"]
    assert probe(p.forge("client", RST, 1 + 10_000_000)) == ["sync.rcv_unacceptable_rst"]
    assert probe(p.forge("client", ACK, 1, 777)) == ["sync.rcv_ack_unacceptable"]
    assert [o.why for o in p.out("server")] == ["ack_old"]
    assert probe(p.forge("client", FIN, 1)) == ["sync.rcv_no_ack"]
    assert p.out("server") == [] and p.server.state is State.ESTABLISHED
    return p.rows


def ack_war_is_throttled() -> set[str]:
    """Two forged segments the server cannot accept arrive 0.1 s apart: it answers the first
    with an ACK and stays silent for the second (ACK throttling, 0.5 s as Linux). A data
    segment outside the window is always answered: data is never part of an ACK war."""
    p = Pair().established()
    p.now = 10.0
    assert p.give("server", p.forge("client", ACK, 1 + 100_000, 1)) == ["sync.rcv_unacceptable"]
    p.now = 10.1
    assert p.give("server", p.forge("client", ACK, 1 + 200_000, 1)) == ["sync.rcv_throttled"]
    assert p.give("server", p.forge("client", ACK, 1 + 300_000, 1, length=10)) == ["sync.rcv_unacceptable"]
    assert [o.why for o in p.out("server")] == ["ack_old", "ack_old"]
    p.now = 10.6
    assert p.give("server", p.forge("client", ACK, 1 + 400_000, 1)) == ["sync.rcv_unacceptable"]
    return p.rows


def duplicate_ack_into_time_wait() -> set[str]:
    """Simultaneous close, and the wire duplicates the server's last ACK: the copy reaches the
    client in TIME_WAIT, which has nothing to do with it (RFC 9293 3.10.7.4)."""
    sim = lab("server listen", "client connect", "run", "client close", "server close", "duplicate server", "run")
    sim.run_to_end()
    client = [f for f in sim.timeline if f.event == "deliver" and f.who == "client"][-3:]
    assert [f.explain.key for f in client] == ["fin_wait_1.rcv_fin", "closing.rcv_ack_of_fin", "closing.rcv_ack"]
    assert [f.fault for f in client] == [None, None, "duplicate"]
    assert client[1].row == client[2].row  # the copy is the same row of the segment log
    return sim.rows_used


def time_wait_assassination() -> set[str]:
    """The client's last ACK is duplicated. The copy reaches the server after it is CLOSED,
    which answers with a RST <SEQ=SEG.ACK>: exactly the client's RCV.NXT, so the client in
    TIME_WAIT accepts it and closes early (RFC 9293 3.10.7.4 second step; RFC 1337 calls this
    TIME_WAIT assassination)."""
    sim = lab("server listen", "client connect", "run", "client close", "run", "duplicate client", "server close", "run")
    sim.run_to_end()
    assert sends(sim)[-2:] == ["client ACK 2 2", "server RST 2 0"]
    assert states(sim)[-2:] == ["TIME_WAIT/CLOSED", "CLOSED/CLOSED"]
    assert [f.timer for f in sim.timeline if f.event == "timer"] == []
    return sim.rows_used


def fin_wait_2_waits_forever_when_the_peer_vanishes() -> set[str]:
    """The client closes and is in FIN_WAIT_2. The server then aborts, and the wire loses its
    RST. RFC 9293 gives FIN_WAIT_2 no timer, so the client waits for a FIN that will never
    come: the simulation comes to rest with the client still in FIN_WAIT_2. (Linux closes an
    orphaned FIN_WAIT_2 after tcp_fin_timeout, 60 s.)"""
    sim = lab("server listen", "client connect", "run", "client close", "run", "drop server", "server abort", "run")
    sim.run_to_end()
    assert states(sim)[-2:] == ["FIN_WAIT_2/CLOSE_WAIT", "FIN_WAIT_2/CLOSED"]
    assert sim.advance() is False and sim.next_timer() is None
    return sim.rows_used


DRILLS = (
    listening_side_connects_instead,
    stop_listening,
    give_up_connecting,
    close_and_abort_while_closing,
    close_during_handshake,
    close_with_data_queued_during_handshake,
    data_lost_and_resent,
    fin_lost_and_resent,
    server_never_answers,
    client_never_completes,
    half_open_connection_found,
    resets_cross,
    stray_segments_at_a_listener,
    syn_ack_lost,
    rst_without_ack_in_syn_sent,
    third_ack_lost_then_fin,
    bad_ack_in_syn_rcvd,
    new_syn_in_syn_rcvd,
    simultaneous_open_refused,
    reordered_data,
    forged_resets_and_syns,
    ack_war_is_throttled,
    duplicate_ack_into_time_wait,
    time_wait_assassination,
    fin_wait_2_waits_forever_when_the_peer_vanishes,
)
