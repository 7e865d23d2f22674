"""The repository's delivery settings, edited by admins in the app; an operator's replay of a webhook delivery."""

from __future__ import annotations

import re
import string
from fnmatch import fnmatchcase, translate
from typing import Any, cast
from urllib.parse import urlsplit

from django import forms
from django.utils.http import url_has_allowed_host_and_scheme

from delivery.github.label_matchers import MAX_MATCHERS_TEXT, LabelMatcherError, matchers_parse, matchers_text
from delivery.github.models import LINK_PLACEHOLDERS, Repository
from delivery.github.signal_settings import QUERY_PLACEHOLDERS, queries_parse, queries_text

FULL_WINDOW_MARK = "(after the window)"
URL_FIELDS = ("logs_url_template", "metrics_url_template", "errors_url_template")
MATCHER_FIELDS = ("alert_matchers", "alert_production_matchers")


PLACEHOLDERS = LINK_PLACEHOLDERS

# Each number's sane range, and the words its messages use (the database's own limit, 9223372036854775807 on
# SQLite, is no message for a person).
LIMITS: dict[str, tuple[int, int, str, str]] = {
    "monitoring_window_minutes": (1, 24 * 60, "minute", "The watch window"),
    "monitoring_grace_minutes": (0, 24 * 60, "minute", "The sign-off grace"),
    "branch_age_limit_hours": (1, 30 * 24, "hour", "The branch age limit"),
    "required_approvals": (0, 10, "approval", "Required approvals"),
    "staging_stuck_minutes": (1, 7 * 24 * 60, "minute", "Stuck before staging"),
    "tag_stuck_minutes": (1, 7 * 24 * 60, "minute", "Stuck before the tag"),
    "production_stuck_minutes": (1, 7 * 24 * 60, "minute", "Stuck before production"),
    "sentry_issue_events": (0, 1_000_000, "event", "A new Sentry issue's events"),
}
SENTRY_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
WORKFLOW_DIR = ".github/workflows/"
# What GitHub's dispatch API takes as the workflow's id: its file name in .github/workflows, nothing more.
WORKFLOW_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*\.ya?ml")
WORKFLOW_INPUT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _amount(value: int, unit: str) -> str:
    """1 minute, 90 minutes (1 h 30 min), 720 hours (30 days): a number as a person reads it."""
    text = f"{value:,} {unit}{'' if value == 1 else 's'}"
    if unit == "minute" and value >= 60:
        hours, minutes = divmod(value, 60)
        days, hours = divmod(hours, 24)
        parts = [f"{days} day{'' if days == 1 else 's'}" if days else "", f"{hours} h" if hours else ""]
        parts.append(f"{minutes} min" if minutes else "")
        text += f" ({' '.join(p for p in parts if p)})"
    elif unit == "hour" and value >= 24 and value % 24 == 0:
        text += f" ({value // 24} day{'' if value == 24 else 's'})"
    return text


def _pattern_problem(pattern: str) -> str:
    """Why a glob pattern (fnmatch, as the repository's settings use them) cannot be meant as written, or ""."""
    if any(c.isspace() for c in pattern):
        return "A pattern has no spaces."
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            j += pattern[j : j + 1] == "!"
            j += pattern[j : j + 1] == "]"
            end = pattern.find("]", j)
            if end < 0:
                return f"The [ at position {i + 1} is not closed: close it with ], or write [[] for a plain [."
            i = end
        i += 1
    if "(?!)" in translate(pattern):  # a range such as [z-a]: nothing can match
        return "This pattern can never match (a range backwards, such as [z-a])."
    return ""


def _server_problem(address: str) -> str:
    """Why a Prometheus address cannot be one (a scheme, a host, no query), or ""."""
    try:
        parts = urlsplit(address)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or any(c.isspace() for c in address):
        return "Prometheus's address starts with http:// or https:// and names its host, e.g. http://prometheus:9090."
    if parts.query or parts.fragment:
        return "Give Prometheus's address alone, without ?… or #… (Trunkline adds /api/v1/query_range)."
    if parts.username or parts.password:
        return "No credentials in the address: the bearer token comes from PROMETHEUS_BEARER_TOKEN."
    return ""


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


def _matchers_clean(text: str) -> str:
    """Matchers as Alertmanager parses them, kept as written back (`service="billing"`), or the reason they are not."""
    try:
        written = matchers_text(matchers_parse(text))
    except LabelMatcherError as exc:
        raise forms.ValidationError(str(exc)) from exc
    if len(written) > MAX_MATCHERS_TEXT:
        raise forms.ValidationError(
            f"Written out ({written[:40]}…) these matchers pass {MAX_MATCHERS_TEXT} characters."
        )
    return written


class RepositorySettingsForm(forms.ModelForm):
    checklist = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "The checklist needs at least one item."},
        help_text=f"One item per line, in order. End a line with “{FULL_WINDOW_MARK}” for an item that can be "
        "ticked only when the watch window has ended. Keep a line about the decision (keep, fix forward or roll back).",
    )
    queries = forms.CharField(
        label="Prometheus queries",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One a line: name | unit | rule | query. Units: ratio (shown as %), s (seconds) or a word. Rules: "
        "ratio (above max(2 × baseline, baseline + 0.01)), latency (above 1.5 × baseline), 2x +0.01, 1.5x, >0.05. "
        "Placeholders: " + ", ".join(f"${p}" for p in QUERY_PLACEHOLDERS) + " (the range of each point, for "
        "rate(…[$window])); $$ for a dollar sign. The baseline is the same length of time before the deploy.",
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
            *MATCHER_FIELDS,
            "prometheus_url",
            "sentry_organization",
            "sentry_project",
            "sentry_environment",
            "sentry_issue_events",
            "clickup_task_required",
            "clickup_verified_status",
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
            "alert_matchers": "Alert matchers",
            "alert_production_matchers": "Production alert matchers",
            "prometheus_url": "Prometheus",
            "sentry_organization": "Sentry organization",
            "sentry_project": "Sentry project id",
            "sentry_environment": "Sentry environment",
            "sentry_issue_events": "New Sentry issue: events before it degrades",
            "clickup_task_required": "Require a ClickUp task",
            "clickup_verified_status": "ClickUp status once verified",
        }
        error_messages = {
            "production_environment": {"required": "Name the production environment (e.g. production)."},
            "staging_environment": {"required": "Name the staging environment (e.g. staging)."},
            "preview_environment_pattern": {"required": "A pattern for preview environments (e.g. pr-*)."},
            "tag_pattern": {"required": "A pattern for release tags (e.g. v*)."},
        }
        help_texts = {
            "preview_environment_pattern": "Environments matching it are previews, e.g. pr-* (* any text, ? one "
            "character, [0-9] one of).",
            "tag_pattern": "Release tags, e.g. v* (* any text, ? one character, [0-9] one of).",
            "logs_url_template": "Placeholders: {repository} {sha} {short_sha} {tag} {start} {end} (ISO) "
            "{start_ms} {end_ms} (epoch ms).",
            "rollback_workflow_file": "For “Dispatch a rollback workflow”: the workflow's file name in "
            ".github/workflows, e.g. rollback.yml.",
            "rollback_workflow_input": "The workflow_dispatch input that takes the tag.",
            "slack_channel": "Channel id or name for this repository's notices (else SLACK_DEFAULT_CHANNEL).",
            "alert_matchers": "Alertmanager's alerts that are this repository's, as Alertmanager writes matchers: "
            'service="billing" (also != =~ !~, comma-separated). Empty: none.',
            "alert_production_matchers": 'Of those, the ones from production, e.g. env="production" (empty: all of '
            "them). A production alert while a release is live is an incident of that release.",
            "prometheus_url": "The watch reads the queries below here (e.g. http://prometheus:9090); blank: no "
            "Prometheus. A bearer token, if it needs one, comes from PROMETHEUS_BEARER_TOKEN.",
            "sentry_organization": "The organization's slug; with the project id, the watch reads new and regressed "
            "issues (the token comes from SENTRY_TOKEN, the address from SENTRY_URL).",
            "sentry_project": "The project's numeric id (Sentry: project settings).",
            "sentry_environment": "Blank: the production environment's name.",
            "sentry_issue_events": "A new or regressed issue with more events than this in the window degrades the "
            "watch.",
            "clickup_task_required": "A pull request whose branch name and title name no ClickUp task is flagged "
            "(“No ClickUp task”), as the other process checks.",
            "clickup_verified_status": "When a change's watch is signed off “keep”, its ClickUp tasks move to this "
            "status, as the task's list names it (e.g. complete). Empty: they only get a comment.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial_checklist = list(self.instance.checklist_template or [])
        lines = []
        for item in self.instance.checklist_template or []:
            mark = f" {FULL_WINDOW_MARK}" if item.get("requires_full_window") else ""
            lines.append(f"{item.get('text', '')}{mark}")
        self.fields["checklist"].initial = "\n".join(lines)
        self.initial_queries = list(self.instance.signal_queries or [])
        self.fields["queries"].initial = queries_text(self.initial_queries)
        # The checklist with the watch's settings, the queries under Prometheus's address.
        names = [n for n in self.fields if n not in ("checklist", "queries")]
        names.insert(names.index("monitoring_grace_minutes") + 1, "checklist")
        names.insert(names.index("prometheus_url") + 1, "queries")
        self.order_fields(names)
        for name, (low, high, _unit, _words) in LIMITS.items():
            field = cast(forms.IntegerField, self.fields[name])
            # The range is checked in clean(), in words; the browser is told it too.
            field.min_value, field.max_value, field.validators = None, None, []
            field.widget.attrs.update(min=low, max=high)
            field.error_messages["invalid"] = "Enter a whole number."

    def clean_checklist(self) -> list[dict[str, object]]:
        previous = {str(i.get("text")): str(i.get("key")) for i in self.instance.checklist_template or []}
        items: list[dict[str, object]] = []
        keys: set[str] = set()
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

    def clean_queries(self) -> list[dict[str, str]]:
        try:
            return queries_parse(self.cleaned_data["queries"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_prometheus_url(self) -> str:
        address = self.cleaned_data.get("prometheus_url", "").strip()
        problem = _server_problem(address) if address else ""
        if problem:
            raise forms.ValidationError(problem)
        return address.rstrip("/")

    def clean_sentry_organization(self) -> str:
        slug = self.cleaned_data.get("sentry_organization", "").strip()
        if slug and not SENTRY_SLUG.fullmatch(slug):
            raise forms.ValidationError("The organization's slug as Sentry's addresses show it: a-z, 0-9, - and _.")
        return slug

    def clean_sentry_project(self) -> str:
        project = self.cleaned_data.get("sentry_project", "").strip()
        if project and not (project.isascii() and project.isdigit()):
            raise forms.ValidationError("The project's numeric id, such as 4504; its slug will not do here.")
        return project

    def clean_clickup_verified_status(self) -> str:
        return " ".join(self.cleaned_data.get("clickup_verified_status", "").split())

    def clean_rollback_workflow_file(self) -> str:
        value = self.cleaned_data.get("rollback_workflow_file", "").strip()
        name = value.removeprefix(WORKFLOW_DIR).removeprefix("/")
        if value and (not WORKFLOW_FILE.fullmatch(name) or ".." in name):
            raise forms.ValidationError(
                "The workflow's file name in .github/workflows, such as rollback.yml: letters, digits, . _ and -, "
                "ending in .yml or .yaml (no folders, no ..)."
            )
        return name

    def clean_rollback_workflow_input(self) -> str:
        value = self.cleaned_data.get("rollback_workflow_input", "").strip()
        if value and not WORKFLOW_INPUT.fullmatch(value):
            raise forms.ValidationError(
                "An input name of the workflow's workflow_dispatch, such as tag: letters, digits, _ and -."
            )
        return value

    def clean_alert_matchers(self) -> str:
        return _matchers_clean(self.cleaned_data.get("alert_matchers", ""))

    def clean_alert_production_matchers(self) -> str:
        return _matchers_clean(self.cleaned_data.get("alert_production_matchers", ""))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name, (low, high, unit, words) in LIMITS.items():
            value = data.get(name)
            if value is not None and value < low:
                self.add_error(name, f"{words} is at least {_amount(low, unit)}.")
            elif value is not None and value > high:
                self.add_error(name, f"{words} is at most {_amount(high, unit)}.")
        self._clean_environments(data)
        if (
            data.get("alert_production_matchers")
            and not data.get("alert_matchers")
            and "alert_matchers" not in self.errors
        ):
            self.add_error(
                "alert_matchers", "Say which alerts are this repository's before which of them are production's."
            )
        for name in ("tag_pattern", "preview_environment_pattern"):
            problem = _pattern_problem(data.get(name) or "")
            if problem:
                self.add_error(name, problem)
        for name in URL_FIELDS:
            value = data.get(name) or ""
            if value and not value.startswith(("https://", "http://")):
                self.add_error(name, "A link starts with https:// (or http://).")
            elif value:
                problem = _template_problem(value)
                if problem:
                    self.add_error(name, problem)
        organization, project = data.get("sentry_organization"), data.get("sentry_project")
        if bool(organization) != bool(project) and not {"sentry_organization", "sentry_project"} & set(self.errors):
            self.add_error(
                "sentry_project" if organization else "sentry_organization",
                "Give both the Sentry organization and the project id, or neither.",
            )
        if data.get("prometheus_url") and data.get("queries") == []:
            self.add_error("queries", "Give at least one query for Prometheus to answer (or clear its address).")
        if (
            data.get("rollback_method") == Repository.RollbackMethod.WORKFLOW_DISPATCH
            and not data.get("rollback_workflow_file")
            and "rollback_workflow_file" not in self.errors  # refused already, with the reason
        ):
            self.add_error("rollback_workflow_file", "The rollback workflow needs its file name.")
        return data

    def _clean_environments(self, data: dict[str, Any]) -> None:
        """Production, staging and previews are told apart by name: one name cannot be two of them."""
        production = (data.get("production_environment") or "").strip()
        staging = (data.get("staging_environment") or "").strip()
        preview = (data.get("preview_environment_pattern") or "").strip()
        if production and staging and production == staging:
            self.add_error("staging_environment", "Staging and production are different environments.")
        matched = [
            f"the {kind} environment ({name})"
            for kind, name in (("production", production), ("staging", staging))
            if name and preview and fnmatchcase(name, preview)
        ]
        if matched:
            self.add_error(
                "preview_environment_pattern",
                f"This pattern matches {' and '.join(matched)}: previews need a pattern of their own.",
            )

    @property
    def changed_settings(self) -> list[str]:
        """The labels of the settings this save changes (the checklist and the queries compared item by item, not as
        text)."""
        before = {"checklist": self.initial_checklist, "queries": self.initial_queries}
        return [
            str(self.fields[name].label or name)
            for name in self.changed_data
            if name not in before or self.cleaned_data.get(name) != before[name]
        ]

    def save(self, commit: bool = True) -> Repository:
        """Writes only the settings: the sync's lease and the derivation's flags, written by workers meanwhile,
        are left as they are."""
        repository = super().save(commit=False)
        repository.checklist_template = self.cleaned_data["checklist"]
        repository.signal_queries = self.cleaned_data["queries"]
        if commit:
            repository.save(
                update_fields=[*(self._meta.fields or ()), "checklist_template", "signal_queries", "updated_at"]
            )
        return repository


class DeliveryReplayForm(forms.Form):
    """The replay button: the attempts the page showed (replays from one page view reprocess a delivery once) and
    the page to go back to. Neither refuses: a value that is not one is as good as none."""

    attempts = forms.CharField(required=False)
    next = forms.CharField(required=False)

    def __init__(self, *args: Any, host: str, https: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.host, self.https = host, https

    def clean_attempts(self) -> int | None:
        value = self.cleaned_data["attempts"]
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None

    def clean_next(self) -> str:
        """The page to go back to, when it is one of this site's; else ""."""
        target = self.cleaned_data["next"]
        safe = url_has_allowed_host_and_scheme(target, allowed_hosts={self.host}, require_https=self.https)
        return target if target and safe else ""
