"""Playbook files: the shipped ones are valid; mistakes are reported with their place."""

from __future__ import annotations

import pytest

from siyu.kit.errors import Invalid
from siyu.playbooks import loader


def test_the_three_shipped_playbooks_are_valid() -> None:
    names = {pb.name: pb for pb in loader.shipped()}
    assert set(names) == {"knowledge-community", "course-cycle", "flash-sale"}
    k = names["knowledge-community"]
    assert {c.rrule for c in k.calendar} >= {"FREQ=DAILY", "FREQ=WEEKLY;BYDAY=TU", "FREQ=WEEKLY;BYDAY=TH"}
    flash = names["flash-sale"]
    kinds = [s.do for s in flash.timeline]
    for needed in ("staff_task", "post", "solitaire", "draw", "draw_winners", "countdown", "close_interaction",
                   "close_group"):
        assert needed in kinds


@pytest.mark.parametrize(("text", "fragment"), [
    ("name: ok-name\nversion: '1'\ntitle: t\ncalendar:\n - {title: a, text: b, rrule: FREQ=SOMETIMES}\n",
     "calendar.0.rrule"),
    ("name: ok-name\nversion: '1'\ntitle: t\ncalendar:\n - {title: a, text: b, rrule: FREQ=DAILY, time: '25:00'}\n",
     "calendar.0.time"),
    ("name: ok-name\nversion: '1'\ntitle: t\ntimeline:\n - {at: 'D0 20:00', do: countdown, ref: x, text: a}\n",
     "used before"),
    ("name: ok-name\nversion: '1'\ntitle: t\ntimeline:\n - {at: 'tomorrow', do: post, text: a}\n",
     "timeline.0.at"),
    ("name: ok-name\nversion: '1'\ntitle: t\nsettings: {daily_cap: 9}\n", "daily_cap"),
    ("name: Not A Slug\nversion: '1'\ntitle: t\n", "name"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_mistakes_are_named(text: str, fragment: str) -> None:
    with pytest.raises(Invalid) as err:
        loader.parse(text, "x.yaml")
    assert fragment in err.value.message
    assert err.value.code in ("playbook_invalid", "playbook_yaml")
