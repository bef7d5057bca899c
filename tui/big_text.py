"""State names in large type: a 3x3 box-drawing font for the letters TCP state names use.

Drawn in the style of Textual's `Digits`, so "ESTABLISHED" is 43 cells wide and 3 high.
Characters without a glyph are drawn plain in the middle row.
"""

from __future__ import annotations

_GLYPHS: dict[str, tuple[str, str, str]] = {
    "A": ("┏━┓", "┣━┫", "╹ ╹"),
    "B": ("┳━┓", "┣━┫", "┻━┛"),
    "C": ("┏━╸", "┃  ", "┗━╸"),
    "D": ("┳━┓", "┃ ┃", "┻━┛"),
    "E": ("┏━╸", "┣━ ", "┗━╸"),
    "F": ("┏━╸", "┣━ ", "╹  "),
    "G": ("┏━╸", "┃╺┓", "┗━┛"),
    "H": ("╻ ╻", "┣━┫", "╹ ╹"),
    "I": ("╺┳╸", " ┃ ", "╺┻╸"),
    "K": ("╻ ╻", "┣┳┛", "╹┗╸"),
    "L": ("╻  ", "┃  ", "┗━╸"),
    "M": ("┏┳┓", "┃╹┃", "╹ ╹"),
    "N": ("┏┓╻", "┃┗┫", "╹ ╹"),
    "O": ("┏━┓", "┃ ┃", "┗━┛"),
    "P": ("┏━┓", "┣━┛", "╹  "),
    "R": ("┏━┓", "┣┳┛", "╹┗╸"),
    "S": ("┏━╸", "┗━┓", "╺━┛"),
    "T": ("╺┳╸", " ┃ ", " ╹ "),
    "U": ("╻ ╻", "┃ ┃", "┗━┛"),
    "V": ("╻ ╻", "┃ ┃", "╰┳╯"),
    "W": ("╻ ╻", "┃┃┃", "┗┻┛"),
    "Y": ("╻ ╻", "┗┳┛", " ╹ "),
    "_": ("   ", "   ", "╺━╸"),
    "-": ("   ", "╺━╸", "   "),
    "1": ("╺┓ ", " ┃ ", "╺┻╸"),
    "2": ("╺━┓", "┏━┛", "┗━╸"),
    " ": ("   ", "   ", "   "),
}


def big_width(text: str) -> int:
    """Cells the text takes in large type (a one-cell gap between letters)."""
    return max(0, 4 * len(text) - 1)


def big_lines(text: str) -> tuple[str, str, str]:
    """The three rows of `text` in large type."""
    rows: list[list[str]] = [[], [], []]
    for ch in text.upper():
        glyph = _GLYPHS.get(ch, ("   ", f" {ch} ", "   "))
        for r in range(3):
            rows[r].append(glyph[r])
    return tuple(" ".join(row) for row in rows)  # type: ignore[return-value]
