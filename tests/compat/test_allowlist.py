"""The allow-list's own rules, on made-up differences (no servers): a listed
difference passes, an unlisted one is reported, globs match case ids and aspects."""

from __future__ import annotations

import allowlist
from compare import Difference, diff

ENTRY = allowlist.Entry(1, "chat.anthropic.*", "value:upstream.0.body.max_tokens", "w", "y", "Provider requests", None)


def test_listed_difference_is_covered_and_marks_its_entry_used() -> None:
    d = Difference("value", "upstream.0.body.max_tokens", 4096, 8192)
    unlisted, used = allowlist.split([ENTRY], "chat.anthropic.basic", [d])
    assert (unlisted, used) == ([], {1})


def test_difference_outside_the_entrys_cases_or_aspect_is_unlisted() -> None:
    d = Difference("value", "upstream.0.body.max_tokens", 4096, 8192)
    other = Difference("value", "upstream.0.body.temperature", 0.5, 0.7)
    assert allowlist.split([ENTRY], "chat.gemini.basic", [d]) == ([d], set())
    assert allowlist.split([ENTRY], "chat.anthropic.basic", [other]) == ([other], set())


def test_diff_names_missing_extra_and_changed_fields() -> None:
    got = {d.aspect for d in diff({"a": 1, "b": [1, 2], "c": "x"}, {"a": 2, "b": [1], "d": "y"})}
    assert got == {"value:a", "len:b", "only-litellm:c", "only-tollgate:d"}


def test_every_entry_of_the_file_loads_with_its_fields() -> None:
    entries = allowlist.load()
    assert entries, "known_differences.yaml is empty"
    for e in entries:
        assert e.case and e.aspect and e.what and e.why and e.section, e
