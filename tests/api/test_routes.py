"""The API's routes are matched in ROUTERS order; none may hide a later one."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.main import API_PREFIX, ROUTERS

PARAM = re.compile(r"\{[^}]+\}")


def ordered_routes() -> list[APIRoute]:
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def shadowed(routes: list[APIRoute]) -> list[str]:
    """Routes that an earlier route with a method in common would take: tried with a number in
    each path parameter, and with the parameter's name (a literal path segment elsewhere)."""
    found = []
    for index, route in enumerate(routes):
        samples = {PARAM.sub("123", route.path_format), PARAM.sub("name", route.path_format)}
        for earlier in routes[:index]:
            if earlier.path_format == route.path_format or not earlier.methods & route.methods:
                continue
            literal = route.path_format.replace("{", "").replace("}", "")
            if any(earlier.path_regex.match(s) for s in samples) and earlier.path_regex.match(
                literal
            ):
                found.append(f"{route.path_format} is hidden by {earlier.path_format}")
    return found


def test_no_route_hides_a_later_one() -> None:
    assert shadowed(ordered_routes()) == []


def test_the_check_finds_a_parameter_route_before_a_literal_one() -> None:
    from fastapi import APIRouter

    router = APIRouter()
    router.add_api_route("/projects/{project_id}", lambda project_id: None, methods=["GET"])
    router.add_api_route("/projects/progress", lambda: None, methods=["GET"])
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    assert shadowed(routes) == ["/projects/progress is hidden by /projects/{project_id}"]
    assert shadowed(list(reversed(routes))) == []


def test_every_router_is_served_under_the_api_prefix(app: FastAPI, client: TestClient) -> None:
    paths = set(client.get(f"{API_PREFIX}/openapi.json").json()["paths"])
    expected = {API_PREFIX + route.path_format for route in ordered_routes()}
    assert expected <= paths
    assert client.get(f"{API_PREFIX}/health").json() == {"status": "ok"}
    assert client.get(f"{API_PREFIX}/no-such-route").status_code == 404
