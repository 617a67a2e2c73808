"""A browser-like HTTP client for the customer screens: follows the CSRF token, logs in."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from fastapi.testclient import TestClient
from httpx import Response

from kinko.web.app import CUSTOMER_COOKIE, create_app
from tests.support import LOGIN_PASSWORD, Harness

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REQUEST_KEY = re.compile(r'name="request_key" value="([^"]+)"')


class Browser:
    def __init__(self, harness: Harness, **settings: object) -> None:
        self.h = harness
        kinko = harness.kinko
        if settings:
            kinko = replace(kinko, settings=kinko.settings.model_copy(update=settings))
        self.client = TestClient(create_app(kinko), follow_redirects=False)
        self.csrf = ""

    @property
    def cookie(self) -> str | None:
        return self.client.cookies.get(CUSTOMER_COOKIE)

    def get(self, url: str) -> Response:
        response = self.client.get(url)
        found = CSRF.search(response.text)
        if found:
            self.csrf = html.unescape(found.group(1))
        return response

    def post(self, url: str, data: dict[str, str], *, csrf: str | None = None) -> Response:
        form = dict(data)
        if csrf is None:
            form["csrf_token"] = self.csrf
        elif csrf:
            form["csrf_token"] = csrf
        return self.client.post(url, data=form)

    def submit(self, url: str, data: dict[str, str]) -> Response:
        """GET the form (for its CSRF token), then POST it."""
        self.get(url)
        return self.post(url, data)

    def follow(self, response: Response) -> Response:
        assert response.status_code == 303, (response.status_code, response.text[:500])
        return self.get(response.headers["location"])

    def login(self, contract_id: str, code: str | None = None,
              password: str = LOGIN_PASSWORD) -> Response:
        response = self.submit("/login", {"contract_id": contract_id,
                                          "login_password": password})
        if code is not None:
            assert response.headers.get("location") == "/login/otp"
            response = self.submit("/login/otp", {"otp": code})
        return response


def text_of(response: Response) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))
