"""Reading and parsing the API's JSON request bodies: the one place every body goes through.

A body is refused unless it is ``application/json``, at most the operation's size, UTF-8
without a byte order mark (RFC 8259 §8.1), and JSON with no name twice in one object
(I-JSON, RFC 7493 §2.3). Python's own ``json.loads`` would take UTF-16 and UTF-32 bytes,
``NaN`` and ``Infinity``, and keep the last of two equal names; two parsers that disagree
on such a document (a proxy, an audit tool, kinko) would each see a different request.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from fastapi import Request

#: Problem codes (with their status) of a refused body, as the OpenAPI document lists them.
CODES = {"invalid_json": 400, "duplicate_key": 400, "body_too_large": 413,
         "unsupported_media_type": 415}

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE,
         codecs.BOM_UTF32_BE)


class BodyRefused(Exception):
    """A request body kinko does not read: the problem's status, code and detail."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _DuplicateKey
    return document


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _valid_unicode(value: Any) -> bool:
    """Whether every string of ``value`` is Unicode text (JSON's ``\\ud800`` escapes can
    make lone surrogates, which no database or log encoder takes)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``, or ``BodyRefused`` saying why not."""
    if body.startswith(_BOMS):
        raise BodyRefused(400, "invalid_json",
                          "the body must be UTF-8 JSON without a byte order mark")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused(400, "invalid_json", "the body must be UTF-8 JSON") from None
    try:
        document = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except _DuplicateKey:
        raise BodyRefused(400, "duplicate_key",
                          "a name appears twice in one JSON object") from None
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
        raise BodyRefused(400, "invalid_json", "the body is not valid JSON") from None
    if not _valid_unicode(document):
        raise BodyRefused(400, "invalid_json", "the body holds a string that is not Unicode")
    return document


async def read_json(request: Request, max_bytes: int) -> Any:
    """The request's JSON body: ``application/json``, at most ``max_bytes`` (read no
    further), and ``parse_json``'s rules; else ``BodyRefused``."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise BodyRefused(415, "unsupported_media_type", "send application/json")
    too_large = BodyRefused(413, "body_too_large", f"the body must be at most {max_bytes} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    document = parse_json(bytes(body))
    # Starlette keeps a read body and its parsed JSON here; FastAPI's handler then takes
    # this document instead of parsing the bytes again with the lenient ``json.loads``.
    request._body = bytes(body)
    request._json = document
    return document
