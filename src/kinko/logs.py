"""The server's log: JSON lines or readable text, each line carrying its request's id.

``configure`` is called once by the composition root (``kinko serve``, ``web.asgi``); code
elsewhere logs through ``logging.getLogger(__name__)`` and passes its structured facts as
``extra={"fields": {...}}`` — never a secret (see docs/operations.md, "Logs").
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

__all__ = [
    "FIELDS",
    "LEVELS",
    "JsonFormatter",
    "LogFormat",
    "TextFormatter",
    "accept_request_id",
    "configure",
    "current_request_id",
    "new_request_id",
    "request_id_var",
    "using_request_id",
]

LogFormat = Literal["text", "json"]

#: ``extra={FIELDS: {...}}``: the structured facts of one line.
FIELDS = "fields"

#: ``KINKO_LOG_LEVEL`` values (uvicorn's names; ``trace`` is uvicorn's own, below debug).
LEVELS: Mapping[str, int] = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": 5,
}

#: The loggers whose debug lines kinko vouches for. Other libraries stay at info at most:
#: their debug output is not reviewed for secrets (e.g. a form parser's).
OWN_LOGGERS = ("kinko",)

#: An incoming X-Request-ID is kept only if it looks like an id and nothing else: letters,
#: digits, dot, underscore, hyphen; 8 to 64 characters, starting with a letter or digit.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")

request_id_var: ContextVar[str | None] = ContextVar("kinko_request_id", default=None)


def new_request_id() -> str:
    """A fresh request id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def accept_request_id(incoming: bytes | str | None) -> str:
    """``incoming`` if it is a sane request id, else a fresh one."""
    if isinstance(incoming, bytes):
        try:
            incoming = incoming.decode("ascii")
        except UnicodeDecodeError:
            incoming = None
    if incoming is not None and REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()


@contextmanager
def using_request_id(request_id: str) -> Iterator[str]:
    """Every line logged inside (this task, and the threads it hands work to) carries
    ``request_id``."""
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, FIELDS, None)
    return dict(fields) if isinstance(fields, Mapping) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, then the
    line's fields (and ``exc``, a traceback, when one is attached)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in _fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str, separators=(",", ":"))


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    if text == "" or any(c in text for c in ' "=\n\t\\'):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...`` for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), f"{record.levelname:<7}", record.name,
                 record.getMessage()]
        request_id = request_id_var.get()
        if request_id is not None:
            parts.append(f"request_id={request_id}")
        parts += [f"{key}={_text_value(value)}" for key, value in _fields(record).items()]
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        return text


class KinkoHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure`` installs (and replaces when called again). Without a
    stream it writes to whatever ``sys.stderr`` is when a line is logged."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self.follows_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self.follows_stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure(level: str = "info", log_format: LogFormat = "text", *,
              stream: TextIO | None = None) -> logging.Handler:
    """Send every log line to ``stream`` (stderr) as ``log_format``; kinko's own loggers at
    ``level``, other libraries' at ``level`` but never below info. Returns the handler."""
    try:
        threshold = LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; one of {', '.join(LEVELS)}") from None
    if log_format not in ("text", "json"):
        raise ValueError(f"unknown log format {log_format!r}; text or json")
    handler = KinkoHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, KinkoHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(threshold, logging.INFO))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(threshold)
    return handler
