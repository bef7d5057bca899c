"""`tcp-lab compare FILE [--conn N]`: a real conversation beside the closest built-in scenario.

The capture is read and tracked as `tcp-lab replay` does (core/replay.py); every built-in
scenario is run to its end (core/simulation.py, fixed ISNs); core/compare.py picks the
closest one, aligns them step by step and explains every place the real stack did what the
RFC 9293 model would not. ``--format text`` prints two columns and numbered notes,
``--format json`` one JSON object, ``--format tui`` (the default on a terminal) the
compare screen (tui/compare_app.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import CliError


def load(path: str, conn: int | None) -> tuple[Any, Any, float | None, float | None, int]:
    """(comparison's real timeline, replay, reuse time, capture end, conversation number)."""
    from .cmd_replay import _check_path, _read_file

    _check_path(path)
    replay, _head, _cut = _read_file(path)
    convs = replay.conversations()
    if not convs:
        raise CliError(f"{path}: there is no TCP conversation in this capture.")
    ids = [c.conn for c in convs]
    if conn is None:
        conn = ids[0]
        for c, cid in zip(convs, ids):
            tl = replay.timeline(cid)
            if len(tl) and tl[0].segment is not None and tl[0].segment.flag_names[:1] == ("SYN",):
                conn = cid
                break
    elif conn not in ids:
        raise CliError(f"{path}: there is no conversation {conn} (the capture has {len(ids)}: {', '.join(map(str, ids[:10]))}).")
    timeline = replay.timeline(conn)
    reuse_at = _reuse(replay, convs, ids, conn)
    end = None
    if len(replay):
        whole = replay.timeline()
        end = whole[len(whole) - 1].time
    return timeline, replay, reuse_at, end, conn


def _reuse(replay: Any, convs: list, ids: list[int], conn: int) -> float | None:
    """When a later conversation reused this one's four-tuple (the tracker knows), if any."""
    by_id = {c.conn: c for c in convs}
    later = by_id[conn].reused_by
    return by_id[later].start if later in by_id else None


def model_runs() -> list[tuple[Any, Any]]:
    """Every built-in scenario run to its end with fixed ISNs (client 0, server 0: the
    relative numbers are what matter)."""
    from tcp_lab.core.scenario import builtin
    from tcp_lab.core.simulation import Simulation

    runs = []
    for sc in builtin():
        sim = Simulation(sc, isn_client=0, isn_server=0, snapshots=False)
        sim.run_to_end(limit=2_000)
        runs.append((sc, sim.timeline))
    return runs


def compare_file(path: str, conn: int | None):
    from tcp_lab.core.compare import compare

    timeline, _replay, reuse_at, end, conn = load(path, conn)
    try:
        return compare(timeline, model_runs(), reuse_at=reuse_at, capture_end=end), conn
    except ValueError as exc:
        raise CliError(f"{path}: {exc}.") from None


def note_text(note: Any, lang: str) -> str:
    from tcp_lab.core.explain import render
    from tcp_lab.core.frame import Explanation

    return render(Explanation(note.key, note.params), lang)


def run(args: argparse.Namespace) -> int:
    from .cli import resolve_format

    comparison, conn = compare_file(args.file, getattr(args, "conn", None))
    lang = getattr(args, "lang", "en") or "en"
    fmt = resolve_format(getattr(args, "format", None))
    if fmt == "json":
        from tcp_lab.core.compare import comparison_dict

        data = comparison_dict(comparison, lambda n: note_text(n, lang))
        data["file"] = args.file
        data["conn"] = conn
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return 0
    if fmt == "text":
        sys.stdout.write(text_report(comparison, lang, args.file, conn))
        return 0
    from .compare_app import CompareApp
    from .interrupts import run_app

    app = CompareApp(comparison, lang=lang, source=f"{args.file} #{conn}")
    run_app(app)  # SIGINT/SIGTERM/SIGHUP: the terminal restored, exit 128 + signal
    return int(app.return_code or 0)


def text_report(c: Any, lang: str, path: str, conn: int, width: int = 60) -> str:
    """Two columns (real | model) with a mark and numbered notes under each marked row."""
    from tcp_lab.core.explain import render
    from tcp_lab.core.frame import Explanation

    title = c.title.get(lang) or c.title["en"]
    out = [render(Explanation("cmp.closest", {"scenario": c.scenario, "title": title, "marks": c.marks}), lang)]
    out.append(f"{'real: ' + path + ' #' + str(conn):<{width}} | model: {c.scenario}")
    out.append("-" * (width * 2 + 3))
    n = 0
    for row in c.rows:
        real = _cell(row.real, width)
        model = _cell(row.model, width)
        mark = " !" if row.notes else ""
        out.append(f"{real:<{width}} | {model}{mark}")
        for note in row.notes:
            n += 1
            out.append(f"    [{n}] {note_text(note, lang)}")
    for note in c.notes:
        n += 1
        out.append(f"[{n}] {note_text(note, lang)}")
    return "\n".join(out) + "\n"


def step_text(step: Any) -> str:
    """A step in a few words: direction, flags, Seq/Ack/Len, and both states after it."""
    if step is None:
        return "·"
    f = step.frame
    seg = f.segment
    who = "C→S" if step.sender == "client" else "S→C"
    flags = ",".join(seg.flag_names) if seg is not None else ""
    numbers = f"Seq={f.seq_rel}" + (f" Ack={f.ack_rel}" if seg is not None and "ACK" in seg.flag_names else "") + f" Len={seg.length if seg else 0}"
    retrans = "↻" if any(a.startswith("TCP Retransmission") for a in f.analysis) else ""
    after = step.after or f
    return f"{who} {retrans}[{flags}] {numbers}  {after.client.state.value}/{after.server.state.value}"


def _cell(step: Any, width: int) -> str:
    text = step_text(step)
    return text if len(text) <= width else text[: width - 1] + "…"
