"""``POST /api/graphql``: GitHub's GraphQL API over the simulated world, from GitHub's own schema.

A query goes as on GitHub: parsed, validated against GitHub's schema (``graphql_schema/schema.graphql``; an unknown
field is refused with graphql-ruby's messages and ``extensions.code``, HTTP 200), costed (:mod:`graphql_cost`:
``EXCESSIVE_PAGINATION``, ``MISSING_PAGINATION_BOUNDARIES``, ``MAX_NODE_LIMIT_EXCEEDED``), checked against the token's
points budget (``RATE_LIMITED`` when the query costs more than is left, with ``x-ratelimit-*`` headers,
``x-ratelimit-resource: graphql``), charged, then run under the world's lock. A field of GitHub's schema the simulator
does not resolve is an error naming it, with the rest of the data. Faults: see :mod:`faults`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from .api_base import Response, dumps
from .faults import (
    GRAPHQL_PATH,
    RATE_DOCS,
    SECONDARY_MESSAGE,
    Fault,
    Faults,
    RateLimiter,
    RateWindow,
    Stats,
    spoil_body,
)
from .graphql_cost import Cost, query_cost
from .graphql_resolvers import QueryRoot, RepositoryNode
from .graphql_types import Context, RateLimitInfo
from .models import User
from .render import Renderer, iso
from .world import World

SCHEMA_FILE = Path(__file__).with_name("graphql_schema") / "schema.graphql"
GRAPHQL_DOCS = "https://docs.github.com/graphql"
AUTH_DOCS = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
RATE_LIMITED_MESSAGE = "API rate limit already exceeded for user ID {user_id}."
SOMETHING_WENT_WRONG = (
    "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub "
    "bug. Please include `{request_id}` when reporting this issue."
)
_schema_lock = threading.Lock()


def github_schema() -> GraphQLSchema:
    """GitHub's schema, built once per process (about a second) on first use."""
    with _schema_lock:
        return _build_schema()


@cache
def _build_schema() -> GraphQLSchema:
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # GitHub's schema breaks two of graphql-core's schema rules (see graphql_schema/README.md); queries still validate.
    schema._validation_errors = []
    return schema


# -- resolving ---------------------------------------------------------------------------------------------
@cache
def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class _FailPlan:
    """A ``partial_data`` fault: the field that fails on the way (its response key, or a path of them)."""

    def __init__(self, field: str | None, path: tuple[str, ...]) -> None:
        self.field = field
        self.path = path
        self.fired = False

    def hits(self, info: GraphQLResolveInfo) -> bool:
        if self.fired:
            return False
        keys = [k for k in info.path.as_list() if isinstance(k, str)]
        if (self.field is not None and keys[-1] == self.field) or (self.field is None and tuple(keys) == self.path):
            self.fired = True
        return self.fired


def resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """A field is the source's attribute of the same name in snake case, called with the arguments if a method."""
    plan: _FailPlan | None = info.context.fail_plan
    if plan is not None and plan.hits(info):
        raise GraphQLError(SOMETHING_WENT_WRONG.format(request_id=info.context.request_id))
    value = getattr(source, snake(info.field_name), _MISSING)
    if value is _MISSING:
        raise GraphQLError(
            f"The GitHub simulator does not resolve {info.parent_type.name}.{info.field_name} (GitHub's schema has it)."
        )
    return value(**{snake(k): v for k, v in args.items()}) if callable(value) else value


def resolve_type(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str:
    return value._typename


_MISSING = object()


# -- errors as GitHub words them ---------------------------------------------------------------------------
_VALIDATION = (
    (
        re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\."),
        "Field '{field}' doesn't exist on type '{type}'",
        lambda m: {"code": "undefinedField", "typeName": m["type"], "fieldName": m["field"]},
    ),
    (
        re.compile(r"Unknown argument '(?P<arg>\w+)' on field '\w+\.(?P<field>\w+)'\."),
        "Field '{field}' doesn't accept argument '{arg}'",
        lambda m: {"code": "argumentNotAccepted", "name": m["field"], "typeName": "Field", "argumentName": m["arg"]},
    ),
    (
        re.compile(
            r"Argument '\w+\.(?P<field>\w+)\((?P<arg>\w+):\)' of type '.+' is required, but it was not provided"
        ),
        "Field '{field}' is missing required arguments: {arg}",
        lambda m: {"code": "missingRequiredArguments", "className": "Field", "name": m["field"], "arguments": m["arg"]},
    ),
)


def github_error(error: GraphQLError) -> dict[str, Any]:
    """graphql-core's error in GitHub's shape: graphql-ruby's wording where GitHub's differs, ``type`` at the top."""
    formatted: dict[str, Any] = {"message": error.message}
    extensions = dict(error.extensions or {})
    for pattern, message, codes in _VALIDATION:
        found = pattern.match(error.message)
        if found:
            formatted["message"] = message.format(**found.groupdict())
            extensions.update(codes(found))
            break
    if "type" in extensions:
        formatted = {"type": extensions.pop("type"), **formatted}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        formatted["path"] = list(error.path)
    if extensions:
        formatted["extensions"] = extensions
    return formatted


def _errors(*errors: GraphQLError | dict[str, Any]) -> dict[str, Any]:
    return {"errors": [e if isinstance(e, dict) else github_error(e) for e in errors]}


# -- the endpoint --------------------------------------------------------------------------------------------
class GraphQLApi:
    def __init__(self, world: World, renderer: Renderer, faults: Faults, rate: RateLimiter, stats: Stats) -> None:
        self.world = world
        self.renderer = renderer
        self.faults = faults
        self.rate = rate
        self.stats = stats

    def handle(self, method: str, raw_body: bytes, user: User | None, request_id: str) -> Response:
        if method != "POST":
            return Response(404, dumps({"message": "Not Found", "documentation_url": GRAPHQL_DOCS}))
        if user is None:
            body = {"message": "This endpoint requires you to be authenticated.", "documentation_url": AUTH_DOCS}
            return Response(401, dumps(body))
        try:
            request = json.loads(raw_body) if raw_body else None
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return Response(400, dumps({"message": "Problems parsing JSON", "documentation_url": GRAPHQL_DOCS}))
        prepared = self._prepare(request)
        if isinstance(prepared, dict):
            return Response(200, dumps(prepared), headers=self.rate.peek(user.id).headers())
        return self._run(prepared, user, request_id)

    def _prepare(self, request: dict[str, Any]) -> dict[str, Any] | _Query:
        """The query parsed, validated and costed, or the errors GitHub answers instead."""
        text, variables = request.get("query"), request.get("variables") or {}
        operation_name = request.get("operationName") or None
        if not isinstance(text, str) or not text.strip():
            return _errors({"message": "A query attribute must be specified and must be a string."})
        if not isinstance(variables, dict):
            return _errors({"message": "Variables are invalid JSON."})
        schema = github_schema()
        try:
            document = parse(text)
        except GraphQLError as error:
            return _errors(error)
        invalid = validate(schema, document)
        if invalid:
            return _errors(*invalid)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = f'No operation named "{operation_name}"' if operation_name else "An operation name is required"
            return _errors({"message": message})
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return _errors(*coerced)
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        try:
            cost = query_cost(schema, operation, fragments, coerced)
        except GraphQLError as error:
            return _errors(error)
        root_fields = {
            (s.alias or s.name).value: schema.query_type.fields.get(s.name.value)  # type: ignore[union-attr]
            for s in operation.selection_set.selections
            if isinstance(s, FieldNode)
        }
        return _Query(schema, document, operation_name, variables, cost, root_fields)

    def _run(self, query: _Query, user: User, request_id: str) -> Response:
        fault = self.faults.take("POST", GRAPHQL_PATH, nodes=query.cost.nodes)
        window = self.rate.peek(user.id)
        if fault is not None and not fault.spoils:
            return self._fault(fault, user, window, request_id)
        points = query.cost.points
        if window.remaining < points:
            return Response(200, dumps(_rate_limited(user)), headers=window.headers())
        window = self.rate.consume(user.id, points)
        self.stats.spend(points)
        rate = RateLimitInfo(points, window.limit, query.cost.nodes, window.remaining, window.used, _iso(window.reset))
        plan = None
        if fault is not None and fault.kind == "partial_data":
            plan = _FailPlan(fault.field, _fail_path(query))
        context = Context(self.world, self.renderer, user, rate, RepositoryNode, request_id, plan)
        with self.world.lock:
            result = execute(
                query.schema,
                query.document,
                root_value=QueryRoot(context),
                context_value=context,
                variable_values=query.variables,
                operation_name=query.operation_name,
                field_resolver=resolve_field,
                type_resolver=resolve_type,
            )
        assert isinstance(result, ExecutionResult)
        answer = self._answer(result, query, plan, request_id)
        response = Response(200, dumps(answer), headers=window.headers())
        if fault is not None and fault.kind == "cut_body":
            response.cut = fault.damage
        elif fault is not None and fault.kind != "partial_data":
            response.body = spoil_body(fault, response.body)
        return response

    @staticmethod
    def _answer(result: ExecutionResult, query: _Query, plan: _FailPlan | None, request_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = {"data": result.data}
        errors = [github_error(e) for e in result.errors or ()]
        if plan is not None and not plan.fired and query.root_fields and result.data is not None:
            # the query never reached the field to fail: its first root field fails instead
            key, field = next(iter(query.root_fields.items()))
            errors.append({"message": SOMETHING_WENT_WRONG.format(request_id=request_id), "path": [key]})
            nullable = field is None or not isinstance(field.type, GraphQLNonNull)
            answer["data"] = {**result.data, key: None} if nullable else None
        if errors:
            answer["errors"] = errors
        return answer

    def _fault(self, fault: Fault, user: User, window: RateWindow, request_id: str) -> Response:
        if fault.kind == "server_error":
            body: dict[str, Any] = {
                "data": None,
                "errors": [{"message": SOMETHING_WENT_WRONG.format(request_id=request_id)}],
            }
            return Response(fault.status, dumps(body), headers=window.headers())
        if fault.kind == "primary_rate_limit":
            spent = RateWindow(window.limit, window.limit, int(time.time() + fault.reset_in + 0.999), "graphql")
            return Response(fault.status or 200, dumps(_rate_limited(user)), headers=spent.headers())
        body = {"message": SECONDARY_MESSAGE, "documentation_url": RATE_DOCS + "#about-secondary-rate-limits"}
        return Response(fault.status, dumps(body), headers=[("Retry-After", str(fault.retry_after)), *window.headers()])


class _Query:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: Any,
        operation_name: str | None,
        variables: dict[str, Any],
        cost: Cost,
        root_fields: dict[str, GraphQLField | None],
    ) -> None:
        self.schema = schema
        self.document = document
        self.operation_name = operation_name
        self.variables = variables
        self.cost = cost
        self.root_fields = root_fields  # response key -> definition, in the query's order


def _rate_limited(user: User) -> dict[str, Any]:
    message = RATE_LIMITED_MESSAGE.format(user_id=user.id)
    return {"errors": [{"type": "RATE_LIMITED", "code": "graphql_rate_limit", "message": message}]}


def _fail_path(query: _Query) -> tuple[str, ...]:
    cost = query.cost
    if cost.nested:
        return cost.nested[0]
    if cost.connections:
        return cost.connections[0]
    return tuple(query.root_fields)[:1]


def _iso(epoch: int) -> str:
    return iso(datetime.fromtimestamp(epoch, UTC))
