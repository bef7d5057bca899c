"""How fast the lab's engine runs (core/simulation.py), measured, not asserted.

    uv run python tests/bench/bench_lab_engine.py

- **scenarios**: every built-in scenario run to the end (frames, and frames a second),
  with snapshots (the screen) and without (headless text/json).
- **bulk**: one client writes 10 MB: the frames a second the engine makes, with and without
  snapshots, and the memory the run holds (frames plus snapshots, by tracemalloc).
- **fork / copy**: fork() to a random frame of a long run and the deepcopy the lab screen
  makes before acting in the past.
- **cli**: `tcp-lab lab handshake-teardown --format json` from a fresh process (median of 5).

Medians of 5 runs; compare ratios measured in one run (machines are noisy).
"""

from __future__ import annotations

import copy
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

from tcp_lab.core import scenario  # noqa: E402
from tcp_lab.core.simulation import Simulation  # noqa: E402


def median_time(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scenarios() -> None:
    print("scenarios (run to the end; median of 5)")
    total_frames = 0
    total = {True: 0.0, False: 0.0}
    for sc in scenario.builtin():
        frames = 0
        for keep in (True, False):
            def go(keep=keep):
                nonlocal frames
                sim = Simulation(sc, seed=1, snapshots=keep)
                sim.run_to_end()
                frames = len(sim.timeline)

            total[keep] += median_time(go)
        total_frames += frames
    print(f"  {len(scenario.builtin())} scenarios, {total_frames} frames: {total[True] * 1e3:.1f} ms with snapshots, "
          f"{total[False] * 1e3:.1f} ms without ({total_frames / total[True]:,.0f} and {total_frames / total[False]:,.0f} frames/s)")


def bulk() -> None:
    print("bulk: the client writes 10 MB, then both close")
    sc = scenario.Scenario(
        name="bulk",
        title={"en": "bulk", "zh": "bulk"},
        goal={"en": "", "zh": ""},
        steps=tuple(scenario.parse_step(s) for s in ("server listen", "client connect", "run", "client send 10000000", "client close", "run", "server close", "run")),
    )
    for keep in (True, False):
        sim = Simulation(sc, seed=1, snapshots=keep)
        start = time.perf_counter()
        sim.run_to_end(limit=1_000_000)
        took = time.perf_counter() - start
        n = len(sim.timeline)
        extra = ""
        if keep:
            tracemalloc.start()
            sim2 = Simulation(sc, seed=1, snapshots=True)
            sim2.run_to_end(limit=1_000_000)
            used = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            extra = f", {used / 2**20:,.0f} MiB held by the run ({used / n:,.0f} B a frame, frames and snapshots)"
        print(f"  snapshots={keep}: {n:,} frames in {took:.2f} s = {n / took:,.0f} frames/s{extra}")
    return sim


def fork_and_copy() -> None:
    print("fork / copy on the bulk run (median of 5)")
    sc = scenario.Scenario(
        name="bulk",
        title={"en": "bulk", "zh": "bulk"},
        goal={"en": "", "zh": ""},
        steps=tuple(scenario.parse_step(s) for s in ("server listen", "client connect", "run", "client send 2000000", "run")),
    )
    sim = Simulation(sc, seed=1)
    sim.run_to_end()
    n = len(sim.timeline)
    rnd = random.Random(1)
    print(f"  {n:,} frames")
    t_copy = median_time(lambda: copy.deepcopy(sim))
    print(f"  deepcopy (what the screen does before acting in the past): {t_copy * 1e3:.1f} ms")

    def fork():
        twin = copy.deepcopy(sim)
        twin.fork(rnd.randrange(n))

    t_fork = median_time(fork) - t_copy
    print(f"  fork(i) itself: {max(t_fork, 0) * 1e3:.2f} ms")


def cli() -> None:
    cmd = [sys.executable, "-m", "tcp_lab.tui.cli", "lab", "handshake-teardown", "--format", "json"]
    t = median_time(lambda: subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT))
    print(f"cli: tcp-lab lab handshake-teardown --format json in a fresh process: {t * 1e3:.0f} ms (median of 5)")


if __name__ == "__main__":
    scenarios()
    bulk()
    fork_and_copy()
    cli()
