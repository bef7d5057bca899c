"""`tcp-lab sniff`: watch real connections live, both endpoints' states inferred from the
segments as they cross the interface.

    tcp-lab sniff [-i IFACE] [-f BPF | --port N] [--write FILE.pcap]
                  [--format tui|text|json] [--count N] [--timeout S] [--lang en|zh]
                  [--max-segments N] [--max-segments-per-conn N] [--max-conns N]
    tcp-lab sniff --demo [...]

- The interface defaults to ``lo``; the filter to ``tcp`` (``--port N`` adds ``tcp port N``).
- ``--format text`` / ``json`` print every TCP segment as it is tracked, one line each,
  flushed per batch: the replay's writers (core/replay.py), so the lines are exactly what
  ``tcp-lab replay`` prints for the same packets (``--write`` them and replay the file).
- ``--count N`` stops after N TCP segments, ``--timeout S`` after S seconds; ctrl+c (or
  SIGTERM, or SIGHUP) stops cleanly too, with exit code 0: ending a sniff is what ctrl+c
  is for. At the end one line on stderr counts packets captured, dropped by the kernel,
  skipped by the decoder, and the segments and conversations tracked. On the screen, ctrl+c
  is a key that quits like q, and those signals end the screen with 0 too.
- Faults while capturing (tui/live_capture.py): the interface taken down is a line on
  stderr ("went down; waiting"), and the sniff goes on when it is up again ("is up
  again"); deleted, or the capture socket failing, ends the sniff after the last packet
  read: its rows, the stats line, then one sentence, exit code 3 (a device that went
  away, DESIGN.md). The --write file is a valid pcap up to that last packet.
- ``--write FILE`` saves every captured packet to a classic pcap as it goes.
- Memory stays bounded however long it runs (core/limits.py, ``--max-segments`` ...): the
  oldest segments and conversations are dropped from memory (never from the output or the
  --write file), each time with one line on stderr.
- ``--demo`` makes its own real connection on loopback and sniffs it (tui/live_demo.py);
  each act is announced on stderr (``tcp-lab demo: Act n/8: ...``), so stdout keeps exactly
  the replay's frame schema; the run ends after the last act.

Order of checks, each one sentence on stderr: capture permission first (exit 3), before
any socket of the demo or the screen; then the interface and the filter (exit 2); then the
--write file (exit 2).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterable
from typing import IO, Self

from tcp_lab.core.explain import render

from .cli import resolve_format
from .errors import CliError

#: How long the headless loop sleeps at most between two batches.
PUMP_INTERVAL = 0.05
#: After the demo's last act, how long to wait for its last segments to be read.
DEMO_TAIL = 0.2


def run(args: argparse.Namespace) -> int:
    from . import live_capture as lc

    fmt = resolve_format(args.format)
    _check_numbers(args)
    demo = bool(getattr(args, "demo", False))
    iface = args.interface or "lo"
    if demo:
        if args.interface not in (None, "lo"):
            raise CliError(f"--demo makes its connection on loopback; leave out -i {args.interface} (or say -i lo)")
        if args.filter or args.port is not None:
            raise CliError("--demo chooses its own port and filter; leave out -f and --port")
    bpf = lc.capture_filter(args.filter, args.port)

    # 1. Permission before anything else starts.
    lc.check_permission(iface, bpf)
    # 2. The interface and the filter.
    arphrd, linktype = lc.resolve_interface(iface)
    the_demo = None
    if demo:
        from .live_demo import Demo

        the_demo = Demo()
        port = the_demo.prepare()
        bpf = f"tcp port {port}"
    try:
        lc.check_filter(bpf, linktype)
        if fmt == "tui":
            return _run_screen(args, iface, bpf, arphrd, the_demo)
        return _run_headless(args, fmt, iface, bpf, arphrd, the_demo)
    finally:
        if the_demo is not None:
            the_demo.abort()


def _check_numbers(args: argparse.Namespace) -> None:
    if args.count is not None and args.count < 1:
        raise CliError(f"--count {args.count}: give a number of segments from 1 up")
    if args.timeout is not None and not args.timeout > 0:
        raise CliError(f"--timeout {args.timeout:g}: give a number of seconds above 0")
    if args.port is not None and not 0 < args.port < 65536:
        raise CliError(f"--port {args.port}: a TCP port is a number from 1 to 65535")


def _run_screen(args, iface, bpf, arphrd, demo) -> int:
    """The live screen: `tcp_lab.tui.live_app.run_live(session, demo, args) -> int`. The
    session is open (socket, filter, --write file) before the screen starts, so every
    error is a sentence on a terminal the screen never touched."""
    try:
        from tcp_lab.tui.live_app import run_live  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name != "tcp_lab.tui.live_app":
            raise
        raise CliError("the live screen is not built yet; use --format text or --format json") from None
    session = open_session(args, iface, bpf, arphrd)
    try:
        return int(run_live(session, demo, args) or 0)
    finally:
        session.capture.stop()
        session.close()


class _StopSignals:
    """ctrl+c (SIGINT) and SIGTERM end a headless sniff between two batches: the handlers
    only set a flag that the loop reads, so a signal never lands in the middle of a
    write (a line printed twice or half) and the last batch and the stats still come out.
    Only on the main thread (signal handlers live there); restored on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.caught: int | None = None
        self.previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        self.caught = signum

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is signal.SIG_IGN:  # nohup: stays ignored
                    continue
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def open_session(args: argparse.Namespace, iface: str, bpf: str, arphrd: int):
    """The capture (socket open, filter attached) and its session, with the --write file."""
    from .live_capture import LiveCapture
    from .live_session import LiveSession, open_output

    from tcp_lab.core.limits import resolve_limits

    limits = resolve_limits(
        True,
        getattr(args, "max_segments", None),
        getattr(args, "max_segments_per_conn", None),
        getattr(args, "max_conns", None),
    )
    capture = LiveCapture(iface, bpf, arphrd=arphrd)
    write_fd = open_output(args.write) if args.write else None
    try:
        capture.open()
    except BaseException:
        if write_fd is not None:
            import os

            os.close(write_fd)
        raise
    return LiveSession(capture, write_fd=write_fd, limits=limits)


def _run_headless(args, fmt: str, iface: str, bpf: str, arphrd: int, demo) -> int:
    from .errors import EXIT_PERMISSION
    from .limit_notices import NoticePrinter
    from .live_session import fault_line, notice_line, stats_line

    out = sys.stdout
    err = sys.stderr
    lang = args.lang
    session = open_session(args, iface, bpf, arphrd)
    session.limit = args.count
    replay = session.replay
    writer = replay.json_writer(lang) if fmt == "json" else None
    written = 0
    say_notices = NoticePrinter(lang=lang, out=err)

    def flush_rows() -> None:
        # `written` and `end` count segments since the start; the memory limits
        # (core/limits.py) drop rows only between batches, after they were printed, and
        # row numbers shift down by replay.rows_dropped.
        nonlocal written
        say_notices(replay)
        end = session.segments()
        if end > written:
            shift = replay.rows_dropped
            if writer is not None:
                _write_chunks(out, writer.chunks(written - shift, end - shift, None))
            else:
                _write_chunks(out, replay.text_chunks(written - shift, end - shift))
            written = end

    def announce(act) -> None:
        print(f"tcp-lab demo: {render(act.explain, lang)}", file=err, flush=True)

    capture = session.capture
    fault: BaseException | None = None
    with _StopSignals() as stop:
        try:
            try:
                started = threading.Event()
                capture.start(started.set)
                started.wait(5)
                shown = "" if demo else f" (filter: {bpf})"
                print(f"tcp-lab: capturing on {iface}{shown}; ctrl+c stops.", file=err, flush=True)
                if demo is not None:
                    session.attach_demo(demo, announce)
                    demo.start()
                deadline = None if args.timeout is None else time.monotonic() + args.timeout
                demo_over_at = None
                while stop.caught is None:
                    wait = PUMP_INTERVAL
                    if deadline is not None:
                        wait = max(0.0, min(wait, deadline - time.monotonic()))
                    capture.wait(wait)
                    # Read the error before pumping: every packet read before it is
                    # queued by then, so the rows and the file end at the last packet.
                    fault = capture.error
                    session.pump()
                    flush_rows()
                    for notice in capture.take_notices():
                        print(notice_line(notice, iface), file=err, flush=True)
                    if fault is not None or session.full:
                        break
                    now = time.monotonic()
                    if deadline is not None and now >= deadline:
                        break
                    if demo is not None and demo.done.is_set():
                        if demo.error is not None:
                            raise CliError(str(demo.error))
                        if demo_over_at is None:
                            demo_over_at = now
                        elif now - demo_over_at >= DEMO_TAIL:
                            break
            except KeyboardInterrupt:  # a ctrl+c before the handlers were in place
                pass
            finally:
                if demo is not None:
                    demo.abort()
                capture.stop()
            session.pump()
            flush_rows()
            say_notices.flush()
            stats = session.stats()
            print(stats_line(stats, iface), file=err, flush=True)
            memory = replay.memory_note(lang)
            if memory:
                print(f"tcp-lab: {memory} (see --max-segments, --max-conns).", file=err, flush=True)
            if fault is not None:
                print(fault_line(fault, iface, stats.received, args.write), file=err, flush=True)
                return EXIT_PERMISSION
        finally:
            session.close()
    return 0


def _write_chunks(out: IO[str], chunks: Iterable[bytes]) -> None:
    """Write the replay writer's UTF-8 chunks to the binary buffer under `out`, then flush
    (as tui/cmd_replay.py does for a stream on stdin)."""
    buffer = getattr(out, "buffer", None)
    for chunk in chunks:
        if buffer is not None:
            buffer.write(chunk)
        else:
            out.write(chunk.decode())
    if buffer is not None:
        buffer.flush()
    else:
        out.flush()
