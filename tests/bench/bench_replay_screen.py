"""How fast the replay screen opens a big capture and how it answers while and after it
reads it, measured, not asserted (issue 4: "a file of a million segments opens with the
first screen shown in about a second, and the log scrolls without delay").

    uv run python tests/bench/bench_replay_screen.py           # all parts
    uv run python tests/bench/bench_replay_screen.py open      # one part: open | load | scroll | live

Two captures, written once with tests/bench/make_big_pcap.py (about 10 s each):
/tmp/tcp-lab-bench-1M.pcap (1,000,000 segments in 10,000 interleaved connections, as
bench_replay.py uses) and /tmp/tcp-lab-bench-1M-one.pcap (1,000,000 segments of one
connection: a log of a million rows).

- **open**: from a fresh interpreter to the first painted screen (imports, the first
  megabyte read and tracked, the app mounted headless at 140x40 and painted), median of 5,
  for the course example and both big captures. CPU time beside wall time: on a shared
  2-core machine other processes stretch wall time.
- **load**: the rest of the file is read by the thread worker and tracked on the screen's
  thread in slices; meanwhile a probe coroutine asks every 5 ms to run and records how
  late it gets to (the longest wait a key press could have), and steps are taken (n, and
  the whole screen composited) to time them while the file loads; then the time until
  the whole capture is in, and the peak memory.
- **scroll**: with the million-row connection loaded, steps and jumps anywhere in it and
  ten-row moves in the log (PgDn with the log focused), each followed by a full composite
  of the screen; with the 10,000 connections loaded, moves of ten entries through the
  connection list (each shows another connection in the panes).
- **live** (root: a network namespace): the live screen (tcp-lab sniff, headless at
  140x40) on the namespace's lo while bench_sniff.py's generator floods its port at
  5,000 to 40,000 segments a second for 4 s: repaints a second (at most 30 by design),
  the longest wait to run (a key's worst wait), segments tracked and kernel drops.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIG = Path("/tmp/tcp-lab-bench-1M.pcap")
ONE = Path("/tmp/tcp-lab-bench-1M-one.pcap")
COURSE = ROOT / "captures" / "course-example.pcap"


def ensure_captures() -> None:
    for path, extra in ((BIG, []), (ONE, ["--connections", "1", "--concurrency", "1", "--seed", "4"])):
        if not path.exists():
            print(f"writing {path} ...", flush=True)
            subprocess.run([sys.executable, str(HERE / "make_big_pcap.py"), str(path), "--segments", "1000000", *extra],
                           check=True)


OPEN_SNIPPET = textwrap.dedent(
    """
    import time
    t0 = time.perf_counter()
    import asyncio, sys, os
    from tcp_lab.tui import replay_app as ra
    t_import = time.perf_counter()
    marks = {}

    class Timed(ra.ReplayScreen):
        def on_mount(self):
            super().on_mount()
            self.call_after_refresh(lambda: marks.setdefault("painted", (time.perf_counter(), time.process_time())))

    ra.ReplayScreen = Timed

    async def main():
        replay, fd, done, whole = ra.open_capture_file(sys.argv[1])
        t_read = time.perf_counter()
        app = ra.replay_app(replay, None if whole else fd, name="x", preread=done, highlight_seconds=None)
        async with app.run_test(size=(140, 40)) as pilot:
            while "painted" not in marks:
                await asyncio.sleep(0.002)
            painted, cpu = marks["painted"]
            print(t_import - t0, t_read - t0, painted - t0, cpu, "scapy" in sys.modules, flush=True)
            os._exit(0)

    asyncio.run(main())
    """
)


def ms(x: float) -> str:
    return f"{x * 1000:.0f} ms"


def bench_open(runs: int = 5) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = "/tmp/tcp-lab-bench-pyc"  # warm bytecode, nothing written to the venv
    for label, path in (("course example (13 segments)", COURSE), ("1M segments, 10k connections", BIG),
                        ("1M segments, one connection", ONE)):
        rows = []
        for n in range(runs + 1):
            out = subprocess.run([sys.executable, "-c", OPEN_SNIPPET, str(path)], capture_output=True, text=True,
                                 cwd=ROOT, env=env, timeout=120)
            if n == 0:
                continue  # fills the bytecode cache
            rows.append([float(x) for x in out.stdout.split()[:4]] + [out.stdout.split()[4] == "True"])
        med = lambda k, rows=rows: statistics.median(r[k] for r in rows)  # noqa: E731
        print(f"open {label} (median of {runs}): first screen painted {ms(med(2))} wall, {ms(med(3))} CPU "
              f"(imports {ms(med(0))}, first megabyte read and tracked at {ms(med(1))}); scapy imported: {rows[0][4]}")


def _percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    return (f"median {samples[len(samples) // 2] * 1000:.1f} ms, p95 {samples[int(len(samples) * 0.95) - 1] * 1000:.1f} ms, "
            f"max {samples[-1] * 1000:.1f} ms")


async def _open(path: Path, size=(140, 40)):
    from tcp_lab.tui import replay_app as ra

    replay, fd, done, whole = ra.open_capture_file(str(path))
    app = ra.replay_app(replay, None if whole else fd, name=path.name, preread=done, highlight_seconds=None)
    return app, replay, fd


def bench_load() -> None:
    async def run(path: Path) -> None:
        app, replay, fd = await _open(path)
        t0, c0 = time.perf_counter(), time.process_time()
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            late: list[float] = []
            steps: list[float] = []
            while not screen.ended:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                late.append(time.perf_counter() - t - 0.005)
                if len(late) % 20 == 0 and len(steps) < 200:
                    s = time.perf_counter()
                    screen.action_next() if screen.controller.cursor < screen.controller.length - 1 else screen.action_first()
                    screen._compositor.render_update(full=True)
                    steps.append(time.perf_counter() - s)
            loaded, cpu = time.perf_counter() - t0, time.process_time() - c0
            await pilot.pause()
        os.close(fd)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"load {path.name}: {len(replay):,} segments in {len(replay.tracker.conversations):,} connections read "
              f"behind the screen in {loaded:.1f} s wall, {cpu:.1f} s CPU; peak RSS {rss:.0f} MB")
        print(f"  waiting to run while it loads (a key's worst wait): {_percentiles(late)}")
        print(f"  a step while it loads (n + full composite, 140x40): {_percentiles(steps)}")

    for path in (BIG, ONE):
        asyncio.run(run(path))


def bench_scroll() -> None:
    from tcp_lab.tui.conn_list import ConnList
    from tcp_lab.tui.segment_log import SegmentLog

    async def loaded(path: Path):
        app, replay, fd = await _open(path)
        return app, replay, fd

    async def run_one() -> None:
        app, replay, fd = await loaded(ONE)
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            while not screen.ended:
                await asyncio.sleep(0.05)
            await pilot.pause()
            n = screen.controller.length
            comp = screen._compositor

            def timed(move, count=305) -> list[float]:
                out = []
                for i in range(count):
                    t = time.perf_counter()
                    move(i)
                    comp.render_update(full=True)
                    if i >= 5:
                        out.append(time.perf_counter() - t)
                return out

            jumps = timed(lambda i: (screen.controller.jump((i * 104_729) % n), screen.show()))
            print(f"scroll one connection of {n:,} segments, 140x40: a jump anywhere: {_percentiles(jumps)}")
            screen.controller.jump(n // 2)
            screen.show()
            log = screen.query_one(SegmentLog)

            def page_down(i: int) -> None:
                # What PgDn in the focused log does: choose the row ten on, the screen jumps.
                row = min(n - 1, log.selected_row() + 10)
                screen._row_chosen(SegmentLog.RowChosen(log, row, row))

            pages = timed(page_down, 105)
            print(f"  PgDn in the log (ten rows on; the whole screen follows): {_percentiles(pages)}")
            steps = timed(lambda i: screen.action_next())
            print(f"  n (one step on): {_percentiles(steps)}")
        os.close(fd)

    async def run_big() -> None:
        app, replay, fd = await loaded(BIG)
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            while not screen.ended:
                await asyncio.sleep(0.05)
            await pilot.pause()
            conns = screen.query_one(ConnList)
            comp = screen._compositor
            moves: list[float] = []
            for i in range(305):
                t = time.perf_counter()
                # What ↓ ten times (or PgDn) in the list does: the entry ten on, shown.
                conn = conns.ids[(conns.position(screen.selected) + 10) % len(conns.ids)]
                conns.select(conn)
                screen.select(conn)
                comp.render_update(full=True)
                if i >= 5:
                    moves.append(time.perf_counter() - t)
            print(f"scroll the list of {conns.total:,} connections, ten entries at a time (another connection in the "
                  f"panes each time): {_percentiles(moves)}")
            t = time.perf_counter()
            screen.apply_filter("443")
            comp.render_update(full=True)
            print(f"  filter the 10,000 connections by port 443: {len(conns.ids):,} left, {ms(time.perf_counter() - t)}")
        os.close(fd)

    asyncio.run(run_one())
    asyncio.run(run_big())


def bench_live(rates=(5000, 20000, 40000), seconds: float = 4.0) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from netns_util import namespace
    from tcp_lab.tui.live_app import LiveScreen, live_app
    from tcp_lab.tui.live_capture import LiveCapture
    from tcp_lab.tui.live_session import LiveSession

    port = 5001
    paints = {"n": 0}
    original_show = LiveScreen.show

    def counted_show(self):
        paints["n"] += 1
        original_show(self)

    LiveScreen.show = counted_show  # type: ignore[method-assign]

    async def run(ns, rate: float) -> None:
        capture = LiveCapture("lo", f"tcp port {port}")
        capture.open()
        session = LiveSession(capture)
        app = live_app(session, highlight_seconds=None)
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            while not screen.started:
                await asyncio.sleep(0.01)
            gen = ns.popen([sys.executable, str(HERE / "bench_sniff.py"), "generate", "--rate", str(rate),
                            "--seconds", str(seconds), "--port", str(port)], stdout=subprocess.DEVNULL)
            late: list[float] = []
            paints["n"] = 0
            t0 = time.perf_counter()
            while gen.poll() is None:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                late.append(time.perf_counter() - t - 0.005)
            elapsed = time.perf_counter() - t0
            repaints = paints["n"]
            await asyncio.sleep(1.0)
            stats = session.stats()
            print(f"live at {rate:,} writes/s for {seconds:.0f} s: {stats.segments:,} segments tracked "
                  f"({stats.segments / elapsed:,.0f}/s), {stats.dropped} dropped by the kernel; "
                  f"{repaints / elapsed:.1f} repaints/s; waiting to run: {_percentiles(late)}")
            await pilot.press("q")
        capture.stop()
        session.close()

    for rate in rates:
        with namespace("tcplab-bench") as ns:
            with ns.inside():
                asyncio.run(run(ns, rate))
    LiveScreen.show = original_show  # type: ignore[method-assign]


if __name__ == "__main__":
    parts = sys.argv[1:] or ["open", "load", "scroll", "live"]
    ensure_captures()
    if "open" in parts:
        bench_open()
    if "load" in parts:
        bench_load()
    if "scroll" in parts:
        bench_scroll()
    if "live" in parts:
        bench_live()
