"""Helpers for the teaching tools' tests: the lab (which has the teaching keys), fixed ISNs."""

from __future__ import annotations

from tcp_lab.core.replay import Replay
from tcp_lab.core.scenario import get
from tcp_lab.core.simulation import Simulation
from tcp_lab.tui.app import lab_app


def teach_app(name: str = "handshake-teardown", lang: str = "en"):
    sim = Simulation(get(name), isn_client=1000, isn_server=5000)
    return lab_app(sim, lang=lang, highlight_seconds=None, cursor_blink=False)


def finished(name: str, isn_client: int = 1000, isn_server: int = 5000):
    sim = Simulation(get(name), isn_client=isn_client, isn_server=isn_server)
    sim.run_to_end()
    return sim.timeline


def replay_file(path) -> Replay:
    replay = Replay(str(path))
    with open(path, "rb") as handle:
        replay.feed(handle.read())
    replay.finish()
    return replay
