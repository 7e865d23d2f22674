"""The rollback confirmation's fields, parsed (the service checks what they mean)."""

from __future__ import annotations

from django import forms

from delivery.core.forms import FormInWords
from delivery.pipeline.models import Release


class RollbackForm(FormInWords):
    target = forms.ModelChoiceField(
        queryset=Release.objects.select_related("repository"),
        error_messages={
            "required": "Choose the release to go back to.",
            "invalid_choice": "Choose the release to go back to.",
        },
    )
    reason = forms.CharField(required=False, strip=False)  # the service says why an empty one is refused
    idempotency_key = forms.CharField(
        required=False,
        max_length=100,
        error_messages={"max_length": "The form's key is damaged: reload the page and try again."},
    )
    live = forms.CharField(required=False)  # the live release the confirmation showed

    def clean_live(self) -> int:
        """The shown live release's id; 0 when the form does not say (it showed nothing: ask again)."""
        value = self.cleaned_data["live"]
        return int(value) if value.isdigit() and len(value) < 19 else 0
