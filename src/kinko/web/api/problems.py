"""RFC 9457 problem details: every API error is ``application/problem+json`` with a stable
machine-readable ``code``, mapped from kinko's errors in one place."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from kinko.domain.errors import KinkoError
from kinko.web.errors import http_status

MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 413: "Content Too Large",
    415: "Unsupported Media Type", 422: "Unprocessable Content", 423: "Locked",
    429: "Too Many Requests",
}


def problem(status: int, code: str, detail: str, *,
            headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"type": f"urn:kinko:problem:{code}", "title": TITLES.get(status, "Error"),
         "status": status, "detail": detail, "code": code},
        status_code=status, media_type=MEDIA_TYPE, headers=headers,
    )


def from_error(error: KinkoError, *, status: int | None = None) -> JSONResponse:
    """The problem response for a domain error; its message never holds a secret."""
    return problem(status or http_status(error), error.code, str(error))
