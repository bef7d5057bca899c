"""Wireshark's analysis flags as core/analysis.py computes them, check by check, on
hand-fed flows (tshark itself is the oracle in tests/test_oracle_tshark.py)."""

from __future__ import annotations

from tcp_lab.core import analysis as an
from tcp_lab.core.analysis import ConvAnalysis, analyze, info_prefix, labels
from tcp_lab.core.segment import ACK, FIN, PSH, RST, SYN


class Conv:
    """Two flows; `c()`/`s()` run one segment through analyze() like the tracker does."""

    def __init__(self) -> None:
        self.ca = ConvAnalysis()
        self.frame = 0
        self.t = 100.0

    def _go(self, role, seq, ack, flags, length=0, win=1000, dt=0.01):
        self.frame += 1
        self.t += dt
        fwd, rev = self.ca.flows[role], self.ca.flows[1 - role]
        return analyze(fwd, rev, self.ca, seq, ack, length, flags, win, self.t, self.frame)

    def c(self, *a, **k):
        return self._go(0, *a, **k)

    def s(self, *a, **k):
        return self._go(1, *a, **k)

    def handshake(self):
        self.c(1000, 0, SYN)
        self.s(5000, 1001, SYN | ACK)
        self.c(1001, 5001, ACK)


def bits(result) -> int:
    return result[0]


def test_nothing_to_say_about_a_clean_exchange():
    conv = Conv()
    conv.handshake()
    assert bits(conv.c(1001, 5001, ACK | PSH, 100)) == 0
    assert bits(conv.s(5001, 1101, ACK)) == 0


def test_retransmission_needs_the_sequence_number_to_go_back():
    conv = Conv()
    conv.handshake()
    conv.c(1001, 5001, ACK | PSH, 100)
    assert bits(conv.c(1001, 5001, ACK | PSH, 100, dt=0.5)) == an.RETRANSMISSION


def test_previous_segment_not_captured_and_out_of_order():
    conv = Conv()
    conv.handshake()
    assert bits(conv.c(1101, 5001, ACK, 100)) == an.LOST_PACKET
    assert bits(conv.c(1001, 5001, ACK, 100, dt=0.001)) == an.OUT_OF_ORDER


def test_duplicate_acks_count_from_the_last_new_ack():
    conv = Conv()
    conv.handshake()
    conv.c(1001, 5001, ACK, 10)
    first = conv.s(5001, 1011, ACK)
    assert bits(first) == 0
    new_ack_frame = conv.frame
    assert conv.s(5001, 1011, ACK) == (an.DUPLICATE_ACK, 1, new_ack_frame)
    assert conv.s(5001, 1011, ACK) == (an.DUPLICATE_ACK, 2, new_ack_frame)
    assert labels(an.DUPLICATE_ACK, 2, new_ack_frame) == (f"TCP Dup ACK {new_ack_frame}#2",)


def test_fast_retransmission_after_two_dup_acks_within_20_ms():
    conv = Conv()
    conv.handshake()
    conv.c(1001, 5001, ACK, 100)
    conv.c(1101, 5001, ACK, 100)
    for _ in range(3):
        conv.s(5001, 1001, ACK, dt=0.001)
    assert bits(conv.c(1001, 5001, ACK, 100, dt=0.001)) == an.FAST_RETRANSMISSION


def test_spurious_retransmission_of_acknowledged_data():
    conv = Conv()
    conv.handshake()
    conv.c(1001, 5001, ACK, 100)
    conv.s(5001, 1101, ACK)
    assert bits(conv.c(1001, 5001, ACK, 100, dt=0.3)) == an.SPURIOUS_RETRANSMISSION


def test_zero_window_probe_and_its_ack():
    conv = Conv()
    conv.handshake()
    conv.c(1001, 5001, ACK, 100)
    assert bits(conv.s(5001, 1101, ACK, win=0)) == an.ZERO_WINDOW
    assert bits(conv.c(1101, 5001, ACK, 1, dt=0.2)) == an.ZERO_WINDOW_PROBE
    assert bits(conv.s(5001, 1101, ACK, win=0)) == an.ZERO_WINDOW | an.ZERO_WINDOW_PROBE_ACK
    assert info_prefix(an.ZERO_WINDOW | an.ZERO_WINDOW_PROBE_ACK) == "[TCP ZeroWindowProbeAck] [TCP ZeroWindow] "


def test_keep_alive_and_its_ack():
    conv = Conv()
    conv.handshake()
    conv.c(1001, 5001, ACK, 10)
    conv.s(5001, 1011, ACK)
    assert bits(conv.c(1010, 5001, ACK, dt=7)) == an.KEEP_ALIVE
    assert bits(conv.s(5001, 1011, ACK)) == an.KEEP_ALIVE_ACK


def test_window_update_and_window_full():
    conv = Conv()
    conv.c(1000, 0, SYN)
    conv.s(5000, 1001, SYN | ACK, win=300)
    conv.c(1001, 5001, ACK)
    conv.ca.flows[0].win_scale = conv.ca.flows[1].win_scale = -2  # no WS on the SYNs
    conv.s(5001, 1001, ACK, win=300)
    conv.ca.flows[1].is_first_ack = False
    assert bits(conv.c(1001, 5001, ACK | PSH, 300)) == an.WINDOW_FULL
    conv.s(5001, 1301, ACK, win=300)
    assert bits(conv.s(5001, 1301, ACK, win=600)) == an.WINDOW_UPDATE


def test_acked_unseen_segment():
    conv = Conv()
    conv.handshake()
    conv.c(1001, 5001, ACK, 100)
    assert bits(conv.s(5001, 1301, ACK)) == an.ACK_LOST_PACKET


def test_resets_and_fins_are_not_keep_alives_or_window_updates():
    conv = Conv()
    conv.handshake()
    conv.c(1001, 5001, ACK, 10)
    assert bits(conv.c(1010, 5001, RST)) == 0
    assert bits(conv.s(5001, 1011, FIN | ACK, win=0)) == 0


def test_labels_follow_the_info_column_order():
    both = an.RETRANSMISSION | an.LOST_PACKET | an.REUSED_PORTS
    assert labels(both) == ("TCP Previous segment not captured", "TCP Retransmission", "TCP Port numbers reused")
    assert info_prefix(both).startswith("[TCP Previous segment not captured] [TCP Retransmission]")


def test_sequence_numbers_wrap():
    conv = Conv()
    conv.c(0xFFFFFFF0, 0, SYN)
    conv.s(5000, 0xFFFFFFF1, SYN | ACK)
    conv.c(0xFFFFFFF1, 5001, ACK)
    assert bits(conv.c(0xFFFFFFF1, 5001, ACK, 100)) == 0  # crosses 2**32
    assert conv.ca.flows[0].nextseq == (0xFFFFFFF1 + 100) & 0xFFFFFFFF
    assert bits(conv.c(0xFFFFFFF1, 5001, ACK, 100, dt=0.5)) == an.RETRANSMISSION
