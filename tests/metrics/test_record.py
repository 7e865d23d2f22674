"""Correcting the record: naming the release that carries a fix (proposed: the owners' next release), and an admin
dismissing a failure classified by mistake; both audited, and every figure follows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from delivery.accounts.models import AuditEvent, Developer
from delivery.metrics.figures import metrics
from delivery.pipeline.models import Release
from tests.conftest import member
from tests.metrics.history import History

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped() -> tuple[History, list[Release]]:
    h = History()
    ana_user = member("ana")
    ana, ben = Developer.objects.get(user=ana_user), member("ben").developer
    h.merge(ana, opened=0, merged=30, first_commit=-10)
    h.merge(ben, opened=40, merged=60, first_commit=35)
    h.merge(ana, opened=70, merged=90, first_commit=65)
    deployments = [h.deploy("production", i + 1, minutes) for i, minutes in enumerate((40, 70, 100))]
    h.derive()
    broken = h.fail(deployments[0], "watch signed off: fix forward", 50)
    return h, [broken, *(h.release(d) for d in deployments[1:])]


def browser(login: str, role: str = "developer") -> Client:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=login).first() or member(login, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_the_owners_next_release_is_proposed_as_the_fix_and_naming_it_counts_it_as_rework(shipped: Any) -> None:
    h, (broken, bens, anas_next) = shipped
    ana = browser("ana")

    page = ana.get(f"/releases/{broken.pk}/").content.decode()
    named = ana.post(f"/releases/{broken.pk}/fix/", {"fix": anas_next.pk})

    assert f'<option value="{anas_next.pk}" selected>' in page and "proposed: its owners" in page
    assert named.status_code == 302
    assert Release.objects.get(pk=anas_next.pk).fix_for_id == broken.pk
    figures = metrics(h.scope())
    assert figures["rework_rate"]["unplanned"] == 1
    assert figures["recovery_time"]["recoveries"] == 1
    assert AuditEvent.objects.filter(verb="release_fix_linked", target_id=str(broken.pk)).count() == 1
    # Naming another moves the link: one fix per failure.
    ana.post(f"/releases/{broken.pk}/fix/", {"fix": bens.pk})
    assert list(Release.objects.filter(fix_for=broken).values_list("pk", flat=True)) == [bens.pk]


def test_a_fix_must_be_a_later_release_and_only_owners_on_call_and_admins_name_it(shipped: Any) -> None:
    _h, (broken, bens, anas_next) = shipped
    earlier = browser("ben").post(f"/releases/{bens.pk}/fix/", {"fix": broken.pk})
    assert earlier.status_code == 400 and "Choose one of the later releases" in earlier.content.decode()
    assert browser("vic", role="viewer").post(f"/releases/{broken.pk}/fix/", {"fix": anas_next.pk}).status_code == 403
    assert (
        browser("oncall", role="on-call").post(f"/releases/{broken.pk}/fix/", {"fix": anas_next.pk}).status_code == 302
    )


def test_an_admin_dismisses_a_failure_with_a_reason_and_the_figures_follow(shipped: Any) -> None:
    h, (broken, _bens, _next) = shipped
    assert metrics(h.scope())["change_failure_rate"]["failed"] == 1

    refused = browser("ana").post(f"/releases/{broken.pk}/dismiss-failure/", {"reason": "false alert"})
    empty = browser("boss", role="admin").post(f"/releases/{broken.pk}/dismiss-failure/", {"reason": ""})
    done = browser("boss").post(f"/releases/{broken.pk}/dismiss-failure/", {"reason": "a false alert"})
    again = browser("boss").post(f"/releases/{broken.pk}/dismiss-failure/", {"reason": "twice"})

    assert refused.status_code == 403
    assert empty.status_code == 400 and "Say why" in empty.content.decode()
    assert done.status_code == again.status_code == 302
    figures = metrics(h.scope())
    assert figures["change_failure_rate"]["failed"] == 0
    assert figures["recovery_time"]["recoveries"] == 0
    events = AuditEvent.objects.filter(verb="release_failure_dismissed", target_id=str(broken.pk))
    assert [e.summary.split(": ", 2)[-1] for e in events] == ["a false alert"]  # a double click records it once
    page = browser("boss").get(f"/releases/{broken.pk}/").content.decode()
    assert "dismissed" in page and "a false alert" in page
