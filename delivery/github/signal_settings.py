"""A repository's production signals as its settings keep them: PromQL queries with `$environment`, `$sha` and
`$window` (Python's string.Template, because PromQL itself uses braces), each with a name, a unit and a rule. Pure:
the settings form refuses a bad query or rule in words with these functions, and the watch reads only good ones.

A rule says when a reading is degraded against the baseline (the same length of time before the deploy):
`2x +0.01` is above max(2 × baseline, baseline + 0.01); `1.5x` above 1.5 × baseline; `>0.05` above 0.05 whatever the
baseline. `ratio` and `latency` name the two defaults."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from string import Template
from typing import Any

QUERY_PLACEHOLDERS = ("environment", "sha", "window")
"""What a query may name: the production environment's name, the release's full sha, and the range each point of
the series looks back over (a PromQL duration, for rate(…[$window]))."""
RATIO, SECONDS = "ratio", "s"
"""Units the pages show in their own way: a ratio (0 to 1) as a percentage, seconds as ms or s."""
NAMED_RULES = {"ratio": "2x +0.01", "latency": "1.5x"}
MAX_QUERIES = 8
NAME_MAX, UNIT_MAX, QUERY_MAX = 60, 20, 2000
SEPARATOR = "|"
SENTRY_SIGNAL = "Sentry issues"
"""The name of the Sentry signal on the watch; no query may take it."""

_FACTOR = re.compile(r"(?P<n>\d+(?:\.\d+)?)x")
_PLUS = re.compile(r"\+(?P<n>\d+(?:\.\d+)?)")
_ABOVE = re.compile(r">(?P<n>-?\d+(?:\.\d+)?)")


def default_signal_queries() -> list[dict[str, str]]:
    """An error ratio and a p95 latency from the usual HTTP metrics (a histogram of request durations)."""
    return [
        {
            "name": "Error ratio",
            "unit": RATIO,
            "rule": "ratio",
            "query": 'sum(rate(http_requests_total{environment="$environment",code=~"5.."}[$window])) / '
            'sum(rate(http_requests_total{environment="$environment"}[$window]))',
        },
        {
            "name": "p95 latency",
            "unit": SECONDS,
            "rule": "latency",
            "query": "histogram_quantile(0.95, sum by (le) "
            '(rate(http_request_duration_seconds_bucket{environment="$environment"}[$window])))',
        },
    ]


@dataclass(frozen=True)
class Rule:
    """When a value is degraded: above `factor` × baseline and above baseline + `plus` (relative), or above `limit`
    (absolute, no baseline needed)."""

    factor: float | None = None
    plus: float | None = None
    limit: float | None = None

    @property
    def needs_baseline(self) -> bool:
        return self.limit is None

    def threshold(self, baseline: float | None) -> float | None:
        """The value above which a reading is degraded; None when the rule needs a baseline and there is none."""
        if self.limit is not None:
            return self.limit
        if baseline is None:
            return None
        candidates = []
        if self.factor is not None:
            candidates.append(self.factor * baseline)
        if self.plus is not None:
            candidates.append(baseline + self.plus)
        return max(candidates)

    def words(self, unit: str = "") -> str:
        """`above max(2 × baseline, baseline + 1 pp)`, `above 1.5 × baseline`, `above 5 %`."""
        if self.limit is not None:
            return f"above {value_words(self.limit, unit)}"
        parts = []
        if self.factor is not None:
            parts.append(f"{self.factor:g} × baseline")
        if self.plus is not None:
            plus = f"{self.plus * 100:g} pp" if unit == RATIO else value_words(self.plus, unit)
            parts.append(f"baseline + {plus}")
        return f"above {parts[0]}" if len(parts) == 1 else f"above max({', '.join(parts)})"


def rule_parse(text: str) -> Rule:
    """A rule as the settings write it (see the module's doc); ValueError in words for one that is not."""
    spelled = NAMED_RULES.get(text.strip().lower(), text.strip().lower())
    factor = plus = limit = None
    for token in spelled.replace("> ", ">").split():
        if match := _FACTOR.fullmatch(token):
            factor = float(match["n"])
        elif match := _PLUS.fullmatch(token):
            plus = float(match["n"])
        elif match := _ABOVE.fullmatch(token):
            limit = float(match["n"])
        else:
            raise ValueError(
                f"“{text.strip()}” is not a rule: write ratio, latency, 2x +0.01 (above max(2 × baseline, "
                "baseline + 0.01)), 1.5x (above 1.5 × baseline) or >0.05 (above 0.05)."
            )
    if limit is not None and (factor is not None or plus is not None):
        raise ValueError("A rule is either against the baseline (2x, +0.01) or a fixed limit (>0.05), not both.")
    if limit is None and factor is None and plus is None:
        raise ValueError("Give the query a rule: ratio, latency, 2x +0.01, 1.5x or >0.05.")
    if factor is not None and factor < 1:
        raise ValueError("A factor under 1x would call the baseline itself degraded: use 1.2x or more.")
    return Rule(factor=factor, plus=plus, limit=limit)


def query_problem(query: str) -> str:
    """Why a query cannot be filled in (a `$` that is not a placeholder, an unknown placeholder), or ""."""
    template = Template(query)
    if not template.is_valid():
        at = _bad_dollar(query)
        return (
            f"The $ at position {at} is not a placeholder: use "
            + ", ".join(f"${p}" for p in QUERY_PLACEHOLDERS)
            + ", and $$ for a dollar sign."
        )
    unknown = [name for name in template.get_identifiers() if name not in QUERY_PLACEHOLDERS]
    if unknown:
        return f"Unknown placeholder ${unknown[0]}: use " + ", ".join(f"${p}" for p in QUERY_PLACEHOLDERS) + "."
    return ""


def _bad_dollar(query: str) -> int:
    """The 1-based position of the first `$` that string.Template cannot read."""
    for match in Template.pattern.finditer(query):
        if match.group("invalid") is not None:
            return match.start() + 1
    return query.find("$") + 1


def query_fill(query: str, *, environment: str, sha: str, window: str) -> str:
    """The query to send; the placeholders are checked when the settings are saved."""
    return Template(query).substitute(environment=environment, sha=sha, window=window)


def queries_parse(text: str) -> list[dict[str, str]]:
    """The settings' lines, `name | unit | rule | query` (the query last, so it may hold any character), as the
    stored list; ValueError in words naming the line for anything wrong."""
    queries: list[dict[str, str]] = []
    names: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(SEPARATOR, 3)]
        if len(parts) < 4 or not all(parts):
            raise ValueError(f"Line {number}: write name | unit | rule | query (four parts, none empty).")
        name, unit, rule, query = parts
        problem = ""
        if len(name) > NAME_MAX:
            problem = f"a name is at most {NAME_MAX} characters"
        elif name.lower() in names:
            problem = f"the name “{name}” is used twice"
        elif name.lower() == SENTRY_SIGNAL.lower():
            problem = f"“{SENTRY_SIGNAL}” is the Sentry signal's name"
        elif len(unit) > UNIT_MAX:
            problem = f"a unit is at most {UNIT_MAX} characters"
        elif len(query) > QUERY_MAX:
            problem = f"a query is at most {QUERY_MAX:,} characters"
        if not problem:
            try:
                rule_parse(rule)
            except ValueError as exc:
                problem = str(exc)
        problem = problem or query_problem(query)
        if problem:
            raise ValueError(f"Line {number}: {problem[0].lower() + problem[1:]}")
        names.add(name.lower())
        queries.append({"name": name, "unit": unit, "rule": rule, "query": query})
    if len(queries) > MAX_QUERIES:
        raise ValueError(f"At most {MAX_QUERIES} queries: each is read every few minutes for every open watch.")
    return queries


def queries_text(queries: list[dict[str, Any]]) -> str:
    """The stored list as the settings' lines."""
    return "\n".join(
        f" {SEPARATOR} ".join(str(q.get(k, "")) for k in ("name", "unit", "rule", "query")) for q in queries or []
    )


def value_words(value: float | None, unit: str) -> str:
    """A reading as a person reads it: a ratio as a percentage, seconds as ms below a second."""
    if value is None or math.isnan(value):
        return "—"
    if unit == RATIO:
        percent = value * 100
        return f"{percent:.2g} %" if abs(percent) < 1 else f"{percent:.1f} %"
    if unit == SECONDS:
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.2f} s"
    number = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{number} {unit}".strip()
