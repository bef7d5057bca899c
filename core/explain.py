"""Renders Explanations (core/frame.py) as text in English or Chinese.

Texts live in catalogues: modules that map a key to {"en": template, "zh": template}, with
`{name}` placeholders filled from the explanation's params. Each source registers its own
catalogue here (CATALOGUES), so the lab and the capture tracker can word things their way.
"""

from __future__ import annotations

import importlib
from typing import Mapping

from .frame import Explanation

LANGS = ("en", "zh")

#: Modules holding a TEXTS dict; imported on first use.
CATALOGUES = ("tcp_lab.core.texts_lab", "tcp_lab.core.texts_capture", "tcp_lab.core.texts_demo", "tcp_lab.core.texts_teach")

_texts: dict[str, Mapping[str, str]] | None = None


def texts() -> dict[str, Mapping[str, str]]:
    global _texts
    if _texts is None:
        merged: dict[str, Mapping[str, str]] = {}
        for name in CATALOGUES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            merged.update(module.TEXTS)
        _texts = merged
    return _texts


class _Params(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(explanation: Explanation | None, lang: str = "en") -> str:
    """The text of an explanation in `lang` ("en" or "zh"); English when a Chinese text is
    missing; the bare key when the key is unknown (a bug the catalogue tests catch)."""
    if explanation is None:
        return ""
    entry = texts().get(explanation.key)
    if entry is None:
        return explanation.key
    template = entry.get(lang) or entry["en"]
    params = _Params({k: _show(v) for k, v in explanation.params.items()})
    return template.format_map(params)


def _show(value: object) -> object:
    # States and other enums show their plain names.
    return getattr(value, "value", value)
