"""The OpenAPI 3.1 description of the metrics API (`/api/v1/openapi.json`); the tests validate real answers with it."""

from __future__ import annotations

from typing import Any

from delivery.metrics.evidence import FIGURES, LIMIT
from delivery.metrics.sources import STAGES

NUMBER = {"type": ["number", "null"]}
COUNT = {"type": "integer", "minimum": 0}
LEVEL = {"enum": ["elite", "high", "medium", "low", None]}
SCORE = {"type": ["number", "null"], "minimum": 0, "maximum": 10}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


METRICS = _object(
    {
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "repositories": {"type": "array", "items": {"type": "string"}},
        "partial": {"type": "boolean", "description": "The period starts before the synced history."},
        "deployment_frequency": _object(
            {
                "deployments": COUNT,
                "rollbacks": COUNT,
                "per_week": {"type": "number"},
                "deployment_days_per_week": {"type": "number"},
                "level": LEVEL,
                "score": SCORE,
            }
        ),
        "lead_time": _object(
            {
                "changes": COUNT,
                "median_seconds": NUMBER,
                "p90_seconds": NUMBER,
                "level": LEVEL,
                "score": SCORE,
                "stages": _object(dict.fromkeys(STAGES, NUMBER)),
            }
        ),
        "change_failure_rate": _object(
            {"releases": COUNT, "failed": COUNT, "rate": NUMBER, "level": LEVEL, "score": SCORE}
        ),
        "recovery_time": _object(
            {
                "recoveries": COUNT,
                "median_seconds": NUMBER,
                "level": LEVEL,
                "score": SCORE,
                "unrecovered": COUNT,
                "provisional": {"type": "boolean"},
            }
        ),
        "rework_rate": _object({"deployments": COUNT, "unplanned": COUNT, "rate": NUMBER, "score": SCORE}),
        "process": _object(
            {
                "merged_prs": COUNT,
                "within_age_limit": NUMBER,
                "approved": NUMBER,
                "squash_merged": NUMBER,
                "with_preview": NUMBER,
                "watches_signed_off_in_time": NUMBER,
                "pr_size_median": NUMBER,
            }
        ),
    }
)

MOMENT = {"type": ["string", "null"], "format": "date-time"}
FAILURE_ROW = {
    "failed": {"type": "boolean", "description": "change_failure_rate, recovery_time: the release failed."},
    "why": {"type": "string", "description": "Why it failed (or was unplanned), in words."},
    "failed_at": {
        **MOMENT,
        "description": "The failure's moment: a failed status, the sign-off or rollback request, "
        "or an incident's first alert's start.",
    },
    "incident_at": {
        **MOMENT,
        "description": "change_failure_rate, recovery_time: when the release's first incident (a "
        "production alert from Alertmanager while it was live, not dismissed) started; null without one.",
    },
    "recovered_at": {**MOMENT, "description": "recovery_time: the recovery (null while there is none)."},
    "recovered_by_incident": {
        "type": "boolean",
        "description": "recovery_time: recovered when its first incident resolved, not by a later deployment.",
    },
}

EVIDENCE = _object(
    {
        "figure": {"enum": list(FIGURES)},
        "title": {"type": "string"},
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "count": COUNT,
        "page": {"type": "integer", "minimum": 1},
        "pages": {"type": "integer", "minimum": 1},
        "truncated": {"type": "boolean"},
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string"},
                    "title": {"type": "string"},
                    "url": {"type": "string"},
                    **FAILURE_ROW,
                },
                "required": ["kind", "title", "url"],
            },
        },
    }
)

ERROR = _object({"error": {"type": "string"}})

PARAMETERS = [
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}, "description": "First day."},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}, "description": "Last day."},
    {
        "name": "period",
        "in": "query",
        "schema": {"enum": ["week", "4w", "quarter"]},
        "description": "This week, the last 4 weeks (the default without from/to) or the last 13 weeks; a named "
        "period wins over from/to.",
    },
    {"name": "repository", "in": "query", "schema": {"type": "string"}, "description": "owner/name"},
    {"name": "team", "in": "query", "schema": {"type": "string"}, "description": "A GitHub team's slug."},
    {"name": "login", "in": "query", "schema": {"type": "string"}, "description": "One person (theirs and admins)."},
    {"name": "bots", "in": "query", "schema": {"type": "boolean"}, "description": "Count bots' work too."},
]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json({"$ref": "#/components/schemas/Error"}, "A parameter is wrong (the error says which)."),
    "401": _json({"$ref": "#/components/schemas/Error"}, "No session and no valid token."),
    "403": _json({"$ref": "#/components/schemas/Error"}, "Another person's figures."),
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trunkline metrics API",
            "version": "1",
            "description": "Delivery figures (DORA's five keys, the lead time's stages, process figures) and the rows "
            "behind each. Times in seconds; null where there is nothing to measure.",
        },
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Metrics": METRICS, "Evidence": EVIDENCE, "Error": ERROR},
        },
        "security": [{"token": []}],
        "paths": {
            "/api/v1/metrics/": {
                "get": {
                    "operationId": "metrics",
                    "parameters": PARAMETERS,
                    "responses": {"200": _json({"$ref": "#/components/schemas/Metrics"}, "The figures."), **ERRORS},
                }
            },
            "/api/v1/metrics/evidence/": {
                "get": {
                    "operationId": "evidence",
                    "parameters": [
                        *PARAMETERS,
                        {"name": "figure", "in": "query", "required": True, "schema": {"enum": list(FIGURES)}},
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                            "description": f"The rows come {LIMIT} a page, from 1 (the default).",
                        },
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Evidence"}, "The rows behind one figure."),
                        **ERRORS,
                    },
                }
            },
        },
    }
