"""What every page's form shares: a refusal in one sentence, and ids ticked in a list."""

from __future__ import annotations

from typing import Any

from django import forms


class FormInWords(forms.Form):
    """A form whose refusal the page shows as one sentence: its first error, in the order of its fields."""

    def first_error(self) -> str:
        for errors in self.errors.values():
            return str(errors[0])
        return "Check the form."


class IdsField(forms.Field):
    """The ids ticked in a list of checkboxes (`name` repeated), in the order sent; what is not an id is left out,
    as a browser never sends it."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else []
        return [int(v) for v in values if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 19]
