"""The admin's team page: roles, the weekly on-call rotation with overrides, and the on-call person in every header."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from delivery.accounts.models import AuditEvent, Developer, OnCallShift, Role
from delivery.accounts.oncall import on_call_now, rotation_schedule
from delivery.accounts.roles import role_of
from tests.conftest import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> Client:
    client = Client()
    client.force_login(member("boss", role="admin"))
    return client


def test_an_admin_changes_a_role_and_it_is_audited(admin: Client) -> None:
    dev = member("dana", role="developer")
    response = admin.post(reverse("role-change"), {"user": dev.pk, "role": "viewer"})
    assert response.status_code == 302
    assert role_of(get_user_model().objects.get(pk=dev.pk)) == Role.VIEWER
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.ROLE_CHANGED)
    assert event.actor_login == "boss" and "dana: developer → viewer" in event.summary


def test_an_admin_cannot_demote_themself_or_pick_a_made_up_role(admin: Client) -> None:
    boss = get_user_model().objects.get(username="boss")
    assert admin.post(reverse("role-change"), {"user": boss.pk, "role": "viewer"}).status_code == 400
    assert role_of(boss) == Role.ADMIN
    dev = member("dana")
    response = admin.post(reverse("role-change"), {"user": dev.pk, "role": "god"})
    assert response.status_code == 400 and "Choose one of the roles" in response.content.decode()


def _rotate(admin: Client, members: str, starts_on: date, hour: int = 9) -> Any:
    return admin.post(
        reverse("rotation-change"), {"members": members, "starts_on": starts_on.isoformat(), "handover_hour": hour}
    )


def test_the_weekly_rotation_takes_turns_and_makes_its_people_on_call(admin: Client) -> None:
    for login in ("ana", "ben", "cy"):
        member(login, role="developer")
    first = timezone.localdate() - timedelta(days=15)  # two full weeks ago, and a day
    assert _rotate(admin, "ana\nben\ncy", first, hour=0).status_code == 302

    handover = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    assert on_call_now(handover + timedelta(hours=1)).developer.login == "ana"
    assert on_call_now(handover + timedelta(days=7, hours=1)).developer.login == "ben"
    now = on_call_now(handover + timedelta(days=15))
    assert now.developer.login == "cy" and now.since == handover + timedelta(days=14) and not now.is_override
    assert on_call_now(handover + timedelta(days=21, hours=1)).developer.login == "ana"  # round again
    assert [s.developer.login for s in rotation_schedule(weeks=4, now=handover + timedelta(days=15))] == [
        "cy",
        "ana",
        "ben",
        "cy",
    ]
    assert role_of(get_user_model().objects.get(username="ben")) == Role.ON_CALL  # can roll back now


def test_an_override_wins_over_the_rotation_and_can_be_removed(admin: Client) -> None:
    member("ana")
    member("ben")
    _rotate(admin, "ana", timezone.localdate() - timedelta(days=1))
    start = timezone.localtime().replace(tzinfo=None, microsecond=0) - timedelta(minutes=5)
    form = {"login": "ben", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=8)).isoformat()}
    assert admin.post(reverse("override-add"), form).status_code == 302
    assert on_call_now().developer.login == "ben" and on_call_now().is_override

    shift = OnCallShift.objects.get()
    assert admin.post(reverse("override-remove", args=[shift.pk])).status_code == 302
    assert admin.post(reverse("override-remove", args=[shift.pk])).status_code == 302  # a double click: no error
    assert on_call_now().developer.login == "ana"
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.ON_CALL_CHANGED).count() == 3


def test_bad_rotation_and_override_input_is_refused_with_a_reason(admin: Client) -> None:
    member("ana")
    response = _rotate(admin, "ana\nghost-person", timezone.localdate())
    assert response.status_code == 400 and "Unknown GitHub login: ghost-person" in response.content.decode()
    response = _rotate(admin, "ana\nana", timezone.localdate())
    assert response.status_code == 400
    start = timezone.localtime().replace(tzinfo=None, microsecond=0)
    backwards = {"login": "ana", "starts_at": start.isoformat(), "ends_at": (start - timedelta(hours=1)).isoformat()}
    response = admin.post(reverse("override-add"), backwards)
    assert response.status_code == 400 and "the end after the start" in response.content.decode()
    assert not OnCallShift.objects.exists()


def test_every_page_header_names_who_is_on_call(admin: Client) -> None:
    assert "nobody" in admin.get(reverse("board")).content.decode()
    member("ana")
    _rotate(admin, "ana", timezone.localdate() - timedelta(days=1))
    for page in ("board", "team", "repositories", "team-settings"):
        body = admin.get(reverse(page)).content.decode()
        assert 'class="on-call"' in body and "<strong>ana</strong>" in body, page


def test_the_team_page_lists_people_with_their_roles(admin: Client) -> None:
    member("ana", role="on-call")
    body = admin.get(reverse("team-settings")).content.decode()
    assert "ana" in body and '<option value="on-call" selected>' in body
    assert Developer.objects.filter(login="ana").exists()


def test_what_was_typed_comes_back_with_the_error(admin: Client) -> None:
    member("ana")
    body = _rotate(admin, "ana\nnobody-such", timezone.localdate()).content.decode()
    assert "ana\nnobody-such</textarea>" in body
    start = timezone.localtime().replace(tzinfo=None, microsecond=0, second=0)
    form = {"login": "ana", "starts_at": start.isoformat(), "ends_at": (start - timedelta(hours=1)).isoformat()}
    body = admin.post(reverse("override-add"), form).content.decode()
    assert f'value="{start.isoformat()}"' in body and '<option value="ana" selected>' in body


def test_times_on_the_settings_page_show_their_time_zone(admin: Client, settings: Any) -> None:
    import re

    settings.TIME_ZONE = "Europe/Berlin"
    member("ana")
    assert _rotate(admin, "ana", timezone.localdate() - timedelta(days=1)).status_code == 302
    response = admin.post(
        reverse("override-add"), {"login": "ana", "starts_at": "2030-01-07T10:00", "ends_at": "2030-01-08T10:00"}
    )
    assert response.status_code == 302
    body = admin.get(reverse("team-settings")).content.decode()
    assert "Handover hour (Europe/Berlin)" in body and "From (Europe/Berlin)" in body
    assert "Mon 7 Jan 10:00 → Tue 8 Jan 10:00 CET" in body  # the override, in the zone it was typed in
    assert re.search(r"until \w{3} \d+ \w{3} 09:00 CES?T", body)  # on call now
    assert re.search(r"\d\d:\d\d CES?T</time> · <strong>boss</strong> ana on call 2030-01-07 10:00 CET", body)
