"""The observer's rules (core/inference.py): both endpoints' states, stepped one captured
segment at a time, sender's transition first, then the receiver's."""

from __future__ import annotations

import pytest

from tcp_lab.core import inference as inf
from tcp_lab.core.inference import (
    CLIENT,
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    RECEIVE,
    SEND,
    SERVER,
    STATES,
    SYN_RCVD,
    SYN_SENT,
    TIME_WAIT,
    Observer,
)
from tcp_lab.core.segment import ACK, FIN, PSH, RST, SYN
from tcp_lab.core.texts_capture import RECEIVE as RECV_TEXTS
from tcp_lab.core.texts_capture import SEND as SEND_TEXTS

C_ISN, S_ISN = 1000, 5000


def names(obs: Observer) -> tuple[str, str]:
    return STATES[obs.sides[0].state].value, STATES[obs.sides[1].state].value


class Wire:
    """A conversation seen by the observer: client() and server() send segments."""

    def __init__(self, obs: Observer | None = None) -> None:
        self.obs = obs or Observer()
        self.t = 0.0

    def send(self, role, flags, seq, ack=0, length=0, win=1000, dt=0.01, delivered=True):
        self.t += dt
        return self.obs.step(role, flags, seq, ack, length, win, self.t, delivered)

    def client(self, *a, **k):
        return self.send(CLIENT, *a, **k)

    def server(self, *a, **k):
        return self.send(SERVER, *a, **k)

    def handshake(self):
        self.client(SYN, C_ISN)
        self.server(SYN | ACK, S_ISN, C_ISN + 1)
        self.client(ACK, C_ISN + 1, S_ISN + 1)


def test_every_rule_names_a_section_and_has_texts_in_both_languages():
    for table, texts in ((SEND, SEND_TEXTS), (RECEIVE, RECV_TEXTS)):
        for (state, event), rule in table.items():
            assert rule.rfc, (state, event)
            assert rule.key in texts, rule.key
            assert texts[rule.key]["en"] and texts[rule.key]["zh"], rule.key


def test_the_tables_are_total():
    """Whatever the capture holds, every state has a rule for every event."""
    for state in inf.ALL:
        for event in inf.SEND_EVENTS:
            assert (state, event) in SEND
        for event in inf.RECV_EVENTS:
            assert (state, event) in RECEIVE


def test_three_way_handshake_sender_first_then_receiver():
    w = Wire()
    assert names(w.obs) == ("CLOSED", "LISTEN")
    step = w.client(SYN, C_ISN)
    assert names(w.obs) == ("SYN_SENT", "SYN_RCVD")
    assert (step.send.rfc, step.recv.rfc) == ("3.10.1", "3.10.7.2")
    w.server(SYN | ACK, S_ISN, C_ISN + 1)
    assert names(w.obs) == ("ESTABLISHED", "SYN_RCVD")
    w.client(ACK, C_ISN + 1, S_ISN + 1)
    assert names(w.obs) == ("ESTABLISHED", "ESTABLISHED")


@pytest.mark.parametrize("closer", [CLIENT, SERVER])
def test_four_way_teardown_from_either_side(closer):
    w = Wire()
    w.handshake()
    seq = {CLIENT: C_ISN + 1, SERVER: S_ISN + 1}
    other = 1 - closer
    w.send(closer, FIN | ACK, seq[closer], seq[other])
    assert (w.obs.sides[closer].state, w.obs.sides[other].state) == (FIN_WAIT_1, CLOSE_WAIT)
    w.send(other, ACK, seq[other], seq[closer] + 1)
    assert (w.obs.sides[closer].state, w.obs.sides[other].state) == (FIN_WAIT_2, CLOSE_WAIT)
    w.send(other, FIN | ACK, seq[other], seq[closer] + 1)
    assert (w.obs.sides[closer].state, w.obs.sides[other].state) == (TIME_WAIT, LAST_ACK)
    assert w.obs.sides[closer].time_wait_at == pytest.approx(w.t)
    w.send(closer, ACK, seq[closer] + 1, seq[other] + 1)
    assert (w.obs.sides[closer].state, w.obs.sides[other].state) == (TIME_WAIT, CLOSED)


def test_fin_merged_with_the_ack_of_the_other_fin_goes_straight_to_time_wait():
    w = Wire()
    w.handshake()
    w.client(FIN | ACK, C_ISN + 1, S_ISN + 1)
    step = w.server(FIN | ACK, S_ISN + 1, C_ISN + 2)  # server closes and ACKs in one segment
    # The server's FIN acknowledges the client's FIN: CLOSE_WAIT -> LAST_ACK for the server,
    # FIN_WAIT_1 -> TIME_WAIT for the client in one step (RFC 9293 3.10.7.4).
    assert names(w.obs) == ("TIME_WAIT", "LAST_ACK")
    assert step.recv.key == "recv.fin_acking_fin"


def test_a_retransmitted_fin_does_not_move_states_again():
    w = Wire()
    w.handshake()
    w.client(FIN | ACK, C_ISN + 1, S_ISN + 1)
    assert names(w.obs) == ("FIN_WAIT_1", "CLOSE_WAIT")
    step = w.client(FIN | ACK, C_ISN + 1, S_ISN + 1, dt=0.2)
    assert names(w.obs) == ("FIN_WAIT_1", "CLOSE_WAIT")
    assert (step.send.key, step.recv.key) == ("send.fin_again", "recv.fin_again")


def test_fin_with_data():
    w = Wire()
    w.handshake()
    w.client(FIN | PSH | ACK, C_ISN + 1, S_ISN + 1, length=10)
    assert names(w.obs) == ("FIN_WAIT_1", "CLOSE_WAIT")
    assert w.obs.sides[CLIENT].fin_seq == C_ISN + 11
    w.server(ACK, S_ISN + 1, C_ISN + 11)  # acknowledges the data, not the FIN
    assert names(w.obs) == ("FIN_WAIT_1", "CLOSE_WAIT")
    w.server(ACK, S_ISN + 1, C_ISN + 12)
    assert names(w.obs) == ("FIN_WAIT_2", "CLOSE_WAIT")


def test_simultaneous_open_when_the_syns_cross():
    w = Wire()
    w.client(SYN, C_ISN)
    step = w.server(SYN, S_ISN)  # its own SYN, not an answer: it had opened too
    assert step.evidence == "syn crossed"
    assert names(w.obs) == ("SYN_RCVD", "SYN_RCVD")
    w.client(SYN | ACK, C_ISN, S_ISN + 1)
    assert names(w.obs) == ("SYN_RCVD", "ESTABLISHED")
    w.server(SYN | ACK, S_ISN, C_ISN + 1)
    assert names(w.obs) == ("ESTABLISHED", "ESTABLISHED")


def test_simultaneous_close_when_the_fins_cross():
    w = Wire()
    w.handshake()
    w.client(FIN | ACK, C_ISN + 1, S_ISN + 1)
    step = w.server(FIN | ACK, S_ISN + 1, C_ISN + 1)  # does not acknowledge the client's FIN
    assert step.evidence == "fin crossed"
    assert names(w.obs) == ("CLOSING", "CLOSING")
    w.client(ACK, C_ISN + 2, S_ISN + 2)
    w.server(ACK, S_ISN + 2, C_ISN + 2)
    assert names(w.obs) == ("TIME_WAIT", "TIME_WAIT")


def test_rst_from_either_side_when_acceptable():
    for role in (CLIENT, SERVER):
        w = Wire()
        w.handshake()
        seq = C_ISN + 1 if role == CLIENT else S_ISN + 1
        step = w.send(role, RST | ACK, seq, 0)
        assert names(w.obs) == ("CLOSED", "CLOSED")
        assert step.recv.key == "recv.rst"


def test_rst_outside_the_window_is_ignored_rfc_5961():
    w = Wire()
    w.handshake()
    w.client(ACK | PSH, C_ISN + 1, S_ISN + 1, length=100, win=1000)
    step = w.server(RST, S_ISN + 500_000)
    assert step.recv.key == "recv.rst_out_of_window"
    # The sender's own transition still happens: it sent a reset, so it aborted.
    assert names(w.obs) == ("ESTABLISHED", "CLOSED")


def test_rst_inside_the_window_but_not_exact_draws_a_challenge_ack():
    w = Wire()
    w.handshake()
    w.client(ACK, C_ISN + 1, S_ISN + 1, win=1000)
    step = w.server(RST, S_ISN + 10)
    assert step.recv.key == "recv.rst_challenge"
    assert w.obs.sides[CLIENT].state == ESTABLISHED


def test_refused_connection_rst_ack_answers_the_syn():
    w = Wire()
    w.client(SYN, C_ISN)
    step = w.server(RST | ACK, 0, C_ISN + 1, win=0)
    assert names(w.obs) == ("CLOSED", "CLOSED")
    assert (step.send.key, step.recv.key) == ("send.rst_refused", "recv.rst_syn_sent")


def test_rst_without_an_acceptable_ack_in_syn_sent_is_ignored():
    w = Wire()
    w.client(SYN, C_ISN)
    step = w.server(RST, 0, 0)
    assert step.recv.key == "recv.rst_unacceptable_syn_sent"
    assert w.obs.sides[CLIENT].state == SYN_SENT


def test_old_duplicate_syn_ack_is_answered_by_rst_and_syn_sent_keeps_waiting():
    w = Wire()
    w.client(SYN, C_ISN)
    step = w.server(SYN | ACK, 9999, 777)  # acknowledges a SYN the client never sent
    assert step.recv.key == "recv.synack_bad"
    assert w.obs.sides[CLIENT].state == SYN_SENT
    step = w.client(RST, 777)
    assert step.send.key == "send.rst_reply"
    assert w.obs.sides[CLIENT].state == SYN_SENT


def test_midstream_capture_starts_established():
    obs = Observer(ESTABLISHED, ESTABLISHED, midstream=True)
    w = Wire(obs)
    w.client(ACK | PSH, 77_000, 88_000, length=10)
    assert names(w.obs) == ("ESTABLISHED", "ESTABLISHED")
    w.server(FIN | ACK, 88_000, 77_010)
    assert names(w.obs) == ("CLOSE_WAIT", "FIN_WAIT_1")


def test_time_wait_restarts_its_2msl_when_the_fin_comes_again():
    w = Wire()
    w.handshake()
    w.client(FIN | ACK, C_ISN + 1, S_ISN + 1)
    w.server(ACK, S_ISN + 1, C_ISN + 2)
    w.server(FIN | ACK, S_ISN + 1, C_ISN + 2)
    first = w.obs.sides[CLIENT].time_wait_at
    w.client(ACK, C_ISN + 2, S_ISN + 2, delivered=False)  # the last ACK is lost
    step = w.server(FIN | ACK, S_ISN + 1, C_ISN + 2, dt=0.3)
    assert step.recv.key == "recv.fin_time_wait"
    assert w.obs.sides[CLIENT].time_wait_at > first
    assert names(w.obs) == ("TIME_WAIT", "LAST_ACK")


def test_a_fin_sent_again_after_its_ack_proves_the_ack_was_lost():
    w = Wire()
    w.handshake()
    w.client(FIN | ACK, C_ISN + 1, S_ISN + 1)
    w.server(ACK, S_ISN + 1, C_ISN + 2)
    w.server(FIN | ACK, S_ISN + 1, C_ISN + 2)
    w.client(ACK, C_ISN + 2, S_ISN + 2)
    assert names(w.obs) == ("TIME_WAIT", "CLOSED")
    step = w.server(FIN | ACK, S_ISN + 1, C_ISN + 2, dt=0.2)  # long after the ACK: it was lost
    assert step.evidence == "ack of fin lost"
    assert names(w.obs) == ("TIME_WAIT", "LAST_ACK")


def test_a_fin_sent_again_just_as_its_ack_arrives_crossed_it():
    w = Wire()
    w.handshake()
    w.client(FIN | ACK, C_ISN + 1, S_ISN + 1)
    w.server(ACK, S_ISN + 1, C_ISN + 2)
    assert names(w.obs) == ("FIN_WAIT_2", "CLOSE_WAIT")
    step = w.client(FIN | ACK, C_ISN + 1, S_ISN + 1, dt=0.00005)
    assert step.evidence == "ack of fin crossed"
    assert names(w.obs) == ("FIN_WAIT_2", "CLOSE_WAIT")


def test_steady_segments_change_nothing_but_snd_nxt():
    w = Wire()
    w.handshake()
    assert w.obs.steady == [True, True]
    event = w.obs.step_steady(CLIENT, C_ISN + 1, 100, 500)
    assert event == inf.SEND_DATA
    assert w.obs.sides[CLIENT].snd_nxt == C_ISN + 101
    assert w.obs.step_steady(CLIENT, C_ISN + 1, 100, 500) == inf.SEND_DATA_AGAIN
    assert w.obs.step_steady(CLIENT, C_ISN + 100, 0, 500) == inf.SEND_KEEPALIVE
    w.client(FIN | ACK, C_ISN + 101, S_ISN + 1)
    # Data from the client still changes nothing; an ACK to FIN_WAIT_1 may acknowledge its FIN.
    assert w.obs.steady == [True, False]


def test_listen_and_closed_show_no_connection_after_reset_in_syn_rcvd():
    w = Wire()
    w.client(SYN, C_ISN)
    step = w.client(RST, C_ISN + 1)
    assert step.recv.key == "recv.rst_syn_rcvd"
    assert w.obs.sides[SERVER].state == LISTEN


def test_copy_is_independent():
    w = Wire()
    w.handshake()
    snapshot = w.obs.copy()
    w.client(FIN | ACK, C_ISN + 1, S_ISN + 1)
    assert names(snapshot) == ("ESTABLISHED", "ESTABLISHED")
    assert (CLOSING, LAST_ACK, SYN_RCVD, CLOSED) != ()
