"""The server's own log, as an operator would get it, captured for the leak tests: kinko's
handler configured for DEBUG and JSON lines (``kinko.logs.configure``), writing to a buffer.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kinko.logs import configure

#: The tests' HTTP client (TestClient is httpx) logs each URL it requests, query string
#: and all: that is the caller's log, not the server's.
CLIENT_LOGGERS = frozenset({"httpx", "httpcore"})


@dataclass
class JsonLog:
    buffer: io.StringIO = field(default_factory=io.StringIO)

    @property
    def text(self) -> str:
        """The server's lines, as written."""
        return "".join(line + "\n" for line, parsed in self._parsed()
                       if parsed["logger"].split(".")[0] not in CLIENT_LOGGERS)

    def lines(self) -> list[dict[str, Any]]:
        """The server's lines, parsed."""
        return [parsed for _, parsed in self._parsed()
                if parsed["logger"].split(".")[0] not in CLIENT_LOGGERS]

    def _parsed(self) -> list[tuple[str, dict[str, Any]]]:
        """Every line with its object: each line must be exactly one JSON object."""
        pairs = [(line, json.loads(line)) for line in self.buffer.getvalue().splitlines()]
        assert all(isinstance(parsed, dict) for _, parsed in pairs)
        return pairs

    def of(self, logger: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == logger]


@contextmanager
def json_log(level: str = "debug") -> Iterator[JsonLog]:
    """Log as ``kinko serve`` does with ``KINKO_LOG_LEVEL=level KINKO_LOG_FORMAT=json``,
    into a buffer; the logging set-up is restored afterwards."""
    root, own = logging.getLogger(), logging.getLogger("kinko")
    levels = root.level, own.level
    captured = JsonLog()
    handler = configure(level, "json", stream=captured.buffer)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        own.setLevel(levels[1])


def assert_no_secret(texts: Iterable[str], secrets: Iterable[str],
                     codes: Iterable[str] = (), *, noise: re.Pattern[str] | None = None) -> None:
    """No secret appears in any text, and no code as a number of its own (after removing
    ``noise``: hashes and byte strings a six-digit code may match by chance)."""
    secrets, codes = [s for s in secrets if s], list(codes)
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:2]}…) reached the log"
        plain = noise.sub(" ", text) if noise is not None else text
        for code in codes:
            assert not re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", plain), (
                "a one-time password reached the log")
