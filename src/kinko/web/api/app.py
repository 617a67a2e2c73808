"""The JSON API as an application of its own, which the site hands every ``/api/`` request.

Its own app rather than routers of the site's: a request to the API is matched against the
API's dozen routes only (FastAPI walks every included router on each request), it never
meets the customer screens' error pages, and every error it raises is a problem document.
Paths stay whole (``/api/v1/verify``), as the OpenAPI document names them.

``POST /api/v1/verify`` does not reach FastAPI at all: the API's outermost layer (``Api``)
hands it to a plain ASGI handler (``verify_endpoint``), whose route in ``v1`` documents it.
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
from kinko.web.api import activations, route, v1, verify_endpoint
from kinko.web.api.problems import problem, server_error
from kinko.web.errors import ServerErrors
from kinko.web.routing import allow_header

PREFIX = "/api/"


def create_api(kinko: Kinko) -> Api:
    api = FastAPI(title="kinko API", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    api.state.kinko = kinko
    authenticator = Authenticator(kinko.ctx,
                                  ttl_seconds=kinko.settings.api_client_cache_seconds)
    api.state.authenticator = authenticator
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
        return route.invalid_request(exc)

    verify = verify_endpoint.VerifyEndpoint(kinko.ctx, authenticator)
    # The same guard as the FastAPI app's: 503 while the database is away, else 500.
    return Api(api, ServerErrors(verify, respond=server_error))


class Api:
    """The API's outermost ASGI layer: ``POST /api/v1/verify`` goes straight to ``verify``
    (a path and method compared, nothing else), every other request to the FastAPI app
    ``app``, which also serves the OpenAPI document describing both."""

    def __init__(self, app: FastAPI, verify: ASGIApp) -> None:
        self.app = app
        self.verify = verify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] == verify_endpoint.PATH
                and scope["method"] == verify_endpoint.METHOD):
            await self.verify(scope, receive, send)
        else:
            await self.app(scope, receive, send)


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
