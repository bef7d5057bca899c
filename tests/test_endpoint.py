"""The sans-I/O endpoint (core/endpoint.py): two endpoints linked in memory, as the lab shows them."""

import pytest
from labkit import ACK, RST, SYN, Pair, State

from tcp_lab.core import options
from tcp_lab.core.endpoint import Endpoint, EndpointConfig, IllegalCall
from tcp_lab.core.segment import PSH

S = State


# ------------------------------------------------------------------ the handshake ---


def test_three_way_handshake_fills_both_tcbs():
    p = Pair()
    p.call("server", "listen")
    p.call("client", "connect")
    assert p.client.state is S.SYN_SENT and p.client.snd_una == 1000 and p.client.snd_nxt == 1001
    seen = p.pump()
    assert seen == ["client SYN 0 0", "server SYN+ACK 0 1", "client ACK 1 1"]
    c, s = p.client, p.server
    assert (c.state, s.state) == (S.ESTABLISHED, S.ESTABLISHED)
    assert (c.iss, c.irs, c.snd_una, c.snd_nxt, c.rcv_nxt) == (1000, 5000, 1001, 1001, 5001)
    assert (s.iss, s.irs, s.snd_una, s.snd_nxt, s.rcv_nxt) == (5000, 1000, 5001, 5001, 1001)
    assert c.timers() == () and s.timers() == ()  # everything acknowledged: no RTO


def test_syns_carry_mss_window_scale_and_sack_permitted_and_the_window_is_scaled_after():
    p = Pair()
    p.call("server", "listen")
    p.call("client", "connect")
    [syn] = p.out("client")
    assert options.options_dict(syn.segment.options) == {"mss": 1460, "sack_perm": True, "ws": 7}
    assert syn.segment.win == 64240 and syn.win_scaled == 64240  # never scaled on a SYN (RFC 7323 2.2)
    p.give("server", syn.segment)
    [syn_ack] = p.out("server")
    assert options.options_dict(syn_ack.segment.options) == {"mss": 1460, "sack_perm": True, "ws": 7}
    assert syn_ack.segment.win == 64240
    p.give("client", syn_ack.segment)
    [ack] = p.out("client")
    assert ack.segment.win == 64240 >> 7 == 501 and ack.win_scaled == 501 << 7
    p.give("server", ack.segment)
    assert p.server.snd_wnd == 501 << 7  # the server scales what it reads
    assert p.client.snd_wnd == 64240  # read from the SYN-ACK, unscaled


def test_no_window_scaling_unless_both_syns_offer_it():
    p = Pair()
    p.client = Endpoint(EndpointConfig("client", "192.0.2.10", 52296, "198.51.100.80", 80, isn=1000, wscale=None))
    p.call("server", "listen")
    p.call("client", "connect")
    p.give("server", p.out("client")[0].segment)
    [syn_ack] = p.out("server")
    assert "ws" not in options.options_dict(syn_ack.segment.options)  # RFC 7323: only if the SYN had WS
    p.give("client", syn_ack.segment)
    p.pump()
    p.call("server", "send", 10)
    [data] = p.out("server")
    assert data.segment.win == 64240 and data.win_scaled == 64240


def test_the_peer_mss_cuts_the_data_and_psh_marks_the_end_of_the_write():
    p = Pair()
    p.server = Endpoint(EndpointConfig("server", "198.51.100.80", 80, "192.0.2.10", 52296, isn=5000, mss=1300))
    p.established()
    p.call("client", "send", 3000)
    out = p.out("client")
    assert [o.segment.length for o in out] == [1300, 1300, 400]
    assert [bool(o.segment.flags & PSH) for o in out] == [False, False, True]
    assert all(o.segment.flags & ACK for o in out)
    assert p.client.snd_nxt == 1001 + 3000 and p.client.snd_una == 1001


def test_data_written_in_syn_sent_rides_on_the_third_segment():
    p = Pair()
    p.call("server", "listen")
    p.call("client", "connect")
    assert p.call("client", "send", 100) == "syn_sent.send"
    assert p.pump() == ["client SYN 0 0", "server SYN+ACK 0 1", "client PSH+ACK 1 1 len=100", "server ACK 1 101"]
    assert "syn_rcvd.rcv_ack_data" in p.rows


# ------------------------------------------------------------------ illegal calls ---


@pytest.mark.parametrize(
    ("setup", "call", "message"),
    [
        ([], "send", "can't send in CLOSED: there is no connection"),
        ([], "close", "can't close in CLOSED: there is no connection"),
        ([], "abort", "can't abort in CLOSED: there is no connection"),
        (["listen"], "send", "can't send in LISTEN: the connection is not open yet"),
        (["listen"], "listen", "can't listen in LISTEN: a connection already exists"),
        (["connect"], "connect", "can't connect in SYN_SENT: a connection already exists"),
        (["connect"], "listen", "can't listen in SYN_SENT: a connection already exists"),
        (["established", "close"], "send", "can't send in FIN_WAIT_1: this side has already closed"),
        (["established", "close"], "close", "can't close in FIN_WAIT_1: this side has already closed"),
    ],
)
def test_an_illegal_call_raises_a_clear_error_and_changes_nothing(setup, call, message):
    p = Pair()
    for step in setup:
        if step == "established":
            p.established()
        else:
            p.call("client", step)
    def look():
        c = p.client
        return (c.view(), list(c.send_queue), c.fin_pending, len(c.applied), list(c.outbox), list(c.unacked))

    before = look()
    with pytest.raises(IllegalCall) as info:
        p.call("client", call, 10) if call == "send" else p.call("client", call)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ValueError)
    assert look() == before


@pytest.mark.parametrize("nbytes", [0, -5, 2.5, True, "10"])
def test_send_needs_a_whole_positive_number_of_bytes(nbytes):
    p = Pair().established()
    with pytest.raises(IllegalCall, match="whole number of bytes"):
        p.client.send(nbytes, 0.0)
    assert p.client.send_queue == [] and p.out("client") == []


# ----------------------------------------------------------------------- closing ---


@pytest.mark.parametrize("closer", ["client", "server"])
def test_four_way_close_either_side_first(closer):
    p = Pair().established()
    other = "server" if closer == "client" else "client"
    p.call(closer, "close")
    assert p.ep(closer).state is S.FIN_WAIT_1
    assert p.pump() == [f"{closer} FIN+ACK 1 1", f"{other} ACK 1 2"]
    assert (p.ep(closer).state, p.ep(other).state) == (S.FIN_WAIT_2, S.CLOSE_WAIT)
    p.call(other, "close")
    assert p.pump() == [f"{other} FIN+ACK 1 2", f"{closer} ACK 2 2"]
    assert (p.ep(closer).state, p.ep(other).state) == (S.TIME_WAIT, S.CLOSED)
    assert p.ep(closer).next_timer() == ("2msl", 60.0)
    assert p.fire(closer) == ["time_wait.2msl"]
    assert p.ep(closer).state is S.CLOSED and p.ep(closer).iss is None  # the TCB is gone


def test_half_close_the_passive_side_keeps_sending_in_close_wait():
    p = Pair().established()
    p.call("client", "close")
    p.pump()
    assert p.call("server", "send", 2000) == "established.send"
    assert p.pump() == [
        "server ACK 1 2 len=1460",
        "server PSH+ACK 1461 2 len=540",
        "client ACK 2 1461",
        "client ACK 2 2001",
    ]
    assert (p.client.state, p.server.state, p.client.rcv_nxt) == (S.FIN_WAIT_2, S.CLOSE_WAIT, 5001 + 2000)


def test_the_fin_follows_data_still_queued_and_rides_on_the_last_piece():
    p = Pair(window=2000, wscale=None)
    p.established()
    p.call("client", "send", 5000)
    first = p.out("client")
    assert [o.segment.length for o in first] == [1460, 540]  # the peer's 2000-byte window is full
    p.call("client", "close")
    assert p.client.state is S.FIN_WAIT_1 and p.out("client") == []  # the FIN waits behind the data
    for o in first:
        p.give("server", o.segment)
    assert p.pump() == [
        "server ACK 1 1461",
        "server ACK 1 2001",
        "client ACK 2001 1 len=1460",  # each ACK opens the window again
        "client ACK 3461 1 len=540",
        "server ACK 1 3461",
        "server ACK 1 4001",
        "client FIN+PSH+ACK 4001 1 len=1000",
        "server ACK 1 5002",
    ]
    assert (p.client.state, p.server.state) == (S.FIN_WAIT_2, S.CLOSE_WAIT)


def test_simultaneous_close_goes_through_closing():
    p = Pair().established()
    p.call("client", "close")
    p.call("server", "close")
    c_fin, s_fin = p.out("client")[0].segment, p.out("server")[0].segment
    assert p.give("server", c_fin) == ["fin_wait_1.rcv_fin"]
    assert p.give("client", s_fin) == ["fin_wait_1.rcv_fin"]
    assert (p.client.state, p.server.state) == (S.CLOSING, S.CLOSING)
    assert p.pump() == ["client ACK 2 2", "server ACK 2 2"]
    assert (p.client.state, p.server.state) == (S.TIME_WAIT, S.TIME_WAIT)


def test_fin_that_acks_our_fin_goes_straight_to_time_wait():
    p = Pair().established()
    p.server.close_on_fin = True
    p.call("client", "close")
    assert p.pump() == ["client FIN+ACK 1 1", "server FIN+ACK 1 2", "client ACK 2 2"]
    assert "established.rcv_fin_app_closes" in p.rows and "fin_wait_1.rcv_fin_ack_of_fin" in p.rows
    assert (p.client.state, p.server.state) == (S.TIME_WAIT, S.CLOSED)


def test_time_wait_acks_a_repeated_fin_and_restarts_2msl():
    p = Pair(msl=120.0).established()  # the RFC's MSL: 2 minutes
    p.call("client", "close")
    p.pump()
    p.call("server", "close")
    [fin] = p.out("server")
    p.give("client", fin.segment)
    p.out("client")  # the last ACK, lost
    assert p.client.next_timer() == ("2msl", 240.0)
    p.now = 1.0
    assert p.give("client", fin.segment) == ["time_wait.rcv_fin_again"]
    assert [p.show("client", o.segment) for o in p.out("client")] == ["client ACK 2 2"]
    assert p.client.next_timer() == ("2msl", 241.0)


def test_abort_sends_rst_at_snd_nxt_and_the_peer_resets():
    p = Pair().established()
    p.call("client", "send", 100)
    p.pump()
    assert p.call("client", "abort") == "sync.abort"
    [rst] = p.out("client")
    assert rst.segment.flags == RST and rst.segment.seq == p.server.rcv_nxt
    assert p.client.state is S.CLOSED
    assert p.give("server", rst.segment) == ["sync.rcv_rst"]
    assert p.server.state is S.CLOSED and p.server.view().note == "connection reset"


# --------------------------------------------------------------- resets (3.10.7) ---


def test_a_closed_port_answers_a_syn_with_rst_ack():
    p = Pair()
    p.call("client", "connect")
    [syn] = p.out("client")
    assert p.give("server", syn.segment) == ["closed.rcv_segment"]
    [rst] = p.out("server")
    assert rst.segment.flags == RST | ACK
    assert (rst.segment.seq, rst.segment.ack) == (0, 1001)  # <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
    assert p.give("client", rst.segment) == ["syn_sent.rcv_rst"]
    assert p.client.state is S.CLOSED and p.client.view().note == "connection refused"


def test_a_closed_port_answers_an_ack_with_rst_at_seg_ack():
    p = Pair()
    assert p.give("server", p.forge("client", ACK, 1, 42)) == ["closed.rcv_segment"]
    [rst] = p.out("server")
    assert rst.segment.flags == RST and rst.segment.seq == 5000 + 42 and rst.segment.ack == 0


def test_the_client_in_syn_sent_resets_an_old_syn_ack_then_takes_the_right_one():
    p = Pair()
    p.call("server", "listen")
    p.call("client", "connect")
    syn = p.out("client")[0].segment
    bogus = p.forge("server", SYN | ACK, 0, -99)  # acknowledges 901: an old incarnation's SYN
    assert p.give("client", bogus) == ["syn_sent.rcv_bad_ack"]
    [rst] = p.out("client")
    assert (rst.segment.flags, rst.segment.seq) == (RST, 1000 - 99)
    assert p.client.state is S.SYN_SENT
    p.give("server", syn)
    p.pump()
    assert (p.client.state, p.server.state) == (S.ESTABLISHED, S.ESTABLISHED)


def test_rst_is_believed_only_at_exactly_rcv_nxt():
    p = Pair().established()
    assert p.give("client", p.forge("server", RST, 2)) == ["sync.rcv_rst_in_window"]
    [challenge] = p.out("client")
    assert (challenge.why, challenge.segment.flags) == ("challenge_ack", ACK)
    assert p.client.state is S.ESTABLISHED
    assert p.give("client", p.forge("server", RST, 1)) == ["sync.rcv_rst"]
    assert p.client.state is S.CLOSED


# ----------------------------------------------------------------------- timers ---


def test_rto_doubles_and_returns_to_one_second_after_an_ack():
    p = Pair().established()
    p.call("client", "send", 100)
    data = p.out("client")[0].segment
    assert p.client.next_timer() == ("rto", 1.0)
    p.fire("client")
    p.fire("client")
    assert p.client.next_timer() == ("rto", 3.0 + 4.0)  # 1 s, then 2 s, then 4 s
    resent = p.out("client")
    assert [o.why for o in resent] == ["retransmit", "retransmit"] and all(o.retransmission for o in resent)
    assert resent[0].segment == data
    p.give("server", data)
    p.pump()
    assert p.client.timers() == () and p.client.rto_current == 1.0 and p.client.retries == 0


def test_the_retries_limit_is_configurable():
    p = Pair(retries=1)
    p.call("client", "connect")
    assert p.fire("client") == ["syn_sent.rto"]
    assert p.fire("client") == ["rto.give_up"]
    assert p.now == 3.0 and p.client.state is S.CLOSED


def test_a_new_incarnation_takes_its_isn_from_the_4_microsecond_clock():
    p = Pair()
    p.call("client", "connect")
    p.call("client", "close")
    p.now = 2.5
    p.call("client", "connect")
    assert p.client.iss == 1000 + 2.5 * 250_000  # RFC 9293 3.4.1: M ticks every 4 us


# --------------------------------------------------------------------- receiving ---


def test_out_of_order_data_is_held_and_a_duplicate_ack_sent():
    p = Pair().established()
    p.call("client", "send", 3000)
    first, second, third = (o.segment for o in p.out("client"))
    assert p.give("server", third) == ["sync.rcv_out_of_order"]
    assert p.give("server", second) == ["sync.rcv_out_of_order"]
    assert [p.show("server", o.segment) for o in p.out("server")] == ["server ACK 1 1", "server ACK 1 1"]
    assert p.give("server", first) == ["sync.rcv_data", "sync.rcv_data", "sync.rcv_data"]
    assert [p.show("server", o.segment) for o in p.out("server")] == ["server ACK 1 3001"]  # one ACK for all
    assert p.server.rcv_nxt == 1001 + 3000 and p.server.held == []


def test_a_retransmission_overlapping_old_data_is_trimmed():
    p = Pair().established()
    p.call("client", "send", 100)
    p.pump()
    overlap = p.forge("client", ACK, 51, 1, length=100)  # bytes 51..150: 51..100 are old
    assert p.give("server", overlap) == ["sync.rcv_data"]
    assert p.server.rcv_nxt == 1001 + 150
    [ack] = p.out("server")
    assert p.show("server", ack.segment) == "server ACK 1 151"


def test_a_retransmitted_syn_in_syn_rcvd_is_old_and_answered_with_an_ack():
    p = Pair()
    p.call("server", "listen")
    p.call("client", "connect")
    syn = p.out("client")[0].segment
    p.give("server", syn)
    p.out("server")
    assert p.give("server", syn) == ["sync.rcv_unacceptable"]
    assert [p.show("server", o.segment) for o in p.out("server")] == ["server ACK 1 1"]
    assert p.server.state is S.SYN_RCVD


def test_simultaneous_open_four_segments_no_listener():
    p = Pair()
    p.call("client", "connect")
    p.call("server", "connect")
    c_syn, s_syn = p.out("client")[0].segment, p.out("server")[0].segment
    assert p.give("server", c_syn) == ["syn_sent.rcv_syn"]
    assert p.give("client", s_syn) == ["syn_sent.rcv_syn"]
    c_sa, s_sa = p.out("client")[0].segment, p.out("server")[0].segment
    assert c_sa.flags == SYN | ACK and c_sa.seq == 1000 and c_sa.ack == 5001
    assert p.give("server", c_sa) == ["syn_rcvd.rcv_syn_ack"]
    assert p.give("client", s_sa) == ["syn_rcvd.rcv_syn_ack"]
    assert (p.client.state, p.server.state) == (S.ESTABLISHED, S.ESTABLISHED)
    assert p.out("client") == [] and p.out("server") == []  # RFC 9293 Figure 8: nothing more


def test_two_way_config_is_labelled_and_opens_on_the_syn():
    p = Pair(two_way=True)
    p.call("server", "listen")
    p.call("client", "connect")
    assert p.pump() == ["client SYN 0 0", "server SYN+ACK 0 1"]  # no third segment
    assert (p.client.state, p.server.state) == (S.ESTABLISHED, S.ESTABLISHED)
    assert {"listen.rcv_syn_two_way", "syn_sent.rcv_syn_ack_two_way"} <= p.rows


def test_every_applied_row_matches_the_table():
    from tcp_lab.core import transitions

    p = Pair().established()
    p.call("client", "send", 5000)
    p.call("client", "close")
    p.pump()
    p.call("server", "close")
    p.pump()
    for ep in (p.client, p.server):
        for a in ep.applied:
            row = transitions.row(a.row)
            assert a.old in row.states and a.new is row.target(a.old)
    assert p.client.state is S.TIME_WAIT and p.server.state is S.CLOSED
