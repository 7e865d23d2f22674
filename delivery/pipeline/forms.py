"""The forms of the pipeline's pages: correcting a release's record."""

from __future__ import annotations

from typing import Any

from django import forms

from delivery.core.forms import FormInWords
from delivery.pipeline.models import Release
from delivery.pipeline.selectors import fix_candidates


class FixForm(FormInWords):
    fix = forms.ModelChoiceField(
        queryset=Release.objects.none(),
        error_messages={
            "required": "Choose the release that carries the fix.",
            "invalid_choice": "Choose one of the later releases listed.",
        },
    )

    def __init__(self, *args: Any, release: Release, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _proposal, candidates = fix_candidates(release=release)
        self.fields["fix"].queryset = Release.objects.filter(pk__in=[c.pk for c in candidates])  # type: ignore[attr-defined]


class DismissForm(FormInWords):
    reason = forms.CharField(
        max_length=300,
        error_messages={
            "required": "Say why this was not a failure (the audit log keeps it).",
            "max_length": "Keep the reason under 300 characters.",
        },
    )
