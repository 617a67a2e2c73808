"""Secret values as a type, so that a seed, password or code cannot leak by accident.

``repr``, ``str`` and formatting show a mask; the value is reached only by ``reveal()``.
"""

from __future__ import annotations

import hmac
from typing import Generic, NoReturn, TypeVar

T = TypeVar("T", str, bytes)


class Secret(Generic[T]):
    """A value that must never reach a log, an event, an error message or a URL."""

    __slots__ = ("_value",)
    _value: T

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return f"{type(self).__name__}('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, Secret):
            return NotImplemented
        a, b = self._value, other._value
        if isinstance(a, str) and isinstance(b, str):
            return hmac.compare_digest(a.encode(), b.encode())
        if isinstance(a, bytes) and isinstance(b, bytes):
            return hmac.compare_digest(a, b)
        return False

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> NoReturn:
        raise TypeError("secrets are not pickled")


class Password(Secret[str]):
    """A login or confirmation password as typed by the customer."""


class Code(Secret[str]):
    """A one-time password as typed; normalise with ``serials.normalize_digits``."""


class Seed(Secret[bytes]):
    """A token's shared secret (the HMAC key)."""


class ClientSecret(Secret[str]):
    """An API client's bearer secret (``kk_<id>_<secret>``), shown once when made."""
