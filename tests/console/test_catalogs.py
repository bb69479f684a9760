"""The console's catalogs are merged at run time, one file per part of the console: a msgid two files translate
differently would take whichever file merges last (the calendar's 下一周 turned every pager's "Next" into "next
week"). Strings that mean different things get different msgids."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parents[2] / "src" / "siyu" / "console" / "locales"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_no_msgid_is_translated_two_ways(locale: str) -> None:
    seen: dict[str, dict[str, str]] = {}
    for po in sorted((LOCALES / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for m in read_po(fh, locale=locale):
                if m.id and m.string:
                    seen.setdefault(str(m.id), {})[po.name] = str(m.string)
    clashes = {k: v for k, v in seen.items() if len(set(v.values())) > 1}
    assert clashes == {}
