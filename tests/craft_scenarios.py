"""Hand-made conversations that make Wireshark raise each TCP analysis flag, and show each
Info column variant (a test helper: tests/test_oracle_tshark.py, tests/test_analysis.py).

Each scenario builds one `Dialog` (tests/tcp_craft.py) on its own client port and says
which analysis labels and Info fragments it must produce, so a comparison with tshark
cannot pass by both sides showing nothing.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from tcp_craft import CLIENT_ISN as C
from tcp_craft import SERVER_ISN as S
from tcp_craft import Dialog

from tcp_lab.core.options import build_options
from tcp_lab.core.segment import ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG


class Scenario(NamedTuple):
    name: str
    build: Callable[[Dialog], None]
    labels: tuple[str, ...]  # analysis labels that must appear (prefix match for Dup ACK)
    info: tuple[str, ...] = ()  # Info fragments that must appear


def retransmission(d: Dialog) -> None:
    d.handshake()
    d.c(ACK | PSH, C + 1, S + 1, data=100)
    d.c(ACK | PSH, C + 1, S + 1, data=100, dt=0.3)  # no ACK came: sent again after an RTO


def fast_retransmission(d: Dialog) -> None:
    d.handshake()
    for i in range(4):
        d.c(ACK, C + 1 + 100 * i, S + 1, data=100, dt=0.001)
    for _ in range(3):  # the first segment was lost: the server asks for it three times
        d.s(ACK, S + 1, C + 1, dt=0.002)
    d.c(ACK, C + 1, S + 1, data=100, dt=0.001)


def spurious_retransmission(d: Dialog) -> None:
    d.handshake()
    d.c(ACK | PSH, C + 1, S + 1, data=100)
    d.s(ACK, S + 1, C + 101)
    d.c(ACK | PSH, C + 1, S + 1, data=100, dt=0.3)


def out_of_order(d: Dialog) -> None:
    d.handshake()
    d.c(ACK, C + 101, S + 1, data=100)  # overtook the first segment: a hole
    d.c(ACK, C + 1, S + 1, data=100, dt=0.001)  # the first one, 1 ms later


def acked_unseen(d: Dialog) -> None:
    d.handshake()
    d.c(ACK, C + 1, S + 1, data=100)
    d.s(ACK, S + 1, C + 301)  # acknowledges 200 bytes the capture never saw


def window_update_and_full(d: Dialog) -> None:
    d.handshake(swin=300)
    d.s(ACK, S + 1, C + 1, win=300)
    d.c(ACK | PSH, C + 1, S + 1, data=300)  # exactly the server's window
    d.s(ACK, S + 1, C + 301, win=300)
    d.s(ACK, S + 1, C + 301, win=600)  # the same ACK, only the window grew


def zero_window(d: Dialog) -> None:
    d.handshake()
    d.c(ACK | PSH, C + 1, S + 1, data=100)
    d.s(ACK, S + 1, C + 101, win=0)
    d.c(ACK, C + 101, S + 1, data=1, dt=0.2)  # probe
    d.s(ACK, S + 1, C + 101, win=0)
    d.s(ACK, S + 1, C + 101, win=500, dt=0.5)


def keep_alive(d: Dialog) -> None:
    d.handshake()
    d.c(ACK | PSH, C + 1, S + 1, data=10)
    d.s(ACK, S + 1, C + 11)
    d.c(ACK, C + 10, S + 1, dt=7.0)  # one byte below what it sent: are you there?
    d.s(ACK, S + 1, C + 11)
    d.c(ACK, C + 10, S + 1, data=1, dt=7.0)


def dup_acks(d: Dialog) -> None:
    d.handshake()
    d.c(ACK | PSH, C + 1, S + 1, data=10)
    d.s(ACK, S + 1, C + 11)
    d.s(ACK, S + 1, C + 11)
    d.s(ACK, S + 1, C + 11)


def port_reuse(d: Dialog) -> None:
    d.handshake()
    d.c(FIN | ACK, C + 1, S + 1)
    d.s(FIN | ACK, S + 1, C + 2)
    d.c(ACK, C + 2, S + 2)
    d.c(SYN, C + 100000, 0, dt=1.0)  # a new connection on the same four numbers
    d.s(SYN | ACK, S + 70000, C + 100001)
    d.c(ACK, C + 100001, S + 70001)


def syn_retransmitted(d: Dialog) -> None:
    d.c(SYN, C, 0, opts=build_options(mss=1460, ws=7, sack_perm=True))
    d.c(SYN, C, 0, opts=build_options(mss=1460, ws=7, sack_perm=True), dt=1.0)
    d.s(SYN | ACK, S, C + 1, opts=build_options(mss=1460, ws=7, sack_perm=True))
    d.c(ACK, C + 1, S + 1, win=500)


def window_scaling_both(d: Dialog) -> None:
    d.handshake(ws=7)
    d.c(ACK | PSH, C + 1, S + 1, data=50, win=500)
    d.s(ACK, S + 1, C + 51, win=300)


def window_scaling_synack_without(d: Dialog) -> None:
    d.c(SYN, C, 0, opts=build_options(mss=1460, ws=7))
    d.s(SYN | ACK, S, C + 1, opts=build_options(mss=1460))
    d.c(ACK, C + 1, S + 1, win=500)
    d.s(ACK, S + 1, C + 1, win=300)


def synack_first(d: Dialog) -> None:
    d.s(SYN | ACK, S, C + 1, opts=build_options(mss=1460, ws=5))
    d.c(ACK, C + 1, S + 1, win=500)
    d.s(ACK | PSH, S + 1, C + 1, data=20, win=300)


def midstream(d: Dialog) -> None:
    d.c(ACK | PSH, C + 500, S + 900, data=30, win=700)
    d.s(ACK, S + 900, C + 530, win=800)
    d.s(FIN | ACK, S + 900, C + 530, win=800)
    d.c(ACK, C + 530, S + 901, win=700)


def sack_blocks(d: Dialog) -> None:
    d.handshake()
    d.c(ACK, C + 1, S + 1, data=100)
    d.c(ACK, C + 201, S + 1, data=100)
    d.s(ACK, S + 1, C + 101, opts=build_options(sack=((C + 201, C + 301),)))


def urgent(d: Dialog) -> None:
    d.handshake()
    d.c(ACK | PSH | URG, C + 1, S + 1, data=10, urg=5)


def ecn_bits(d: Dialog) -> None:
    d.c(SYN | ECE | CWR, C, 0)
    d.s(SYN | ACK | ECE, S, C + 1)
    d.c(ACK | AE, C + 1, S + 1)
    d.c(ACK | PSH | CWR, C + 1, S + 1, data=10)


def accurate_ecn(d: Dialog) -> None:
    d.c(SYN | AE | CWR | ECE, C, 0)
    d.s(SYN | ACK | CWR, S, C + 1)
    d.c(ACK | ECE, C + 1, S + 1)
    d.c(ACK | PSH | AE | CWR, C + 1, S + 1, data=10)


def odd_options(d: Dialog) -> None:
    tfo_request = bytes((34, 2, 1, 1))
    tfo_cookie = bytes((34, 10)) + bytes(8) + bytes((1, 1))
    md5 = bytes((19, 18)) + bytes(16) + bytes((1, 1))
    unknown = bytes((99, 4, 0xAB, 0xCD))
    exp = bytes((254, 6, 0x12, 0x34, 0, 0)) + bytes((1, 1))
    user_to = bytes((28, 4, 0x80, 0x05))
    eol_then_junk = bytes((1, 0, 0, 7))
    d.c(SYN, C, 0, opts=build_options(mss=1460) + tfo_request)
    d.s(SYN | ACK, S, C + 1, opts=build_options(mss=1400) + tfo_cookie)
    d.c(ACK, C + 1, S + 1, opts=md5)
    d.c(ACK, C + 1, S + 1, data=5, opts=unknown + exp)
    d.c(ACK, C + 6, S + 1, data=5, opts=user_to + eol_then_junk)


def odder_options(d: Dialog) -> None:
    ao = bytes((29, 4, 1, 2))
    acc_ecn = bytes((0xAC, 2, 1, 1))
    acc_ecn_counts = bytes((0xAE, 5, 0, 0, 7)) + bytes((1, 1, 1))
    bad_mss = bytes((2, 3, 5, 1))
    sack_perm_long = bytes((4, 3, 0, 1))
    past_end = bytes((2, 4, 5, 0xB4, 8, 40, 0, 0))
    d.c(SYN, C, 0, opts=build_options(mss=1460) + bytes((1, 3, 3, 15)))  # WS shift 15 counts as 14
    d.s(SYN | ACK, S, C + 1, opts=build_options(mss=1400, ws=2))
    d.c(ACK, C + 1, S + 1, opts=ao, win=3)
    d.c(ACK, C + 1, S + 1, data=1, opts=acc_ecn + acc_ecn_counts)
    d.c(ACK, C + 2, S + 1, data=1, opts=bad_mss + sack_perm_long)
    d.c(ACK, C + 3, S + 1, data=1, opts=past_end)


def resets(d: Dialog) -> None:
    d.handshake()
    d.c(ACK | PSH, C + 1, S + 1, data=10)
    d.s(RST | ACK, S + 1, C + 11)


def refused(d: Dialog) -> None:
    d.c(SYN, C, 0, opts=build_options(mss=1460, ws=7, sack_perm=True))
    d.s(RST | ACK, 0, C + 1, win=0)


def ipv6(d: Dialog) -> None:
    d.handshake(ws=2)
    d.c(ACK | PSH, C + 1, S + 1, data=40, win=400)
    d.s(FIN | ACK, S + 1, C + 41, win=400)
    d.c(FIN | ACK, C + 41, S + 2, win=400)
    d.s(ACK, S + 2, C + 42, win=400)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("retransmission", retransmission, ("TCP Retransmission",)),
    Scenario("fast retransmission", fast_retransmission, ("TCP Fast Retransmission", "TCP Dup ACK")),
    Scenario("spurious retransmission", spurious_retransmission, ("TCP Spurious Retransmission",)),
    Scenario("out of order", out_of_order, ("TCP Out-Of-Order", "TCP Previous segment not captured")),
    Scenario("acked unseen", acked_unseen, ("TCP ACKed unseen segment",)),
    Scenario("window update and full", window_update_and_full, ("TCP Window Full", "TCP Window Update")),
    Scenario("zero window", zero_window, ("TCP ZeroWindow", "TCP ZeroWindowProbe", "TCP ZeroWindowProbeAck")),
    Scenario("keep-alive", keep_alive, ("TCP Keep-Alive", "TCP Keep-Alive ACK")),
    Scenario("dup acks", dup_acks, ("TCP Dup ACK",), ("#1]", "#2]")),
    Scenario("port reuse", port_reuse, ("TCP Port numbers reused",)),
    Scenario("syn retransmitted", syn_retransmitted, ("TCP Retransmission",), ("WS=128",)),
    Scenario("window scaling", window_scaling_both, (), ("Win=64000", "Win=38400")),
    Scenario("synack without ws", window_scaling_synack_without, (), ("Win=500", "Win=300")),
    Scenario("synack first", synack_first, (), ("Win=9600",)),
    Scenario("midstream", midstream, (), ("Seq=1 Ack=1",)),
    Scenario("sack", sack_blocks, ("TCP Previous segment not captured",), ("SLE=201 SRE=301",)),
    Scenario("urgent", urgent, (), ("Urg=5 Len=10",)),
    Scenario("ecn bits", ecn_bits, (), ("[SYN, ECE, CWR]", "[ACK, AE]")),
    Scenario("accurate ecn", accurate_ecn, (), ("ACE=",)),
    Scenario("odd options", odd_options, (), ("TFO=R", "TFO=C", " MD5", "ExID=1234", "USER_TO=5")),
    Scenario("odder options", odder_options, (), ("WS=16384", "Len=0TCP AO", " AccECN", "EE1B=7", "Win=49152")),
    Scenario("reset", resets, (), ("[RST, ACK]",)),
    Scenario("refused", refused, (), ("[RST, ACK] Seq=1 Ack=1 Win=0",)),
)

IPV6 = Scenario("ipv6", ipv6, (), ("Win=1600",))


def build_all(t0: float = 1_700_000_000.0) -> list[tuple[Scenario, Dialog]]:
    """Every scenario on its own client port and its own stretch of time."""
    out = []
    for i, sc in enumerate(SCENARIOS + (IPV6,)):
        if sc is IPV6:
            d = Dialog(cport=41000 + i, client="2001:db8::1", server="2001:db8::2", t0=t0 + 100 * i)
        else:
            d = Dialog(cport=41000 + i, t0=t0 + 100 * i)
        sc.build(d)
        out.append((sc, d))
    return out
