"""The API's route class: the client's bearer secret and the operation's scope are checked
before anything else, the JSON body is read strictly, and every error leaves as an RFC 9457
problem; with the helpers that document those answers in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from kinko.domain.errors import KinkoError
from kinko.domain.model import ApiClient, ApiScope
from kinko.services import api_clients
from kinko.web.api import bodies, docs
from kinko.web.api.models import UNION_TAGS
from kinko.web.api.problems import from_error, problem

#: The largest request body the API reads (the biggest one, 利用開始, is far below it).
MAX_BODY = 16 * 1024
#: The OpenAPI extension naming the scope an operation needs; the route class reads it.
SCOPE_KEY = docs.SCOPE_KEY

WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="kinko"'}


# --- authentication and errors -----------------------------------------------------------

class ApiRoute(APIRoute):
    """Checks the bearer secret and the operation's scope first (so a caller without them
    learns nothing, not even about the body), then turns every error into a problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        extra = self.openapi_extra or {}
        scope = ApiScope(extra[SCOPE_KEY]) if SCOPE_KEY in extra else None

        takes_body = self.body_field is not None

        async def route(request: Request) -> Response:
            try:
                if scope is not None:
                    authenticator: api_clients.Authenticator = request.app.state.authenticator
                    header = request.headers.get("authorization")
                    request.state.api_client = (
                        authenticator.cached(header, scope)
                        or await run_in_threadpool(authenticator.authenticate, header, scope))
                if takes_body:
                    refused = await _read_body(request)
                    if refused is not None:
                        return refused
                return await handler(request)
            except RequestValidationError as error:
                return invalid_request(error)
            except KinkoError as error:
                return refusal(error)
            except HTTPException as error:
                if error.status_code == 400:  # FastAPI could not decode the body at all
                    return problem(400, "invalid_json", "the body is not valid JSON")
                raise

        return route


async def _read_body(request: Request) -> Response | None:
    """Read the JSON body (``bodies.read_json``: size, media type, UTF-8, no duplicate
    names), or the problem that refuses it."""
    try:
        await bodies.read_json(request, MAX_BODY)
    except bodies.BodyRefused as refused:
        return problem(refused.status, refused.code, refused.detail)
    return None


def refusal(error: KinkoError) -> JSONResponse:
    """The problem for a domain error; a 401 (the client's secret, or a wrong code or
    password) says how to authenticate."""
    response = from_error(error)
    if response.status_code == 401:
        response.headers.update(WWW_AUTHENTICATE)
    return response


def invalid_request(error: RequestValidationError) -> Response:
    """422 with the fields at fault (never their values: they may be passwords or codes)."""
    return invalid_fields(error.errors())


def invalid_fields(errors: Iterable[Mapping[str, Any]]) -> JSONResponse:
    """``invalid_request``'s answer for pydantic's errors, located as FastAPI locates them
    (``("body", "otp")``)."""
    errors = list(errors)
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "invalid_json", "the body is not valid JSON")
    fields = [{"field": ".".join(str(part) for part in e.get("loc", ())
                                 if part not in UNION_TAGS),
               "message": str(e.get("msg", "not valid"))} for e in errors]
    return problem(422, "invalid_request", "the request is not valid", errors=fields)


async def current_client(request: Request) -> ApiClient:
    """The client ``ApiRoute`` authenticated for this request."""
    client: ApiClient = request.state.api_client
    return client


Client = Annotated[ApiClient, Depends(current_client)]


# --- documentation helpers ---------------------------------------------------------------

#: Problem codes the route layer itself answers with, besides HTTP_STATUS's.
OWN_CODES = {"invalid_request": 422, **bodies.CODES}
ALWAYS = ("unauthorized", "forbidden", "invalid_request", "invalid_input")


def _status_of(code: str) -> int:
    from kinko.web.errors import HTTP_STATUS

    return OWN_CODES.get(code) or HTTP_STATUS[code]


#: What a status means beyond its codes, where a client needs telling.
_NOTES = {
    400: "The body is not JSON as RFC 8259 exchanges it: not UTF-8, a byte order mark, "
         "not JSON at all (`invalid_json`); or one object names a member twice "
         "(`duplicate_key`).",
    422: "`invalid_request`: the request does not match this document (the fields are "
         "listed). `invalid_input`: a value in a form the server normalises (full-width "
         "digits, separators) that is still not a contract ID, serial or OTP.",
}
_LUHN_NOTE = (" A request that matches this document gets `invalid_input` only for a "
              "serial whose Luhn check digit is wrong.")


def problems(*codes: str, body: bool = True,
             serial: bool = True) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of an operation: each status with its problem codes
    (``body``: the operation reads a JSON body; ``serial``: it takes a serial)."""
    own = tuple(bodies.CODES) if body else ()
    every = (*ALWAYS, *own, *codes)
    by_status: dict[int, list[str]] = {}
    for code in every:
        by_status.setdefault(_status_of(code), [])
        if code not in by_status[_status_of(code)]:
            by_status[_status_of(code)].append(code)
    documented: dict[int | str, dict[str, Any]] = {}
    for status, names in sorted(by_status.items()):
        text = "Problem: " + ", ".join(f"`{c}`" for c in sorted(names)) + "."
        if status in _NOTES:
            text += " " + _NOTES[status]
        if status == 422 and serial:
            text += _LUHN_NOTE
        documented[status] = {"description": text}
    return documented


def scoped(scope: ApiScope) -> dict[str, Any]:
    return {SCOPE_KEY: scope.value}
