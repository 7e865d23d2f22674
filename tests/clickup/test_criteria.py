"""A task's acceptance criteria: its checklists' items, and its description's section headed "Acceptance criteria"."""

from __future__ import annotations

import pytest

from delivery.clickup.criteria import MAX_CRITERIA, acceptance_criteria, description_criteria


def test_every_checklist_s_items_count_in_order_nested_ones_after_their_parent() -> None:
    task = {
        "checklists": [
            {"name": "Acceptance criteria", "items": [{"name": "Export opens in Excel"}, {"name": "Totals match"}]},
            {
                "name": "QA",
                "items": [{"name": "Checked on mobile", "children": [{"name": "iOS"}, {"name": "Android"}]}],
            },
        ]
    }
    assert acceptance_criteria(task) == ["Export opens in Excel", "Totals match", "Checked on mobile", "iOS", "Android"]


@pytest.mark.parametrize(
    "description",
    [
        "Why.\n\n## Acceptance criteria\n- [ ] one\n- [x] two\n\n## Notes\n- not this",
        "Acceptance criteria:\n* one\n* two\nOut of scope:\n* not this",
        "**Acceptance Criteria**\n\n1. one\n2) two\n\nLater text.",
        "ACCEPTANCE CRITERIA\r\none\r\ntwo\r\n\r\nnot this",
    ],
)
def test_the_description_s_section_is_read_in_the_forms_people_write(description: str) -> None:
    assert description_criteria(description) == ["one", "two"]


def test_a_description_without_the_section_has_no_criteria() -> None:
    assert description_criteria("Make the export faster.\n- a note\nCriteria are in the doc.") == []


def test_checklists_and_description_together_each_criterion_once() -> None:
    task = {
        "checklists": [{"items": [{"name": "Totals  match"}, {"name": ""}]}],
        "text_content": "## Acceptance criteria\n- Totals match\n- Works for 10,000 rows",
    }
    assert acceptance_criteria(task) == ["Totals match", "Works for 10,000 rows"]


def test_odd_shapes_are_no_criteria_and_long_ones_are_cut() -> None:
    assert acceptance_criteria({"checklists": "no", "description": None}) == []
    assert acceptance_criteria({"checklists": [None, {"items": [None, {"name": "x" * 500}]}]}) == ["x" * 300]
    many = {"checklists": [{"items": [{"name": f"item {n}"} for n in range(100)]}]}
    assert len(acceptance_criteria(many)) == MAX_CRITERIA
