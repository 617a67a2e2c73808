"""The JSON API as an application of its own, which the site hands every ``/api/`` request.

Its own app rather than routers of the site's: a request to the API is matched against the
API's dozen routes only (FastAPI walks every included router on each request), it never
meets the customer screens' error pages, and every error it raises is a problem document.
Paths stay whole (``/api/v1/verify``), as the OpenAPI document names them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from kinko import __version__
from kinko.bootstrap import Kinko
from kinko.services.api_clients import Authenticator
from kinko.services.integration import VerifyHints
from kinko.web.api import activations, v1
from kinko.web.api.problems import problem, server_error
from kinko.web.errors import ServerErrors
from kinko.web.routing import allow_header

PREFIX = "/api/"


def create_api(kinko: Kinko) -> FastAPI:
    api = FastAPI(title="kinko API", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    api.state.kinko = kinko
    api.state.authenticator = Authenticator(kinko.ctx,
                                            ttl_seconds=kinko.settings.api_client_cache_seconds)
    api.state.verify_hints = VerifyHints()
    for module in (v1, activations):
        api.include_router(module.router)
    # Whatever no handler answered: a problem document, 503 while the database is away.
    api.add_middleware(ServerErrors, respond=server_error)

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method the path allows, not one route's
            headers.update(allow_header(api.router.routes, request.scope))
        return problem(exc.status_code, "http_error", str(exc.detail), headers=headers)

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return v1.invalid_request(exc)

    return api


class Prefixed(BaseRoute):
    """A route of the site that hands every HTTP request under ``prefix`` to ``app``,
    path unchanged."""

    def __init__(self, prefix: str, app: ASGIApp) -> None:
        self.prefix = prefix
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: object) -> URLPath:
        raise NoMatchFound(name, path_params)
