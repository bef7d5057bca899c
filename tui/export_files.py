"""Export files, written atomically, and the headless export options (no Textual here:
`tcp-lab lab --format text --export-pcap F` must not import it).

Every file is written to a temporary file in the target's own folder, flushed to disk and
then renamed over the target (`os.replace`), so a reader never sees half a file and a
failed export leaves nothing behind. The screen's export menu is tui/export_actions.py.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from typing import Any

from .errors import CliError
from .privilege import give_to_sudo_user


def write_atomic(path: str, data: bytes | str) -> str:
    """Write `data` to `path` atomically (temp file in the same folder, fsync, os.replace).
    Returns the absolute path. Raises OSError (the temp file is removed)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    target = os.path.abspath(path)
    folder = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
    give_to_sudo_user(fd)  # under sudo (a live sniff's export menu): the user's file, not root's
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def render_export(kind: str, timeline: Any, title: str) -> bytes | str:
    """The bytes or text of an export of `timeline` (not the screenshot)."""
    from tcp_lab.core.export import mermaid_export, pcap_export, svg_export

    if kind == "pcap":
        return pcap_export(timeline)
    if kind == "mermaid":
        return mermaid_export(timeline, title)
    if kind == "svg":
        return svg_export(timeline, title)
    raise ValueError(f"unknown export {kind!r}")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "lab"


def free_name(folder: str, stem: str, ext: str) -> str:
    """folder/stem-N.ext with the first N (from 1) that names no existing file."""
    n = 1
    while True:
        candidate = os.path.join(folder, f"{stem}-{n}.{ext}")
        if not os.path.exists(candidate):
            return candidate
        n += 1


# ========================================================================== headless ===


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """--export-pcap/--export-mermaid/--export-svg FILE for a headless run."""
    parser.add_argument("--export-pcap", metavar="FILE", help="write the run's segments as a pcap (Wireshark opens it)")
    parser.add_argument("--export-mermaid", metavar="FILE", help="write the ladder as a Mermaid sequenceDiagram")
    parser.add_argument("--export-svg", metavar="FILE", help="write the ladder as an SVG picture")


def export_from_args(args: argparse.Namespace, timeline: Any, title: str, err=None) -> list[str]:
    """Write every export asked for on the command line; tell each path on stderr.
    Raises CliError (exit 2) with one sentence when a file cannot be written."""
    err = err or sys.stderr
    written = []
    for kind in ("pcap", "mermaid", "svg"):
        path = getattr(args, f"export_{kind}", None)
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise CliError(f"{path}: the folder {folder} does not exist.")
        if os.path.isdir(path):
            raise CliError(f"{path} is a directory; give a file name to export to.")
        try:
            target = write_atomic(path, render_export(kind, timeline, title))
        except OSError as exc:
            raise CliError(f"{path}: cannot write the {kind} export ({exc.strerror or exc}).") from None
        err.write(f"tcp-lab: wrote {target}\n")
        written.append(target)
    return written


def wants_export(args: argparse.Namespace) -> bool:
    return any(getattr(args, f"export_{k}", None) for k in ("pcap", "mermaid", "svg"))
