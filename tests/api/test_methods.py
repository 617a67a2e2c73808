"""A method a path does not serve (TRACE above all) is 405 with an ``Allow`` header listing
every method the path does serve: on the API, the screens, the console and static files."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

#: Paths and what they allow, as the site's routes define them.
PATHS = {
    "/api/v1/verify": "POST",
    "/api/v1/customers/1000000001": "GET",
    "/api/v1/tokens/123456789015/suspend": "POST",
    "/api/v1/activations": "POST",
    "/api/openapi.json": "GET",
    "/api/docs": "GET",
    "/login": "GET, POST",
    "/console/login": "GET, POST",
    "/console": "GET",
    "/static/api-docs.css": "GET, HEAD",
    "/healthz": "GET",
}


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "PATCH"])
def test_a_method_the_path_does_not_serve_is_405_with_allow(api: Api, path: str,
                                                            method: str) -> None:
    response = api.http.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == PATHS[path]


def test_the_methods_allow_names_are_served(api: Api) -> None:
    for path, allowed in PATHS.items():
        for method in allowed.split(", "):
            assert api.http.request(method, path).status_code != 405, (method, path)


def test_a_405_of_the_api_is_a_problem_document(api: Api) -> None:
    response = api.http.request("TRACE", "/api/v1/verify")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "http_error"
