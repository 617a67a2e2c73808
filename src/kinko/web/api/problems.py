"""RFC 9457 problem details: every API error is ``application/problem+json`` with a stable
machine-readable ``code``, mapped from kinko's errors in one place."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Scope

from kinko.domain.errors import KinkoError, RateLimited
from kinko.web.errors import http_status

MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 413: "Content Too Large",
    415: "Unsupported Media Type", 422: "Unprocessable Content", 423: "Locked",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
}


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Where: body.otp, query.limit, path.serial, ...")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details with kinko's stable machine-readable ``code``."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="urn:kinko:problem:<code>")
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = Field(
        default=None, description="Only with invalid_request: the fields at fault")


def problem(status: int, code: str, detail: str, *,
            headers: dict[str, str] | None = None,
            errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    document: dict[str, Any] = {
        "type": f"urn:kinko:problem:{code}", "title": TITLES.get(status, "Error"),
        "status": status, "detail": detail, "code": code}
    if errors is not None:
        document["errors"] = errors
    return JSONResponse(document, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_error(error: KinkoError, *, status: int | None = None) -> JSONResponse:
    """The problem response for a domain error; its message never holds a secret. A rate
    limit says in ``Retry-After`` how long to wait."""
    headers = ({"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited)
               else None)
    return problem(status or http_status(error), error.code, str(error), headers=headers)


#: The problem codes of a request that failed outside kinko's rules (``ServerErrors``).
SERVICE_UNAVAILABLE = "service_unavailable"
INTERNAL_ERROR = "internal_error"


def server_error(scope: Scope, unavailable: bool) -> JSONResponse:
    """The API's answer to a request that failed: 503 ``service_unavailable`` while the
    database cannot be reached (``ServerErrors`` adds ``Retry-After``), else 500
    ``internal_error``. A write cut off by the outage may or may not have been committed,
    as with any answer lost on the way."""
    if unavailable:
        return problem(503, SERVICE_UNAVAILABLE,
                       "the service is temporarily unavailable; send the request again later")
    return problem(500, INTERNAL_ERROR, "the request failed on the server")
