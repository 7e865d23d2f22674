"""The web pages' forms: what they make of what a browser sends, and their refusals in words."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from delivery.accounts.models import Role
from delivery.web.forms import (
    OverrideForm,
    RoleChangeForm,
    RotationForm,
    WatchItemForm,
    WatchSignOffForm,
)
from tests.conftest import member

pytestmark = pytest.mark.django_db


def test_a_role_change_names_a_person_and_one_of_the_roles() -> None:
    dana = member("dana")
    form = RoleChangeForm({"user": str(dana.pk), "role": "on-call"})
    assert form.is_valid() and form.cleaned_data == {"user": dana, "role": Role.ON_CALL}
    made_up = RoleChangeForm({"user": str(dana.pk), "role": "god"})
    assert not made_up.is_valid() and made_up.first_error() == "Choose one of the roles."
    nobody = RoleChangeForm({"user": "abc", "role": "viewer"})
    assert not nobody.is_valid() and list(nobody.errors) == ["user"]


def test_a_rotation_reads_logins_in_order_and_takes_nine_when_no_hour_is_sent() -> None:
    ana, ben = member("ana").developer, member("ben").developer
    form = RotationForm({"members": " ben, ana\n\n", "starts_on": "2030-01-07"})
    assert form.is_valid()
    assert form.cleaned_data == {"members": [ben, ana], "starts_on": date(2030, 1, 7), "handover_hour": 9}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"members": "ana\nghost\nspook", "starts_on": "x"}, "Unknown GitHub login: ghost, spook."),
        ({"members": "ana,ana", "starts_on": "2030-01-07"}, "Each person once in the rotation."),
        ({"members": "ana", "starts_on": "07/01/2030", "handover_hour": "9"}, "Give the first handover day"),
        ({"members": "ana", "starts_on": "2030-01-07", "handover_hour": "24"}, "an hour from 0 to 23"),
        ({"members": "ana", "starts_on": "2030-01-07", "handover_hour": ""}, "an hour from 0 to 23"),
    ],
)
def test_a_rotation_is_refused_with_the_first_reason(data: dict[str, str], error: str) -> None:
    member("ana")
    form = RotationForm(data)
    assert not form.is_valid() and error in form.first_error()


def test_an_override_is_a_person_and_local_times_at_most_31_days_apart(settings: object) -> None:
    settings.TIME_ZONE = "Europe/Berlin"  # type: ignore[attr-defined]
    ana = member("ana").developer
    form = OverrideForm({"login": " ana ", "starts_at": "2030-01-07T10:00", "ends_at": "2030-02-07T10:00"})
    assert form.is_valid() and form.cleaned_data["login"] == ana
    assert timezone.localtime(form.cleaned_data["starts_at"]).strftime("%H:%M %Z") == "10:00 CET"
    refusals = {
        "Choose who is on call.": {"login": "ghost", "starts_at": "2030-01-08T10:00", "ends_at": "2030-01-07T10:00"},
        "Give a start and an end, the end after the start.": {
            "login": "ana",
            "starts_at": "2030-02-30T10:00",  # no such day
            "ends_at": "2030-03-01T10:00",
        },
        "An override covers at most 31 days; change the rotation instead.": {
            "login": "ana",
            "starts_at": "2030-01-07T10:00",
            "ends_at": "2030-02-07T10:01",
        },
    }
    for error, data in refusals.items():
        form = OverrideForm(data)
        assert not form.is_valid() and form.first_error() == error, data
    skipped = OverrideForm({"login": "ana", "starts_at": "2030-03-31T02:30", "ends_at": "2030-03-31T05:00"})
    assert not skipped.is_valid() and skipped.first_error() == "Give a start and an end, the end after the start."
    assert not OverrideForm({"login": "ana", "starts_at": "7/1/2030 10:00", "ends_at": "8/1/2030 10:00"}).is_valid()


def test_a_sign_off_keeps_what_was_typed_and_the_releases_only_when_the_form_listed_them() -> None:
    form = WatchSignOffForm({"decision": "keep", "notes": "  fine  ", "releases": ["3", "x", "²", "12"]})
    assert form.is_valid()
    assert form.cleaned_data["notes"] == "  fine  " and form.release_ids() is None
    form = WatchSignOffForm({"decision": "fix_forward", "releases": ["3", "x", "12"], "releases_shown": "1"})
    assert form.is_valid() and form.release_ids() == [3, 12]
    none_ticked = WatchSignOffForm({"decision": "fix_forward", "releases_shown": "1"})
    assert none_ticked.is_valid() and none_ticked.release_ids() == []


def test_a_checklist_item_is_ticked_by_its_checkbox() -> None:
    ticked = WatchItemForm({"checked": "on", "note": " saw it "})
    assert ticked.is_valid() and ticked.cleaned_data == {"checked": True, "note": " saw it "}
    unticked = WatchItemForm({"checked": ""})
    assert unticked.is_valid() and unticked.cleaned_data == {"checked": False, "note": ""}
