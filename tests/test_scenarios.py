"""Every built-in scenario produces exactly the segments and states of its lesson; scenario
files load, and bad ones are reported in one sentence with the line of the problem.

ISNs are fixed (client 1000, server 5000) so raw numbers can be checked too; relative
numbers (as Wireshark shows them) are what the lab prints."""

import pytest
from labkit import events, lab, run, segments, states

from tcp_lab.core import scenario
from tcp_lab.core.scenario import ScenarioError, load_file, parse_step

HANDSHAKE = ["client SYN 0 0", "server SYN+ACK 0 1", "client ACK 1 1"]
OPENING = ["CLOSED/LISTEN", "SYN_SENT/LISTEN", "SYN_SENT/SYN_RCVD", "ESTABLISHED/SYN_RCVD", "ESTABLISHED/ESTABLISHED"]


def test_handshake():
    """Server listens, client connects: SYN, SYN-ACK, ACK; the server is ESTABLISHED only
    after the third segment."""
    sim = run("handshake")
    assert segments(sim) == HANDSHAKE
    assert states(sim) == OPENING
    syn = sim.timeline[2]
    assert syn.segment.seq == 1000 and syn.info == "52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM WS=128"


def test_handshake_teardown():
    """Open, 1200 bytes up, 300 down, the client closes first: four segments to close, the
    client waits 2MSL in TIME_WAIT, the server closes from LAST_ACK."""
    sim = run("handshake-teardown")
    assert segments(sim) == HANDSHAKE + [
        "client PSH+ACK 1 1 len=1200",
        "server ACK 1 1201",
        "server PSH+ACK 1 1201 len=300",
        "client ACK 1201 301",
        "client FIN+ACK 1201 301",
        "server ACK 301 1202",
        "server FIN+ACK 301 1202",
        "client ACK 1202 302",
    ]
    assert states(sim) == OPENING + [
        "FIN_WAIT_1/ESTABLISHED",
        "FIN_WAIT_1/CLOSE_WAIT",
        "FIN_WAIT_2/CLOSE_WAIT",
        "FIN_WAIT_2/LAST_ACK",
        "TIME_WAIT/LAST_ACK",
        "TIME_WAIT/CLOSED",
        "CLOSED/CLOSED",
    ]
    assert events(sim, "timer") == [("timer", "client", "2msl", 60.5)]  # TIME_WAIT began at 0.5 s


def test_data_on_third_ack():
    """Data written in SYN_SENT leaves on the segment that acknowledges the SYN-ACK."""
    sim = run("data-on-third-ack")
    assert segments(sim) == [
        "client SYN 0 0",
        "server SYN+ACK 0 1",
        "client PSH+ACK 1 1 len=100",
        "server ACK 1 101",
        "server PSH+ACK 1 101 len=200",
        "client ACK 101 201",
    ]
    assert states(sim) == OPENING
    third = next(f for f in sim.timeline if f.event == "deliver" and f.who == "server" and f.segment.length)
    assert third.explain.key == "syn_rcvd.rcv_ack_data"
    assert (third.client.state.value, third.server.state.value) == ("ESTABLISHED", "ESTABLISHED")


def test_stale_syn():
    """The real SYN is held back; an old duplicate SYN arrives first and the server answers
    it. The client's SYN-ACK acknowledges a number it never sent, so it sends RST <SEQ=SEG.ACK>;
    the server goes back to LISTEN, then the real SYN opens the connection (Figure 9)."""
    sim = run("stale-syn")
    old = (1000 - (1 << 30)) % (1 << 32)
    assert segments(sim) == [
        "client SYN 0 0",
        f"client SYN {(old - 1000) % (1 << 32)} 0 (old-syn)",
        "server SYN+ACK 0 3221225473",
        "client RST 3221225473 0",
        "server SYN+ACK 0 1",
        "client ACK 1 1",
    ]
    assert states(sim) == [
        "CLOSED/LISTEN",
        "SYN_SENT/LISTEN",
        "SYN_SENT/SYN_RCVD",
        "SYN_SENT/LISTEN",
        "SYN_SENT/SYN_RCVD",
        "ESTABLISHED/SYN_RCVD",
        "ESTABLISHED/ESTABLISHED",
    ]
    rst = next(f for f in sim.timeline if f.event == "send" and f.segment.flags & 0x4)
    assert rst.segment.seq == (old + 1) % (1 << 32)  # RST <SEQ=SEG.ACK>
    # The server's second ISN comes from the 4-microsecond clock: picked at 0.15 s, 0.1 s
    # after the first (5000, at 0.05 s).
    second_syn_ack = [f for f in sim.timeline if f.event == "send" and f.sender == "server"][1]
    assert second_syn_ack.segment.seq == 5000 + 25_000
    delivered = [(f.fault, f.explain.key) for f in sim.timeline if f.event == "deliver" and f.who == "server"]
    assert delivered == [
        ("old-syn", "listen.rcv_syn"),
        (None, "syn_rcvd.rcv_rst_passive"),
        ("delay", "listen.rcv_syn"),
        (None, "syn_rcvd.rcv_ack"),
    ]


def test_two_way_handshake():
    """NOT TCP: the server opens on the old SYN alone and even sends data before the
    client's RSTs reach it; it must listen again for the real connection."""
    sim = run("two-way-handshake")
    assert segments(sim) == [
        "client SYN 0 0",
        "client SYN 3221225472 0 (old-syn)",
        "server SYN+ACK 0 3221225473",
        "server PSH+ACK 1 3221225473 len=100",
        "client RST 3221225473 0",
        "client RST 3221225473 0",
        "server SYN+ACK 0 1",
    ]
    assert states(sim) == [
        "CLOSED/LISTEN",
        "SYN_SENT/LISTEN",
        "SYN_SENT/ESTABLISHED",  # committed to a connection nobody asked for
        "SYN_SENT/CLOSED",
        "SYN_SENT/LISTEN",
        "SYN_SENT/ESTABLISHED",
        "ESTABLISHED/ESTABLISHED",
    ]
    assert "listen.rcv_syn_two_way" in sim.rows_used
    assert sim.scenario.title["en"].startswith("NOT TCP")


def test_server_close():
    """The server closes first: it gets FIN_WAIT_1, FIN_WAIT_2 and TIME_WAIT; the client
    gets CLOSE_WAIT and LAST_ACK."""
    sim = run("server-close")
    assert segments(sim) == HANDSHAKE + [
        "client PSH+ACK 1 1 len=200",
        "server ACK 1 201",
        "server FIN+ACK 1 201",
        "client ACK 201 2",
        "client FIN+ACK 201 2",
        "server ACK 2 202",
    ]
    assert states(sim) == OPENING + [
        "ESTABLISHED/FIN_WAIT_1",
        "CLOSE_WAIT/FIN_WAIT_1",
        "CLOSE_WAIT/FIN_WAIT_2",
        "LAST_ACK/FIN_WAIT_2",
        "LAST_ACK/TIME_WAIT",
        "CLOSED/TIME_WAIT",
        "CLOSED/CLOSED",
    ]
    assert events(sim, "timer") == [("timer", "server", "2msl", 60.4)]


def test_close_wait_data():
    """After the client's FIN the server still sends 1500 bytes from CLOSE_WAIT (two
    segments, MSS 1460), acknowledged from FIN_WAIT_2; only then its FIN."""
    sim = run("close-wait-data")
    assert segments(sim) == HANDSHAKE + [
        "client PSH+ACK 1 1 len=100",
        "server ACK 1 101",
        "client FIN+ACK 101 1",
        "server ACK 1 102",
        "server ACK 1 102 len=1460",
        "server PSH+ACK 1461 102 len=40",
        "client ACK 102 1461",
        "client ACK 102 1501",
        "server FIN+ACK 1501 102",
        "client ACK 102 1502",
    ]
    assert states(sim) == OPENING + [
        "FIN_WAIT_1/ESTABLISHED",
        "FIN_WAIT_1/CLOSE_WAIT",
        "FIN_WAIT_2/CLOSE_WAIT",
        "FIN_WAIT_2/LAST_ACK",
        "TIME_WAIT/LAST_ACK",
        "TIME_WAIT/CLOSED",
        "CLOSED/CLOSED",
    ]
    data_frames = [f for f in sim.timeline if f.event == "deliver" and f.who == "client" and f.segment.length]
    assert {(f.client.state.value, f.server.state.value) for f in data_frames} == {("FIN_WAIT_2", "CLOSE_WAIT")}


def test_merged_fin_ack():
    """The server's application closes the instant the FIN arrives: [FIN, ACK] together, a
    three-segment close, and the client skips FIN_WAIT_2."""
    sim = run("merged-fin-ack")
    assert segments(sim) == HANDSHAKE + ["client FIN+ACK 1 1", "server FIN+ACK 1 2", "client ACK 2 2"]
    assert states(sim) == OPENING + [
        "FIN_WAIT_1/ESTABLISHED",
        "FIN_WAIT_1/LAST_ACK",
        "TIME_WAIT/LAST_ACK",
        "TIME_WAIT/CLOSED",
        "CLOSED/CLOSED",
    ]
    assert "FIN_WAIT_2" not in " ".join(states(sim))


def test_simultaneous_open():
    """Both connect, SYNs cross; each answers with SYN-ACK from SYN_RCVD; four segments."""
    sim = run("simultaneous-open")
    assert segments(sim) == ["client SYN 0 0", "server SYN 0 0", "server SYN+ACK 0 1", "client SYN+ACK 0 1"]
    assert states(sim) == [
        "SYN_SENT/CLOSED",
        "SYN_SENT/SYN_SENT",
        "SYN_SENT/SYN_RCVD",
        "SYN_RCVD/SYN_RCVD",
        "ESTABLISHED/SYN_RCVD",
        "ESTABLISHED/ESTABLISHED",
    ]
    syn_from_server = sim.timeline[3]
    assert (syn_from_server.segment.sport, syn_from_server.segment.dport) == (80, 52296)


def test_simultaneous_close():
    """Both close at once: FIN_WAIT_1 on both sides, the FINs cross, CLOSING on both, then
    TIME_WAIT on both, and both CLOSED 2MSL later."""
    sim = run("simultaneous-close")
    assert segments(sim) == HANDSHAKE + ["client FIN+ACK 1 1", "server FIN+ACK 1 1", "server ACK 2 2", "client ACK 2 2"]
    assert states(sim) == OPENING + [
        "FIN_WAIT_1/ESTABLISHED",
        "FIN_WAIT_1/FIN_WAIT_1",
        "FIN_WAIT_1/CLOSING",
        "CLOSING/CLOSING",
        "TIME_WAIT/CLOSING",
        "TIME_WAIT/TIME_WAIT",
        "CLOSED/TIME_WAIT",
        "CLOSED/CLOSED",
    ]
    assert events(sim, "timer") == [("timer", "client", "2msl", 60.25), ("timer", "server", "2msl", 60.25)]


def test_lost_syn():
    """The SYN is dropped (shown when it would have arrived, 50 ms later); after the RTO
    (1 s) the SYN is sent again, same sequence number, and the handshake completes."""
    sim = run("lost-syn")
    assert segments(sim) == ["client SYN 0 0", "client SYN 0 0 RETX", "server SYN+ACK 0 1", "client ACK 1 1"]
    assert events(sim, "fault", "drop", "timer") == [
        ("fault", None, "drop", 0.0),  # armed
        ("fault", None, "drop", 0.0),  # applied to the SYN
        ("drop", None, "drop", 0.05),
        ("timer", "client", "rto", 1.0),
    ]
    resent = next(f for f in sim.timeline if f.event == "send" and f.analysis)
    assert resent.info.startswith("[TCP Retransmission] 52296 → 80 [SYN] Seq=0")
    assert states(sim) == OPENING


def test_lost_final_ack():
    """The client's last ACK is lost: LAST_ACK resends its FIN after the RTO, TIME_WAIT
    acknowledges it again and restarts 2MSL."""
    sim = run("lost-final-ack")
    assert segments(sim) == HANDSHAKE + [
        "client FIN+ACK 1 1",
        "server ACK 1 2",
        "server FIN+ACK 1 2",
        "client ACK 2 2",
        "server FIN+ACK 1 2 RETX",
        "client ACK 2 2",
    ]
    assert events(sim, "drop", "timer") == [
        ("drop", None, "drop", 0.35),
        ("timer", "server", "rto", 1.25),
        ("timer", "client", "2msl", 61.3),  # restarted at 1.3 s, not 60.3
    ]
    again = next(f for f in sim.timeline if f.explain and f.explain.key == "time_wait.rcv_fin_again")
    assert again.client.timers[0].deadline == pytest.approx(61.3)
    assert states(sim) == OPENING + [
        "FIN_WAIT_1/ESTABLISHED",
        "FIN_WAIT_1/CLOSE_WAIT",
        "FIN_WAIT_2/CLOSE_WAIT",
        "FIN_WAIT_2/LAST_ACK",
        "TIME_WAIT/LAST_ACK",  # the last ACK is lost; the FIN comes again; TIME_WAIT answers
        "TIME_WAIT/CLOSED",
        "CLOSED/CLOSED",
    ]


def test_refused():
    """Nobody listens: the CLOSED port answers the SYN with [RST, ACK] Seq=0 Ack=ISN+1."""
    sim = run("refused")
    assert segments(sim) == ["client SYN 0 0", "server RST+ACK 1 1"]
    rst = sim.timeline[3]
    assert (rst.segment.seq, rst.segment.ack) == (0, 1001)
    assert rst.info == "80 → 52296 [RST, ACK] Seq=1 Ack=1 Win=0 Len=0"  # as Wireshark numbers it
    assert states(sim) == ["SYN_SENT/CLOSED", "CLOSED/CLOSED"]
    assert sim.timeline[-1].client.note == "connection refused"


def test_rst_abort():
    """The client aborts: RST at SND.NXT, no FIN, no TIME_WAIT; the server is reset."""
    sim = run("rst-abort")
    assert segments(sim) == HANDSHAKE + ["client PSH+ACK 1 1 len=100", "server ACK 1 101", "client RST 101 0"]
    assert states(sim) == OPENING + ["CLOSED/ESTABLISHED", "CLOSED/CLOSED"]
    assert sim.timeline[-1].server.note == "connection reset"
    assert events(sim, "timer") == []


def test_free_play_starts_empty():
    sim = run("free-play")
    assert len(sim.timeline) == 0 and sim.advance() is False


# ------------------------------------------------- both directions (who closes first) ---


@pytest.mark.parametrize("first", ["client", "server"])
def test_four_way_close_mirrors(first):
    """The side that closes first goes FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT; the other
    CLOSE_WAIT -> LAST_ACK -> CLOSED."""
    second = "server" if first == "client" else "client"
    sim = lab("server listen", "client connect", "run", f"{first} close", "run", f"{second} close", "run")
    sim.run_to_end()
    seen = [(getattr(f, first).state.value, getattr(f, second).state.value) for f in sim.timeline]
    path = [p for i, p in enumerate(seen) if i == 0 or seen[i - 1] != p]
    assert path[-7:] == [
        ("FIN_WAIT_1", "ESTABLISHED"),
        ("FIN_WAIT_1", "CLOSE_WAIT"),
        ("FIN_WAIT_2", "CLOSE_WAIT"),
        ("FIN_WAIT_2", "LAST_ACK"),
        ("TIME_WAIT", "LAST_ACK"),
        ("TIME_WAIT", "CLOSED"),
        ("CLOSED", "CLOSED"),
    ]
    assert [f.who for f in sim.timeline if f.event == "timer"] == [first]


@pytest.mark.parametrize("first", ["client", "server"])
def test_lost_final_ack_mirrors(first):
    second = "server" if first == "client" else "client"
    sim = lab("server listen", "client connect", "run", f"{first} close", "run", f"drop {first}", f"{second} close", "run")
    sim.run_to_end()
    assert [(f.event, f.who, f.timer) for f in sim.timeline if f.event in ("timer", "drop")] == [
        ("drop", None, None),
        ("timer", second, "rto"),
        ("timer", first, "2msl"),
    ]
    keys = [f.explain.key for f in sim.timeline if f.event == "deliver" and f.who == first]
    assert keys[-1] == "time_wait.rcv_fin_again"


# ---------------------------------------------------------------- the catalogue ---


def test_builtin_scenarios_are_all_there_in_the_course_order():
    assert scenario.names() == list(scenario.ORDER)
    assert scenario.DEFAULT == "handshake-teardown"
    for sc in scenario.builtin():
        assert sc.source == "built-in"
        for lang in ("en", "zh"):
            assert sc.title[lang].strip() and len(sc.goal[lang]) > 80, (sc.name, lang)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in sc.goal["zh"]), sc.name


def test_get_suggests_close_names():
    assert scenario.get("lost-syn").name == "lost-syn"
    with pytest.raises(ScenarioError, match=r'no scenario called "lost-sin"; did you mean lost-syn'):
        scenario.get("lost-sin")
    with pytest.raises(ScenarioError, match=r"see 'tcp-lab scenarios'"):
        scenario.get("zzzzzz")


# ------------------------------------------------------------- scenario files ---

GOOD = """\
name = "my-lesson"
steps = [
  "server listen",
  "client connect",   # the SYN
  'run',
  "wait 2.5",
]

[title]
en = "Mine"
zh = "我的"

[goal]
en = "A goal."

[setup]
delay = 0.1
msl = 10

[setup.client]
isn = 77
mss = 1200
wscale = false
"""


def test_a_scenario_file_loads_with_its_setup():
    sc = load_file(GOOD, "my.toml")
    assert sc.name == "my-lesson" and sc.source == "my.toml"
    assert sc.title == {"en": "Mine", "zh": "我的"} and sc.goal == {"en": "A goal.", "zh": "A goal."}
    assert [s.text for s in sc.steps] == ["server listen", "client connect", "run", "wait 2.5"]
    assert [s.line for s in sc.steps] == [3, 4, 5, 6]
    assert (sc.setup.delay, sc.setup.msl, sc.setup.client.isn, sc.setup.client.mss, sc.setup.client.wscale) == (0.1, 10, 77, 1200, None)
    from tcp_lab.core.simulation import Simulation

    sim = Simulation(sc, isn_server=9)
    sim.run_to_end()
    assert sim.timeline[2].info == "52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1200 SACK_PERM"
    assert sim.timeline[2].segment.seq == 77
    assert sim.timeline[3].time == pytest.approx(0.1)
    assert sim.clock == pytest.approx(0.3 + 2.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\nsteps = [\n  "server listen"\n  "client connect",\n]\n', r"^f\.toml, line 4: this is not valid TOML"),
        ('steps = ["server listen",\n "client conect"]\n', r'^f\.toml, line 2: unknown step "client conect": client can listen'),
        ('steps = ["server listen",\n\n  "clinet connect"]\n', r'^f\.toml, line 3: unknown role "clinet"'),
        ('steps = ["dance"]\n', r'^f\.toml, line 1: unknown step "dance" \(steps:'),
        ('steps = ["client send lots"]\n', r'^f\.toml, line 1: the step "client send lots" needs a byte count'),
        ('steps = ["wait soon"]\n', r'^f\.toml, line 1: the step "wait soon" needs a number of seconds'),
        ('steps = ["drop everyone"]\n', r'^f\.toml, line 1: the step "drop everyone" takes at most a side'),
        ('name = "x"\nstep = []\n', r'^f\.toml, line 2: unknown key "step"'),
        ('title = "t"\n', r'^f\.toml: there is no "steps" list'),
        ('steps = []\n[setup]\ndelay = "fast"\n', r'^f\.toml, line 3: "delay" must be a number'),
        ('steps = []\n[setup.server]\nport = 70000\n', r'^f\.toml, line 3: "port" must be a whole number from 1 to 65535'),
        ('steps = []\n[setup.server]\ncolour = "red"\n', r'^f\.toml, line 3: unknown key "colour" in \[setup.server\]'),
        ('steps = [1, 2]\n', r'^f\.toml, line 1: "steps" must be a list of strings'),
    ],
)
def test_a_bad_scenario_file_is_one_sentence_with_its_line(text, message):
    with pytest.raises(ScenarioError, match=message) as info:
        load_file(text, "f.toml")
    assert "\n" not in str(info.value)


def test_parse_step_understands_the_step_language():
    assert parse_step("client send 1200").amount == 1200
    assert parse_step("server close-on-fin").action == "close-on-fin"
    assert (parse_step("drop").action, parse_step("drop").role) == ("drop", None)
    assert parse_step("delay server").role == "server"
    assert parse_step("wait 0.5").amount == 0.5
    assert parse_step("Client Connect").role == "client"


README_EXAMPLE = """\
# A teacher's scenario: the client's FIN is lost and sent again.
name = "lost-fin"
steps = [
  "server listen",
  "client connect",
  "run",                # the three-way handshake
  "client send 1200",
  "run",
  "drop client",        # the wire will lose the next segment the client sends...
  "client close",       # ...which is its FIN
  "run",                # RTO: the FIN goes again; the server ends in CLOSE_WAIT
  "server close",
  "run",                # LAST_ACK, TIME_WAIT, then 2MSL later both CLOSED
]

[title]
en = "The FIN is lost"
zh = "FIN 丢失"

[goal]
en = "The client's FIN never arrives. Watch FIN_WAIT_1 wait for its RTO and send the FIN again."
zh = "客户端的 FIN 没有到达。观察 FIN_WAIT_1 等到 RTO 超时后重发 FIN。"

[setup]                 # optional
delay = 0.1             # one-way delay of the wire, in seconds
msl = 15                # so TIME_WAIT lasts 2 x 15 = 30 s

[setup.client]          # optional; [setup.server] takes the same keys
isn = 1000
"""


def test_the_readme_example_runs():
    """The scenario file shown in README.md (keep the two in step)."""
    from tcp_lab.core.simulation import Simulation

    sc = load_file(README_EXAMPLE, "lost-fin.toml")
    assert [s.line for s in sc.steps] == list(range(4, 14))
    sim = Simulation(sc, isn_server=5000)
    sim.run_to_end()
    assert segments(sim) == HANDSHAKE + [
        "client PSH+ACK 1 1 len=1200",
        "server ACK 1 1201",
        "client FIN+ACK 1201 1",
        "client FIN+ACK 1201 1 RETX",
        "server ACK 1 1202",
        "server FIN+ACK 1 1202",
        "client ACK 1202 2",
    ]
    assert events(sim, "drop", "timer") == [("drop", None, "drop", 0.6), ("timer", "client", "rto", 1.5), ("timer", "client", "2msl", 31.8)]
