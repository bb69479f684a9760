"""What operators read instead of machine codes: labels and one-line summaries, in the console's language.

The engine speaks in codes — event types (`moderation.decided`), decisions (`blacklist`), playbook step kinds
(`staff_task`), calendar kinds (`morning_report`), error codes (`community_name_taken`) and pydantic error types
(`string_too_short`). The API keeps them (clients switch on them); the console never shows one. This module is
the one place that turns them into sentences: every table maps a code to an English msgid (marked with `N_`,
translated through the merged gettext catalogs, `locales/*/labels.po`), and `Labels` — one per locale, a Jinja
global named `labels` — renders them.

Summaries are `Markup`: the sentence comes from our catalog, every value in it (a nickname, a group name, a
message a member wrote) is escaped by `Markup.__mod__`, so member text can never become markup.

Domain errors are translated by their code. The English messages quote the names they are about (`{name!r}`:
"a community named '财税交流群' exists"); those quoted values and the error's `detail` fill the placeholders of
the translation, and when a value is missing the sentence without it is used. A code not in the catalog falls
back to a sentence for its HTTP status that names nothing internal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from babel.support import NullTranslations
from markupsafe import Markup, escape

from siyu.kit import i18n


def N_(message: str) -> str:
    """Mark a msgid for extraction; it is translated where it is shown."""
    return message


class EventLike(Protocol):
    """What a summary reads of an event (a stored `Event` or an `EventOut`)."""

    @property
    def type(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def group_id(self) -> int | None: ...
    @property
    def contact_id(self) -> int | None: ...


# -- plain labels ------------------------------------------------------------------------------------------------

EVENT_TYPES: dict[str, str] = {
    "contact.created": N_("Contact created"),
    "contact.identified": N_("Identity added"),
    "contact.merged": N_("Contacts merged"),
    "contact.tagged": N_("Tagged"),
    "contact.untagged": N_("Tag removed"),
    "contact.joined_via_channel": N_("Scanned a channel code"),
    "contact.questionnaire_answered": N_("Questionnaire answered"),
    "contact.added": N_("Added as a friend"),
    "contact.removed": N_("Friendship ended"),
    "group.member_joined": N_("Joined a group"),
    "group.member_left": N_("Left a group"),
    "group.created": N_("Group created"),
    "group.renamed": N_("Group renamed"),
    "group.dismissed": N_("Group dissolved"),
    "group.went_quiet": N_("Group went quiet"),
    "message.posted": N_("Message posted"),
    "action.sent": N_("Sent"),
    "action.failed": N_("Sending failed"),
    "action.task_open": N_("Waiting for staff"),
    "action.task_done": N_("Done by staff"),
    "action.expired": N_("Expired"),
    "link.clicked": N_("Link clicked"),
    "page.viewed": N_("Page viewed"),
    "form.submitted": N_("Form submitted"),
    "order.paid": N_("Order paid"),
    "faq.replied": N_("FAQ auto reply"),
    "faq.suggested": N_("FAQ suggestion for staff"),
    "moderation.decided": N_("Moderation"),
    "moderation.undone": N_("Moderation undone"),
    "alert.raised": N_("Alert"),
    "content.unlocked": N_("Content unlocked"),
    "interaction.created": N_("Interaction started"),
    "interaction.joined": N_("Joined a solitaire"),
    "interaction.entered": N_("Entered a lucky draw"),
    "interaction.answered": N_("Answered"),
    "interaction.rolled": N_("Rolled the dice"),
    "interaction.won": N_("Won"),
    "interaction.closed": N_("Interaction closed"),
    "interaction.share_verified": N_("Share verified"),
}

#: The moderation ladder's rungs, as what happened to the member.
DECISIONS: dict[str, str] = {"warn": N_("Warned"), "remove": N_("Removed"), "blacklist": N_("Blacklisted")}

#: Moderation rules, as what the member did ("for a link").
RULES: dict[str, str] = {
    "word": N_("a sensitive word"), "link": N_("a link"), "qr_code": N_("a QR code"), "card": N_("a contact card"),
    "mini_program": N_("a mini program"), "flood": N_("flooding"), "spam_wave": N_("the same text in many groups"),
    "contact_number": N_("a phone number or WeChat id"), "complaint": N_("a complaint"),
}

STEP_KINDS: dict[str, str] = {
    "post": N_("Post in the group"), "staff_task": N_("Task for staff"), "solitaire": N_("Solitaire (接龙)"),
    "draw": N_("Lucky draw"), "draw_winners": N_("Draw the winners"), "quiz": N_("Quiz"), "poll": N_("Poll"),
    "countdown": N_("Countdown post"), "close_interaction": N_("Close the interaction"),
    "close_group": N_("Close the group"),
}

#: Calendar (SOP) kinds the shipped playbooks and the docs use. A kind is free text: others show as typed.
CALENDAR_KINDS: dict[str, str] = {
    "content": N_("Content"), "morning_report": N_("Morning report"), "dry_goods": N_("Practical tips"),
    "course": N_("Course"), "course_preview": N_("Course preview"), "course_countdown": N_("Course countdown"),
    "course_replay": N_("Course replay"), "homework": N_("Homework"), "discussion": N_("Discussion"),
    "quiz": N_("Quiz"), "activity": N_("Activity"), "flash": N_("Limited-time offer"),
    "flash_sale": N_("Limited-time offer"),
    "promotion": N_("Promotion"), "welcome": N_("Welcome"), "news": N_("News"), "notice": N_("Notice"),
    "checkin": N_("Check-in post"), "survey": N_("Survey"), "live": N_("Live stream"),
}

#: The issue's requirement codes that used to appear in warnings (「C3」): the name of what they check.
WARNINGS: dict[str, str] = {"C3": N_("Content mix"), "C9": N_("Dead group"), "C7": N_("Moderation"),
                            "C8": N_("FAQ")}

ALERT_KINDS: dict[str, str] = {
    "dead_group": N_("Dead group"), "complaint": N_("Complaint"), "missed_sop": N_("Missed SOP window"),
    "sop_missed": N_("Missed SOP window"), "playbook_task": N_("Playbook task"),
    "automation_failed": N_("Automation failed"),
}

INTERACTION_KINDS: dict[str, str] = {
    "solitaire": N_("Solitaire (接龙)"), "draw": N_("Lucky draw"), "quiz": N_("Quiz"), "poll": N_("Poll"),
    "dice": N_("Dice"),
}

ACTION_KINDS: dict[str, str] = {
    "welcome": N_("Welcome message"), "post_to_group": N_("Group message"), "direct_message": N_("Direct message"),
    "remove_member": N_("Removal from the group"),
}

JOIN_SCENES: dict[str, str] = {"qr": N_("by QR code"), "invite": N_("by invitation"), "link": N_("by link"),
                               "unseen": N_("before siyu saw it")}
QUIT_SCENES: dict[str, str] = {"left": N_("left by themselves"), "removed": N_("removed"),
                               "duplicate": N_("a duplicate stay was closed"), "dissolved": N_("the group closed")}


def action_purpose(key: str, kind: str) -> str:
    """What an outbox action was for, from its idempotency key (every automation keys its actions by its own
    prefix): an FAQ answer is a group message too, but an operator must see it as the FAQ's reply."""
    prefix = key.split(":", 1)[0]
    if prefix == "moderation":
        return N_("Moderation warning") if key.endswith(":warn") else N_("Removal for a violation")
    return {
        "faq": N_("FAQ auto reply"), "welcome": N_("Welcome message"), "sop": N_("Calendar post"),
        "bc": N_("Broadcast"), "pb": N_("Playbook post"), "interaction": N_("Interaction message"),
        "unlock": N_("Unlocked content"), "sharelink": N_("Personal share link"),
    }.get(prefix, ACTION_KINDS.get(kind, N_("Message")))


# -- domain errors -----------------------------------------------------------------------------------------------

#: Error code → (translation with placeholders, translation without). Placeholders: `q1`, `q2` are the values the
#: English message quotes; detail keys by name; `role` the caller's role.
ERRORS: dict[str, tuple[str, str]] = {
    "bad_request": ("", N_("The request could not be understood.")),
    "not_found": ("", N_("This page or object does not exist (any more).")),
    "conflict": ("", N_("This conflicts with the current state; reload the page and try again.")),
    "invalid": ("", N_("Some input is not valid.")),
    "unauthorized": ("", N_("Please log in.")),
    "too_many_requests": ("", N_("Too many requests; wait a moment and try again.")),
    "method_not_allowed": ("", N_("This page cannot be used this way.")),
    "not_acceptable": ("", N_("This page cannot be shown in this format.")),
    "unsupported_media_type": ("", N_("This kind of upload is not supported.")),
    "http_error": ("", N_("The request could not be handled.")),
    "internal_error": ("", N_("Something went wrong on the server; it was logged. Trying again is safe: nothing "
                              "was done twice or half.")),
    "forbidden": (N_("Your role (%(role)s) may not do this."), N_("You may not do this.")),
    "csrf_failed": ("", N_("The page was open too long or in another session; reload it and try again.")),
    "invalid_token": ("", N_("This API token is invalid or revoked.")),
    "not_authenticated": ("", N_("Please log in.")),
    "too_many_attempts": ("", N_("Too many attempts; wait a few minutes and try again.")),
    "blacklisted": ("", N_("This member is blacklisted and cannot join through channel codes.")),
    "action_not_found": ("", N_("This message or task does not exist.")),
    "alert_not_found": ("", N_("This alert does not exist.")),
    "automation_failure_not_found": ("", N_("This automation failure does not exist.")),
    "already_answered": ("", N_("This message was already answered.")),
    "already_exempt": ("", N_("This member is already whitelisted.")),
    "already_merged": ("", N_("This contact was already merged.")),
    "already_undone": ("", N_("This decision was already undone.")),
    "batch_too_large": ("", N_("Too many events in one request.")),
    "body_too_large": ("", N_("The upload is too large.")),
    "file_too_large": ("", N_("The file is too large.")),
    "channel_code_inactive": (N_("The channel code “%(q1)s” is switched off."),
                              N_("This channel code is switched off.")),
    "channel_code_not_found": ("", N_("This channel code does not exist.")),
    "closes_at_past": ("", N_("The closing time is in the past.")),
    "community_missing": ("", N_("Choose a community.")),
    "community_name_taken": (N_("A community named “%(q1)s” already exists."),
                             N_("A community with this name already exists.")),
    "community_not_found": ("", N_("This community does not exist.")),
    "contact_not_found": ("", N_("This contact does not exist or is not assigned to you.")),
    "correct_out_of_range": ("", N_("The correct answer must be one of the options.")),
    "correct_required": ("", N_("A quiz needs the correct option.")),
    "decision_not_found": ("", N_("This moderation decision does not exist.")),
    "empty_file": ("", N_("The file is empty.")),
    "exemption_not_found": ("", N_("This whitelist entry does not exist.")),
    "faq_entry_not_found": ("", N_("This FAQ entry does not exist.")),
    "field_not_for_kind": ("", N_("This field does not apply to this kind of interaction.")),
    "group_exists": ("", N_("A group with this platform id already exists.")),
    "group_full": (N_("The group “%(q1)s” is full."), N_("The group is full.")),
    "group_missing": ("", N_("Choose a group.")),
    "group_not_active": (N_("The group “%(q1)s” is no longer active."), N_("The group is no longer active.")),
    "group_not_found": ("", N_("This group does not exist.")),
    "identity_taken": ("", N_("A contact with this identity already exists.")),
    "import_rejected": ("", N_("Some rows have errors, so nothing was imported.")),
    "interaction_already_open": ("", N_("This group already has an open interaction of this kind; close it "
                                        "first.")),
    "interaction_not_found": ("", N_("This interaction does not exist.")),
    "invalid_broadcast_id": ("", N_("This broadcast id is not valid.")),
    "invalid_character": ("", N_("A text contains a character that cannot be stored.")),
    "invalid_cursor": ("", N_("This page link is out of date; start again from the first page.")),
    "invalid_daily_cap": ("", N_("Posts per group and day must be between 1 and 5.")),
    "invalid_date": ("", N_("Enter a date (YYYY-MM-DD).")),
    "invalid_event": ("", N_("An event is not valid.")),
    "invalid_events": ("", N_("The events are not valid.")),
    "invalid_format": ("", N_("This format is not offered.")),
    "invalid_json": ("", N_("The data is not valid JSON.")),
    "invalid_message": ("", N_("A message needs 1 to 2000 characters.")),
    "invalid_mode": ("", N_("This mode is not valid.")),
    "invalid_name": ("", N_("Enter a name.")),
    "invalid_nickname": ("", N_("A nickname needs 1 to 100 characters.")),
    "invalid_number": (N_("%(field)s must be a whole number."), N_("Enter a whole number.")),
    "invalid_option": (N_("“%(q1)s” is not an option of “%(q2)s”."), N_("This is not one of the options.")),
    "invalid_password": ("", N_("A password has at most 200 characters.")),
    "invalid_payload": ("", N_("The event's data is not valid.")),
    "invalid_range": ("", N_("The end must be after the start.")),
    "invalid_role": ("", N_("Choose one of the offered roles.")),
    "invalid_sandbox_mode": ("", N_("Choose one of the offered sandbox modes.")),
    "invalid_tag_name": ("", N_("Tag group and tag name need 1 to 30 characters each.")),
    "invalid_token_name": ("", N_("A token name needs 1 to 100 characters.")),
    "invalid_username": ("", N_("A username needs 1 to 64 characters.")),
    "invalid_visitor": ("", N_("This link is not valid.")),
    "join_not_applied": ("", N_("Joining the group did not take effect; try again.")),
    "last_admin": ("", N_("The last active admin cannot be demoted or disabled.")),
    "merge_self": ("", N_("A contact cannot be merged into itself.")),
    "missing_columns": ("", N_("The file lacks required columns.")),
    "naive_datetime": ("", N_("Times need a time zone.")),
    "no_answers": ("", N_("Choose at least one answer.")),
    "no_file": ("", N_("Choose a .xlsx or .csv file.")),
    "no_group_with_room": (N_("Every group of “%(q1)s” is full; add a group."),
                           N_("Every group of this community is full; add a group.")),
    "not_a_contact": ("", N_("Scan a code or join a group first.")),
    "not_a_draw": ("", N_("This interaction is not a lucky draw.")),
    "not_a_member": ("", N_("The member is not in this group; join it first.")),
    "not_a_solitaire": ("", N_("Only a solitaire has a live list.")),
    "not_an_open_task": ("", N_("This task is no longer open; someone may have just completed it.")),
    "options_required": ("", N_("Give at least two options.")),
    "playbook_applied": ("", N_("This playbook is already applied to this target.")),
    "playbook_invalid": ("", N_("This playbook is not valid.")),
    "playbook_no_groups": (N_("“%(q1)s” has no active group yet: add a group to the community first, then "
                              "preview or apply the playbook."),
                           N_("This community has no active group yet: add a group first, then preview or apply "
                              "the playbook.")),
    "playbook_not_found": ("", N_("This playbook does not exist.")),
    "playbook_ref_missing": ("", N_("The interaction this step refers to was not started.")),
    "playbook_run_not_found": ("", N_("This playbook run does not exist.")),
    "playbook_step_kind": ("", N_("This kind of playbook step is not known.")),
    "playbook_target": ("", N_("Choose a community or some groups (not both).")),
    "playbook_yaml": ("", N_("This playbook file is not valid YAML.")),
    "quick_reply_not_found": ("", N_("This quick reply does not exist.")),
    "range_too_long": ("", N_("At most 62 days at a time.")),
    "role_not_found": ("", N_("This role does not exist.")),
    "sandbox_member_not_found": ("", N_("This sandbox member does not exist.")),
    "share_link_not_found": ("", N_("This share link does not exist.")),
    "sop_item_not_found": ("", N_("This calendar item does not exist.")),
    "source_key_collision": ("", N_("This event was already recorded with different content.")),
    "state_missing": ("", N_("Choose a channel code to scan.")),
    "state_taken": (N_("The parameter “%(q1)s” is used by another channel code."),
                    N_("This parameter is used by another channel code.")),
    "suggestion_not_found": ("", N_("This suggestion does not exist.")),
    "tag_not_on_contact": ("", N_("The contact does not have this tag.")),
    "token_not_found": ("", N_("This token does not exist.")),
    "too_many_rows": ("", N_("Too many rows in one import.")),
    "too_many_words": ("", N_("Too many words in one list.")),
    "unknown_connector": ("", N_("This platform connector is not set up.")),
    # connectors (connectors/instances.py, the webhook bridge)
    "unknown_connector_kind": ("", N_("This kind of connector is not offered.")),
    "invalid_connector_name": ("", N_("A connector name needs 2 to 32 lowercase letters, digits, - or _, starting "
                                      "with a letter.")),
    "connector_name_taken": (N_("A connector named “%(q1)s” already exists."),
                             N_("A connector with this name already exists.")),
    "connector_busy": (N_("%(n)s action(s) are still waiting to go out through this connector; let them finish or "
                          "fail first."), N_("Actions are still waiting to go out through this connector.")),
    "signature_missing": ("", N_("The request is not signed.")),
    "invalid_signature": ("", N_("The signature does not match.")),
    "stale_signature": ("", N_("The request's timestamp is outside the tolerance window.")),
    "replayed_signature": ("", N_("This signed request was already received.")),
    "connector_unusable": ("", N_("This connector cannot be used: its secrets were saved under another secret "
                                  "key.")),
    "unknown_contact": ("", N_("This contact does not exist.")),
    "unknown_event_type": ("", N_("This kind of event is not known.")),
    "unknown_group": ("", N_("This group does not exist.")),
    "unknown_owner": ("", N_("Choose an active user.")),
    "invalid_locale": ("", N_("Choose 中文 or English.")),
    "unknown_question": (N_("“%(q1)s” is not a question of this questionnaire."),
                         N_("This question is not in the questionnaire.")),
    "unknown_tag": ("", N_("A chosen tag does not exist.")),
    "unreadable_file": ("", N_("This file cannot be read: upload a .xlsx file, or a .csv file saved as UTF-8.")),
    "user_not_found": ("", N_("This user does not exist.")),
    "username_taken": (N_("The username “%(q1)s” is taken."), N_("This username is taken.")),
    "value_out_of_range": ("", N_("A number is out of range.")),
    "weak_password": ("", N_("A password needs at least 8 characters.")),
    "word_list_name_taken": (N_("A word list named “%(q1)s” already exists."),
                             N_("A word list with this name already exists.")),
    "word_list_not_found": ("", N_("This word list does not exist.")),
    "word_too_long": ("", N_("A word has at most 100 characters.")),
    "workspace_not_found": ("", N_("This workspace does not exist.")),
    # the operator's pages: contacts' bulk tagging and notes, a group's edit and close
    "no_contacts": ("", N_("Tick at least one contact first.")),
    "too_many_contacts": ("", N_("At most 200 contacts at once; narrow the list or tick fewer.")),
    "no_tag": ("", N_("Choose a tag or type a new one.")),
    "empty_note": ("", N_("Write the note first.")),
    "note_too_long": ("", N_("A note has at most 2000 characters.")),
    "group_not_closed": ("", N_("This group is not closed.")),
    "already_submitted": ("", N_("This form was already sent; it was done once.")),
    "broadcast_not_found": ("", N_("This broadcast does not exist.")),
    "damaged_xlsx": ("", N_("This file cannot be opened as an Excel workbook: save it again as .xlsx, or as CSV "
                            "UTF-8.")),
    "invalid_preview": ("", N_("The preview could not be read; upload the file again.")),
    "join_elsewhere": ("", N_("Join through the platform's own link or QR code.")),
    "nickname_missing": ("", N_("Enter a name to join.")),
    "not_a_spreadsheet": ("", N_("This file is not a spreadsheet: choose an Excel workbook (.xlsx) or a CSV file "
                                 "(.csv).")),
    "old_excel_format": ("", N_("This is an old Excel workbook (.xls): save it as .xlsx (or CSV UTF-8) and import "
                                "that file.")),
    "validation_error": ("", N_("Some fields are not filled in correctly.")),
    "invalid_sop_item": ("", N_("This calendar item is not valid.")),
}

#: When a code is not in the catalog: a sentence for its status that names nothing internal.
BY_STATUS: dict[int, str] = {
    400: N_("The request could not be understood."), 401: N_("Please log in."), 403: N_("You may not do this."),
    404: N_("This page or object does not exist (any more)."),
    409: N_("This conflicts with the current state; reload the page and try again."),
    413: N_("The upload is too large."), 422: N_("Some input is not valid."),
    429: N_("Too many requests; wait a moment and try again."),
}
GENERIC_ERROR = N_("That did not work. Reload the page and try again; if it keeps failing, tell your admin.")

ERROR_TITLES: dict[int, str] = {403: N_("Not allowed"), 404: N_("Not found"), 409: N_("Conflict")}

# -- form fields and validation ----------------------------------------------------------------------------------

#: Form and query fields by their schema name (the last part of an error's location).
FIELDS: dict[str, str] = {
    "name": N_("Name"), "title": N_("Title"), "text": N_("Text"), "question": N_("Question"),
    "answer": N_("FAQ answer"),
    "variants": N_("Variants"), "keywords": N_("Keywords"), "options": N_("Options"), "correct": N_("Correct option"),
    "stock": N_("Stock"), "closes_at": N_("Closes at"), "once_at": N_("Date and time"),
    "time_of_day": N_("Time of day"), "time": N_("Time"), "rrule": N_("Recurrence"),
    "offset_days": N_("Days after"), "kind": N_("Kind"), "owner": N_("Owner"), "notes": N_("Notes"),
    "community_id": N_("Community"), "group_id": N_("Group"), "group_ids": N_("Groups"),
    "community_ids": N_("Communities"), "tag_ids": N_("Tags"), "item_id": N_("Item"), "contact_id": N_("Contact"),
    "owner_user_id": N_("Assigned to"), "role": N_("Role"), "username": N_("Username"), "password": N_("Password"),
    "state": N_("Channel parameter"), "tags": N_("Tags"), "tag": N_("Tag"), "group": N_("Tag group"),
    "capacity": N_("Capacity"), "default_capacity": N_("Group capacity"), "welcome_text": N_("Welcome text"),
    "activities": N_("Activities"), "questionnaire": N_("Questionnaire"), "tag_group": N_("Tag group"),
    "type": N_("Type"), "purpose": N_("Purpose"), "orientation": N_("Orientation"), "north_star": N_("North star"),
    "region": N_("Region"), "name_card": N_("Name card format"), "offers": N_("What the group offers"),
    "how_to_ask": N_("How to ask"), "forbidden": N_("Not allowed in the group"), "allowed": N_("Allowed"),
    "penalties": N_("Penalties"), "words": N_("Words"), "severity": N_("First step"), "note": N_("Note"),
    "daily_cap": N_("Posts per group and day"), "quiet_hours": N_("Quiet hours"), "threshold": N_("Threshold"),
    "suggest_threshold": N_("Suggestion threshold"), "rate_per_minute": N_("Replies per minute"),
    "warn_text": N_("Warning text"), "ladder": N_("Ladder"), "ladder_days": N_("Ladder days"),
    "flood_messages": N_("Flooding: messages"), "flood_seconds": N_("Flooding: within seconds"),
    "wave_groups": N_("Same text: groups"), "wave_seconds": N_("Same text: within seconds"),
    "wave_min_chars": N_("Same text: at least characters"), "newcomer_hours": N_("Newcomers: first hours"),
    "cursor": N_("Page position"), "limit": N_("Page size"), "q": N_("Search"), "anchor": N_("Day D0"),
    "days": N_("Days"), "mode": N_("Mode"), "url": N_("Link"), "description": N_("Description"),
    "platform": N_("Platform"), "external_id": N_("Platform id"), "display_name": N_("Name"),
    "target": N_("Target"), "timing": N_("Timing"), "missed_policy": N_("When a window is missed"),
    "variant": N_("Variant"), "attachments": N_("Attachments"), "starts_at": N_("Starts at"),
    "ends_at": N_("Ends at"), "week": N_("Week"), "file": N_("File"), "expires_at": N_("Expires at"),
    "terms": N_("Allowed terms"),
    # connector settings (connectors/webhook/connector.py: WebhookConfig)
    "secret": N_("Signing secret"), "outbound_url": N_("Outbound URL"),
    "outbound_secret": N_("Outbound signing secret"),
    "tolerance_seconds": N_("Tolerance window (seconds)"), "timeout_seconds": N_("Outbound timeout (seconds)"),
}
A_FIELD = N_("A field")

#: pydantic error type → sentence; `%(field)s` is the field's label, `%(n)s` the limit from the error's context.
ERROR_TYPES: dict[str, str] = {
    "missing": N_("%(field)s is required."),
    "string_too_long": N_("%(field)s: at most %(n)s characters."),
    "too_short": N_("%(field)s: at least %(n)s items."),
    "too_long": N_("%(field)s: at most %(n)s items."),
    "int_parsing": N_("%(field)s must be a whole number."), "int_type": N_("%(field)s must be a whole number."),
    "int_from_float": N_("%(field)s must be a whole number."),
    "float_parsing": N_("%(field)s must be a number."), "float_type": N_("%(field)s must be a number."),
    "decimal_parsing": N_("%(field)s must be a number."),
    "greater_than_equal": N_("%(field)s must be at least %(n)s."),
    "greater_than": N_("%(field)s must be more than %(n)s."),
    "less_than_equal": N_("%(field)s must be at most %(n)s."),
    "less_than": N_("%(field)s must be less than %(n)s."),
    "literal_error": N_("%(field)s: choose one of the offered options."),
    "enum": N_("%(field)s: choose one of the offered options."),
    "bool_parsing": N_("%(field)s must be yes or no."), "bool_type": N_("%(field)s must be yes or no."),
    "date_parsing": N_("%(field)s must be a date."), "date_from_datetime_parsing": N_("%(field)s must be a date."),
    "date_type": N_("%(field)s must be a date."),
    "datetime_parsing": N_("%(field)s must be a date and time."),
    "datetime_from_date_parsing": N_("%(field)s must be a date and time."),
    "datetime_type": N_("%(field)s must be a date and time."),
    "time_parsing": N_("%(field)s must be a time (HH:MM)."),
    "timezone_aware": N_("%(field)s needs a time zone."),
    "url_parsing": N_("%(field)s must be a web address."), "url_type": N_("%(field)s must be a web address."),
    "url_scheme": N_("%(field)s must be a web address."),
    "string_pattern_mismatch": N_("%(field)s has the wrong format."),
    "string_type": N_("%(field)s must be text."), "list_type": N_("%(field)s must be a list."),
    "extra_forbidden": N_("%(field)s is not expected here."),
}
STRING_EMPTY = N_("%(field)s cannot be empty.")
STRING_TOO_SHORT = N_("%(field)s: at least %(n)s characters.")
FIELD_INVALID = N_("%(field)s is not filled in correctly.")
FIELD_WITH_REASON = N_("%(field)s: %(reason)s")

#: English sentences of our own validators (`raise ValueError(...)`), by how they start → translation.
VALUE_ERRORS: tuple[tuple[str, str], ...] = (
    ("a tag is 'group:name'", N_("a tag is “group:name”, each part 1 to 30 characters")),
    ("tag ", N_("a tag is “group:name”, each part 1 to 30 characters")),
    ("time of day must be HH:MM", N_("the time must be HH:MM (00:00–23:59)")),
    ("time must be HH:MM", N_("the time must be HH:MM (00:00–23:59)")),
    ("an rrule item needs a rule", N_("a recurring item needs a recurrence rule, e.g. FREQ=WEEKLY;BYDAY=TU")),
    ("timing 'rrule' needs an rrule", N_("a recurring item needs a recurrence rule, e.g. FREQ=DAILY")),
    ("give only the RRULE part", N_("give only the rule (no DTSTART): the start comes from the item")),
    ("FREQ must be one of", N_("the recurrence must be daily, weekly, monthly or yearly")),
    ("not a valid RRULE", N_("this is not a valid recurrence rule")),
    ("not an iCalendar RRULE", N_("this is not a valid recurrence rule")),
    ("give exactly one target", N_("choose exactly one target: a community (all its groups) or one group")),
    ("timing 'once' needs once_at", N_("a one-off item needs a date and time")),
    ("an item needs text", N_("an item needs text, attachments or variants")),
    ("variant names must be unique", N_("variant names must differ")),
    ("starts_at must be before ends_at", N_("the start must be before the end")),
    ("quiet_hours is", N_("quiet hours are a start and an end time")),
    ("quiet hours need a start different", N_("quiet hours need a start different from the end")),
    ("give item_id or text", N_("choose an item or write a text (not both)")),
    ("choose at least one community", N_("choose at least one community, group or tag")),
    ("only {nickname} and {rule}", N_("only {nickname} and {rule} may appear in braces")),
    ("closes_at needs a time zone", N_("the closing time needs a time zone")),
    ("each option needs 1 to 100", N_("each option needs 1 to 100 characters")),
    ("options must differ", N_("options must differ")),
    ("suggest_threshold must not be above", N_("the suggestion threshold must not be above the threshold")),
    ("an item has at most 500", N_("an entry has at most 500 characters")),
    ("must not be blank", N_("must not be blank")),
    ("must be between the years", N_("the date is out of range")),
    ("at must look like", N_("the time must look like “D0 20:00”, “D-3 10:00” or “D+1 12:00”")),
    ("not a date and time", N_("must be a date and time")),
    ("must be a date and time", N_("must be a date and time")),
)

# -- recurrences and calendar reasons ---------------------------------------------------------------------------

WEEKDAYS: dict[str, str] = {"MO": N_("Mon"), "TU": N_("Tue"), "WE": N_("Wed"), "TH": N_("Thu"), "FR": N_("Fri"),
                            "SA": N_("Sat"), "SU": N_("Sun")}
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^in the quiet hours (?P<start>\d\d:\d\d)–(?P<end>\d\d:\d\d) of (?P<group>.*)$"),
     N_("within the quiet hours %(start)s–%(end)s of %(group)s")),
    (re.compile(r"^daily cap of (?P<cap>\d+) posts reached in (?P<group>.*) on (?P<day>\d{4}-\d\d-\d\d)"),
     N_("the daily cap of %(cap)s posts was reached in %(group)s on %(day)s; activity posts, then earlier ones "
        "were kept")),
    (re.compile(r"^missed by (?P<min>\d+) min .*policy: skip$"),
     N_("missed by %(min)s min because the scheduler was not running; skipped as set")),
    (re.compile(r"^sent late by (?P<min>\d+) min .*policy: late$"),
     N_("sent %(min)s min late because the scheduler was not running")),
    (re.compile(r"^the item was switched off$"), N_("the item was switched off")),
    (re.compile(r"^the group is gone or archived$"), N_("the group is gone or archived")),
    (re.compile(r"^the member left the group$"), N_("the member left the group")),
)

_QUOTED = re.compile(r"""'([^']*)'|"([^"]*)\"""")
_DAY = re.compile(r"^D([+-]?\d{1,3}) (\d\d:\d\d)$")


def plain_errors(errors: Any, limit: int = 5) -> list[dict[str, Any]]:
    """pydantic's errors as plain data (location, type, message and the numbers of its context — no exception
    objects), for an error's `detail`: JSON can carry it and `Labels.field_errors` translates it."""
    out: list[dict[str, Any]] = []
    for e in list(errors)[:limit]:
        ctx = e.get("ctx") or {}
        out.append({"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                    "type": str(e.get("type") or ""), "msg": str(e.get("msg") or ""),
                    "ctx": {str(k): v for k, v in ctx.items() if isinstance(v, str | int | float)}})
    return out


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failing form field, translated (the console lists these under the form)."""

    field: str
    message: str


class Labels:
    """The tables above in one locale. A Jinja global (`labels`); views and tests may use it directly."""

    def __init__(self, translations: NullTranslations) -> None:
        self._tr = translations

    # -- basics ---------------------------------------------------------------------------------------------

    def gettext(self, msgid: str, **params: Any) -> str:
        text = str(self._tr.ugettext(msgid))
        return text % params if params else text

    def _markup(self, msgid: str, **params: Any) -> Markup:
        """A catalog sentence with its values escaped (a value that is already Markup, a link, stays)."""
        text = escape(str(self._tr.ugettext(msgid)))
        return text % params if params else text

    def _of(self, table: Mapping[str, str], code: str | None, fallback: str | None = None) -> str:
        if code is None or code == "":
            return ""
        msgid = table.get(code)
        if msgid is not None:
            return self.gettext(msgid)
        return fallback if fallback is not None else code

    def event(self, event_type: str) -> str:
        if event_type.startswith("custom."):
            return self.gettext(N_("Custom event: %(name)s"), name=event_type[7:].replace("_", " "))
        return self._of(EVENT_TYPES, event_type, self.gettext(N_("Other event")))

    def decision(self, code: str) -> str:
        return self._of(DECISIONS, code)

    def rule(self, code: str) -> str:
        return self._of(RULES, code, self.gettext(N_("a rule")))

    def step(self, code: str) -> str:
        return self._of(STEP_KINDS, code)

    def calendar_kind(self, code: str) -> str:
        """Known kinds translated; a kind an operator typed is their own word and shows as typed."""
        return self._of(CALENDAR_KINDS, code)

    def warning(self, code: str) -> str:
        return self._of(WARNINGS, code)

    def alert_kind(self, code: str) -> str:
        return self._of(ALERT_KINDS, code, self.gettext(N_("Alert")))

    def interaction_kind(self, code: str) -> str:
        return self._of(INTERACTION_KINDS, code, self.gettext(N_("Interaction")))

    def action(self, key: str, kind: str) -> str:
        return self.gettext(action_purpose(key, kind))

    def day(self, at: str) -> str:
        """A playbook step's time ("D-1 20:00") as a sentence ("1 day before D0, 20:00")."""
        m = _DAY.match(at.strip())
        if not m:
            return at
        n, hhmm = int(m.group(1)), m.group(2)
        if n == 0:
            return self.gettext(N_("On D0 at %(time)s"), time=hhmm)
        if n < 0:
            return self.gettext(N_("%(n)s day(s) before D0 at %(time)s"), n=-n, time=hhmm)
        return self.gettext(N_("%(n)s day(s) after D0 at %(time)s"), n=n, time=hhmm)

    def recurrence(self, rrule: str | None) -> str:
        """Common RRULEs in words ("Every week on Tue, Thu"); anything rarer is shown as written."""
        if not rrule:
            return ""
        parts: dict[str, str] = {}
        for piece in rrule.strip().removeprefix("RRULE:").split(";"):
            k, _, v = piece.partition("=")
            parts[k.strip().upper()] = v.strip().upper()
        if set(parts) - {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT"}:
            return rrule
        freq, every = parts.get("FREQ"), parts.get("INTERVAL", "1")
        if not every.isdigit() or int(every) < 1:
            return rrule
        n = int(every)
        days = [d for d in parts.get("BYDAY", "").split(",") if d]
        if any(d not in WEEKDAYS for d in days):
            return rrule
        day_names = self.gettext(N_(", ")).join(self.gettext(WEEKDAYS[d]) for d in days)
        if freq == "DAILY" and not days and "BYMONTHDAY" not in parts:
            text = self.gettext(N_("Every day")) if n == 1 else self.gettext(N_("Every %(n)s days"), n=n)
        elif freq == "WEEKLY" and "BYMONTHDAY" not in parts:
            if n == 1:
                text = self.gettext(N_("Every week on %(days)s"), days=day_names) if days \
                    else self.gettext(N_("Every week"))
            else:
                text = self.gettext(N_("Every %(n)s weeks on %(days)s"), n=n, days=day_names) if days \
                    else self.gettext(N_("Every %(n)s weeks"), n=n)
        elif freq == "DAILY" and days and n == 1 and "BYMONTHDAY" not in parts:
            text = self.gettext(N_("Every week on %(days)s"), days=day_names)
        elif freq == "MONTHLY" and not days and n == 1 and parts.get("BYMONTHDAY", "").isdigit():
            text = self.gettext(N_("Every month on day %(d)s"), d=parts["BYMONTHDAY"])
        elif freq == "MONTHLY" and not days and "BYMONTHDAY" not in parts:
            text = self.gettext(N_("Every month")) if n == 1 else self.gettext(N_("Every %(n)s months"), n=n)
        else:
            return rrule
        count = parts.get("COUNT")
        if count is not None:
            if not count.isdigit():
                return rrule
            text = self.gettext(N_("%(rule)s, %(n)s times"), rule=text, n=int(count))
        return text

    def preview_text(self, kind: str, text: str) -> str:
        """A playbook preview line's text without the runner's bracketed step code ("[draw] …"): the step's
        label is beside it; steps that only act on an interaction or the group have nothing to read."""
        if kind in ("draw_winners", "close_interaction", "close_group"):
            return ""
        return re.sub(r"^\[[a-z_]+\] ?", "", text)

    def sop_reason(self, reason: str | None) -> str:
        """Why the calendar skipped, cancelled or delayed a post, in the console's language (the planner writes
        these in English for the API and the logs)."""
        if not reason:
            return ""
        for pattern, msgid in _REASONS:
            m = pattern.match(reason)
            if m:
                return self.gettext(msgid, **m.groupdict())
        return reason

    def missed_sop(self, message: str, detail: Mapping[str, Any] | None) -> str:
        """The missed-window alert (the scheduler writes it in English) as a sentence: which item, how many
        targets, what was done about it."""
        d = detail or {}
        quoted = [a or b for a, b in _QUOTED.findall(message)]
        title = quoted[0] if quoted else f"#{d.get('item_id', '?')}"
        msgid = N_("The calendar item “%(title)s” missed its time in %(n)s group(s) or member(s) because the "
                   "scheduler was not running; it was sent late.") if d.get("policy") == "late" else \
            N_("The calendar item “%(title)s” missed its time in %(n)s group(s) or member(s) because the scheduler "
               "was not running; it was skipped as set.")
        return self.gettext(msgid, title=title, n=d.get("count", "?"))

    # -- errors ---------------------------------------------------------------------------------------------

    def error_title(self, status: int) -> str:
        return self.gettext(ERROR_TITLES.get(status, N_("Something is not right")))

    def error(self, code: str, message: str = "", detail: Any = None, *, status: int = 400,
              role: str = "") -> str:
        """A domain error's sentence by its code, with what the English message quotes and its detail filled in;
        a code not in the catalog gets its status's sentence — never the English message."""
        if code in ("validation_error", "invalid_sop_item"):
            fields = self.field_errors(detail, message)
            if fields:
                return " ".join(f.message for f in fields)
        entry = ERRORS.get(code)
        if entry is None:
            return self.gettext(BY_STATUS.get(status, GENERIC_ERROR))
        with_values, plain = entry
        if with_values:
            params: dict[str, Any] = {}
            if isinstance(detail, Mapping):
                params.update({str(k): v for k, v in detail.items() if isinstance(v, str | int | float)})
            quoted = [a or b for a, b in _QUOTED.findall(message)]
            params.update({f"q{i + 1}": q for i, q in enumerate(quoted[:2])})
            if role:
                params["role"] = self.gettext(ROLES.get(role, role))
            if isinstance(detail, Mapping) and "field" in detail:
                params["field"] = self.field(str(detail["field"]))
            try:  # formatted even without values: a placeholder left open raises, and the plain sentence is used
                return str(self._tr.ugettext(with_values)) % params
            except (KeyError, TypeError, ValueError):
                pass
        return self.gettext(plain)

    def field(self, name: str) -> str:
        msgid = FIELDS.get(name)
        return self.gettext(msgid) if msgid is not None else self.gettext(A_FIELD)

    def _field_of(self, loc: Any) -> str:
        """The label of an error's location: its last named part (`questionnaire.2.options` → Options), the
        request part (`query`, `body`) dropped."""
        parts = [str(p) for p in (loc or ()) if isinstance(p, str) and p not in ("query", "body", "path", "form")]
        return self.field(parts[-1]) if parts else self.gettext(A_FIELD)

    def reason(self, english: str) -> str | None:
        """Our validators' English sentences in the console's language (None: not one of ours)."""
        text = english.removeprefix("Value error, ").removeprefix("Assertion failed, ").strip()
        for start, msgid in VALUE_ERRORS:
            if text.startswith(start):
                return self.gettext(msgid)
        return None

    def field_errors(self, detail: Any, message: str = "") -> list[FieldError]:
        """The failing fields of a validation error, each as "名称不能为空". From the structured errors in
        `detail` (the console's `parse` and the request validator put them there); failing that, from an English
        "field: reason" message."""
        out: list[FieldError] = []
        if isinstance(detail, list):
            for err in detail[:5]:
                if isinstance(err, Mapping):
                    out.append(self._one(err))
        elif message:
            for part in message.split("; ")[:5]:
                loc, sep, why = part.partition(": ")
                if sep and re.fullmatch(r"[a-z_][a-z0-9_.]*", loc):
                    label = self._field_of(loc.split("."))
                    reason = self.reason(why)
                    text = self.gettext(FIELD_WITH_REASON, field=label, reason=reason) if reason \
                        else self.gettext(FIELD_INVALID, field=label)
                    out.append(FieldError(loc, text))
                else:
                    first, reason = part.split(" ", 1)[0], self.reason(part)
                    if reason:  # a rule about the whole form ("choose exactly one target …")
                        out.append(FieldError("", reason))
                    elif first in FIELDS:
                        out.append(FieldError(first, self.gettext(FIELD_INVALID, field=self.field(first))))
        seen: set[str] = set()
        unique = []
        for f in out:
            if f.message not in seen:
                seen.add(f.message)
                unique.append(f)
        return unique

    def _one(self, err: Mapping[str, Any]) -> FieldError:
        loc = err.get("loc") or ()
        label = self._field_of(loc)
        kind = str(err.get("type") or "")
        ctx = err.get("ctx") if isinstance(err.get("ctx"), Mapping) else {}
        assert isinstance(ctx, Mapping)
        where = ".".join(str(p) for p in loc)
        if kind == "string_too_short":
            n = ctx.get("min_length", 1)
            text = self.gettext(STRING_EMPTY, field=label) if n == 1 \
                else self.gettext(STRING_TOO_SHORT, field=label, n=n)
            return FieldError(where, text)
        msgid = ERROR_TYPES.get(kind)
        if msgid is not None:
            n = next((ctx[k] for k in ("max_length", "min_length", "ge", "gt", "le", "lt") if k in ctx), "")
            return FieldError(where, self.gettext(msgid, field=label, n=n))
        reason = self.reason(str(err.get("msg") or ""))
        named = any(isinstance(p, str) and p not in ("query", "body", "path", "form") for p in loc)
        if reason:  # our own validator's sentence: on its field, or alone for a rule about the whole form
            return FieldError(where, self.gettext(FIELD_WITH_REASON, field=label, reason=reason) if named
                              else reason)
        return FieldError(where, self.gettext(FIELD_INVALID, field=label))

    # -- timeline -------------------------------------------------------------------------------------------

    def summary(self, ev: EventLike, names: Mapping[str, Any] | None = None) -> Markup:
        """One readable line for a timeline row: who did what, where. Raw payloads stay behind a disclosure."""
        n: Mapping[str, Any] = names or {}
        p = ev.payload or {}
        fn = _SUMMARIES.get(ev.type)
        if fn is not None:
            try:
                return fn(self, ev, p, _Names(n))
            except (KeyError, TypeError, ValueError, AttributeError):
                pass  # an old or odd payload: the label alone, details below
        return Markup("")  # the label says what happened; the details below hold the rest

    def step_result(self, kind: str, status: str, result: Mapping[str, Any] | None,
                    names: Mapping[str, Any] | None = None) -> Markup:
        """A playbook step's outcome in words (the stored result is ids: `{'alert_id': 1}`)."""
        r = dict(result or {})
        nm = _Names(names or {})
        if status == "failed" or "error" in r:
            code = str(r.get("code") or "")
            msg = str(r.get("error") or "")
            why = self.error(code, msg.partition(": ")[2], status=409) if code else \
                self.gettext(N_("the step could not run; see the details"))
            return self._markup(N_("Failed: %(why)s"), why=why)
        if status in ("planned", "running"):
            return Markup("")
        if "alert_id" in r:
            if r["alert_id"] is None:
                return self._markup(N_("The staff task was already open"))
            return self._markup(N_("Task for staff created — see %(alerts)s"),
                                alerts=Markup('<a href="/alerts">{}</a>').format(self.gettext(N_("Alerts"))))
        if "interaction_id" in r and r["interaction_id"] is not None:
            iid = int(r["interaction_id"])
            title = nm.interaction_title(iid) or self.interaction_kind(kind)
            return self._markup(N_("%(what)s started"), what=Markup('<a href="/interactions/{}">{}</a>').format(
                iid, title))
        if "winners" in r:
            return self._markup(N_("%(n)s winner(s) drawn"), n=len(r.get("winners") or []))
        if "closed" in r:
            return self._markup(N_("Interaction closed"))
        if "group_status" in r:
            return self._markup(N_("Group dissolved") if r["group_status"] == "dissolved"
                                else N_("Group archived"))
        if "action_id" in r:
            if r.get("remaining") is not None:
                return self._markup(N_("Countdown posted (%(n)s left)"), n=r["remaining"])
            return self._markup(N_("Message queued for the group"))
        return self._markup(N_("Done"))


ROLES: dict[str, str] = {"admin": N_("Admin"), "operator": N_("Operator"), "sales": N_("Sales"),
                         "viewer": N_("Viewer")}


class _Names:
    """Names for ids on a page (groups, codes, communities, FAQ entries, interactions), with safe fallbacks."""

    def __init__(self, names: Mapping[str, Any]) -> None:
        self._n = names

    def _get(self, table: str, key: Any) -> str | None:
        found = (self._n.get(table) or {}).get(key)
        return None if found is None else str(found)

    def group(self, group_id: Any) -> Markup:
        if group_id is None:
            return Markup("")
        name = self._get("groups", group_id)
        if name is None:
            return escape(f"#{group_id}")
        return Markup('<a href="/groups/{}">{}</a>').format(int(group_id), name)

    def community(self, community_id: Any) -> Markup:
        name = self._get("communities", community_id)
        if name is None:
            return escape(f"#{community_id}")
        return Markup('<a href="/communities/{}">{}</a>').format(int(community_id), name)

    def code(self, code_id: Any) -> str:
        return self._get("codes", code_id) or f"#{code_id}"

    def faq(self, entry_id: Any) -> str | None:
        return self._get("faq", entry_id)

    def interaction_title(self, interaction_id: Any) -> str | None:
        return self._get("interactions", interaction_id)


def _q(text: Any, limit: int = 80) -> Markup:
    """A quoted excerpt of what someone wrote."""
    s = str(text or "")
    return Markup('<q class="msg">{}</q>').format(s if len(s) <= limit else s[:limit - 1] + "…")


def _tags(tags: Any, cls: str = "tag") -> Markup:
    return Markup(" ").join(Markup('<span class="{}">{}</span>').format(cls, t) for t in (tags or []))


def _joined_via(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    code = n.code(p["channel_code_id"])
    if p.get("community_id"):
        return L._markup(N_("Scanned the channel code %(code)s for %(community)s"), code=code,
                         community=n.community(p["community_id"]))
    return L._markup(N_("Scanned the channel code %(code)s"), code=code)


def _member_joined(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    scene = L._of(JOIN_SCENES, str(p.get("join_scene") or "qr"), "")
    if p.get("channel_code_id"):
        return L._markup(N_("Joined %(group)s through the channel code %(code)s"), group=n.group(ev.group_id),
                         code=n.code(p["channel_code_id"]))
    if scene:
        return L._markup(N_("Joined %(group)s %(how)s"), group=n.group(ev.group_id), how=scene)
    return L._markup(N_("Joined %(group)s"), group=n.group(ev.group_id))


def _member_left(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    if p.get("quit_scene") == "removed":
        return L._markup(N_("Was removed from %(group)s"), group=n.group(ev.group_id))
    return L._markup(N_("Left %(group)s"), group=n.group(ev.group_id))


def _tagged(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    src = str(p.get("source") or "manual")
    tags = _tags(p["tags"])
    if src.startswith("channel:") and src[8:].isdigit():
        return L._markup(N_("Tagged %(tags)s by the channel code %(code)s"), tags=tags, code=n.code(int(src[8:])))
    if src.startswith("questionnaire:"):
        return L._markup(N_("Tagged %(tags)s from the questionnaire"), tags=tags)
    if src.startswith(("user:", "token:")):
        return L._markup(N_("Tagged %(tags)s by %(who)s"), tags=tags, who=src.split(":", 1)[1])
    return L._markup(N_("Tagged %(tags)s"), tags=tags)


def _untagged(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Tag removed: %(tags)s"), tags=_tags(p["tags"], "tag off"))


def _answered_questionnaire(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    answers = Markup(" ").join(Markup('<span class="qa">{} → <b>{}</b></span>').format(q, a)
                               for q, a in dict(p.get("answers") or {}).items())
    return L._markup(N_("Answered the questionnaire of %(community)s: %(answers)s"),
                     community=n.community(p["community_id"]), answers=answers)


def _posted(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Wrote in %(group)s: %(text)s"), group=n.group(ev.group_id), text=_q(p.get("text"), 200))


def _action(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    what = L.action(str(p.get("idempotency_key") or ""), str(p.get("kind") or ""))
    where = n.group(ev.group_id)
    msgid = {
        "action.sent": (N_("%(what)s sent in %(group)s"), N_("%(what)s sent")),
        "action.failed": (N_("%(what)s in %(group)s could not be sent"), N_("%(what)s could not be sent")),
        "action.task_open": (N_("%(what)s in %(group)s waits for the group owner"),
                             N_("%(what)s waits for a staff member")),
        "action.task_done": (N_("%(what)s in %(group)s done by the group owner"), N_("%(what)s done by staff")),
        "action.expired": (N_("%(what)s in %(group)s expired unsent"), N_("%(what)s expired unsent")),
    }[ev.type]
    if ev.group_id:
        return L._markup(msgid[0], what=what, group=where)
    return L._markup(msgid[1], what=what)


def _faq_replied(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    entry = n.faq(p.get("entry_id"))
    by_staff = str(p.get("by") or "siyu") != "siyu"
    if entry:
        return L._markup(N_("Question answered by staff from the FAQ “%(entry)s” in %(group)s") if by_staff
                         else N_("Question answered automatically by the FAQ “%(entry)s” in %(group)s"),
                         entry=entry, group=n.group(ev.group_id))
    return L._markup(N_("Question answered by staff from the FAQ in %(group)s") if by_staff
                     else N_("Question answered automatically by the FAQ in %(group)s"), group=n.group(ev.group_id))


def _faq_suggested(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    entry = n.faq(p.get("entry_id"))
    if entry:
        return L._markup(N_("Question in %(group)s waits for a staff answer (suggested: “%(entry)s”)"),
                         group=n.group(ev.group_id), entry=entry)
    return L._markup(N_("Question in %(group)s waits for a staff answer"), group=n.group(ev.group_id))


def _decided(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    rule, group = L.rule(str(p["rule"])), n.group(ev.group_id)
    msgid = {"warn": N_("Warned in %(group)s for %(rule)s"),
             "remove": N_("Removed from %(group)s for %(rule)s"),
             "blacklist": N_("Blacklisted for %(rule)s in %(group)s: removed from every group, cannot join again "
                             "through channel codes")}.get(str(p["decision"]))
    if msgid is None:
        return L._markup(N_("Moderated in %(group)s for %(rule)s"), group=group, rule=rule)
    return L._markup(msgid, group=group, rule=rule)


def _undone(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    who = str(p.get("by") or "").split(":", 1)[-1]
    was = L.decision(str(p.get("decision") or "")) or L.gettext(N_("Moderated"))
    if who:
        return L._markup(N_("A moderation decision was undone by %(who)s (was: %(was)s)"), who=who, was=was)
    return L._markup(N_("A moderation decision was undone (was: %(was)s)"), was=was)


def _contact_added(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Became a friend of the staff member %(staff)s"), staff=p["staff"])


def _contact_removed(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    if p.get("by") == "staff":
        return L._markup(N_("The staff member %(staff)s removed this contact"), staff=p["staff"])
    return L._markup(N_("Removed the staff member %(staff)s from their friends"), staff=p["staff"])


def _merged(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Contact #%(a)s was merged into #%(b)s"), a=int(p["merged_contact_id"]),
                     b=int(p["into_contact_id"]))


def _interaction(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    iid = p["interaction_id"]
    title = n.interaction_title(iid) or L.interaction_kind(str(p.get("kind") or ""))
    what = Markup('<a href="/interactions/{}">{}</a>').format(int(iid), title)
    t = ev.type
    if t == "interaction.joined":
        return L._markup(N_("Joined %(what)s as number %(n)s"), what=what, n=p.get("count", "?"))
    if t == "interaction.entered":
        return L._markup(N_("Entered %(what)s"), what=what)
    if t == "interaction.answered":
        if p.get("correct") is True:
            return L._markup(N_("Answered %(what)s correctly"), what=what)
        if p.get("correct") is False:
            return L._markup(N_("Answered %(what)s, not correctly"), what=what)
        return L._markup(N_("Voted in %(what)s"), what=what)
    if t == "interaction.rolled":
        return L._markup(N_("Rolled %(n)s in %(what)s"), n=p["roll"], what=what)
    if t == "interaction.won":
        return L._markup(N_("Won %(what)s (place %(n)s)"), what=what, n=p["rank"])
    if t == "interaction.share_verified":
        return L._markup(N_("Shared %(what)s and a friend opened it"), what=what)
    if t == "interaction.closed":
        return L._markup(N_("%(what)s closed"), what=what)
    return L._markup(N_("%(what)s started in %(group)s"), what=what, group=n.group(ev.group_id))


def _simple(msgid: str) -> Callable[[Labels, EventLike, Mapping[str, Any], _Names], Markup]:
    def fn(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
        return L._markup(msgid, group=n.group(ev.group_id))
    return fn


def _link(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    url = Markup('<span class="url">{}</span>').format(str(p["url"])[:200])
    if ev.type == "page.viewed":
        return L._markup(N_("Viewed the page %(url)s"), url=url)
    return L._markup(N_("Clicked the link %(url)s"), url=url)


def _form(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Submitted the form %(form)s"), form=p["form"])


def _order(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Paid order %(order)s: %(amount)s %(currency)s"), order=p["order_id"], amount=p["amount"],
                     currency=p.get("currency", "CNY"))


def _unlocked(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Unlocked shared content: a friend opened their link"))


def _alert(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Alert raised: %(kind)s"), kind=L.alert_kind(str(p.get("kind") or "")))


def _quiet(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("%(group)s has been quiet for %(n)s days"), group=n.group(ev.group_id), n=int(p["days"]))


def _renamed(L: Labels, ev: EventLike, p: Mapping[str, Any], n: _Names) -> Markup:
    return L._markup(N_("Group renamed to %(name)s"), name=p["name"])


_SUMMARIES: dict[str, Callable[[Labels, EventLike, Mapping[str, Any], _Names], Markup]] = {
    "contact.created": _simple(N_("Contact created")),
    "contact.identified": _simple(N_("A platform identity was added")),
    "contact.merged": _merged,
    "contact.tagged": _tagged,
    "contact.untagged": _untagged,
    "contact.joined_via_channel": _joined_via,
    "contact.questionnaire_answered": _answered_questionnaire,
    "contact.added": _contact_added,
    "contact.removed": _contact_removed,
    "group.member_joined": _member_joined,
    "group.member_left": _member_left,
    "group.created": _simple(N_("Group %(group)s created")),
    "group.renamed": _renamed,
    "group.dismissed": _simple(N_("Group %(group)s dissolved")),
    "group.went_quiet": _quiet,
    "message.posted": _posted,
    "action.sent": _action, "action.failed": _action, "action.task_open": _action, "action.task_done": _action,
    "action.expired": _action,
    "link.clicked": _link, "page.viewed": _link,
    "form.submitted": _form,
    "order.paid": _order,
    "faq.replied": _faq_replied,
    "faq.suggested": _faq_suggested,
    "moderation.decided": _decided,
    "moderation.undone": _undone,
    "alert.raised": _alert,
    "content.unlocked": _unlocked,
    **{t: _interaction for t in ("interaction.created", "interaction.joined", "interaction.entered",
                                 "interaction.answered", "interaction.rolled", "interaction.won",
                                 "interaction.closed", "interaction.share_verified")},
}


@cache
def of(locale: str) -> Labels:
    """The labels of a locale (cached with its merged catalog)."""
    return Labels(i18n.translations(locale))
