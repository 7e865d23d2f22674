"""The repository's delivery settings, edited by admins in the app."""

from __future__ import annotations

import re
import string
from typing import Any

from django import forms

from delivery.github.models import Repository
from delivery.monitoring.services import LINK_PLACEHOLDERS

FULL_WINDOW_MARK = "(after the window)"
URL_FIELDS = ("logs_url_template", "metrics_url_template", "errors_url_template")


PLACEHOLDERS = LINK_PLACEHOLDERS


def _template_problem(template: str) -> str:
    """Why a link template cannot be filled in (an unknown or malformed {placeholder}), or ""."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
        template.format_map(dict.fromkeys(PLACEHOLDERS, "x"))
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        bad = str(exc).strip("'") or "a brace"
        return f"Cannot fill in this link ({bad}): use {{{'}, {'.join(PLACEHOLDERS)}}}, and {{{{ }}}} for a brace."
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        return f"Unknown placeholder {{{unknown[0]}}}: use " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + "."
    return ""


class RepositorySettingsForm(forms.ModelForm):
    checklist = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "The checklist needs at least one item."},
        help_text=f"One item per line, in order. End a line with “{FULL_WINDOW_MARK}” for an item that can be "
        "ticked only when the watch window has ended. Keep a line about the decision (keep, fix forward or roll back).",
    )

    class Meta:
        model = Repository
        fields = [
            "staging_environment",
            "production_environment",
            "preview_environment_pattern",
            "tag_pattern",
            "branch_age_limit_hours",
            "required_approvals",
            "staging_stuck_minutes",
            "tag_stuck_minutes",
            "production_stuck_minutes",
            "monitoring_window_minutes",
            "monitoring_grace_minutes",
            "rollback_method",
            "rollback_workflow_file",
            "rollback_workflow_input",
            *URL_FIELDS,
            "slack_channel",
        ]
        labels = {
            "logs_url_template": "Logs link",
            "metrics_url_template": "Metrics link",
            "errors_url_template": "Errors link",
            "branch_age_limit_hours": "Branch age limit (hours)",
            "staging_stuck_minutes": "Stuck before staging (minutes)",
            "tag_stuck_minutes": "Stuck before the tag (minutes)",
            "production_stuck_minutes": "Stuck before production (minutes)",
            "monitoring_window_minutes": "Watch window (minutes)",
            "monitoring_grace_minutes": "Sign-off grace (minutes)",
        }
        help_texts = {
            "logs_url_template": "Placeholders: {repository} {sha} {short_sha} {tag} {start} {end} (ISO) "
            "{start_ms} {end_ms} (epoch ms).",
            "rollback_workflow_file": "For “Dispatch a rollback workflow”: the workflow file in .github/workflows.",
            "rollback_workflow_input": "The workflow_dispatch input that takes the tag.",
            "slack_channel": "Channel id or name for this repository's notices (else SLACK_DEFAULT_CHANNEL).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial_checklist = list(self.instance.checklist_template or [])
        lines = []
        for item in self.instance.checklist_template or []:
            mark = f" {FULL_WINDOW_MARK}" if item.get("requires_full_window") else ""
            lines.append(f"{item.get('text', '')}{mark}")
        self.fields["checklist"].initial = "\n".join(lines)
        for name in ("monitoring_window_minutes", "branch_age_limit_hours"):
            self.fields[name].min_value = 1
            self.fields[name].widget.attrs["min"] = 1

    def clean_checklist(self) -> list[dict[str, object]]:
        previous = {str(i.get("text")): str(i.get("key")) for i in self.instance.checklist_template or []}
        items, keys = [], set()
        for raw in self.cleaned_data["checklist"].splitlines():
            text = raw.strip()
            if not text:
                continue
            full = text.endswith(FULL_WINDOW_MARK)
            text = text.removesuffix(FULL_WINDOW_MARK).strip()[:300]
            key = previous.get(text) or re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "item"
            if "decide" in text.lower() and "decision" not in keys:
                key = "decision"
            while key in keys:
                key = f"{key}-{len(keys)}"[:50]
            keys.add(key)
            items.append({"key": key, "text": text, **({"requires_full_window": True} if full else {})})
        if not items:
            raise forms.ValidationError("The checklist needs at least one item.")
        if len(items) > 20:
            raise forms.ValidationError("At most 20 items: a checklist is read in a minute.")
        return items

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in URL_FIELDS:
            value = data.get(name) or ""
            if value and not value.startswith(("https://", "http://")):
                self.add_error(name, "A link starts with https:// (or http://).")
            elif value:
                problem = _template_problem(value)
                if problem:
                    self.add_error(name, problem)
        if data.get("rollback_method") == Repository.RollbackMethod.WORKFLOW_DISPATCH and not data.get(
            "rollback_workflow_file"
        ):
            self.add_error("rollback_workflow_file", "The rollback workflow needs its file name.")
        return data

    @property
    def changed_settings(self) -> list[str]:
        """The labels of the settings this save changes (the checklist compared item by item, not as text)."""
        before = self.initial_checklist
        return [
            str(self.fields[name].label or name)
            for name in self.changed_data
            if name != "checklist" or self.cleaned_data.get("checklist") != before
        ]

    def save(self, commit: bool = True) -> Repository:
        """Writes only the settings: the sync's lease and the derivation's flags, written by workers meanwhile,
        are left as they are."""
        repository = super().save(commit=False)
        repository.checklist_template = self.cleaned_data["checklist"]
        if commit:
            repository.save(update_fields=[*self._meta.fields, "checklist_template", "updated_at"])
        return repository
