"""The `tcp-lab` command line: parses arguments and hands over to one module per command.

Commands are imported lazily so that the lab never imports scapy (0.4 s of start-up) and
`--version` imports nothing. Every error a user can cause ends as one sentence on stderr
and exit code 2 (bad input) or 3 (missing permission or device), never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from typing import NoReturn, Sequence

from .errors import EXIT_USAGE, CliError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one sentence (no usage dump) and exit 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        raise CliError(f"{message} (see '{self.prog} --help').")


def _add_format(p: argparse.ArgumentParser, with_lang: bool = True) -> None:
    p.add_argument(
        "--format",
        choices=("tui", "text", "json"),
        default=None,
        help="tui: the interactive screen (default on a terminal); text: one line per frame; json: JSON Lines",
    )
    if with_lang:
        p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of explanations (default en)")


def build_parser() -> argparse.ArgumentParser:
    from tcp_lab import __version__

    from .export_files import add_export_arguments

    parser = _Parser(
        prog="tcp-lab",
        description="A terminal lab for the TCP three-way handshake and four-way teardown.",
        epilog="With no command, opens the lab on the default scenario.",
    )
    parser.add_argument("--version", action="version", version=f"tcp-lab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("scenarios", help="list the built-in scenarios")

    lab = sub.add_parser("lab", help="step through a simulated connection (the default)")
    lab.add_argument("scenario", nargs="?", default=None, help="scenario name (see 'tcp-lab scenarios')")
    lab.add_argument("--scenario-file", metavar="FILE", help="a TOML scenario file")
    _add_format(lab)
    lab.add_argument("--isn-client", type=_u32, metavar="N", help="the client's initial sequence number")
    lab.add_argument("--isn-server", type=_u32, metavar="N", help="the server's initial sequence number")
    lab.add_argument("--seed", type=int, metavar="N", help="seed for random ISNs (reproducible runs)")
    add_export_arguments(lab)

    replay = sub.add_parser("replay", help="replay a capture file (pcap or pcapng; '-' reads a pcap stream on stdin)")
    replay.add_argument("file", metavar="FILE", help="a .pcap or .pcapng file, or - for stdin (e.g. tcpdump -U -w -)")
    _add_format(replay)
    replay.add_argument("--conn", type=int, metavar="N", help="only conversation N (numbered from 0, as tcp.stream)")
    replay.add_argument("--conversations", action="store_true", help="print the conversation table instead of frames")
    _add_limits(replay, "none for a file; for '-', a stream, the live ones: ")

    sniff = sub.add_parser("sniff", help="sniff a real connection live (needs root or CAP_NET_RAW)")
    sniff.add_argument("-i", "--interface", metavar="IFACE", default=None, help="interface to capture on (default lo)")
    sniff.add_argument("-f", "--filter", metavar="BPF", default=None, help="a BPF capture filter, e.g. 'tcp port 80'")
    sniff.add_argument("--port", type=int, metavar="N", help="only TCP port N (shorthand for -f 'tcp port N')")
    sniff.add_argument("--write", metavar="FILE", help="also save every sniffed packet to a pcap file")
    sniff.add_argument("--demo", action="store_true", help="make and watch a real scripted connection on loopback")
    _add_format(sniff)
    sniff.add_argument("--count", type=int, metavar="N", help="stop after N TCP segments (headless)")
    sniff.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds (headless)")
    _add_limits(sniff, "")

    quiz = sub.add_parser("quiz", help="predict each next step of a scenario; the answer and why; a score")
    quiz.add_argument("scenario", nargs="?", default=None, help="scenario name (default handshake; see 'tcp-lab scenarios')")
    quiz.add_argument("--scenario-file", metavar="FILE", help="a TOML scenario file")
    quiz.add_argument("--format", choices=("tui", "text"), default=None,
                      help="tui: the quiz screen (default on a terminal); text: questions on stdout, answers from stdin")
    quiz.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the questions (default en)")
    quiz.add_argument("--isn-client", type=_u32, metavar="N", help="the client's initial sequence number")
    quiz.add_argument("--isn-server", type=_u32, metavar="N", help="the server's initial sequence number")
    quiz.add_argument("--seed", type=int, metavar="N", help="seed for random ISNs")

    compare = sub.add_parser("compare", help="a real conversation beside the closest built-in scenario, differences explained")
    compare.add_argument("file", metavar="FILE", help="a .pcap or .pcapng capture")
    compare.add_argument("--conn", type=int, metavar="N", help="conversation N (as tcp.stream; default: the first with a handshake)")
    _add_format(compare)

    serve = sub.add_parser("serve", help="serve the lab to a browser (textual-serve) on this machine")
    serve.add_argument("scenario", nargs="?", default=None, help="scenario the lab opens on (default handshake-teardown)")
    serve.add_argument("--port", type=int, default=8000, metavar="N", help="TCP port to listen on (default 8000)")
    serve.add_argument("--host", default="127.0.0.1", metavar="ADDR", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--lang", choices=("en", "zh"), default="en", help="language of explanations (default en)")

    return parser


def _add_limits(p: argparse.ArgumentParser, defaults: str) -> None:
    """Bounded memory for long runs (core/limits.py); 0 means no limit."""
    g = p.add_argument_group(
        "memory limits",
        "what is kept in memory for long runs: over a limit the oldest segments and the oldest closed "
        "conversations are dropped, and tcp-lab says so; 0 means no limit. Defaults: "
        f"{defaults}1,000,000 segments, 100,000 per conversation, 10,000 conversations",
    )
    g.add_argument("--max-segments", type=_limit, metavar="N", help="keep at most N segments in all")
    g.add_argument("--max-segments-per-conn", type=_limit, metavar="N", help="keep at most N segments of each conversation")
    g.add_argument("--max-conns", type=_limit, metavar="N", help="keep at most N conversations")


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative (0 means no limit)")
    return value


def _u32(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1 << 32:
        raise argparse.ArgumentTypeError(f"{text} is not a 32-bit sequence number (0 to 4294967295)")
    return value


COMMANDS = {
    None: "tcp_lab.tui.cmd_lab",
    "lab": "tcp_lab.tui.cmd_lab",
    "scenarios": "tcp_lab.tui.cmd_lab",
    "replay": "tcp_lab.tui.cmd_replay",
    "sniff": "tcp_lab.tui.cmd_sniff",
    "quiz": "tcp_lab.tui.cmd_quiz",
    "compare": "tcp_lab.tui.cmd_compare",
    "serve": "tcp_lab.tui.cmd_serve",
}


def resolve_format(fmt: str | None) -> str:
    """The output format: as asked, else the screen on a terminal and text otherwise."""
    if fmt is not None:
        return fmt
    return "tui" if sys.stdout.isatty() and sys.stdin.isatty() else "text"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    _no_bytecode_under_sudo()
    try:
        parser = build_parser()
        if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help", "--version")):
            # `tcp-lab`, `tcp-lab --seed 1`, `tcp-lab lost-syn`: the lab is the default command.
            args_list = ["lab", *args_list]
        args = parser.parse_args(args_list)
        _check_standard_streams(args)
        _screen_for_a_piped_capture(args)
        module = importlib.import_module(COMMANDS[args.command])
        return int(module.run(args) or 0)
    except CliError as exc:
        _say(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours; stay quiet.
        _silence_stdout()
        return 0
    except OSError as exc:
        # Output that cannot be written (a full disk, a broken stdout) is the user's
        # environment, not a bug: one sentence. Other OS errors fall through.
        if exc.errno not in _WRITE_ERRNOS and not _stdout_broken():
            return _internal_error(exc)
        _silence_stdout()
        where = f" {exc.filename}" if exc.filename else ""
        _say(f"cannot write{where}: {exc.strerror or exc}.")
        return 1
    except Exception as exc:  # noqa: BLE001 - the last guard: one sentence, never a traceback
        if _interrupted(exc):
            return 130
        return _internal_error(exc)


def _interrupted(exc: BaseException) -> bool:
    """True for an error that only wraps a ctrl+c: a SIGINT that lands while Python runs
    `__set_name__` during a class definition (an import at start-up) comes out as
    "RuntimeError: Error calling __set_name__ ..." caused by the KeyboardInterrupt."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _no_bytecode_under_sudo() -> None:
    """`sudo tcp-lab sniff` from a user's checkout or venv: Python would write the bytecode
    caches (__pycache__/*.pyc) of the modules it imports there, owned by root. Not for this
    run (set before any other tcp-lab module is imported; tui/privilege.py has the rest)."""
    uid = os.environ.get("SUDO_UID", "")
    if os.geteuid() == 0 and uid.isdigit() and uid != "0":
        sys.dont_write_bytecode = True


#: OS errors that only writing gives: the disk or the quota is full, the file too big.
_WRITE_ERRNOS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EFBIG))


def _internal_error(exc: BaseException) -> int:
    if os.environ.get("TCP_LAB_DEBUG"):
        raise exc
    _say(f"internal error: {type(exc).__name__}: {exc} (set TCP_LAB_DEBUG=1 for a traceback; please report it).")
    return 1


def _check_standard_streams(args: argparse.Namespace) -> None:
    """A process started with stdout (or, reading '-', stdin) closed gets one sentence."""
    if sys.stdout is None:
        raise CliError("standard output is closed: there is nowhere to write")
    if sys.stdin is None and getattr(args, "file", None) == "-":
        raise CliError("standard input is closed: there is no capture to read from '-'")


def _screen_for_a_piped_capture(args: argparse.Namespace) -> None:
    """`tcpdump -U -w - | tcp-lab replay -` on a terminal opens the replay screen: stdin is
    the capture, so the screen reads its keys from the terminal (/dev/tty) instead. Only
    when stdout is a terminal and no --format was given; --conversations stays text."""
    if (
        args.command == "replay"
        and getattr(args, "file", None) == "-"
        and args.format is None
        and not args.conversations
        and sys.stdout.isatty()
        and sys.stdin is not None
        and not sys.stdin.isatty()
    ):
        try:
            os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        except OSError:  # no controlling terminal: headless text, as before
            return
        args.format = "tui"


def _stdout_broken() -> bool:
    """True when writing to stdout fails (checked after an OSError escaped)."""
    if sys.stdout is None:
        return True
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        return True
    return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's flush at exit stays quiet."""
    try:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
    except OSError:
        pass


def _say(message: str) -> None:
    message = message.strip()
    if not message.startswith("tcp-lab:"):
        message = f"tcp-lab: {message}"
    print(message, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
