"""POST /api/v1/activations: the token app's activation (X25519 + HKDF-SHA256).

Bad input of any kind is a 4xx problem response and never creates a token.
"""

from __future__ import annotations

import json
from datetime import UTC

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

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


class ActivationResult(BaseModel):
    """What the app needs to derive the seed (docs/activation.md); binary fields base64url."""

    serial: str = Field(description="The new token's 12-digit serial")
    server_public_key: str = Field(description="X25519, 32 bytes, base64url without padding")
    salt: str = Field(description="16 bytes, base64url without padding")
    algorithm: str
    digits: int
    period: int
    expires_at: str | None = Field(description="Register it by then (UTC)")


#: The body is read by hand (size first, then JSON), so its shape is documented here.
REQUEST_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": False, "required": ["client_public_key"],
    "properties": {"client_public_key": {
        "type": "string", "pattern": "^[A-Za-z0-9_-]{43}$",
        "description": "The app's X25519 public key, 32 bytes, base64url without padding"}},
}}}}
_PROBLEMS = {
    400: "Problem: `invalid_json`", 413: "Problem: `body_too_large`",
    415: "Problem: `unsupported_media_type`", 422: "Problem: `invalid_input`",
    429: "Problem: `rate_limited` (see Retry-After)",
}


@router.post(
    "/activations", status_code=201, tags=["token app"],
    summary="Activate a software token (X25519 + HKDF-SHA256; the seed never travels)",
    response_model=ActivationResult, openapi_extra={"requestBody": REQUEST_BODY},
    responses={status: {"description": text} for status, text in _PROBLEMS.items()},
)
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
