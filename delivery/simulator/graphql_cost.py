"""A query's cost and node count by GitHub's published rules, checked before it runs.

Cost ("rate limits and query limits for the GraphQL API"): add up the requests needed to fulfil each connection,
assuming every ``first``/``last`` is reached (a connection under a parent list is fetched once per parent node: the
product of its parents' ``first``/``last``), divide by 100, round to the nearest whole number; at least 1. GitHub's
example, ``viewer { repositories(first: 100) { issues(first: 50) { labels(first: 60) } } }``, is
1 + 100 + 5,000 = 5,101 requests: 51 points.

Node count: the nodes a query may return, each connection's ``first``/``last`` times its parents' (305,100 in that
example); more than 500,000 is GitHub's ``MAX_NODE_LIMIT_EXCEEDED``. Every connection needs ``first`` or ``last``
(``MISSING_PAGINATION_BOUNDARIES``), from 0 to 100 (``EXCESSIVE_PAGINATION``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from .graphql_connection import MAX_PAGE

NODE_LIMIT = 500_000


@dataclass(slots=True)
class Cost:
    requests: int = 0  # GitHub's "requests needed to fulfil each connection"
    nodes: int = 0  # GitHub's nodeCount
    connections: list[tuple[str, ...]] = field(default_factory=list)  # response paths, in document order
    nested: list[tuple[str, ...]] = field(default_factory=list)  # those below another connection

    @property
    def points(self) -> int:
        return max(1, int(self.requests / 100 + 0.5))


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: VariableValues,
) -> Cost:
    """Raises ``GraphQLError`` (with GitHub's ``type`` in its extensions) for a query GitHub would not run."""
    root = schema.get_root_type(operation.operation)
    cost = Cost()
    if root is not None:
        _Walk(schema, fragments, variables, cost).selections(root, operation.selection_set, 1, (), False, set())
    return cost


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
        cost: Cost,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.cost = cost
        self.counted: set[tuple[str, ...]] = set()

    def selections(
        self,
        parent: Any,
        selection_set: SelectionSetNode,
        multiplier: int,
        path: tuple[str, ...],
        nested: bool,
        spread: set[str],
    ) -> None:
        for selection in selection_set.selections:
            condition: NamedTypeNode | None
            if isinstance(selection, FieldNode):
                self.field(parent, selection, multiplier, path, nested, spread)
                continue
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spread:
                    continue
                condition, body, spread = fragment.type_condition, fragment.selection_set, spread | {name}
            elif isinstance(selection, InlineFragmentNode):
                condition, body = selection.type_condition, selection.selection_set
            else:
                continue
            target = parent if condition is None else self.schema.get_type(condition.name.value)
            self.selections(target, body, multiplier, path, nested, spread)

    def field(
        self, parent: Any, node: FieldNode, multiplier: int, path: tuple[str, ...], nested: bool, spread: set[str]
    ) -> None:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return
        definition = parent.fields.get(name)
        if definition is None:
            return
        named = get_named_type(definition.type)
        path = (*path, node.alias.value if node.alias else name)
        is_connection = isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")
        if is_connection:
            limit = self._limit(definition, node, name, path)
            first_time = path not in self.counted
            if first_time:
                self.counted.add(path)
                self.cost.requests += multiplier
                self.cost.connections.append(path)
                if nested:
                    self.cost.nested.append(path)
            multiplier *= limit
            self.cost.nodes += multiplier if first_time else 0
            if self.cost.nodes > NODE_LIMIT:
                raise GraphQLError(
                    f"By the time this query traverses to the {name} connection, it is requesting up to "
                    f"{self.cost.nodes:,} possible nodes which exceeds the maximum limit of {NODE_LIMIT:,}.",
                    node,
                    extensions={"type": "MAX_NODE_LIMIT_EXCEEDED"},
                )
        if node.selection_set is not None:
            self.selections(named, node.selection_set, multiplier, path, nested or is_connection, spread)

    def _limit(self, definition: Any, node: FieldNode, name: str, path: tuple[str, ...]) -> int:
        args = get_argument_values(definition, node, self.variables)
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise GraphQLError(
                f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
                node,
                path=list(path),
                extensions={"type": "MISSING_PAGINATION_BOUNDARIES"},
            )
        for argument, value in (("first", first), ("last", last)):
            if value is not None and value > MAX_PAGE:
                raise GraphQLError(
                    f"Requesting {value} records on the `{name}` connection exceeds the `{argument}` limit of "
                    f"{MAX_PAGE} records.",
                    node,
                    path=list(path),
                    extensions={"type": "EXCESSIVE_PAGINATION"},
                )
            if value is not None and value < 0:
                raise GraphQLError(
                    f"`{argument}` on the `{name}` connection cannot be less than zero.",
                    node,
                    path=list(path),
                    extensions={"type": "INVALID_PAGINATION"},
                )
        return max(first or 0, last or 0)
