"""The working agreements' form: a kind, N, and whose work (a team or the organization, some repositories or all),
refused in words."""

from __future__ import annotations

from django import forms

from delivery.accounts.models import Team
from delivery.core.forms import FormInWords
from delivery.github.models import Repository
from delivery.reports.models import Agreement


class AgreementForm(FormInWords):
    kind = forms.ChoiceField(
        choices=Agreement.Kind.choices,
        error_messages={
            "required": "Choose what the agreement is about.",
            "invalid_choice": "Choose one of the kinds.",
        },
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        error_messages={"invalid_choice": "Choose one of the teams, or the organization."},
    )
    repositories = forms.ModelMultipleChoiceField(
        queryset=Repository.objects.filter(is_active=True).order_by("full_name"),
        required=False,
        error_messages={
            "invalid_choice": "Choose among the followed repositories.",
            "invalid_pk_value": "Choose among the followed repositories.",
        },
    )
    threshold = forms.FloatField(
        required=False,
        min_value=0.01,
        max_value=100_000,
        error_messages={
            "invalid": "N is a number (working hours, days, %, lines or hours, as the kind says).",
            "min_value": "N is more than 0.",
            "max_value": "N is at most 100,000.",
        },
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        kind, threshold = cleaned.get("kind"), cleaned.get("threshold")
        if kind in (Agreement.Kind.WATCHED, Agreement.Kind.FAILURE_RATE) and threshold is not None and threshold > 100:
            self.add_error("threshold", "A share is at most 100 %.")
        return cleaned
