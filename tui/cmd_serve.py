"""`tcp-lab serve [SCENARIO] [--port N] [--host H]`: the lab in a browser (tui/serve.py).

Prints the address to open, then serves until Ctrl+C. A missing textual-serve package, a
port in use or an address that cannot be bound is one sentence and exit code 2.
"""

from __future__ import annotations

import argparse
import errno
import socket

from .errors import CliError


def run(args: argparse.Namespace) -> int:
    from tcp_lab.core import scenario as scenarios

    from .serve import lab_command, make_server

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port}: a TCP port is a number from 1 to 65535.")
    if args.scenario is not None:
        try:
            scenarios.get(args.scenario)
        except scenarios.ScenarioError as exc:
            raise CliError(str(exc)) from None
    _check_bind(args.host, args.port)
    try:
        server = make_server(lab_command(args.scenario, args.lang), host=args.host, port=args.port, title="tcp-lab")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("textual_serve"):
            raise CliError("browser mode needs the textual-serve package (pip install textual-serve).") from None
        raise
    print(f"tcp-lab: serving the lab on http://{_url_host(args.host)}:{args.port}/ (Ctrl+C stops it)", flush=True)
    server.serve()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _check_bind(host: str, port: int) -> None:
    """Fail early, in one sentence, when the address cannot be served on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise CliError(f"--host {host}: no such address on this machine.") from None
    family, kind, proto, _, addr = infos[0]
    probe = socket.socket(family, kind, proto)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(addr)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(f"port {port} on {host} is in use; choose another with --port.") from None
        if exc.errno == errno.EACCES:
            raise CliError(f"port {port} needs root to listen on; choose one above 1023 with --port.") from None
        raise CliError(f"cannot listen on {host} port {port} ({exc.strerror}).") from None
    finally:
        probe.close()
