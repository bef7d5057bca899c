"""`tcp-lab quiz [SCENARIO]`: predict each step of a scenario, then see the answer and why.

``--format tui`` (the default on a terminal) opens the quiz screen (tui/quiz_screen.py).
``--format text`` asks the same questions on stdout and reads one answer per line from
stdin (a choice number; an empty line or ``q`` ends the quiz), so a class can also take it
in a plain terminal or a script can drive it; the score is the last line. Either way the
scenario is the built-in one named (default handshake), with fixed ISNs when asked.
"""

from __future__ import annotations

import argparse
import sys

from .errors import CliError


def run(args: argparse.Namespace) -> int:
    from tcp_lab.core.simulation import Simulation, StepFailed

    from .cli import resolve_format
    from .cmd_lab import _load

    if getattr(args, "scenario", None) is None and getattr(args, "scenario_file", None) is None:
        args.scenario = "handshake"
    scenario = _load(args)
    sim = Simulation(
        scenario,
        isn_client=getattr(args, "isn_client", None),
        isn_server=getattr(args, "isn_server", None),
        seed=getattr(args, "seed", None),
        snapshots=False,
    )
    try:
        sim.run_to_end(limit=5_000)
    except StepFailed as exc:
        raise CliError(str(exc)) from None
    lang = getattr(args, "lang", "en") or "en"
    title = scenario.title.get(lang) or scenario.title["en"]
    fmt = resolve_format(getattr(args, "format", None))
    if fmt == "tui":
        from .quiz_screen import QuizApp

        from .interrupts import run_app

        app = QuizApp(sim.timeline, title=title, lang=lang)
        run_app(app)  # SIGINT/SIGTERM/SIGHUP: the terminal restored, exit 128 + signal
        return int(app.return_code or 0)
    return text_quiz(sim.timeline, title, lang, sys.stdin, sys.stdout)


def text_quiz(timeline, title: str, lang: str, inp, out) -> int:
    """The quiz on plain text streams: questions to `out`, answers (numbers) from `inp`."""
    from tcp_lab.core.explain import render
    from tcp_lab.core.quiz import Quiz, question_text

    from .quiz_screen import score_text, t

    quiz = Quiz(lambda i: timeline[i] if 0 <= i < len(timeline) else None)
    out.write(t("quiz.title", lang, title=title) + "\n")
    stopped = False
    while not stopped:
        frame = quiz.next_step()
        if frame is None:
            out.write(t("quiz.done", lang) + "\n")
            break
        if not quiz.pending:
            continue
        out.write(f"\n#{frame.no} " + render(quiz.pending[0].prompt, lang) + "\n")
        while quiz.pending:
            q = quiz.pending[0]
            out.write(render(question_text(q), lang) + "\n")
            for k, choice in enumerate(q.choices, start=1):
                out.write(f"  {k}) {choice}\n")
            out.write("> ")
            out.flush()
            line = inp.readline()
            text = line.strip().lower()
            if not line or text in ("", "q", "quit"):
                stopped = True
                out.write("\n")
                break
            if not text.isdigit() or not 1 <= int(text) <= len(q.choices):
                out.write(t("quiz.keys", lang, n=len(q.choices)) + "\n")
                continue
            a = quiz.answer(int(text) - 1)
            if a.correct:
                out.write("✓ " + t("quiz.right", lang, answer=q.right) + "\n")
            else:
                out.write("✗ " + t("quiz.wrong", lang, chosen=q.choices[a.chosen], answer=q.right) + "\n")
        if not quiz.pending:
            why = render(frame.explain, lang)
            if why:
                out.write(f"{t('quiz.why', lang)}: {why}\n")
    out.write(score_text(quiz, lang) + "\n")
    out.flush()
    return 0
