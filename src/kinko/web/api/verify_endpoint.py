"""``POST /api/v1/verify`` as a plain ASGI handler: the API's busiest operation, answered
before FastAPI's routing, dependency injection and response validation (docs/api.md).

It does what FastAPI and ``route.ApiRoute`` did for the route, in the same order and with
the same parts, so nothing is written twice: the client's bearer secret and scope
(``Authenticator``), then the body (``bodies.read_json``), then the request model
(``models.VerifyRequest``, the type the OpenAPI document is generated from), then the check
(``v1.check_code``, in a worker thread), then the answer encoded with orjson, or the same
problem documents (``route.refusal``, ``route.invalid_fields``). The route in ``v1``
documents it.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from kinko.domain.errors import KinkoError
from kinko.domain.model import ApiScope
from kinko.services.api_clients import Authenticator
from kinko.services.context import Context
from kinko.web.api import bodies, models, route, v1
from kinko.web.api.problems import problem

PATH = "/api/v1/verify"
METHOD = "POST"


class VerifyEndpoint:
    """The ASGI app that answers ``POST /api/v1/verify`` (the API's outermost layer sends
    it nothing else). Errors outside kinko's rules (a database outage) are raised, for the
    ``ServerErrors`` guard around it to answer as it answers the rest of the API."""

    def __init__(self, ctx: Context, authenticator: Authenticator) -> None:
        self.ctx = ctx
        self.authenticator = authenticator
        #: Put in the scope as a router would, for the access log's route name.
        self.route = Route(PATH, self, methods=[METHOD])
        self.request_model: TypeAdapter[models.VerifyByContractId | models.VerifyBySerial] = \
            TypeAdapter(models.VerifyRequest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route
        response = await self._respond(Request(scope, receive))
        if isinstance(response, bytes):
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-length", str(len(response)).encode("ascii")),
                (b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": response})
        else:
            await response(scope, receive, send)

    async def _respond(self, request: Request) -> bytes | Response:
        """The accepted answer's body, or the problem that refuses the request."""
        try:
            header = request.headers.get("authorization")
            # Who asks, before anything about the body (a caller without a secret learns
            # nothing); a secret checked moments ago costs no thread hop.
            client = self.authenticator.cached(header, ApiScope.VERIFY)
            if client is None:
                client = await anyio.to_thread.run_sync(self.authenticator.authenticate,
                                                        header, ApiScope.VERIFY)
            document = await bodies.read_json(request, route.MAX_BODY)
            try:
                # As FastAPI validates a body parameter (from_attributes included), so
                # the 422s name the same fields with the same messages.
                body = self.request_model.validate_python(document, from_attributes=True)
            except ValidationError as error:
                return route.invalid_fields(_located_in_body(error))
            answer = await anyio.to_thread.run_sync(v1.check_code, self.ctx, client, body)
        except bodies.BodyRefused as refused:
            return problem(refused.status, refused.code, refused.detail)
        except KinkoError as error:
            return route.refusal(error)
        return orjson.dumps(answer)


def _located_in_body(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors, without the values, located as FastAPI locates a body's."""
    return [{**e, "loc": ("body", *e["loc"])}
            for e in error.errors(include_url=False, include_input=False,
                                  include_context=False)]
