"""Every GraphQL query the sync sends validates against GitHub's own schema (the one the simulator serves): a field
GitHub does not have fails here, whether or not a sync test happens to send the query."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from delivery.github import graphql_nodes
from delivery.simulator.graphql_api import github_schema

QUERIES = {
    name: value
    for name, value in vars(graphql_nodes).items()
    if name.isupper() and isinstance(value, str) and value.lstrip().startswith("query ")
}


def test_the_sync_has_its_queries() -> None:
    assert {"PULL_REQUESTS", "PULL_REQUEST_BY_NUMBER", "DEPLOYMENTS", "DEPLOYMENT_STATUSES"} <= set(QUERIES)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_a_query_validates_against_githubs_schema(name: str) -> None:
    assert validate(github_schema(), parse(QUERIES[name])) == []


def test_a_field_github_lacks_fails() -> None:
    wrong = graphql_nodes.DEPLOYMENTS.replace("commitOid", "commitOid transientEnvironment")
    assert validate(github_schema(), parse(wrong))
