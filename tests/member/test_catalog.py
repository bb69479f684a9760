"""Every string of the member pages is in both languages: a phone in 中文 never reads an English sentence."""

from __future__ import annotations

import re
from pathlib import Path

from siyu.console import member
from siyu.console.render import TEMPLATES
from siyu.kit import i18n

MSGID = re.compile(r'''(?:\b_|ngettext)\(\s*"((?:[^"\\]|\\.)+)"''')


def _msgids() -> set[str]:
    found = set()
    for template in sorted(Path(TEMPLATES, "member").glob("*.html")):
        found.update(MSGID.findall(template.read_text(encoding="utf-8")))
    for title, text in member.PROBLEMS.values():
        found.update((title, text))
    return found


def test_every_member_page_string_has_a_chinese_translation() -> None:
    zh = i18n.translations("zh_CN")
    ids = _msgids()
    assert len(ids) > 40
    untranslated = sorted(m for m in ids if zh.ugettext(m) == m)
    assert untranslated == []


def test_the_english_catalog_has_them_too() -> None:
    en = i18n.translations("en")
    assert sorted(m for m in _msgids() if en.ugettext(m) != m) == []
    from babel.messages.pofile import read_po

    with (i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "member.po").open("rb") as fh:
        listed = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    assert {m for m in _msgids() if "%(num)s" not in m} <= listed
