"""Every explanation the lab shows exists in English and Chinese and renders completely."""

import re

from labkit import lab

from tcp_lab.core import scenario, texts_lab, transitions
from tcp_lab.core.explain import render
from tcp_lab.core.simulation import Simulation

CJK = re.compile(r"[\u4e00-\u9fff]")


def all_frames():
    for sc in scenario.builtin():
        sim = Simulation(sc, seed=11)
        sim.run_to_end()
        yield from sim.timeline
    # Faults armed for either side, duplicates, delays, and timers from free play.
    sim = lab("server listen", "duplicate", "delay", "client connect", "run", "drop", "client send 3000", "run", "client abort", "run")
    sim.run_to_end()
    yield from sim.timeline


def test_every_frame_explanation_renders_in_both_languages():
    keys = set()
    for frame in all_frames():
        keys.add(frame.explain.key)
        for lang in ("en", "zh"):
            text = render(frame.explain, lang)
            assert text != frame.explain.key, f"no text for {frame.explain.key}"
            assert "{" not in text and "}" not in text, (frame.explain.key, lang, text)
            assert text.strip() and len(text) < 600
        assert CJK.search(render(frame.explain, "zh")), frame.explain.key
    assert len(keys) > 40


def test_the_catalogue_covers_the_table_and_nothing_is_dead():
    families = ("send.", "fault.", "wire.", "app.")
    for key, entry in texts_lab.TEXTS.items():
        assert set(entry) == {"en", "zh"}, key
        assert key in transitions.row_ids() or key.startswith(families), key
        assert CJK.search(entry["zh"]) and not CJK.search(entry["en"]), key
    assert set(transitions.row_ids()) <= set(texts_lab.TEXTS)


def test_texts_cite_the_rfc_where_a_rule_comes_from():
    for row_id in transitions.row_ids():
        en = texts_lab.TEXTS[row_id]["en"]
        assert "RFC" in en or "NOT TCP" in en, row_id


def test_random_play_renders_too():
    """Random lab sessions reach rows the scenarios do not (challenge ACKs, throttling,
    reordering ...); their frames must render with the params they carry."""
    import random

    from tcp_lab.core.endpoint import IllegalCall

    keys = set()
    for seed in range(120):
        rnd = random.Random(seed)
        sim = Simulation(scenario.get("free-play"), seed=seed)
        sim.app_call("server", "listen")
        for _ in range(30):
            pick = rnd.random()
            try:
                if pick < 0.3:
                    sim.app_call(rnd.choice(["client", "server"]), rnd.choice(["connect", "send", "close", "abort", "listen"]), rnd.randint(1, 3000))
                elif pick < 0.45:
                    sim.inject(rnd.choice(["drop", "duplicate", "delay", "old-syn"]), rnd.choice([None, "client"]))
                elif pick < 0.55:
                    sim.fire_timer()
                else:
                    sim.advance()
            except IllegalCall:
                pass
        sim.run_to_end(limit=len(sim.timeline) + 2000)
        for frame in sim.timeline:
            keys.add(frame.explain.key)
            for lang in ("en", "zh"):
                text = render(frame.explain, lang)
                assert text != frame.explain.key and "{" not in text, (frame.explain.key, lang, text)
    assert {"sync.rcv_syn", "sync.rcv_out_of_order", "send.challenge_ack", "send.dup_ack"} & keys
