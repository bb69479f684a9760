"""What a member's message means to an interaction: a solitaire join, a draw keyword, an answer, a dice roll.

Text is normalized first (NFKC, so full-width `＋１` and `Ａ` read like `+1` and `A`). Parsers are pure functions so
they are easy to test (hypothesis) and cheap to run on every message.
"""

from __future__ import annotations

import re
import unicodedata

SOLITAIRE_HASH = re.compile(r"^#\s*接龙\s*(?P<note>.*)$", re.S)
SOLITAIRE = re.compile(r"^(?:接龙\s*\+\s*1|接龙|\+\s*1)(?:\s+(?P<note>.*))?$", re.S)
ANSWER = re.compile(r"^(?:选|选择|答案)?\s*(?P<opt>[A-Za-z]|\d{1,2})\s*[.、)）:：]?$")
DICE_WORDS = frozenset({"掷骰子", "摇骰子", "投骰子", "/dice", "🎲", "骰子"})
MAX_NOTE = 100
MAX_TRIGGER = 120
LETTERS = "ABCDEFGHIJ"


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def solitaire(text: str) -> str | None:
    """The note of a solitaire join ("" for none), or None when the message is not a join.

    "接龙", "+1", "接龙+1", "接龙 两盒", "#接龙 备注…" join; "接龙了吗" does not.
    """
    t = normalize(text)
    if len(t) > MAX_TRIGGER:
        return None
    m = SOLITAIRE_HASH.match(t) or SOLITAIRE.match(t)
    if m is None:
        return None
    return " ".join((m.group("note") or "").split())[:MAX_NOTE]


def keyword(text: str, word: str) -> bool:
    """A lucky-draw entry: the keyword alone, or with a leading '#'."""
    t = normalize(text).casefold()
    w = normalize(word).casefold()
    return bool(w) and (t == w or t == f"#{w}")


def option(text: str, n_options: int) -> int | None:
    """The 0-based option a member picked by posting its number ("2") or letter ("B", "选B"), else None."""
    t = normalize(text)
    if len(t) > 8:
        return None
    m = ANSWER.match(t)
    if m is None:
        return None
    raw = m.group("opt").upper()
    idx = LETTERS.find(raw) if raw.isalpha() else int(raw) - 1
    return idx if 0 <= idx < n_options else None


def dice(text: str) -> bool:
    return normalize(text).casefold() in DICE_WORDS


def label(idx: int) -> str:
    return LETTERS[idx] if 0 <= idx < len(LETTERS) else str(idx + 1)
