"""Helpers for the GraphQL tests: a query over real HTTP, and REST lists read to their end for comparison."""

from __future__ import annotations

from typing import Any

import requests

from delivery.simulator.server import SimulatorServer


def post(
    server: SimulatorServer, http: requests.Session, query: str, variables: dict[str, Any] | None = None
) -> requests.Response:
    return http.post(f"{server.url}/api/graphql", json={"query": query, "variables": variables or {}})


def data(server: SimulatorServer, http: requests.Session, query: str, **variables: Any) -> dict[str, Any]:
    """A query's ``data``, which must come whole: HTTP 200 and no ``errors``."""
    response = post(server, http, query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def rest_all(http: requests.Session, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a REST list, following its ``Link: rel="next"``."""
    items: list[dict[str, Any]] = []
    response = http.get(url, params={"per_page": 100, **params})
    while True:
        assert response.status_code == 200, response.text
        items += response.json()
        following = response.links.get("next")
        if not following:
            return items
        response = http.get(following["url"])


def walk(
    server: SimulatorServer,
    http: requests.Session,
    query: str,
    path: tuple[str, ...],
    **variables: Any,
) -> list[dict[str, Any]]:
    """Every node of the connection at ``path`` (keys below ``data``), page after page through ``$after``."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        connection: Any = data(server, http, query, after=after, **variables)
        for key in path:
            connection = connection[key]
        nodes += connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]
