"""Rows for the ingest layer: GitHub objects turned into rows one at a time (a malformed one is skipped with its
reason, counted, and never stops the others), and the upsert that writes them on their GitHub identity, guarded
in the database against older copies."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast, overload

from django.db import connection, models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Q
from django.utils.dateparse import parse_datetime

logger = logging.getLogger(__name__)

Row = dict[str, Any]
Key = tuple[Any, ...]


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0  # older than what is stored: not applied (counted in `unchanged` too)
    malformed: int = 0  # objects not written because GitHub's copy is malformed (each has a reason in `skipped`)
    skipped: list[str] = field(default_factory=list)
    ids: dict[Any, int] = field(default_factory=dict)

    def add(self, other: IngestResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.stale += other.stale
        self.add_skips(other)

    def add_skips(self, other: IngestResult) -> None:
        """Only what `other` skipped, and why (the users of a page: their writes are counted apart)."""
        self.malformed += other.malformed
        self.skipped.extend(other.skipped)

    def skip_malformed(self, what: str, item: Any, problem: str) -> None:
        reason = f"{what}{_identity(item)}: skipped a malformed item ({problem})"
        logger.warning(reason)
        self.malformed += 1
        self.skipped.append(reason)


# Overloads: a value read from a payload (Any) gives a time the caller has screened for (Any), not an Optional.
@overload
def parse_time(value: None) -> None: ...
@overload
def parse_time(value: str | float | None) -> datetime | None: ...
def parse_time(value: str | float | None) -> datetime | None:
    """GitHub's ISO 8601 times; push payloads give some repository times as Unix seconds instead."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise TypeError(f"not a time: {value!r}")
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a time: {value!r}")
    return parsed


@dataclass(frozen=True)
class Guard:
    """When an incoming copy of an object may replace the stored one. Checked before writing (to count and skip)
    and again in the upsert's own WHERE clause, so a concurrent writer cannot slip between check and write."""

    newer: str | None = None
    """A time field (`updated_at`): an older copy is not applied."""
    order: tuple[str, tuple[str, ...]] | None = None
    """With `newer`, a field whose values only move forward in this order: of two equally new copies (GitHub's
    times are whole seconds), the more advanced one wins, whichever arrives last."""
    final: tuple[str, str] | None = None
    """A field value that, once stored, is never changed (a dismissed review stays dismissed)."""

    def allows(self, row: Row, stored: dict[str, Any]) -> bool:
        if self.final is not None and stored[self.final[0]] == self.final[1] != row[self.final[0]]:
            return False
        if self.newer is None or row[self.newer] is None or stored[self.newer] is None:
            return True
        if row[self.newer] != stored[self.newer]:
            return row[self.newer] > stored[self.newer]
        if self.order is None:
            return True
        name, values = self.order
        return _rank(values, row[name]) >= _rank(values, stored[name])

    def fields(self) -> list[str]:
        return [f for f in (self.newer, self.order and self.order[0], self.final and self.final[0]) if f]

    def sql(self, table: str, column: dict[str, str]) -> tuple[str, list[Any]]:
        conditions, params = [], []
        if self.final is not None:
            conditions.append(f"{table}.{column[self.final[0]]} <> %s")
            params.append(self.final[1])
        if self.newer is not None:
            stored, new = f"{table}.{column[self.newer]}", f"EXCLUDED.{column[self.newer]}"
            if self.order is None:
                conditions.append(f"{stored} <= {new}")
            else:
                name, values = self.order
                cases = " ".join("WHEN %s THEN " + str(i) for i in range(len(values)))
                rank_new = f"CASE EXCLUDED.{column[name]} {cases} ELSE -1 END"
                rank_stored = f"CASE {table}.{column[name]} {cases} ELSE -1 END"
                conditions.append(f"({stored} < {new} OR ({stored} = {new} AND {rank_new} >= {rank_stored}))")
                params.extend([*values, *values])
        return " AND ".join(conditions), params


def _rank(values: tuple[str, ...], value: Any) -> int:
    return values.index(value) if value in values else -1


UPDATED = Guard(newer="updated_at")
RUN_PROGRESS = Guard(
    newer="updated_at", order=("status", ("requested", "waiting", "pending", "queued", "in_progress", "completed"))
)
REVIEW_DISMISSAL = Guard(final=("state", "DISMISSED"))


def upsert_rows(
    model: type[models.Model],
    rows: Sequence[Row],
    *,
    key: Sequence[str],
    insert_only: Sequence[str] = (),
    guard: Guard | None = None,
) -> IngestResult:
    """Insert or update `rows` (dicts of field attnames) keyed on `key` (a unique constraint). Rows equal to
    what is stored are not written. `insert_only` fields are written when a row is created, never after.
    With a `guard` (e.g. newer `updated_at` only), a copy the guard refuses is not applied, and the database
    enforces it in the upsert itself, so a list page read before a webhook but written after it cannot move an
    object backwards. `result.ids` maps each key (the bare value for one-field keys) to the row's primary key."""
    result = IngestResult()
    by_key: dict[Key, Row] = {}
    for row in rows:  # of several copies of one object, the one the guard prefers (else the last)
        k = tuple(row[f] for f in key)
        if guard is None or k not in by_key or guard.allows(row, by_key[k]):
            by_key[k] = row
    if not by_key:
        return result
    compare = [f for f in next(iter(by_key.values())) if f not in key and f not in insert_only]
    existing = {
        tuple(v[f] for f in key): v
        for v in model._default_manager.filter(_key_filter(key, by_key)).values(
            "pk", *key, *compare, *(guard.fields() if guard else [])
        )
    }
    to_write: list[Row] = []
    for k, row in by_key.items():
        stored = existing.get(k)
        if stored is None:
            result.created += 1
        elif guard is not None and not guard.allows(row, stored):
            result.unchanged += 1
            result.stale += 1
            continue
        elif any(stored[f] != row[f] for f in compare):
            result.updated += 1
        else:
            result.unchanged += 1
            continue
        to_write.append(row)
    ids = {k: v["pk"] for k, v in existing.items()}
    if to_write:
        ids.update(_upsert(model, to_write, key=key, update_fields=compare, guard=guard))
    missing = [k for k in by_key if k not in ids]
    if missing:
        for v in model._default_manager.filter(_key_filter(key, {k: by_key[k] for k in missing})).values("pk", *key):
            ids[tuple(v[f] for f in key)] = v["pk"]
    result.ids = {(k[0] if len(key) == 1 else k): pk for k, pk in ids.items()}
    return result


MAX_PARAMETERS = 32_000
"""Values one statement may carry: under SQLite's limit (32,766 since 3.32; Django assumes 999 and would cut a page
into many INSERTs) and PostgreSQL's (65,535 with server-side binding). A page of objects is one statement."""


def _upsert(
    model: type[models.Model],
    rows: list[Row],
    *,
    key: Sequence[str],
    update_fields: Sequence[str],
    guard: Guard | None,
) -> dict[Key, int]:
    """INSERT ... ON CONFLICT (key) DO UPDATE ... [WHERE <the guard>] RETURNING (PostgreSQL and SQLite both speak
    it; DO NOTHING when there is nothing to update): the check and the write are one statement, and the ids come
    back with it. Fields not in the rows get their model defaults, as with bulk_create. Returns the ids of the rows
    written, by key (a row the guard refused, or DO NOTHING skipped, is not among them)."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    named = (*key, *update_fields, *(guard.fields() if guard else []))
    column = {f: qn(cast("models.Field[Any, Any]", meta.get_field(f)).column) for f in named}  # all concrete
    where, where_params = guard.sql(table, column) if guard is not None and update_fields else ("", [])
    if update_fields:
        conflict = "DO UPDATE SET " + ", ".join(f"{column[f]} = EXCLUDED.{column[f]}" for f in update_fields)
        conflict += f" WHERE {where}" if where else ""
    else:
        conflict = "DO NOTHING"
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    ids: dict[Key, int] = {}
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = (
                f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)}) VALUES "  # noqa: S608 - the model's names
                + ", ".join([placeholders] * len(chunk))
                + f" ON CONFLICT ({', '.join(column[f] for f in key)}) {conflict}"
                + f" RETURNING {qn(meta.pk.column)}, {', '.join(column[f] for f in key)}"
            )
            params: list[Any] = []
            for row in chunk:
                obj = model(**row)
                params.extend(f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields)
            cursor.execute(sql, [*params, *where_params])
            ids.update({tuple(found[1:]): found[0] for found in cursor.fetchall()})
    return ids


def _key_filter(key: Sequence[str], by_key: dict[Key, Row]) -> Q:
    """`last__in=[...]` grouped by the leading key fields (usually one repository or pull request)."""
    groups: dict[Key, list[Any]] = {}
    for k in by_key:
        groups.setdefault(k[:-1], []).append(k[-1])
    q = Q()
    for prefix, values in groups.items():
        q |= Q(**dict(zip(key[:-1], prefix, strict=True)), **{f"{key[-1]}__in": values})
    return q


Need = Callable[[Any], Any]
"""A check of one field's value: raises TypeError or ValueError when it is malformed."""


def upserts_by_shape(
    model: type[models.Model], rows: Sequence[Row], *, key: Sequence[str], guard: Guard | None = None
) -> IngestResult:
    """upsert_rows for rows that do not all name the same fields (a source that does not know a field leaves it
    out, and what is stored stays): one upsert per set of fields."""
    shapes: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    result = IngestResult()
    for group in shapes.values():
        done = upsert_rows(model, group, key=key, guard=guard)
        result.add(done)
        result.ids.update(done.ids)
    return result


# `build` takes the item (typed `...` so a builder may bind a loop's value in a default argument).
def rows_built(
    items: Iterable[Any], build: Callable[..., Row | None], result: IngestResult, what: str, model: type[models.Model]
) -> list[Row]:
    """Build rows one item at a time, so one malformed item (a bad date, a null id, an object where a list should
    be, a value the database would refuse) is skipped with its reason, not the whole page."""
    rows: list[Row] = []
    for item in items:
        try:
            row = build(item)
            problem = row_problem(model, row) if row is not None else None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problem = f"{exc.__class__.__name__}: {exc}"
        if problem is not None:
            result.skip_malformed(what, item, problem)
        elif row is not None:
            rows.append(row)
    return rows


def items_screened(
    items: Iterable[Any], needs: dict[str, Need], what: str
) -> tuple[list[dict[str, Any]], IngestResult]:
    """The items whose fields in `needs` pass their check (the fields a caller reads before ingesting: an id to
    compare, a time to filter on); the others skipped with their reasons."""
    result = IngestResult()
    good: list[dict[str, Any]] = []
    for item in items:
        problem = None
        for name, check in needs.items():
            try:
                check(item.get(name) if isinstance(item, dict) else None)
            except (TypeError, ValueError) as exc:
                problem = f"{name}: {exc}"
                break
        if problem is None:
            good.append(item)
        else:
            result.skip_malformed(what, item, problem)
    return good, result


def github_id(value: Any) -> int:
    """GitHub's ids and numbers are whole numbers (JSON gives no other guarantee)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not a whole number: {value!r}")
    return value


def a_time(value: Any) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("missing")
    return parsed


def a_text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"not a text: {value!r}")
    return value


def row_problem(model: type[models.Model], row: Row) -> str | None:
    """What the database would refuse in `row` (PostgreSQL is the strict one; SQLite would store it), in words."""
    columns = _columns(model)
    for name, value in row.items():
        null, max_length, bounds, is_json = columns[name]
        if is_json:
            if _holds_nul(value):
                return f"{name} contains a NUL character"
        elif value is None:
            if not null:
                return f"{name} is missing"
        elif bounds is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{name} is not a whole number: {value!r}"[:120]
            if not bounds[0] <= value <= bounds[1]:
                return f"{name} is out of range: {value}"
        elif isinstance(value, str):
            if "\x00" in value:
                return f"{name} contains a NUL character"
            if max_length is not None and len(value) > max_length:
                return f"{name} is longer than {max_length} characters"
    return None


@functools.cache
def _columns(model: type[models.Model]) -> dict[str, tuple[bool, int | None, tuple[int, int] | None, bool]]:
    """Per field attname: may it be null, its maximum length, the range of its integers (PostgreSQL's), is it
    JSON."""
    ranges = BaseDatabaseOperations.integer_field_ranges
    return {
        f.attname: (
            f.null,
            f.max_length if isinstance(f, models.CharField) else None,
            None if f.is_relation else ranges.get(f.get_internal_type()),
            isinstance(f, models.JSONField),
        )
        for f in model._meta.concrete_fields
    }


def _holds_nul(value: Any) -> bool:
    """A NUL anywhere in a JSON value (PostgreSQL's jsonb refuses it; a deployment's payload is anyone's JSON)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _identity(item: Any) -> str:
    """' 123' (an id, number, sha or name of the item), for a reason someone can look up."""
    if isinstance(item, dict):
        for name in ("number", "id", "sha", "name"):
            if isinstance(item.get(name), int | str) and not isinstance(item.get(name), bool):
                return f" {str(item[name])[:40]}"
    return ""
