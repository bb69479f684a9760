"""Group rules as members read them, and whether they fit one phone screen (A3).

Width is counted in phone columns: a CJK character is one, a Latin character half; a screen is 20 columns by
24 lines of chat text. The console shows the same text in a phone-sized preview.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from siyu.communities.schemas import Rules

LINE_COLUMNS = 20.0
SCREEN_LINES = 24

SECTIONS_ZH = (
    ("name_card", "【群名片】"),
    ("offers", "【本群提供】"),
    ("how_to_ask", "【如何提问】"),
    ("forbidden", "【禁止】"),
    ("allowed", "【允许】"),
    ("penalties", "【违规处理】"),
)


def render(rules: Rules | dict[str, str], title: str = "") -> str:
    data = rules.model_dump() if isinstance(rules, Rules) else rules
    parts = [f"《{title}》群规"] if title else []
    for key, head in SECTIONS_ZH:
        body = (data.get(key) or "").strip()
        if body:
            parts.append(f"{head}{body}")
    return "\n".join(parts)


def _columns(text: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.5 for ch in text)


@dataclass(frozen=True)
class Fit:
    lines: int
    max_lines: int

    @property
    def fits(self) -> bool:
        return self.lines <= self.max_lines


def fit(text: str) -> Fit:
    lines = sum(max(1, math.ceil(_columns(line) / LINE_COLUMNS)) for line in text.split("\n")) if text else 0
    return Fit(lines=lines, max_lines=SCREEN_LINES)
