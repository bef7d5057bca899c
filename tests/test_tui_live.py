"""The live screen through Pilot, on real sockets in a fresh network namespace.

`tcp-lab sniff --demo` as the screen runs it: a real capture on the namespace's lo, the
demo's real client and server making their connection in acts (short pauses through
TCP_LAB_DEMO_PAUSE). The panes must follow the connection as it happens, the states they
show must be those the replay infers for the same segments, in the demo's order, ending
where the kernel says (`ss`); each act is announced in the explanation pane. Then a
capture that fails after it started (its interface deleted): a sentence on the screen,
what was captured kept (tests/e2e/test_live_faults.py has the other faults).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

from netns_util import namespace, netns  # noqa: F401  (netns is a fixture)
from tui_helpers import lab_state, screen_text, toasts

from tcp_lab.core.explain import render
from tcp_lab.tui.explain_pane import ExplainPane
from tcp_lab.tui.live_app import LiveScreen, live_app
from tcp_lab.tui.live_capture import LiveCapture
from tcp_lab.tui.live_demo import Demo
from tcp_lab.tui.live_session import LiveSession

#: The demo's connection as the panes must show it (client, server), in this order: the
#: handshake, the client's half-close, the server's close (RFC 9293 3.5, 3.6).
DEMO_ORDER = [
    ("SYN_SENT", "SYN_RCVD"),
    ("ESTABLISHED", "ESTABLISHED"),
    ("FIN_WAIT_1", "CLOSE_WAIT"),
    ("FIN_WAIT_2", "CLOSE_WAIT"),
    ("TIME_WAIT", "LAST_ACK"),
    ("TIME_WAIT", "CLOSED"),
]


async def _until(pilot, predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.03)


def _distinct(pairs):
    out = []
    for p in pairs:
        if not out or out[-1] != p:
            out.append(p)
    return out


def test_demo_states_follow_the_acts_and_end_as_the_kernel_says(netns, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TCP_LAB_DEMO_PAUSE", "0.3")
    with netns.inside():
        asyncio.run(_demo(netns))


async def _demo(ns) -> None:
    demo = Demo()
    port = demo.prepare()
    capture = LiveCapture("lo", f"tcp port {port}")
    capture.open()
    session = LiveSession(capture)
    app = live_app(session, demo, highlight_seconds=None, cursor_blink=False)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            assert isinstance(screen, LiveScreen) and screen.following
            sampled = []
            while not demo.done.is_set():
                await pilot.pause(0.03)
                s = lab_state(app)
                if s["client"]:
                    sampled.append((s["client"], s["server"]))
            assert demo.error is None
            # The last segments are read: nothing new for a while.
            n = -1
            while n != len(session.replay):
                n = len(session.replay)
                await pilot.pause(0.3)
            await pilot.pause()
            sampled.append((lab_state(app)["client"], lab_state(app)["server"]))
            replay = session.replay
            rows = [json.loads(line) for line in replay.json_lines()]
            truth = _distinct([(r["client"]["state"], r["server"]["state"]) for r in rows])
            # What the replay infers for these segments is the demo's connection ...
            assert [p for p in truth if p in DEMO_ORDER] == DEMO_ORDER
            # ... and the panes showed it as it happened: in its order, ending where it ends.
            seen = _distinct(sampled)
            it = iter(truth)
            assert all(p in it for p in seen), (seen, truth)
            assert seen[-1] == ("TIME_WAIT", "CLOSED") and len(seen) >= 3
            # The kernel agrees: the client is in TIME-WAIT, the server's socket is gone.
            client = ("127.0.0.1", rows[0]["sport"])
            assert ns.states(client, ("127.0.0.1", port)) == ("TIME-WAIT", "UNCONN")
            status = screen_text(app)
            assert f"{len(rows)} segments in 1 connection" in status
            assert "packets received" in status and "0 dropped by the kernel" in status and "0 skipped" in status
            # Following: the last act is announced above the last segment's explanation.
            explain = app.screen.query_one(ExplainPane).text
            assert "Act 8/8" in explain
            # Stepping back pauses following; each segment is shown with its own act.
            await pilot.press("home")
            assert not screen.following and screen.controller.cursor == 0
            assert any("Following paused" in t for t in toasts(app))
            acts_seen = set()
            for i, row in enumerate(rows):
                if i:
                    await pilot.press("n")
                s = lab_state(app)
                assert (s["client"], s["server"]) == (row["client"]["state"], row["server"]["state"])
                act = session.act_for_row(screen.index.conv.rows[i])
                assert act is not None and render(act.explain, "en") in s["explain"]
                acts_seen.add(act.number)
            assert {2, 3, 4, 5, 6, 7} <= acts_seen  # every act that sends something
            await pilot.press("home", "f")
            assert screen.following and screen.controller.cursor == len(rows) - 1
            # The teaching tools work here too: the diagram, a quiz from the first segment,
            # the export menu.
            await pilot.press("g")
            await pilot.pause()
            assert app.screen.id == "state-diagram"
            await pilot.press("g")
            await pilot.pause()
            assert app.screen is screen
            from tcp_lab.tui.quiz_screen import QuizScreen

            await pilot.press("home", "z")
            await pilot.pause()
            assert isinstance(app.screen, QuizScreen)
            await pilot.press("escape", "escape")
            await pilot.pause()
            assert app.screen is screen
            await pilot.press("e")
            await pilot.pause()
            assert app.screen.id == "export-menu"
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen
    finally:
        demo.abort()
        capture.stop()
        session.close()


def test_capture_error_after_start_is_shown_and_the_capture_stays(netns):  # noqa: F811
    with namespace("tcplab-test") as peer:
        netns.run(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
        netns.run(["ip", "link", "set", "v1", "netns", peer.name])
        netns.run(["ip", "addr", "add", "10.77.0.1/24", "dev", "v0"])
        netns.run(["ip", "link", "set", "v0", "up"])
        peer.run(["ip", "addr", "add", "10.77.0.2/24", "dev", "v1"])
        peer.run(["ip", "link", "set", "v1", "up"])
        listener = peer.socket()
        listener.bind(("10.77.0.2", 80))
        listener.listen()
        try:
            with netns.inside():
                asyncio.run(_interface_gone(netns, listener))
        finally:
            listener.close()


async def _interface_gone(ns, listener) -> None:
    capture = LiveCapture("v0", "tcp")
    capture.open()
    session = LiveSession(capture)
    app = live_app(session, highlight_seconds=None, cursor_blink=False)
    client = socket.socket()
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            await _until(pilot, lambda: screen.started)
            assert "Capturing on v0 (tcp)" in screen_text(app)
            client.settimeout(5)
            client.connect(("10.77.0.2", 80))
            await _until(pilot, lambda: len(session.replay) >= 3)
            await pilot.pause(0.1)
            assert (lab_state(app)["client"], lab_state(app)["server"]) == ("ESTABLISHED", "ESTABLISHED")
            ns.run(["ip", "link", "del", "v0"])
            await _until(pilot, lambda: screen.failed is not None, timeout=5)
            await pilot.pause()
            text = screen_text(app)
            assert "The capture stopped: v0 was deleted" in text
            assert any("v0 was deleted. What it captured stays here" in t for t in toasts(app))
            s = lab_state(app)
            assert (s["client"], s["server"]) == ("ESTABLISHED", "ESTABLISHED") and len(s["log"]) == 3
            await pilot.press("p", "p")  # what was captured can still be stepped through
            assert (lab_state(app)["client"], lab_state(app)["server"]) == ("SYN_SENT", "SYN_RCVD")
            await pilot.press("q")
    finally:
        client.close()
        capture.stop()
        session.close()
