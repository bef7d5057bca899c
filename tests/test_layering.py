"""core/ is sans-I/O: it never imports Textual, sockets, threads or reads the clock (DESIGN.md)."""

import ast
import pathlib

CORE = pathlib.Path(__file__).resolve().parent.parent / "core"

#: Modules core/ must never import. The one live-capture module is the documented exception
#: for scapy's sniffing machinery (DESIGN.md) and is listed in ALLOWED below.
FORBIDDEN = ("textual", "socket", "threading", "time", "asyncio", "select", "subprocess", "scapy")
ALLOWED: dict[str, tuple[str, ...]] = {}


def imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_is_sans_io():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        allowed = ALLOWED.get(path.name, ())
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in FORBIDDEN and top not in allowed:
                offenders.append(f"{path.relative_to(CORE.parent)} imports {name}")
    assert offenders == []


def test_core_never_reads_the_clock_or_sleeps():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name in ALLOWED:
            continue
        for needle in ("time.time(", "time.monotonic(", "time.sleep(", "datetime.now(", "perf_counter("):
            if needle in text:
                offenders.append(f"{path.name}: {needle}")
    assert offenders == []
