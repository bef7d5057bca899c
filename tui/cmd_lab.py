"""`tcp-lab scenarios` and `tcp-lab lab`: the simulated connection.

- ``tcp-lab scenarios``: the built-in scenarios, name and title, in the course's order.
- ``tcp-lab lab [SCENARIO] [--scenario-file F]``: run a scenario (default
  handshake-teardown). ``--format text|json`` runs it headless to the end and prints every
  frame, one line each (core/output.py), flushing line by line; ``--format tui`` (the
  default on a terminal) opens the lab screen. ``--isn-client/--isn-server`` fix the ISNs,
  ``--seed`` makes random ones reproducible.

Bad input (an unknown scenario, a missing or malformed file, a step that cannot run) is one
sentence on stderr and exit code 2. scapy and textual are never imported for text/json.
"""

from __future__ import annotations

import argparse
import sys

from .errors import CliError, PermissionProblem


def run(args: argparse.Namespace) -> int:
    if args.command == "scenarios":
        return _list_scenarios()
    return _lab(args)


def _list_scenarios() -> int:
    from tcp_lab.core import scenario as scenarios

    found = scenarios.builtin()
    width = max(len(s.name) for s in found)
    out = sys.stdout
    for s in found:
        mark = "  (default)" if s.name == scenarios.DEFAULT else ""
        out.write(f"{s.name:<{width}}  {s.title['en']}{mark}\n")
    out.flush()
    return 0


def _load(args: argparse.Namespace):
    from tcp_lab.core import scenario as scenarios

    name = getattr(args, "scenario", None)
    path = getattr(args, "scenario_file", None)
    if name and path:
        raise CliError(f"give either a scenario name or --scenario-file, not both (got \"{name}\" and {path}).")
    try:
        if path is None:
            return scenarios.get(name or scenarios.DEFAULT)
        return scenarios.load_file(_read_text(path), path)
    except scenarios.ScenarioError as exc:
        raise CliError(str(exc)) from None


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise CliError(f"{path}: no such scenario file.") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a directory, not a scenario file.") from None
    except PermissionError:
        raise PermissionProblem(f"{path}: permission denied; cannot read the scenario file.") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read the scenario file ({exc.strerror or exc}).") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CliError(f"{path}, line {line}: the scenario file is not UTF-8 text.") from None


def _lab(args: argparse.Namespace) -> int:
    from tcp_lab.core.simulation import Simulation, StepFailed

    from .cli import resolve_format

    scenario = _load(args)
    choices = {
        "isn_client": getattr(args, "isn_client", None),
        "isn_server": getattr(args, "isn_server", None),
        "seed": getattr(args, "seed", None),
    }
    # Run it once first, so a step that cannot run is reported before any output.
    trial = Simulation(scenario, snapshots=False, **choices)
    try:
        trial.run_to_end(limit=1_000_000)
    except StepFailed as exc:
        raise CliError(str(exc)) from None
    from .export_files import export_from_args, wants_export

    if wants_export(args):
        # Exports of the whole run; without an explicit --format nothing else is shown.
        export_from_args(args, trial.timeline, scenario.title["en"])
        if getattr(args, "format", None) is None:
            return 0
    fmt = resolve_format(getattr(args, "format", None))
    lang = getattr(args, "lang", "en") or "en"
    if fmt == "tui":
        try:
            from tcp_lab.tui.app import run_lab
        except ModuleNotFoundError as exc:
            if exc.name != "tcp_lab.tui.app":
                raise
            raise CliError("the lab screen is not built yet; use --format text or --format json") from None
        return run_lab(Simulation(scenario, **choices), lang=lang)
    return _headless(trial, fmt, lang)


def _headless(sim, fmt: str, lang: str) -> int:
    from tcp_lab.core.output import frame_json, frame_text

    out = sys.stdout
    try:
        out.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        pass
    if fmt == "json":
        for frame in sim.timeline:
            out.write(frame_json(frame, lang) + "\n")
    else:
        for frame in sim.timeline:
            out.write(frame_text(frame) + "\n")
    out.flush()
    return 0
