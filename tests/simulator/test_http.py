"""HTTP behaviour: ETags, pagination, rate limit, faults, errors, auth and the control endpoints."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from github import Auth, Github
from github.GithubException import GithubException, RateLimitExceededException

from delivery.simulator.generate import generate_world
from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World

from .conftest import NOW

LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')


def _links(response: requests.Response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.headers.get("Link", ""))}


def test_etag_and_conditional_requests(server: SimulatorServer, http: requests.Session) -> None:
    url = f"{server.api_url}/repos/acme/api/pulls?state=all"
    first = http.get(url)
    etag = first.headers["ETag"]
    assert re.fullmatch(r'W/"[0-9a-f]{32}"', etag)
    used = int(first.headers["x-ratelimit-used"])
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert int(again.headers["x-ratelimit-used"]) == used, "a 304 costs no budget"
    other = http.get(url + "&page=2", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag


def test_pagination_links_follow_githubs_format(server: SimulatorServer, world: World, http: requests.Session) -> None:
    total = len(world.repo("api").pulls)  # type: ignore[union-attr]
    last = -(-total // 10)
    first = http.get(f"{server.api_url}/repos/acme/api/pulls", params={"state": "all", "per_page": 10})
    links = _links(first)
    assert list(links) == ["next", "last"]
    assert links["next"].startswith(server.api_url + "/repos/acme/api/pulls?")
    assert parse_qs(urlsplit(links["next"]).query) == {"state": ["all"], "per_page": ["10"], "page": ["2"]}
    assert parse_qs(urlsplit(links["last"]).query)["page"] == [str(last)]
    middle = http.get(links["next"])
    assert list(_links(middle)) == ["prev", "next", "last", "first"]
    end = http.get(links["last"])
    assert list(_links(end)) == ["prev", "first"]
    numbers = [p["number"] for page in (first, middle) for p in page.json()]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == 20
    assert "Link" not in http.get(f"{server.api_url}/orgs/acme/teams").headers


def test_per_page_is_capped_at_100(server: SimulatorServer, http: requests.Session) -> None:
    response = http.get(f"{server.api_url}/repos/acme/api/commits", params={"per_page": 1000})
    assert len(response.json()) == 100
    assert len(http.get(f"{server.api_url}/repos/acme/api/commits").json()) == 30


def test_errors_have_githubs_shape(server: SimulatorServer, http: requests.Session) -> None:
    missing = http.get(f"{server.api_url}/repos/acme/nope")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found" and "documentation_url" in missing.json()
    bad = http.post(f"{server.api_url}/repos/acme/api/deployments", json={"environment": "staging"})
    assert bad.status_code == 422 and "ref" in bad.json()["message"]
    assert requests.get(f"{server.api_url}/user", timeout=10).json()["message"] == "Requires authentication"
    assert requests.get(f"{server.api_url}/user", timeout=10).status_code == 401
    service = http.get(f"{server.api_url}/user").json()
    assert service["login"] == "acme-automation"


@pytest.fixture()
def small_budget() -> Iterator[SimulatorServer]:
    world = generate_world(seed=3, repos=1, developers=3, weeks=1, now=NOW)
    server = SimulatorServer(world, hourly_budget=5).start()
    yield server
    server.stop()


def test_rate_limit_headers_and_exhaustion(small_budget: SimulatorServer) -> None:
    api = small_budget.api_url
    headers = {"Authorization": "token t"}
    seen = []
    for _ in range(5):
        response = requests.get(f"{api}/orgs/acme", headers=headers, timeout=10)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "5" and response.headers["x-ratelimit-resource"] == "core"
        assert int(response.headers["x-ratelimit-reset"]) > time.time()
        seen.append(int(response.headers["x-ratelimit-remaining"]))
    assert seen == [4, 3, 2, 1, 0]
    assert requests.get(f"{api}/rate_limit", headers=headers, timeout=10).json()["rate"]["remaining"] == 0
    denied = requests.get(f"{api}/orgs/acme", headers=headers, timeout=10)
    assert denied.status_code == 403
    assert denied.json()["message"] == "API rate limit exceeded for user ID 1."
    assert denied.headers["x-ratelimit-remaining"] == "0"
    gh = Github(base_url=api, auth=Auth.Token("t"), retry=None, seconds_between_requests=0)
    with pytest.raises(RateLimitExceededException):
        gh.get_organization("acme")
    assert requests.post(f"{small_budget.url}/_simulator/rate_limit/reset", timeout=10).status_code == 200
    assert requests.get(f"{api}/orgs/acme", headers=headers, timeout=10).status_code == 200


def test_fault_after_and_count(fresh_server: SimulatorServer, http: requests.Session) -> None:
    api = fresh_server.api_url
    fresh_server.faults.add(kind="server_error", status=503, after=2, count=2)
    statuses = [http.get(f"{api}/orgs/acme").status_code for _ in range(5)]
    assert statuses == [200, 200, 503, 503, 200]
    fresh_server.faults.add(kind="server_error", path_contains="/pulls")
    assert http.get(f"{api}/orgs/acme").status_code == 200
    assert http.get(f"{api}/repos/acme/api/pulls").status_code == 502
    assert http.get(f"{api}/repos/acme/api/pulls").status_code == 200


def test_faults_over_http_and_clear(fresh_server: SimulatorServer, http: requests.Session) -> None:
    control = f"{fresh_server.url}/_simulator/faults"
    added = requests.post(control, json={"kind": "server_error", "count": 3, "status": 500}, timeout=10)
    assert added.status_code == 201
    assert len(requests.get(control, timeout=10).json()["faults"]) == 1
    assert requests.post(control, json={"kind": "nonsense"}, timeout=10).status_code == 422
    assert http.get(f"{fresh_server.api_url}/orgs/acme").status_code == 500
    assert requests.delete(control, timeout=10).status_code == 204
    assert http.get(f"{fresh_server.api_url}/orgs/acme").status_code == 200


def test_pygithub_recognises_each_fault(fresh_server: SimulatorServer) -> None:
    gh = Github(base_url=fresh_server.api_url, auth=Auth.Token("x"), retry=None, seconds_between_requests=0)
    fresh_server.faults.add(kind="primary_rate_limit", reset_in=30)
    with pytest.raises(RateLimitExceededException) as primary:
        gh.get_organization("acme")
    assert primary.value.headers["x-ratelimit-remaining"] == "0"
    assert int(primary.value.headers["x-ratelimit-reset"]) >= time.time() + 25
    fresh_server.faults.add(kind="secondary_rate_limit", retry_after=7)
    with pytest.raises(RateLimitExceededException) as secondary:
        gh.get_organization("acme")
    assert secondary.value.headers["retry-after"] == "7"
    fresh_server.faults.add(kind="primary_rate_limit", status=429)
    with pytest.raises(GithubException) as too_many:
        gh.get_organization("acme")
    assert too_many.value.status == 429
    fresh_server.faults.add(kind="server_error", status=502)
    with pytest.raises(GithubException) as bad_gateway:
        gh.get_organization("acme")
    assert bad_gateway.value.status == 502
    assert gh.get_organization("acme").login == "acme"


@pytest.mark.parametrize("damage", ["truncated", "not_json", "wrong_shape"])
def test_a_damaged_body_keeps_the_real_answers_status_and_etag(
    fresh_server: SimulatorServer, http: requests.Session, damage: str
) -> None:
    url = f"{fresh_server.api_url}/repos/acme/api/pulls?state=all"
    real = http.get(url)
    fresh_server.faults.add(kind="damaged_body", damage=damage, path_contains="/pulls")
    damaged = http.get(url)
    assert damaged.status_code == 200 and damaged.headers["ETag"] == real.headers["ETag"]
    if damage == "wrong_shape":
        assert damaged.json() == {"items": real.json()}
    else:
        with pytest.raises(ValueError):
            damaged.json()
    assert http.get(url).json() == real.json(), "one answer only"


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        ("length", requests.exceptions.ChunkedEncodingError),
        ("chunked", requests.exceptions.ChunkedEncodingError),
        ("bad_gzip", requests.exceptions.ContentDecodingError),
    ],
)
def test_a_cut_body_breaks_the_read_mid_body(
    fresh_server: SimulatorServer, http: requests.Session, damage: str, error: type[Exception]
) -> None:
    url = f"{fresh_server.api_url}/repos/acme/api/commits"
    fresh_server.faults.add(kind="cut_body", damage=damage)
    with pytest.raises(error):
        http.get(url)
    assert len(http.get(url).json()) == 30, "the next request is answered whole"


def test_a_malformed_item_is_one_object_of_the_list_patched(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    url = f"{fresh_server.api_url}/repos/acme/api/actions/runs"
    real = http.get(url).json()
    fresh_server.faults.add(kind="malformed_item", patch={"id": None, "created_at": "yesterday"}, index=1)
    spoilt = http.get(url).json()
    assert spoilt["workflow_runs"][1] == {**real["workflow_runs"][1], "id": None, "created_at": "yesterday"}
    assert spoilt["workflow_runs"][0] == real["workflow_runs"][0]
    assert len(fresh_server.faults) == 0, "spent"


def test_spoiling_faults_are_checked(fresh_server: SimulatorServer) -> None:
    control = f"{fresh_server.url}/_simulator/faults"
    bad = [
        {"kind": "damaged_body", "damage": "chunked"},
        {"kind": "malformed_item"},
        {"kind": "cut_body", "patch": {"id": None}},
        {"kind": "damaged_body", "status": 502},
    ]
    assert [requests.post(control, json=fault, timeout=10).status_code for fault in bad] == [422] * 4
    good = {"kind": "malformed_item", "patch": {"parents": {"sha": "x"}}, "path_contains": "/commits"}
    assert requests.post(control, json=good, timeout=10).status_code == 201


def test_pygithub_default_retry_waits_out_a_secondary_limit(fresh_server: SimulatorServer) -> None:
    gh = Github(base_url=fresh_server.api_url, auth=Auth.Token("x"), seconds_between_requests=0)
    fresh_server.faults.add(kind="secondary_rate_limit", retry_after=1)
    started = time.monotonic()
    assert gh.get_organization("acme").login == "acme"
    assert time.monotonic() - started >= 0.9


def test_stats_count_api_requests(fresh_server: SimulatorServer, http: requests.Session) -> None:
    requests.post(f"{fresh_server.url}/_simulator/stats/reset", timeout=10)
    url = f"{fresh_server.api_url}/repos/acme/api/tags"
    etag = http.get(url).headers["ETag"]
    http.get(url, headers={"If-None-Match": etag})
    http.get(f"{fresh_server.api_url}/repos/acme/missing")
    stats = requests.get(f"{fresh_server.url}/_simulator/stats", timeout=10).json()
    assert stats["requests"] == 3 and stats["not_modified"] == 1 and stats["errors"] == 1
    assert stats["by_route"]["GET /repos/{owner}/{repo}/tags"] == 2
    assert fresh_server.stats.snapshot() == stats
    fresh_server.stats.reset()
    assert fresh_server.stats.requests == 0


def test_counts_and_switches_over_http(fresh_server: SimulatorServer) -> None:
    counts = requests.get(f"{fresh_server.url}/_simulator/counts", timeout=10).json()
    assert counts == fresh_server.world.counts()
    one = requests.get(f"{fresh_server.url}/_simulator/counts", params={"repo": "acme/api"}, timeout=10).json()
    assert one == fresh_server.world.counts("acme/api") and one["repositories"] == 1
    switched = requests.post(
        f"{fresh_server.url}/_simulator/switches", json={"fail_next_production_deploy": True}, timeout=10
    )
    assert switched.json()["fail_next_production_deploy"] is True
    assert fresh_server.world.switches["fail_next_production_deploy"] is True


def test_keep_alive_connection_is_reused(server: SimulatorServer) -> None:
    connection = HTTPConnection(server.host, server.port, timeout=10)
    connection.connect()
    socket_before = connection.sock
    for path in ("/orgs/acme", "/repos/acme/api/pulls?per_page=5", "/repos/acme/missing", "/rate_limit"):
        connection.request("GET", "/api/v3" + path, headers={"Authorization": "token x"})
        response = connection.getresponse()
        assert int(response.headers["Content-Length"]) == len(response.read())
        assert not response.will_close
    assert connection.sock is socket_before
    connection.close()
