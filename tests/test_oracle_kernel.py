"""The kernel oracle: the states tcp-lab infers for both endpoints from a capture equal the
states the Linux kernel reported (`ss -tan`) at every checkpoint of every recorded capture,
shipped ones and ones recorded afresh here (new ISNs, new timings) in a network namespace.

Some checkpoints fall where a segment in the capture was dropped before its receiver saw
it ("undelivered"): the tracker can only agree there because later segments (the
retransmission, the crossed FIN ...) let it correct what it first assumed. A checkpoint
repeated at the same packet count records a change no packet showed (an orphaned
FIN_WAIT_2 expiring): it is compared with the states when the next packet arrives.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
from netns_util import require_netns
from tshark_oracle import differences

from tcp_lab.core.frame import ROLES
from tcp_lab.core.inference import CLOSED, LISTEN, STATES
from tcp_lab.core.replay import Replay
from tcp_lab.core.states import State, from_ss

CAPTURES = pathlib.Path(__file__).resolve().parent.parent / "captures"
SHIPPED = sorted(CAPTURES.glob("*.checkpoints.json"))


def replay_of(path: pathlib.Path) -> Replay:
    replay = Replay(path.name)
    replay.feed(path.read_bytes())
    replay.finish()
    return replay


def states_after(replay: Replay, packets: int) -> tuple[State, State]:
    """The (client, server) states tcp-lab shows after the capture's first `packets`
    packets (the only conversation of these captures)."""
    store = replay.store
    last = None
    for row in range(len(store)):
        if store.frame[row] <= packets:
            last = row
    if last is None:
        return STATES[CLOSED], STATES[LISTEN]
    st = store.states[last]
    return STATES[st >> 4], STATES[st & 0xF]


def disagreements(pcap: pathlib.Path, checkpoints: list[dict]) -> list[str]:
    replay = replay_of(pcap)
    assert len(replay.tracker.conversations) == 1, "one connection per recorded capture"
    conv = replay.tracker.conversations[0]
    client_port = int(checkpoints[0]["client_socket"].rsplit(":", 1)[1])
    assert conv.port[0] == client_port, "the client is the side whose SYN comes first"
    out = []
    for i, cp in enumerate(checkpoints):
        n = cp["after_packets"]
        kernel = (from_ss(cp["client"]), from_ss(cp["server"]))
        repeated = i > 0 and checkpoints[i - 1]["after_packets"] == n
        if repeated:
            # A change without a packet: visible at the next packet, for the endpoint
            # that changed.
            before = (from_ss(checkpoints[i - 1]["client"]), from_ss(checkpoints[i - 1]["server"]))
            ours = states_after(replay, n + 1)
            for k, role in enumerate(ROLES):
                if kernel[k] != before[k] and ours[k] != kernel[k]:
                    out.append(f"{pcap.name} after {n} (+1) [{cp['label']}]: {role} kernel {kernel[k].value}, tcp-lab {ours[k].value}")
            continue
        ours = states_after(replay, n)
        if ours != kernel:
            out.append(
                f"{pcap.name} after {n} [{cp['label']}]: kernel {kernel[0].value}/{kernel[1].value}, "
                f"tcp-lab {ours[0].value}/{ours[1].value}"
            )
    return out


@pytest.mark.parametrize("checkpoints_file", SHIPPED, ids=[p.name.split(".")[0] for p in SHIPPED])
def test_shipped_capture_states_equal_the_kernels(checkpoints_file):
    pcap = checkpoints_file.with_name(checkpoints_file.name.replace(".checkpoints.json", ".pcap"))
    checkpoints = json.loads(checkpoints_file.read_text())
    assert checkpoints, "a recorded capture has checkpoints"
    assert disagreements(pcap, checkpoints) == []


def test_the_shipped_checkpoints_include_lost_segments():
    """So that the test above covers the hard part: states where a captured segment never
    arrived, which only hindsight gets right."""
    undelivered = [
        cp for f in SHIPPED for cp in json.loads(f.read_text()) if cp.get("undelivered", 0) > 0
    ]
    assert len(undelivered) >= 4


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """Every exchange of captures/record.py recorded again, now."""
    require_netns()
    if shutil.which("tcpdump") is None or shutil.which("nft") is None:
        pytest.fail("tcpdump and nft are needed (.ci/run installs them)")
    from tcp_lab.captures.record import EXCHANGES, record

    out = tmp_path_factory.mktemp("recorded")
    return [(name, *record(name, out)) for name in EXCHANGES]


def test_fresh_recordings_states_equal_the_kernels(fresh):
    problems = []
    for name, pcap, checkpoints in fresh:
        problems += disagreements(pathlib.Path(pcap), checkpoints)
    assert problems == []


def test_fresh_recordings_agree_with_tshark(fresh):
    problems = []
    for name, pcap, _ in fresh:
        problems += differences(pcap)
    assert problems == []


def test_course_example_shows_the_notes_lines_and_both_states():
    """The notes' seven lines (frames 1-3 and 10-13) and both endpoints' states at each."""
    replay = replay_of(CAPTURES / "course-example.pcap")
    timeline = replay.timeline(0)
    frames = {f.no: f for f in (timeline[i] for i in range(len(timeline)))}
    expected = {
        1: ("52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460", "SYN_SENT", "SYN_RCVD"),
        2: ("80 → 52296 [SYN, ACK] Seq=0 Ack=1 Win=29200 Len=0 MSS=1300", "ESTABLISHED", "SYN_RCVD"),
        3: ("52296 → 80 [ACK] Seq=1 Ack=1 Win=131072 Len=0", "ESTABLISHED", "ESTABLISHED"),
        10: ("80 → 52296 [FIN, ACK] Seq=357 Ack=1539 Win=32768 Len=0", "CLOSE_WAIT", "FIN_WAIT_1"),
        11: ("52296 → 80 [ACK] Seq=1539 Ack=358 Win=130816 Len=0", "CLOSE_WAIT", "FIN_WAIT_2"),
        12: ("52296 → 80 [FIN, ACK] Seq=1539 Ack=358 Win=130816 Len=0", "LAST_ACK", "TIME_WAIT"),
        13: ("80 → 52296 [ACK] Seq=358 Ack=1540 Win=32768 Len=0", "CLOSED", "TIME_WAIT"),
    }
    for no, (line, client, server) in expected.items():
        frame = frames[no]
        # The SYN lines carry the options the notes' screenshot cut off (captures/README.md).
        assert frame.info == line or frame.info.startswith(line + " "), (no, frame.info)
        assert (frame.client.state.value, frame.server.state.value) == (client, server), no
    # Before the first SYN the server listens; TIME_WAIT shows when 2MSL would end.
    assert frames[13].server.timers[0].name == "2msl"
    assert frames[13].server.timers[0].deadline == pytest.approx(5.060704 + 60, abs=1e-6)
