"""POST /api/v1/activations: the token app's activation (X25519 + HKDF-SHA256).

Bad input of any kind is a 4xx problem response and never creates a token.
"""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from kinko.domain.activation import b64url
from kinko.domain.errors import InvalidInput, KinkoError
from kinko.services import activation
from kinko.web.api import bodies
from kinko.web.api.problems import from_error, problem

router = APIRouter(prefix="/api/v1")

MAX_BODY = 4096  # the only field is a 43-character key


class ActivationResult(BaseModel):
    """What the app needs to derive the seed (docs/activation.md); binary fields base64url."""

    serial: str = Field(description="The new token's 12-digit serial")
    server_public_key: str = Field(description="X25519, 32 bytes, base64url without padding")
    salt: str = Field(description="16 bytes, base64url without padding")
    algorithm: str
    digits: int
    period: int
    expires_at: str | None = Field(description="Register it by then (UTC)")


#: The body is read by hand (size first, then JSON), so its shape is documented here. 32
#: bytes are 43 base64url characters, the last carrying 4 bits and 2 zero bits: only the
#: canonical encoding passes, as the server decodes it.
KEY_PATTERN = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"
REQUEST_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": False, "required": ["client_public_key"],
    "properties": {"client_public_key": {
        "type": "string", "pattern": KEY_PATTERN, "minLength": 43, "maxLength": 43,
        "description": "The app's X25519 public key, 32 bytes, base64url without padding "
                       "(exactly as written: no padding, no spaces, no other alphabet). "
                       "A low-order point (e.g. 32 zero bytes) cannot be told from the "
                       "pattern: it is refused with 422 `invalid_input`."}},
}}}}
_PROBLEMS = {
    400: "Problem: `duplicate_key`, `invalid_json` (the body is not UTF-8 JSON, has a byte "
         "order mark, or names a member twice)",
    413: "Problem: `body_too_large`",
    415: "Problem: `unsupported_media_type`",
    422: "Problem: `invalid_input` (not the one member `client_public_key`, or a key that "
         "is not a usable X25519 public key: a low-order point)",
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
    try:
        document = await bodies.read_json(request, MAX_BODY)
    except bodies.BodyRefused as refused:
        return problem(refused.status, refused.code, refused.detail)
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
