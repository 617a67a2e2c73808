"""HOTP (RFC 4226) and TOTP (RFC 6238): codes, verification against replay and drift, resync.

Pure: the clock is always a ``now`` parameter, and codes are compared in constant time.
OCRA (RFC 6287), which is built on the HOTP truncation, lives in ``kinko.domain.ocra``.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass

from kinko.domain.errors import InvalidInput, ReplayedCode, WrongCode

__all__ = [
    "Algorithm",
    "TotpMatch",
    "TotpParameters",
    "check_counter",
    "check_key",
    "find_resync_steps",
    "hotp",
    "truncate",
    "verify_totp",
]

_MAX_COUNTER = 2**64 - 1  # counters and steps travel as 8-byte big-endian integers


class Algorithm(enum.StrEnum):
    """The HMAC hash of a token: HOTP, TOTP and OCRA all take one of these."""

    SHA1 = "SHA1"
    SHA256 = "SHA256"
    SHA512 = "SHA512"

    @property
    def hashlib_name(self) -> str:
        """The name ``hashlib`` and ``hmac`` know this hash by ("sha1", ...)."""
        return self.value.lower()

    @property
    def digest_size(self) -> int:
        """Length of the hash in bytes."""
        return {"SHA1": 20, "SHA256": 32, "SHA512": 64}[self.value]


def truncate(mac: bytes, digits: int) -> str:
    """RFC 4226 section 5.3 dynamic truncation to ``digits`` decimal digits, zero-padded.

    Public because OCRA (RFC 6287) truncates its HMAC the same way.
    """
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFF_FFFF
    return str(binary % 10**digits).zfill(digits)


def check_key(key: bytes) -> None:
    """InvalidInput for an empty HMAC key (HOTP, TOTP and OCRA alike)."""
    if not key:
        raise InvalidInput("key must not be empty")


def check_counter(counter: int, name: str) -> None:
    """InvalidInput unless ``counter`` fits the 8-byte big-endian field it travels in."""
    if not 0 <= counter <= _MAX_COUNTER:
        raise InvalidInput(f"{name} must be between 0 and 2**64 - 1")


def hotp(
    key: bytes, counter: int, *, digits: int = 6, algorithm: Algorithm = Algorithm.SHA1
) -> str:
    """The HOTP value of ``counter`` (RFC 4226), as a zero-padded string of ``digits`` digits."""
    check_key(key)
    if not 6 <= digits <= 8:
        raise InvalidInput("digits must be between 6 and 8")
    check_counter(counter, "counter")
    mac = hmac.digest(key, counter.to_bytes(8, "big"), algorithm.hashlib_name)
    return truncate(mac, digits)


def _is_code_shaped(code: str, digits: int) -> bool:
    return len(code) == digits and code.isascii() and code.isdigit()


@dataclass(frozen=True)
class TotpParameters:
    """How a token turns time into codes (RFC 6238); the defaults are the bank app's."""

    algorithm: Algorithm = Algorithm.SHA1
    digits: int = 6
    period: int = 30
    t0: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.algorithm, Algorithm):
            raise InvalidInput("algorithm must be SHA1, SHA256 or SHA512")
        if not 6 <= self.digits <= 8:
            raise InvalidInput("digits must be between 6 and 8")
        if self.period < 1:
            raise InvalidInput("period must be at least 1 second")
        if self.t0 < 0:
            raise InvalidInput("t0 must not be negative")

    def step_at(self, now: float) -> int:
        """The time step at unix time ``now``: floor((now - t0) / period); negative before t0."""
        return int((now - self.t0) // self.period)

    def code_at_step(self, key: bytes, step: int) -> str:
        """The code a token shows during ``step``."""
        return hotp(key, step, digits=self.digits, algorithm=self.algorithm)

    def code_at(self, key: bytes, now: float) -> str:
        """The code a token shows at unix time ``now``."""
        return self.code_at_step(key, self.step_at(now))

    def seconds_left(self, now: float) -> float:
        """Seconds from ``now`` until the next step starts (in (0, period])."""
        next_start = self.t0 + (self.step_at(now) + 1) * self.period
        return float(next_start - now)


@dataclass(frozen=True)
class TotpMatch:
    """The step a code was accepted for, and how far it lies from the step of ``now``."""

    step: int
    drift: int


def _pick(matches: list[tuple[int, bool]], last_step: int | None, current_step: int) -> TotpMatch:
    """The lowest unspent matching step; else ReplayedCode if a spent one matched; else WrongCode.

    ``matches`` holds every candidate step with whether it matched, so that the comparisons
    were all made before any decision (no early exit on the first match).
    """
    fresh = [s for s, ok in matches if ok and (last_step is None or s > last_step)]
    if fresh:
        step = min(fresh)
        return TotpMatch(step=step, drift=step - current_step)
    if any(ok for _, ok in matches):
        raise ReplayedCode
    raise WrongCode


def verify_totp(
    params: TotpParameters,
    key: bytes,
    code: str,
    *,
    now: float,
    drift: int = 0,
    window: int = 1,
    last_step: int | None = None,
) -> TotpMatch:
    """Accept ``code`` if it is the code of a step within ``window`` of now's step plus ``drift``.

    Every candidate step is computed and compared in constant time. Steps at or below
    ``last_step`` are spent: a code matching only a spent step raises ReplayedCode; a code
    matching nothing (or not shaped like a code) raises WrongCode. The code never appears
    in an error message.
    """
    if window < 0:
        raise InvalidInput("window must not be negative")
    if not _is_code_shaped(code, params.digits):
        raise WrongCode
    given = code.encode("ascii")
    current = params.step_at(now)
    centre = current + drift
    matches: list[tuple[int, bool]] = []
    for step in range(centre - window, centre + window + 1):
        if step < 0:
            continue
        expected = params.code_at_step(key, step).encode("ascii")
        matches.append((step, hmac.compare_digest(expected, given)))
    return _pick(matches, last_step, current)


def find_resync_steps(
    params: TotpParameters,
    key: bytes,
    first: str,
    second: str,
    *,
    now: float,
    search: int,
    last_step: int | None = None,
) -> TotpMatch:
    """Find a far-drifted token from two consecutive codes.

    Looks for a step ``s`` within ``search`` steps of now's step whose code is ``first`` and
    whose successor's code is ``second``, with ``s`` above ``last_step``. Returns the match for
    ``s + 1`` (the step of the later code) with its drift from now's step. If several steps fit,
    the lowest wins. The search costs ``2 * search + 2`` HMACs: bound ``search`` in the caller.
    """
    if search < 0:
        raise InvalidInput("search must not be negative")
    if not (_is_code_shaped(first, params.digits) and _is_code_shaped(second, params.digits)):
        raise WrongCode
    given_first, given_second = first.encode("ascii"), second.encode("ascii")
    current = params.step_at(now)
    low, high = max(current - search, 0), current + search
    if high < low:
        raise WrongCode
    codes = {step: params.code_at_step(key, step).encode("ascii") for step in range(low, high + 2)}
    matches: list[tuple[int, bool]] = []
    for step in range(low, high + 1):
        # `&` rather than `and`: both comparisons are always made.
        ok = hmac.compare_digest(codes[step], given_first) & hmac.compare_digest(
            codes[step + 1], given_second
        )
        matches.append((step, ok))
    found = _pick(matches, last_step, current)
    return TotpMatch(step=found.step + 1, drift=found.step + 1 - current)
