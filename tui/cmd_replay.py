"""`tcp-lab replay FILE`: a capture replayed segment by segment, both endpoints' states
inferred from the traffic.

- ``--format text`` / ``json``: every TCP segment of the capture (or of conversation
  ``--conn N``) as a text line / a JSON object (DESIGN.md, core/output.py).
- ``--conversations``: one line per conversation instead (both endpoints, segments and
  payload bytes each way, start, duration, first and last states): the counterpart of
  ``tshark -q -z conv,tcp``. With ``--format json``, one JSON object per conversation.
- ``--format tui`` (the default on a terminal): the replay screen.

``FILE`` may be ``-``: a pcap stream on stdin (``tcpdump -U -w - | tcp-lab replay -``),
printed as its records arrive. A stream cannot look ahead: rows are printed as they are
inferred, while a file is read whole first, so that hindsight (a SYN answered by RST, a
FIN sent twice) corrects the states of earlier rows before they are printed.

Bad input is one sentence on stderr and exit code 2: a missing, unreadable or empty file,
a directory, something that is not a capture (text, gzip ...), a capture damaged in its
middle (nothing is printed for a file). A capture cut short at its end (tcpdump killed
mid-write) prints every segment before the cut, then says on stderr where it stopped,
and exits 0: what was shown is complete up to that point.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from typing import IO, Callable, Iterable

from tcp_lab.core.addr import addr_text
from tcp_lab.core.inference import STATES
from tcp_lab.core.limits import Limits, resolve_limits
from tcp_lab.core.replay import ConversationSummary, Replay

from . import conv_parallel
from .cli import resolve_format
from .conv_parallel import ConvRecord
from .errors import CliError, PermissionProblem
from .limit_notices import NoticePrinter

CHUNK = 1 << 20
#: Lines written to stdout at once.
BATCH = 2000

#: The start of some files that are not captures, with what they are.
_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file (decompress it first: gunzip)"),
    (b"BZh", "a bzip2-compressed file (decompress it first: bunzip2)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file (decompress it first: unxz)"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file (decompress it first: unzstd)"),
    (b"PK\x03\x04", "a zip archive (extract the capture from it first)"),
    (b"%PDF", "a PDF document"),
    (b"\x7fELF", "a program (an ELF executable)"),
    (b"\x89PNG", "a PNG image"),
)


def run(args: argparse.Namespace) -> int:
    fmt = resolve_format(args.format)
    if fmt != "tui":
        # The tracker's objects hold no reference cycles, so the cyclic collector only
        # costs time here: with 100k conversations alive it can double the run time.
        gc.disable()
    path = args.file
    if fmt == "tui":
        _check_path(path)
        try:
            from tcp_lab.tui.replay_app import run_replay  # type: ignore[import-not-found]
        except ModuleNotFoundError as exc:
            if exc.name != "tcp_lab.tui.replay_app":
                raise
            raise CliError("the replay screen is not built yet; use --format text or --format json") from None
        return int(run_replay(args) or 0)
    if args.conn is not None and args.conn < 0:
        raise CliError(f"--conn {args.conn}: conversations are numbered from 0")
    out = sys.stdout
    if path == "-":
        return _run_stream(args, fmt, sys.stdin.buffer, out, _limits(args, live=True))
    limits = _limits(args, live=False)
    if limits.active:
        # Bounded memory: the file is replayed as a stream (rows are printed before the
        # limits can drop them; hindsight cannot rewrite rows already printed).
        _check_path(path)
        try:
            with open(path, "rb") as f:
                return _run_stream(args, fmt, f, out, limits, name=path)
        except IsADirectoryError:
            raise CliError(f"{path} is a directory, not a capture file") from None
        except PermissionError:
            raise PermissionProblem(f"{path}: permission denied (cannot read it)") from None
    return _run_file(args, fmt, path, out)


def _limits(args: argparse.Namespace, live: bool) -> Limits:
    """The memory limits (core/limits.py) for this run."""
    return resolve_limits(
        live,
        getattr(args, "max_segments", None),
        getattr(args, "max_segments_per_conn", None),
        getattr(args, "max_conns", None),
    )


# -- input -----------------------------------------------------------------------------


def _check_path(path: str) -> None:
    if path == "-":
        return
    try:
        st = os.stat(path)
    except PermissionError:
        raise PermissionProblem(f"{path}: permission denied (cannot read it)") from None
    except (FileNotFoundError, NotADirectoryError):
        raise CliError(f"{path}: no such file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    import stat

    if stat.S_ISDIR(st.st_mode):
        raise CliError(f"{path} is a directory, not a capture file")


def _what_it_is(head: bytes) -> str | None:
    """What a file that is not a capture looks like, from its first bytes."""
    for magic, what in _MAGICS:
        if head.startswith(magic):
            return what
    sample = head[:512]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return "a text file"
    return None


def _input_error(name: str, replay: Replay, head: bytes) -> CliError:
    problem = replay.problems[0]
    if problem.offset == 0 and not replay.frames:
        what = _what_it_is(head)
        if what is not None:
            return CliError(f"{name} is {what}, not a pcap or pcapng capture")
    if "empty" in problem.message:
        return CliError(f"{name} is empty: there is no capture to read")
    message = problem.message
    if message.startswith("the input "):
        return CliError(f"{name} {message[len('the input '):]}")
    return CliError(f"{name}: {message}")


def _reasons(replay: Replay) -> str:
    """Why packets gave no TCP segment: "3 not TCP: UDP, 1 IPv4 fragment" (most first)."""
    return ", ".join(f"{n} {reason}" for reason, n in replay.skipped.most_common())


def _nothing_to_show(name: str, replay: Replay) -> CliError:
    if not replay.frames:
        return CliError(f"{name} holds no TCP segment: it has no packets")
    packets = "1 packet" if replay.frames == 1 else f"{replay.frames} packets"
    return CliError(f"{name} holds no TCP segment: {packets}, {_reasons(replay)}")


def _left_out_note(name: str, replay: Replay) -> str | None:
    """The one line naming the packets that gave no segment (never dropped silently)."""
    left = sum(replay.skipped.values())
    if not left:
        return None
    what = "1 packet gave" if left == 1 else f"{left} packets gave"
    return f"tcp-lab: {name}: {what} no TCP segment and {'was' if left == 1 else 'were'} left out: {_reasons(replay)}."


def _read_file(
    path: str, summary_only: bool = False, split: Callable[[IO[bytes]], int | None] | None = None
) -> tuple[Replay, bytes, bool]:
    """Read a capture file whole; returns the replay, its first bytes, and whether it
    was cut short at the end (True) rather than complete (False). Raises CliError for
    input that cannot be shown. `split`, called with the open file before it is read,
    may return a half of the conversations to track alone (tui/conv_parallel.py)."""
    _check_path(path)
    head = b""
    try:
        with open(path, "rb") as f:
            partition = split(f) if split is not None else None
            replay = Replay(os.path.basename(path), summary_only=summary_only, partition=partition)
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                if not head:
                    head = chunk[:512]
                replay.feed(chunk)
                if replay.scanner.dead:
                    break
    except IsADirectoryError:
        raise CliError(f"{path} is a directory, not a capture file") from None
    except PermissionError:
        raise PermissionProblem(f"{path}: permission denied (cannot read it)") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    damaged = replay.scanner.dead
    replay.finish()
    if damaged or (replay.problems and not replay.scanner.segments):
        raise _input_error(path, replay, head)
    if not replay.scanner.segments:
        raise _nothing_to_show(path, replay)
    return replay, head, bool(replay.problems)


# -- output ----------------------------------------------------------------------------


def _write_chunks(out: IO[str], chunks: Iterable[bytes]) -> None:
    """Write UTF-8 chunks to the binary buffer under `out` (a text stream)."""
    out.flush()
    buffer = getattr(out, "buffer", None)
    for chunk in chunks:
        if buffer is not None:
            buffer.write(chunk)
        else:
            out.write(chunk.decode())
    if buffer is not None:
        buffer.flush()


def _write(out: IO[str], lines: Iterable[str]) -> None:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= BATCH:
            batch.append("")
            out.write("\n".join(batch))
            batch = []
    if batch:
        batch.append("")
        out.write("\n".join(batch))


def _cut_short_note(name: str, replay: Replay) -> str:
    problem = replay.problems[0]
    return (
        f"tcp-lab: {name} stops short at byte {problem.offset}: {problem.message}; "
        f"shown: the {replay.scanner.segments} TCP segments before it."
    )


def _check_conn(args: argparse.Namespace, replay: Replay, n: int | None = None) -> None:
    """--conn N must name a conversation (`n`: how many, if not the tracker's)."""
    if n is None:
        n = len(replay.tracker.conversations)
    if args.conn is not None and args.conn >= n:
        if n == 0:
            raise CliError(f"--conn {args.conn}: the capture holds no TCP conversation")
        raise CliError(
            f"--conn {args.conn}: the capture holds {n} conversation{'s' if n > 1 else ''}, numbered 0 to {n - 1}"
        )


def _run_file(args: argparse.Namespace, fmt: str, path: str, out: IO[str]) -> int:
    if args.conversations:
        replay, table, cut_short = _read_conversations(path)
        _check_conn(args, replay, None if table is None else len(table[0]))
        _write(out, conversation_lines(replay, fmt, args.conn, table))
    else:
        replay, _, cut_short = _read_file(path)
        _check_conn(args, replay)
        if fmt == "json":
            def chunks(start: int, stop: int | None) -> Iterable[bytes]:
                return replay.json_chunks(start, stop, conn=args.conn, lang=args.lang)
        else:
            def chunks(start: int, stop: int | None) -> Iterable[bytes]:
                return replay.text_chunks(start, stop, conn=args.conn)
        _write_chunks(out, chunks(0, None))
    out.flush()
    _notes(path, replay, cut_short)
    return 0


def _notes(name: str, replay: Replay, cut_short: bool) -> None:
    """After the output: what the memory limits took away, the packets left out, then
    where the capture stopped short."""
    memory = replay.memory_note()
    if memory:
        print(f"tcp-lab: {name}: {memory} (see --max-segments, --max-conns).", file=sys.stderr)
    left_out = _left_out_note(name, replay)
    if left_out:
        print(left_out, file=sys.stderr)
    if cut_short:
        print(_cut_short_note(name, replay), file=sys.stderr)


def _run_stream(
    args: argparse.Namespace, fmt: str, stream: IO[bytes], out: IO[str], limits: Limits, name: str = "the input"
) -> int:
    replay = Replay("stdin" if name == "the input" else os.path.basename(name), limits=limits)
    writer = replay.json_writer(args.lang) if fmt == "json" else None
    say_notices = NoticePrinter(prefix=f"tcp-lab: {name}: ", lang=args.lang)
    head = b""
    read = getattr(stream, "read1", stream.read)
    while True:
        try:
            chunk = read(CHUNK)
        except OSError as exc:
            raise CliError(f"{name}: cannot read it ({exc.strerror or exc})") from None
        if not chunk:
            break
        if not head:
            head = bytes(chunk[:512])
        added = replay.feed(chunk)
        say_notices(replay)
        if added and not args.conversations:
            # What arrived before any damage is printed, as it arrives. Every earlier row
            # was printed already (the limits may have dropped some of them since).
            end = len(replay)
            written = end - added
            if writer is not None:
                _write_chunks(out, writer.chunks(written, end, args.conn))
            else:
                _write_chunks(out, replay.text_chunks(written, end, args.conn))
            out.flush()
        if replay.scanner.dead:
            break
    damaged = replay.scanner.dead
    replay.finish()
    if damaged or (replay.problems and not replay.scanner.segments):
        raise _input_error(name, replay, head)
    if not replay.scanner.segments:
        raise _nothing_to_show(name, replay)
    if args.conversations:
        _write(out, conversation_lines(replay, fmt, args.conn))
    out.flush()
    if args.conn is not None:
        _check_conn(args, replay)
    say_notices.flush()
    _notes(name, replay, bool(replay.problems))
    return 0


# -- the conversation table ---------------------------------------------------------------


def _read_conversations(path: str) -> tuple[Replay, tuple[list[ConvRecord], float] | None, bool]:
    """Read a capture file for its conversation table, on two cores when it is big
    (tui/conv_parallel.py): the replay (this process's half of the conversations, its
    counts and problems those of the whole file), the merged table with the capture's
    first time (None: the replay holds every conversation), whether it was cut short."""
    helper: conv_parallel.Helper | None = None

    def split(f: IO[bytes]) -> int | None:
        nonlocal helper
        helper = conv_parallel.Helper.start(f, os.path.basename(path), CHUNK)
        return conv_parallel.MINE if helper is not None else None

    try:
        replay, _, cut_short = _read_file(path, summary_only=True, split=split)
    except BaseException:
        if helper is not None:
            helper.abandon()
        raise
    if helper is None:
        return replay, None, cut_short
    table = helper.table(replay)
    if table is None:
        # The helper's half cannot be used: everything again, in this process.
        replay, _, cut_short = _read_file(path, summary_only=True)
    return replay, table, cut_short


def conversation_lines(
    replay: Replay, fmt: str, conn: int | None = None, table: tuple[list[ConvRecord], float] | None = None
) -> Iterable[str]:
    """One line per conversation (a header line first in text). `table`: every
    conversation and the capture's first time when `replay` holds only some of them
    (tui/conv_parallel.py)."""
    if table is not None:
        everyone, first = table
    else:
        everyone = [c for c in replay.tracker.conversations if c is not None]
        first = replay.first_ts
    if fmt == "json":
        summaries = [replay.summary(c, first) for c in everyone]
        if conn is not None:
            summaries = [s for s in summaries if s.conn == conn]
        encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
        for s in summaries:
            yield encode(conversation_dict(s))
        return
    # Text: straight from the tracker's conversations (the same figures as
    # Replay.summary), one %-format per line.
    convs = [c for c in everyone if conn is None or c.id == conn]
    texts = {}
    for c in convs:
        for addr, port in zip(c.addr, c.port):
            key = (addr, port)
            if key not in texts:
                texts[key] = _ep(addr_text(addr), port)
    width = max([len(texts[(c.addr[0], c.port[0])]) for c in convs] + [6])
    swidth = max([len(texts[(c.addr[1], c.port[1])]) for c in convs] + [6])
    yield (
        f"{'conn':>5}  {'client':<{width}}     {'server':<{swidth}}  {'c→s segs':>8} {'bytes':>10}  "
        f"{'s→c segs':>8} {'bytes':>10}  {'start':>11} {'duration':>11}  {'client state':<12} server state"
    )
    line = f"%5d  %-{width}s %s<-> %-{swidth}s  %8d %10d  %8d %10d  %11.6f %11.6f  %-12s %s"
    names = [state.value for state in STATES]
    for c in convs:
        counts = c.counts
        st = c.state_byte
        yield line % (
            c.id, texts[(c.addr[0], c.port[0])], "?" if c.client_guess else " ", texts[(c.addr[1], c.port[1])],
            counts[0], counts[2], counts[1], counts[3], c.first_ts - first, c.last_ts - c.first_ts,
            names[st >> 4], names[st & 0xF],
        )  # fmt: skip


def _ep(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def conversation_dict(s: ConversationSummary) -> dict:
    """The JSON object of one conversation (--conversations --format json)."""
    return {
        "conn": s.conn,
        "client": {
            "addr": s.client_addr,
            "port": s.client_port,
            "segments": s.packets[0],
            "bytes": s.bytes[0],
            "wire_bytes": s.wire_bytes[0],
            "state": s.last_states[0].value,
        },
        "server": {
            "addr": s.server_addr,
            "port": s.server_port,
            "segments": s.packets[1],
            "bytes": s.bytes[1],
            "wire_bytes": s.wire_bytes[1],
            "state": s.last_states[1].value,
        },
        "start": round(s.start, 6),
        "duration": round(s.duration, 6),
        "client_guess": s.client_guess,
        "handshake": s.handshake,
        "reused_by": s.reused_by,
    }
