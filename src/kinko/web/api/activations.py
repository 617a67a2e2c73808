"""POST /api/v1/activations: the token app's activation (X25519 + HKDF-SHA256).

Bad input of any kind is a 4xx problem response and never creates a token.
"""

from __future__ import annotations

import json
from datetime import UTC

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from kinko.domain.activation import b64url
from kinko.domain.errors import InvalidInput, KinkoError
from kinko.services import activation
from kinko.web.api.problems import from_error, problem

router = APIRouter(prefix="/api/v1")

MAX_BODY = 4096  # the only field is a 43-character key


async def _read_limited(request: Request) -> bytes | None:
    """The body, or None when it is larger than ``MAX_BODY`` (read no further)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body


@router.post("/activations", status_code=201)
async def create_activation(request: Request) -> Response:
    kinko = request.app.state.kinko
    address = request.client.host if request.client else "unknown"
    try:
        await run_in_threadpool(activation.admit, kinko.ctx, address,
                                kinko.settings.activation_limit())
    except activation.RateLimited as limited:
        return problem(429, limited.code, str(limited),
                       headers={"Retry-After": str(limited.retry_after)})
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return problem(415, "unsupported_media_type", "send application/json")
    body = await _read_limited(request)
    if body is None:
        return problem(413, "body_too_large", f"the body must be at most {MAX_BODY} bytes")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return problem(400, "invalid_json", "the body is not valid JSON")
    if not isinstance(document, dict) or set(document) != {"client_public_key"}:
        return problem(422, InvalidInput.code,
                       'the body must be {"client_public_key": "<base64url>"} and nothing else')
    try:
        result = await run_in_threadpool(
            activation.activate, kinko.ctx, document["client_public_key"],
            client_address=address)
    except KinkoError as error:
        return from_error(error)
    token = result.token
    expires = token.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") \
        if token.expires_at else None
    return JSONResponse(
        {"serial": token.serial, "server_public_key": b64url(result.server_public_key),
         "salt": b64url(result.salt), "algorithm": token.params.algorithm.value,
         "digits": token.params.digits, "period": token.params.period,
         "expires_at": expires},
        status_code=201,
    )
