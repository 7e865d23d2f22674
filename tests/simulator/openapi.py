"""GitHub's OpenAPI subset, turned into JSON Schemas ``jsonschema`` can check bodies against."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT / "tests" / "fixtures" / "github" / "rest-openapi-subset.json"
OPENAPI_ONLY = {
    "nullable",
    "example",
    "examples",
    "discriminator",
    "xml",
    "externalDocs",
    "deprecated",
    "readOnly",
    "writeOnly",
}


@functools.cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


def to_json_schema(schema: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable: true`` becomes "or null"; OpenAPI-only keys go."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in OPENAPI_ONLY:
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = to_json_schema(value)
    if schema.get("nullable"):
        return {"anyOf": [{"type": "null"}, out]}
    return out


def operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


@functools.cache
def validator(method: str, path: str, status: int) -> Draft4Validator:
    operation = spec()["paths"][path][method.lower()]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return Draft4Validator(to_json_schema(schema))


def errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Validation problems of ``body`` against the operation's response schema (empty: valid)."""
    found = []
    for error in validator(method, path, status).iter_errors(body):
        where = "/".join(str(p) for p in error.absolute_path)
        found.append(f"{method} {path} [{status}] at {where or '<root>'}: {error.message[:300]}")
    return found
