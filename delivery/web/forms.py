"""The forms of the pages in web/: each turns a request into typed values, and refuses in the words the page shows
(what a value means for the domain, the service judges)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from delivery.accounts.models import Developer, Role
from delivery.clickup.models import WorkspaceMember
from delivery.core.forms import FormInWords, IdsField

ROTATION_START = "Give the first handover day (YYYY-MM-DD) and an hour from 0 to 23."
OVERRIDE_TIMES = "Give a start and an end, the end after the start."
OVERRIDE_LONGEST = timedelta(days=31)
DEFAULT_HANDOVER_HOUR = 9


def _same_message(message: str, *codes: str) -> dict[str, str]:
    return dict.fromkeys(("required", "invalid", *codes), message)


# -- the team settings ----------------------------------------------------------------------------------------------
class RoleChangeForm(FormInWords):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.all())  # the view answers 404 for nobody
    role = forms.TypedChoiceField(
        choices=Role.choices, coerce=Role, error_messages=_same_message("Choose one of the roles.", "invalid_choice")
    )


class RotationForm(FormInWords):
    members = forms.CharField(required=False, strip=False)  # GitHub logins, one a line (or comma-separated)
    starts_on = forms.DateField(input_formats=["%Y-%m-%d"], error_messages=_same_message(ROTATION_START))
    handover_hour = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=23,
        error_messages=_same_message(ROTATION_START, "min_value", "max_value"),
    )

    def clean_members(self) -> list[Developer]:
        """The people in their order: each a login the sync has seen, each once."""
        text = self.cleaned_data["members"].replace(",", "\n")
        logins = [login for login in (line.strip() for line in text.splitlines()) if login]
        found = {d.login: d for d in Developer.objects.filter(login__in=logins)}
        unknown = [login for login in logins if login not in found]
        if unknown:
            raise forms.ValidationError(f"Unknown GitHub login: {', '.join(unknown)}.")
        if len(set(logins)) != len(logins):
            raise forms.ValidationError("Each person once in the rotation.")
        return [found[login] for login in logins]

    def clean_handover_hour(self) -> int:
        """Nine when the form does not send it; an empty one is refused."""
        hour = self.cleaned_data["handover_hour"]
        if "handover_hour" not in self.data:
            return DEFAULT_HANDOVER_HOUR
        if hour is None:
            raise forms.ValidationError(ROTATION_START)
        return int(hour)


class LocalDateTimeField(forms.DateTimeField):
    """A date and time as a datetime-local input sends it (ISO 8601), in the current time zone; one that is no time
    there (a 30 February, a time the clocks skip or repeat) is refused in the field's own words."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(input_formats=[], **kwargs)

    def to_python(self, value: Any) -> datetime | None:
        try:
            return super().to_python(value)
        except ValidationError as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc


class OverrideForm(FormInWords):
    login = forms.CharField(required=False)
    starts_at = LocalDateTimeField(error_messages=_same_message(OVERRIDE_TIMES))
    ends_at = LocalDateTimeField(error_messages=_same_message(OVERRIDE_TIMES))

    def clean_login(self) -> Developer:
        developer = Developer.objects.filter(login=self.cleaned_data["login"]).first()
        if developer is None:
            raise forms.ValidationError("Choose who is on call.")
        return developer

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at is None or ends_at is None:
            return data  # refused already
        if ends_at <= starts_at:
            raise forms.ValidationError(OVERRIDE_TIMES)
        if ends_at - starts_at > OVERRIDE_LONGEST:
            raise forms.ValidationError("An override covers at most 31 days; change the rotation instead.")
        return data


# -- the watch ------------------------------------------------------------------------------------------------------
class WatchSignOffForm(FormInWords):
    decision = forms.CharField(required=False, strip=False)  # the service says which decisions there are
    notes = forms.CharField(required=False, strip=False)  # and how long notes may be
    releases = IdsField(required=False)  # the covered releases the decision is about, when the form lists them
    releases_shown = forms.BooleanField(required=False)

    def release_ids(self) -> list[int] | None:
        """The releases ticked, or None when the form listed none to tick (the decision is then about all)."""
        return self.cleaned_data["releases"] if self.cleaned_data["releases_shown"] else None


class WatchItemForm(FormInWords):
    checked = forms.BooleanField(required=False)
    note = forms.CharField(required=False, strip=False)  # the service says how long it may be


# -- personal API tokens --------------------------------------------------------------------------------------------
LIFETIME_WORDS = "Give how many days the token lasts: from 1 to 366."


class TokenForm(FormInWords):
    name = forms.CharField(
        max_length=100,
        error_messages={
            "required": "Name the token (what it is for, e.g. 'Grafana').",
            "max_length": "A token's name is at most 100 characters.",
        },
    )
    days = forms.IntegerField(
        min_value=1, max_value=366, error_messages=_same_message(LIFETIME_WORDS, "min_value", "max_value")
    )


# -- a person's page --------------------------------------------------------------------------------------------------
class ClickUpAccountForm(FormInWords):
    """A person's ClickUp account: a member of the workspace, or none."""

    user_id = forms.CharField(required=False, max_length=50)

    def clean_user_id(self) -> str:
        user_id = self.cleaned_data["user_id"].strip()
        if user_id and not WorkspaceMember.objects.filter(user_id=user_id).exists():
            raise forms.ValidationError("Choose a member of the ClickUp workspace, or none.")
        return user_id
