"""The replay and live screens when the memory limits bite (issue 6 item 4, core/limits.py).

A replay with tiny limits is fed in batches through a pipe, as `tcp-lab replay -` feeds
it, and the screen is read as a user reads it between batches: the log's rows, the step
counter, both endpoints' states and TCB values, the notifications and the status line.
What it shows is held to a replay of the same bytes without limits (whose states
tests/test_tracker.py holds to tshark and the kernel): a segment kept must look exactly
as it does when nothing was dropped.

- a conversation losing its oldest segments: the cursor stays on its segment (or goes to
  the oldest kept), the log holds exactly the kept segments, the step counter says how
  many older ones went, the states before the first kept segment are the tracker's;
- a conversation forgotten while shown: it leaves the list, one notification says so and
  its neighbour is shown; with a filter that lists nothing else, the empty state says so;
- every notice once, as a notification (merged per kind when they come fast), and the
  memory line in the status line, in English and in Chinese;
- `tcp-lab replay FILE --max-...` on the screen keeps what the limits allow;
- the live screen (`tcp-lab sniff --max-...`) on real loopback traffic in a namespace,
  held to a replay without limits of the pcap it wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time

from capbuild import eth, ipv4, pcap_header, pcap_record, tcp
from netns_util import netns  # noqa: F401  (netns is a fixture)
from tui_helpers import lab_state, run_async, screen_text, toasts

from tcp_lab.core.limits import Limits
from tcp_lab.core.replay import Replay
from tcp_lab.tui.conn_list import ConnList
from tcp_lab.tui.explain_pane import ExplainPane
from tcp_lab.tui.live_app import live_app
from tcp_lab.tui.live_capture import LiveCapture
from tcp_lab.tui.live_session import LiveSession, open_output
from tcp_lab.tui.replay_app import open_capture_file, replay_app

SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


def connection(cport: int, data: int = 20, client: str = "10.0.0.1", server: str = "10.0.0.2") -> list[bytes]:
    """One connection as Ethernet frames: the handshake, `data` segments of 10 bytes from
    the client each acknowledged, then the client closes first (RFC 9293 3.5, 3.6)."""
    c, s = 1000, 5000
    out: list[bytes] = []

    def seg(from_client: bool, flags: int, seq: int, ack: int, payload: bytes = b"") -> None:
        src, dst = (client, server) if from_client else (server, client)
        sport, dport = (cport, 80) if from_client else (80, cport)
        out.append(eth(ipv4(tcp(sport, dport, seq, ack, flags, payload=payload), src, dst)))

    seg(True, SYN, c, 0)
    c += 1
    seg(False, SYN | ACK, s, c)
    s += 1
    seg(True, ACK, c, s)
    for _ in range(data):
        seg(True, PSH | ACK, c, s, b"x" * 10)
        c += 10
        seg(False, ACK, s, c)
    seg(True, FIN | ACK, c, s)
    c += 1
    seg(False, ACK, s, c)
    seg(False, FIN | ACK, s, c)
    s += 1
    seg(True, ACK, c, s)
    return out


def records(frames: list[bytes], start: int = 0) -> list[bytes]:
    """pcap records, one second apart (frame i at 1000 + start + i s): every segment's
    time on the screen says which one it is."""
    return [pcap_record(1000 + start + i, 0, f) for i, f in enumerate(frames)]


def unlimited(recs: list[bytes]) -> dict[int, dict]:
    """Frame number -> what `tcp-lab replay --format json` says of it, no limits."""
    replay = Replay("expected")
    replay.feed(pcap_header() + b"".join(recs))
    replay.finish()
    return {row["no"]: row for row in map(json.loads, replay.json_lines())}


class Pipe:
    """The screen's stdin stream: the test writes batches of records and waits until the
    screen has taken them in and repainted."""

    def __init__(self, recs: list[bytes]) -> None:
        self.recs = recs
        self.sent = 0
        self.fd, self._w = os.pipe()
        os.write(self._w, pcap_header())

    async def send(self, pilot, n: int) -> None:
        batch = self.recs[self.sent : self.sent + n]
        os.write(self._w, b"".join(batch))
        self.sent += len(batch)
        screen = pilot.app.screen
        for _ in range(300):
            if screen.replay.frames >= self.sent and not screen._dirty and screen._pump_timer is None:
                break
            await pilot.pause(0.01)
        await pilot.pause()
        await pilot.pause()

    def close(self) -> None:
        for fd in (self._w, self.fd):
            try:
                os.close(fd)
            except OSError:
                pass


def app_on(pipe: Pipe, limits: Limits):
    replay = Replay("stdin", limits=limits)
    return replay_app(replay, pipe.fd, name="stdin", stream=True, highlight_seconds=None, cursor_blink=False)


def heading_frame(app) -> int:
    """The frame number the explanation pane's heading names ("#61 · Server → Client ACK")."""
    heading = app.screen.query_one(ExplainPane).heading
    return int(heading.split(" ", 1)[0].lstrip("#"))


def tcb_shown(pane_text: str) -> list[list[str]]:
    """The SND and RCV lines of an endpoint pane, as words."""
    return [line.split() for line in pane_text.splitlines() if line.startswith(("SND ", "RCV "))]


def tcb_expected(side: dict) -> list[list[str]]:
    """The same lines from a JSON row's endpoint (relative numbers, as the pane shows)."""
    iss, irs = side["iss"], side["irs"]
    return [
        ["SND", str(iss), str(side["snd_una"] - iss), str(side["snd_nxt"] - iss), str(side["snd_wnd"])],
        ["RCV", str(irs), str(side["rcv_nxt"] - irs), str(side["rcv_wnd"])],
    ]


def status_bar(app) -> str:
    return str(app.screen.query_one("#capture-status").render())


# -- a conversation losing its oldest segments ----------------------------------------------


@run_async
async def test_oldest_segments_dropped_cursor_log_counter_and_panes_follow():
    recs = records(connection(40000, data=40))  # 87 segments
    expected = unlimited(recs)
    pipe = Pipe(recs)
    app = app_on(pipe, Limits(max_segments_per_conn=20))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            await pipe.send(pilot, 20)
            # Step back four times from the newest: following pauses on segment 16.
            for _ in range(4):
                await pilot.press("p")
            assert heading_frame(app) == 16 and screen.sub_title.startswith("step 16 ·")
            await pipe.send(pilot, 10)  # the limits look before this batch: nothing over yet
            await pipe.send(pilot, 10)  # now 10 go (30 rows, 20 allowed)
            conv = screen.replay.tracker.conversations[0]
            assert conv.dropped == 10
            # The cursor stayed on its segment: frame 16, now the 6th kept.
            s = lab_state(app)
            assert heading_frame(app) == 16
            assert screen.sub_title.startswith("step 6 of those kept · 10 older dropped")
            assert (s["client"], s["server"]) == (expected[16]["client"]["state"], expected[16]["server"]["state"])
            # The log holds exactly the segments kept, as they read with nothing dropped.
            kept = list(range(11, 11 + len(conv.rows)))
            assert [r[-1] for r in s["rows"]] == [expected[n]["info"] for n in kept]
            assert [float(r[2]) for r in s["rows"]] == [expected[n]["time"] for n in kept]
            assert [r[1] for r in s["rows"]][:2] == ["1", "2"]
            # One notification, the memory line in the status line.
            assert "Kept the last 20 segments of conversation 0; 10 older ones dropped." in toasts(app)
            assert "memory bound: 10 segments dropped, 0 conversations forgotten" in status_bar(app)

            # More batches: the cursor's segment goes too; it moves to the oldest kept.
            for _ in range(5):
                await pipe.send(pilot, 10)
            first_kept = conv.dropped + 1
            assert conv.dropped > 16 and heading_frame(app) == first_kept
            assert screen.controller.cursor == 0
            assert screen.sub_title.startswith(f"step 1 of those kept · {conv.dropped:,} older dropped")
            s = lab_state(app)
            assert s["rows"][0][-1] == expected[first_kept]["info"]
            # The first kept segment's endpoints (states and TCB values) as without limits,
            # and the states before it are the tracker's, not a fresh connection's.
            row = expected[first_kept]
            assert (s["client"], s["server"]) == (row["client"]["state"], row["server"]["state"])
            assert tcb_shown(s["client_text"]) == tcb_expected(row["client"])
            assert tcb_shown(s["server_text"]) == tcb_expected(row["server"])
            before = expected[first_kept - 1]
            initial = screen.controller.initial_views()
            assert (initial[0].state.value, initial[1].state.value) == (before["client"]["state"], before["server"]["state"])

            # The end of the conversation: Home, End and stepping stay within what is kept.
            await pipe.send(pilot, len(recs))
            await pilot.press("end")
            n = len(conv.rows)
            assert heading_frame(app) == 87
            assert screen.sub_title.startswith(f"step {n} of those kept · {87 - n} older dropped")
            s = lab_state(app)
            assert (s["client"], s["server"]) == (expected[87]["client"]["state"], expected[87]["server"]["state"])
            await pilot.press("home")
            assert heading_frame(app) == 87 - n + 1
            # The log's rows, once more, against the unlimited replay.
            assert [r[-1] for r in lab_state(app)["rows"]] == [expected[k]["info"] for k in range(88 - n, 88)]
    finally:
        pipe.close()


@run_async
async def test_following_a_trimmed_conversation_shows_its_newest_segment():
    recs = records(connection(40000, data=40))
    expected = unlimited(recs)
    pipe = Pipe(recs)
    app = app_on(pipe, Limits(max_segments_per_conn=20))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            for _ in range(8):
                await pipe.send(pilot, 10)
                assert screen.following
                assert heading_frame(app) == pipe.sent  # the newest segment
                s = lab_state(app)
                row = expected[pipe.sent]
                assert (s["client"], s["server"]) == (row["client"]["state"], row["server"]["state"])
                conv = screen.replay.tracker.conversations[0]
                assert len(s["rows"]) == len(conv.rows)
                assert s["rows"][-1][-1] == row["info"]
                if conv.dropped:
                    assert f"{conv.dropped} older dropped" in screen.sub_title
    finally:
        pipe.close()


# -- conversations forgotten ----------------------------------------------------------------------


@run_async
async def test_a_forgotten_conversation_leaves_the_list_and_its_neighbour_is_shown():
    recs: list[bytes] = []
    for i in range(8):
        recs += records(connection(40000 + i, data=2), start=len(recs))  # 11 segments each
    expected = unlimited(recs)
    pipe = Pipe(recs)
    app = app_on(pipe, Limits(max_conns=3))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            conns = screen.query_one(ConnList)
            await pipe.send(pilot, 11)
            await pipe.send(pilot, 11)
            # Pick connection #1 from the list: it stays shown (pinned).
            conns.focus()
            await pilot.press("down")
            await pilot.pause()
            assert screen.selected == 1 and "stdin #1" in screen_text(app)
            await pilot.press("p")
            for _ in range(4):
                await pipe.send(pilot, 11)
            # The limits looked before the sixth: five kept, over 3 (+1 slack): the two
            # oldest closed ones (#0, #1) went, three kept; the sixth came after.
            convs = screen.replay.tracker.conversations
            assert [c is None for c in convs[:6]] == [True, True, False, False, False, False]
            assert list(conns.ids) == [2, 3, 4, 5]
            text = screen_text(app)
            assert "Connections 4 · 2 forgotten" in text
            assert "Connection #1 was forgotten to bound memory (see --max-conns); now showing #2." in toasts(app)
            assert "Forgot the 2 oldest closed conversations (3 kept)." in toasts(app)
            assert screen.selected == 2 and "stdin #2" in text
            s = lab_state(app)
            assert [float(r[2]) for r in s["rows"]] == [expected[n]["time"] for n in range(23, 34)]  # #2: frames 23-33
            row = expected[23 + screen.controller.cursor]
            assert (s["client"], s["server"]) == (row["client"]["state"], row["server"]["state"])
            assert "memory bound: 22 segments dropped, 2 conversations forgotten" in status_bar(app)
            # The list's keys move among what is kept.
            conns.focus()
            await pilot.press("up")
            assert screen.selected == 2
            await pilot.press("down")
            assert screen.selected == 3
    finally:
        pipe.close()


@run_async
async def test_the_only_listed_conversation_forgotten_leaves_an_empty_state_that_says_so():
    recs: list[bytes] = []
    for i in range(6):
        recs += records(connection(40000 + i, data=2), start=len(recs))
    pipe = Pipe(recs)
    app = app_on(pipe, Limits(max_conns=2))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            await pipe.send(pilot, 11)
            await pipe.send(pilot, 11)
            await pilot.press("slash")
            await pilot.press(*"40001")
            await pilot.pause()
            assert screen.selected == 1
            for _ in range(3):  # before the fifth, four kept: over 2 (+1 slack), #0 and #1 go
                await pipe.send(pilot, 11)
            assert screen.replay.tracker.conversations[1] is None
            assert screen.selected is None
            assert "Connection #1 was forgotten to bound memory (see --max-conns); no connection is left to show." in toasts(app)
            text = screen_text(app)
            assert "Connection #1 was forgotten" in screen.query_one(ExplainPane).heading
            assert "no connection matches" in text
            # Clearing the filter lists what is kept and shows the first of them.
            await pilot.press("escape")
            await pilot.pause()
            conns = screen.query_one(ConnList)
            assert list(conns.ids) == [i for i, c in enumerate(screen.replay.tracker.conversations) if c is not None]
            assert screen.selected == conns.ids[0] and f"stdin #{conns.ids[0]}" in screen_text(app)
            assert lab_state(app)["client"] and screen.lost is None
            await pilot.press("down")
            assert screen.selected == conns.ids[1]
    finally:
        pipe.close()


# -- notices: merged, throttled; both languages --------------------------------------------------


@run_async
async def test_notices_are_merged_per_kind_and_chinese_too():
    recs: list[bytes] = []
    for i in range(12):
        recs += records(connection(40000 + i, data=2), start=len(recs))
    pipe = Pipe(recs)
    app = app_on(pipe, Limits(max_conns=2))
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            screen._notices.interval = 0.6
            for _ in range(5):
                await pipe.send(pilot, 11)
            first = [t for t in toasts(app) if t.startswith("Forgot")]
            assert first == ["Forgot the 2 oldest closed conversations (2 kept)."]
            await pipe.send(pilot, 11)
            await pipe.send(pilot, 11)
            # Held back: the interval has not passed since the first.
            assert len([t for t in toasts(app) if t.startswith("Forgot")]) == 1
            await pilot.pause(0.8)
            later = [t for t in toasts(app) if t.startswith("Forgot")]
            forgotten = screen.replay.evicted.conversations
            assert later[1] == f"Forgot the {forgotten - 2} oldest closed conversations (2 kept)."
            # l: the status line and the counter in Chinese; notices from now on too.
            await pilot.press("l")
            assert f"内存上限：已丢弃 {screen.replay.evicted.segments:,} 个报文段，已忘记 {forgotten:,} 个会话" in status_bar(app)
            assert f"已忘记 {forgotten:,} 条" in screen_text(app)
            await pilot.pause(0.7)
            await pipe.send(pilot, 11)
            await pipe.send(pilot, 11)
            assert any(t.startswith("已忘记最早结束的") for t in toasts(app))
    finally:
        pipe.close()


# -- a file with --max-... on the screen ---------------------------------------------------------


@run_async
async def test_a_file_with_limits_on_the_screen_keeps_what_they_allow(tmp_path):
    # Over a megabyte, so that the screen reads it in several slices (the limits look
    # before each one), as it reads any large file.
    recs: list[bytes] = []
    for i in range(120):
        recs += records(connection(20000 + i, data=60), start=len(recs))  # 127 segments each
    path = tmp_path / "big.pcap"
    path.write_bytes(pcap_header() + b"".join(recs))
    assert path.stat().st_size > 1 << 20
    replay, fd, done, whole = open_capture_file(str(path), None, Limits(max_conns=10, max_segments_per_conn=50))
    app = replay_app(replay, None if whole else fd, name="big.pcap", preread=done, size=path.stat().st_size,
                     highlight_seconds=None, cursor_blink=False)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            for _ in range(300):
                if screen.ended and not screen._dirty:
                    break
                await pilot.pause(0.02)
            await pilot.pause()
            conns = screen.query_one(ConnList)
            kept = [c for c in replay.tracker.conversations if c is not None]
            assert replay.segments_tracked == len(recs)
            assert replay.evicted.conversations > 90 and len(kept) == 120 - replay.evicted.conversations
            assert list(conns.ids) == [c.id for c in kept]
            assert f"Connections {len(kept)} · {replay.evicted.conversations} forgotten" in screen_text(app)
            status = status_bar(app)
            assert status.startswith("big.pcap: 15,240 segments in 120 connections")
            assert f"memory bound: {replay.evicted.segments:,} segments dropped, {replay.evicted.conversations:,} conversations forgotten" in status
            assert screen.selected is not None and replay.tracker.conversations[screen.selected] is not None
            assert lab_state(app)["client"]
    finally:
        if not whole:
            os.close(fd)


# -- the live screen: real loopback traffic in a namespace ---------------------------------------


def test_live_screen_under_small_limits_follows_what_is_kept(netns, tmp_path):  # noqa: F811
    """`tcp-lab sniff` with --max-segments-per-conn 20 --max-conns 3, as the screen runs
    it (cmd_sniff.open_session): a real capture on the namespace's lo, a long connection
    then short ones. Every segment the screen shows is checked against a replay, without
    limits, of the pcap the session wrote (--write): the same frame, the same states."""
    with netns.inside():
        asyncio.run(_live(tmp_path / "sniff.pcap"))


def _echo_server(listener: socket.socket, stop: threading.Event) -> None:
    listener.settimeout(0.1)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=_echo, args=(conn,), daemon=True).start()


def _echo(conn: socket.socket) -> None:
    with conn:
        conn.settimeout(10)
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            conn.sendall(data)


def _exchange(client: socket.socket, n: int) -> None:
    """n request/answer pairs of 8 bytes, each awaited: several segments each."""
    for _ in range(n):
        client.sendall(b"tcp-lab!")
        got = b""
        while len(got) < 8:
            got += client.recv(8 - len(got))


async def _until(pilot, predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.03)


def conv_dropped(session) -> int:
    convs = session.replay.tracker.conversations
    return convs[0].dropped if convs and convs[0] is not None else 0


def _expected_from(path) -> dict[int, dict]:
    replay = Replay("expected")
    replay.feed(path.read_bytes())
    return {row["no"]: row for row in map(json.loads, replay.json_lines())}


async def _live(path) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    stop = threading.Event()
    server = threading.Thread(target=_echo_server, args=(listener, stop), daemon=True)
    server.start()
    capture = LiveCapture("lo", f"tcp port {port}")
    capture.open()
    session = LiveSession(capture, write_fd=open_output(str(path)),
                          limits=Limits(max_segments_per_conn=20, max_conns=3))
    app = live_app(session, highlight_seconds=None, cursor_blink=False)
    long = socket.socket()
    long.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    long.settimeout(5)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            await _until(pilot, lambda: screen.started)
            long.connect(("127.0.0.1", port))
            deadline = time.monotonic() + 15
            while conv_dropped(session) == 0:  # in steps: the limits look between batches
                assert time.monotonic() < deadline, "the limits never bit"
                await asyncio.to_thread(_exchange, long, 5)
                await pilot.pause(0.1)
            conv = session.replay.tracker.conversations[0]
            await pilot.pause(0.2)
            # Following the newest segment of what is kept.
            expected = _expected_from(path)
            s = lab_state(app)
            frame = heading_frame(app)
            assert frame == max(expected)
            assert (s["client"], s["server"]) == (expected[frame]["client"]["state"], expected[frame]["server"]["state"])
            assert tcb_shown(s["client_text"]) == tcb_expected(expected[frame]["client"])
            assert len(s["rows"]) == len(conv.rows)
            assert [r[-1] for r in s["rows"]] == [expected[n]["info"] for n in sorted(expected)[conv.dropped:]]
            assert f"{conv.dropped} older dropped" in screen.sub_title
            assert any(t.startswith("Kept the last") and "of conversation 0" in t for t in toasts(app))
            assert "memory bound: " in status_bar(app)
            # Stepping back pauses following; more traffic moves the rows under the cursor,
            # and the cursor stays on its segment (or the oldest kept, if it went).
            await pilot.press("p", "p")
            held = heading_frame(app)
            dropped_before = conv.dropped
            # (The limits look when a batch arrives: traffic goes on until they bite.)
            deadline = time.monotonic() + 15
            while conv.dropped == dropped_before:
                assert time.monotonic() < deadline, "the limits never looked again"
                await asyncio.to_thread(_exchange, long, 3)
                await pilot.pause(0.1)
            await pilot.pause(0.2)
            expected = _expected_from(path)
            kept = sorted(expected)[conv.dropped:]
            assert heading_frame(app) == max(held, kept[0])
            s = lab_state(app)
            frame = heading_frame(app)
            assert (s["client"], s["server"]) == (expected[frame]["client"]["state"], expected[frame]["server"]["state"])
            assert [r[-1] for r in s["rows"]] == [expected[n]["info"] for n in kept[: len(s["rows"])]]
            # Short connections, closed: the oldest closed ones are forgotten and leave
            # the list; the long one, still open and shown, stays.
            for _ in range(7):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                    await asyncio.to_thread(_exchange, c, 1)
                await pilot.pause(0.15)
            await _until(pilot, lambda: session.replay.evicted.conversations > 0)
            await pilot.pause(0.2)
            replay = session.replay
            conns = screen.query_one(ConnList)
            kept_ids = [i for i, c in enumerate(replay.tracker.conversations) if c is not None]
            assert list(conns.ids) == kept_ids and 0 in kept_ids and screen.selected == 0
            n = replay.evicted.conversations
            assert f"Connections {len(kept_ids)} · {n} forgotten" in screen_text(app)
            assert any(t.startswith("Forgot the") for t in toasts(app))
            memory = f"memory bound: {replay.evicted.segments:,} segments dropped, {n:,} conversations forgotten"
            assert memory in status_bar(app)
            await pilot.press("q")
    finally:
        stop.set()
        server.join(2)
        long.close()
        listener.close()
        capture.stop()
        session.close()
