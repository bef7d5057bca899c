"""Wireshark's Info column (core/info.py), piece by piece as tshark 4.0 writes it; whole
lines are compared with tshark in tests/test_oracle_tshark.py."""

from __future__ import annotations

from tcp_lab.core.info import OptionEffects, flags_text, info_text, options_text
from tcp_lab.core.options import build_options
from tcp_lab.core.segment import ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG


def test_flags_in_wiresharks_order_and_names():
    assert flags_text(SYN | ACK) == "SYN, ACK"
    assert flags_text(FIN | PSH | ACK) == "FIN, PSH, ACK"
    assert flags_text(ACK | ECE | CWR | AE) == "ACK, ECE, CWR, AE"  # tshark 4.0 writes AE, not NS
    assert flags_text(RST) == "RST"
    assert flags_text(0) == "<None>"
    assert flags_text(0x800 | ACK) == "ACK, Reserved"


def test_accurate_ecn_shows_ace():
    assert flags_text(ACK | AE | ECE, use_ace=True) == "ACK, ACE=5"
    assert flags_text(0, use_ace=True) == ", ACE=0"  # as tcp_flags_to_str writes it


def test_info_line_parts():
    line = info_text(52296, 80, SYN, 0, 0, 64240, 0, build_options(mss=1460, ws=8, sack_perm=True))
    assert line == "52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM WS=256"
    assert info_text(80, 52296, ACK, 358, 1540, 32768, 0) == "80 → 52296 [ACK] Seq=358 Ack=1540 Win=32768 Len=0"
    # No Ack without the ACK bit; Urg only with URG, before Len.
    assert info_text(1, 2, PSH | URG, 5, 9, 10, 3, urg=2) == "1 → 2 [PSH, URG] Seq=5 Win=10 Urg=2 Len=3"
    assert info_text(1, 2, ACK, 1, 1, 10, 0, prefix="[TCP Keep-Alive] ").startswith("[TCP Keep-Alive] 1 → 2")


def test_timestamps_and_sack_blocks_relative_to_the_other_base():
    ts = b"\x01\x01\x08\x0a" + (7).to_bytes(4, "big") + (9).to_bytes(4, "big")
    assert options_text(ts) == " TSval=7 TSecr=9"
    sack = build_options(sack=((1100, 1200), (1300, 1400)))
    assert options_text(sack, sack_base=1000) == " SLE=100 SRE=200 SLE=300 SRE=400"


def test_window_scale_shift_is_capped_at_14_and_reported():
    effects = OptionEffects()
    assert options_text(bytes((3, 3, 15, 1)), effects=effects) == " WS=16384"
    assert effects.ws_shift == 14


def test_odd_options_as_wireshark_prints_them():
    assert options_text(bytes((34, 2, 1, 1))) == " TFO=R"
    assert options_text(bytes((34, 6, 1, 2, 3, 4))) == " TFO=C"
    assert options_text(bytes((19, 18)) + bytes(16) + bytes((1, 1))) == " MD5"
    assert options_text(bytes((29, 4, 1, 2))) == "TCP AO"  # no leading space in Wireshark 4.0
    assert options_text(bytes((28, 4, 0x80, 5))) == " USER_TO=5"
    assert options_text(bytes((254, 4, 0x12, 0x34))) == " ExID=1234"
    assert options_text(bytes((254, 4, 0xF9, 0x89))) == " TFO=R"
    assert options_text(bytes((99, 4, 1, 2))) == ""  # unknown kinds add nothing
    effects = OptionEffects()
    assert options_text(bytes((0xAC, 2, 1, 1)), effects=effects) == " AccECN"
    assert effects.acc_ecn


def test_the_option_walk_stops_where_wiresharks_does():
    mss = bytes((2, 4, 5, 0xB4))
    assert options_text(mss + bytes((0, 0, 0, 0))) == " MSS=1460"  # EOL then zeros
    assert options_text(mss + bytes((0, 2, 4, 5, 0xB4))) == " MSS=1460"  # junk after EOL
    assert options_text(mss + bytes((8, 1))) == " MSS=1460"  # length below 2
    assert options_text(mss + bytes((8, 40, 0, 0))) == " MSS=1460"  # runs past the end
    assert options_text(bytes((2, 3, 5, 1))) == ""  # an MSS of the wrong length prints nothing
    assert options_text(bytes((4, 3, 0, 1))) == " SACK_PERM"  # printed before its length check
