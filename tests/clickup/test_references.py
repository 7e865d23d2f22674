"""Task references: every form ClickUp teams write, and the look-alikes that are not tasks."""

from __future__ import annotations

import pytest

from delivery.clickup.references import ReferenceRules, TaskReference, task_references

PLAIN = ReferenceRules()
PRJ = ReferenceRules(custom_prefixes=("PRJ", "OPS"))
HASH = ReferenceRules(hash_ids=True)


def refs(*texts: str, rules: ReferenceRules = PLAIN) -> list[TaskReference]:
    return task_references(texts, rules=rules)


def native(task_id: str) -> TaskReference:
    return TaskReference(task_id)


def custom(task_id: str) -> TaskReference:
    return TaskReference(task_id, custom=True)


@pytest.mark.parametrize(
    "text",
    [
        "CU-86b0x1y2z add the login form",
        "feature/CU-86b0x1y2z-login-form",
        "cu-86b0x1y2z_login",
        "Add the login form (CU-86b0x1y2z)",
        "[CU-86b0x1y2z] Add the login form",
        "Add the login form CU-86B0X1Y2Z",
    ],
)
def test_a_clickup_id_after_cu_is_a_task_wherever_it_stands(text: str) -> None:
    assert refs(text) == [native("86b0x1y2z")]


@pytest.mark.parametrize(
    "text",
    [
        "SECU-86b0x1y2z",  # part of a longer word
        "CU-abcdef",  # no digit: a word, not an id
        "CU-12",  # too short
        "CU-86b0x1y2zloginformandmore",  # runs into a word: longer than any id
        "CU86b0x1y2z",  # no dash
    ],
)
def test_look_alikes_of_cu_ids_are_not_tasks(text: str) -> None:
    assert refs(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Fix #123",
        "Fixes #123, closes #124",
        "Revert #45 (reverts #44)",
        "See #abc123",
        "x&#123;y",
    ],
)
def test_hash_references_are_not_tasks_unless_the_workspace_says_so(text: str) -> None:
    assert refs(text) == []


@pytest.mark.parametrize("text", ["Fix #123", "closes #4567", "&#x27;", "C#9 support", "docs/page#section2", "##9a"])
def test_with_hash_ids_a_pull_request_number_and_other_hashes_are_still_not_tasks(text: str) -> None:
    assert refs(text, rules=HASH) == []


def test_with_hash_ids_a_hash_id_with_letters_and_digits_is_a_task() -> None:
    assert refs("Add the export (#86b0x1y2z), fixes #123", rules=HASH) == [native("86b0x1y2z")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PRJ-123 Add the export", ["PRJ-123"]),
        ("prj-123-add-the-export", ["PRJ-123"]),
        ("feature/OPS-7_rotate-keys", ["OPS-7"]),
        ("PRJ-123 and OPS-7", ["PRJ-123", "OPS-7"]),
    ],
)
def test_custom_ids_with_a_configured_prefix_are_tasks(text: str, expected: list[str]) -> None:
    assert refs(text, rules=PRJ) == [custom(t) for t in expected]


@pytest.mark.parametrize(
    "text", ["UTF-8 names", "ISO-8601 dates", "SHA-256", "RFC-7231 caching", "ABC-123", "XPRJ-123", "PRJ-123a", "PRJ-"]
)
def test_custom_ids_need_a_configured_prefix_and_a_clean_edge(text: str) -> None:
    assert refs(text, rules=PRJ) == []


def test_without_prefixes_no_custom_id_is_read() -> None:
    assert refs("PRJ-123 Add the export") == []


def test_cu_configured_as_a_prefix_reads_as_a_custom_id() -> None:
    assert refs("CU-123", rules=ReferenceRules(custom_prefixes=("CU",))) == [custom("CU-123")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Task: https://app.clickup.com/t/86b0x1y2z", native("86b0x1y2z")),
        ("<https://app.clickup.com/t/86b0x1y2z>", native("86b0x1y2z")),
        ("https://app.clickup.com/t/9012345/PRJ-123", custom("PRJ-123")),
        ("[the task](https://app.clickup.com/t/9012345/ABC-9)", custom("ABC-9")),  # the address says it is a task
    ],
)
def test_task_addresses_are_tasks(text: str, expected: TaskReference) -> None:
    assert refs(text) == [expected]


def test_other_addresses_are_not_tasks() -> None:
    assert refs("https://example.com/t/86b0x1y2z https://app.clickup.com/settings", rules=PRJ) == []


def test_a_change_links_several_tasks_each_once_in_the_order_named() -> None:
    found = refs(
        "CU-86b0x1y2z/prj-12-export",
        "PRJ-12: export (also CU-9zz8yy7x)",
        "Closes #40. See https://app.clickup.com/t/9012345/PRJ-12 and https://app.clickup.com/t/86b0x1y2z",
        rules=PRJ,
    )
    assert found == [native("86b0x1y2z"), custom("PRJ-12"), native("9zz8yy7x")]


def test_empty_texts_name_nothing() -> None:
    assert refs("", "", rules=PRJ) == []


def test_the_task_s_address_before_clickup_answers() -> None:
    assert native("86b0x1y2z").url(team_id="9012345") == "https://app.clickup.com/t/86b0x1y2z"
    assert custom("PRJ-1").url(team_id="9012345") == "https://app.clickup.com/t/9012345/PRJ-1"
