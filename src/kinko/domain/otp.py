"""HOTP (RFC 4226), TOTP (RFC 6238) and OCRA (RFC 6287): codes, verification and resync.

Pure: the clock is always a ``now`` parameter, and codes are compared in constant time.
"""

from __future__ import annotations

import enum
import hmac
import re
from dataclasses import dataclass, field
from typing import Literal

from kinko.domain.errors import InvalidInput, ReplayedCode, WrongCode

__all__ = [
    "Algorithm",
    "OcraSuite",
    "TotpMatch",
    "TotpParameters",
    "find_resync_steps",
    "hotp",
    "ocra",
    "timestamp_steps",
    "verify_ocra",
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


def _truncate(mac: bytes, digits: int) -> str:
    """RFC 4226 section 5.3 dynamic truncation to ``digits`` decimal digits, zero-padded."""
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFF_FFFF
    return str(binary % 10**digits).zfill(digits)


def _check_key(key: bytes) -> None:
    if not key:
        raise InvalidInput("key must not be empty")


def _check_counter(counter: int, name: str) -> None:
    if not 0 <= counter <= _MAX_COUNTER:
        raise InvalidInput(f"{name} must be between 0 and 2**64 - 1")


def hotp(
    key: bytes, counter: int, *, digits: int = 6, algorithm: Algorithm = Algorithm.SHA1
) -> str:
    """The HOTP value of ``counter`` (RFC 4226), as a zero-padded string of ``digits`` digits."""
    _check_key(key)
    if not 6 <= digits <= 8:
        raise InvalidInput("digits must be between 6 and 8")
    _check_counter(counter, "counter")
    mac = hmac.digest(key, counter.to_bytes(8, "big"), algorithm.hashlib_name)
    return _truncate(mac, digits)


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


# --- OCRA (RFC 6287) -------------------------------------------------------------------------

QuestionFormat = Literal["A", "N", "H"]

_SUITE = re.compile(
    r"OCRA-1:HOTP-(?P<algorithm>SHA1|SHA256|SHA512)-(?P<digits>\d{1,2}):"
    r"(?P<data>[A-Z0-9-]+)",
    re.ASCII,
)
_QUESTION = re.compile(r"Q(?P<format>[ANH])(?P<length>\d\d)", re.ASCII)
_PIN = re.compile(r"P(?P<algorithm>SHA1|SHA256|SHA512)", re.ASCII)
_SESSION = re.compile(r"S(?P<length>\d{3})", re.ASCII)
_TIME = re.compile(r"T(?P<count>\d{1,2})(?P<unit>[SMH])", re.ASCII)
_TIME_UNITS = {"S": (1, 59), "M": (60, 59), "H": (3600, 48)}  # seconds per unit, max count
_QUESTION_BYTES = 128
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class OcraSuite:
    """A parsed OCRA suite such as ``OCRA-1:HOTP-SHA1-6:QN08``.

    Only ``text`` is given; every other field is derived from it, so an OcraSuite that exists
    is well formed. ``digits == 0`` means no truncation: the response is the whole HMAC in
    lower-case hex. Supported DataInput, in this order: ``C``, ``Q<A|N|H><04..64>`` (required),
    ``P<SHA1|SHA256|SHA512>``, ``S<nnn>``, ``T<n><S|M|H>``.
    """

    text: str
    algorithm: Algorithm = field(init=False)
    digits: int = field(init=False)
    counter: bool = field(init=False)
    question_format: QuestionFormat = field(init=False)
    question_length: int = field(init=False)
    pin_algorithm: Algorithm | None = field(init=False)
    session_length: int | None = field(init=False)
    time_step: int | None = field(init=False)  # seconds per timestamp step

    def __post_init__(self) -> None:
        # Messages quote the suite: a suite is configuration, never a secret.
        head = _SUITE.fullmatch(self.text)
        if head is None:
            raise InvalidInput(f"malformed OCRA suite {self.text!r}")
        digits = int(head["digits"])
        if digits != 0 and not 4 <= digits <= 10:
            raise InvalidInput("OCRA suite digits must be 0 or 4 to 10")
        values: dict[str, object] = {
            "algorithm": Algorithm(head["algorithm"]),
            "digits": digits,
            "counter": False,
            "pin_algorithm": None,
            "session_length": None,
            "time_step": None,
        }
        parts = head["data"].split("-")
        if parts[0] == "C":
            values["counter"] = True
            parts.pop(0)
        question = _QUESTION.fullmatch(parts.pop(0)) if parts else None
        if question is None:
            raise InvalidInput(f"OCRA suite {self.text!r} needs a Q<A|N|H><04..64> question")
        length = int(question["length"])
        if not 4 <= length <= 64:
            raise InvalidInput("OCRA question length must be 04 to 64")
        values["question_format"] = question["format"]
        values["question_length"] = length
        if parts and (pin := _PIN.fullmatch(parts[0])):
            values["pin_algorithm"] = Algorithm(pin["algorithm"])
            parts.pop(0)
        if parts and (session := _SESSION.fullmatch(parts[0])):
            session_length = int(session["length"])
            if not 1 <= session_length <= 512:
                raise InvalidInput("OCRA session length must be 001 to 512")
            values["session_length"] = session_length
            parts.pop(0)
        if parts and (time := _TIME.fullmatch(parts[0])):
            unit_seconds, max_count = _TIME_UNITS[time["unit"]]
            count = int(time["count"])
            if not 1 <= count <= max_count:
                raise InvalidInput(f"OCRA time step must be 1 to {max_count}{time['unit']}")
            values["time_step"] = count * unit_seconds
            parts.pop(0)
        if parts:
            raise InvalidInput(f"OCRA suite {self.text!r} has unsupported or misplaced inputs")
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def parse(cls, suite: str) -> OcraSuite:
        """Parse ``suite``; InvalidInput if it is malformed or uses an unsupported input."""
        return cls(suite)


def _as_suite(suite: OcraSuite | str) -> OcraSuite:
    return suite if isinstance(suite, OcraSuite) else OcraSuite.parse(suite)


def _question_bytes(suite: OcraSuite, question: str) -> bytes:
    if not (question.isascii() and 4 <= len(question) <= suite.question_length):
        raise InvalidInput(
            f"question must be 4 to {suite.question_length} ASCII characters for this suite"
        )
    if suite.question_format == "A":
        raw = question.encode("ascii")
    else:
        if suite.question_format == "N":
            if not question.isdigit():
                raise InvalidInput("a numeric (QN) question must be decimal digits")
            hex_text = format(int(question), "X")
        else:
            if not all(c in _HEX_DIGITS for c in question):
                raise InvalidInput("a hex (QH) question must be hex digits")
            hex_text = question
        if len(hex_text) % 2:
            hex_text += "0"
        raw = bytes.fromhex(hex_text)
    return raw.ljust(_QUESTION_BYTES, b"\x00")


def _ocra_message(
    suite: OcraSuite,
    *,
    question: str,
    counter: int | None,
    pin_hash: bytes | None,
    session: bytes | None,
    timestamp: int | None,
) -> bytes:
    """DataInput of RFC 6287 section 5: suite | 00 | [C] | Q | [P | S | T]."""
    message = [suite.text.encode("ascii"), b"\x00"]
    if suite.counter:
        if counter is None:
            raise InvalidInput("this OCRA suite needs a counter")
        _check_counter(counter, "counter")
        message.append(counter.to_bytes(8, "big"))
    elif counter is not None:
        raise InvalidInput("this OCRA suite takes no counter")
    message.append(_question_bytes(suite, question))
    if suite.pin_algorithm is not None:
        if pin_hash is None:
            raise InvalidInput("this OCRA suite needs a PIN hash")
        if len(pin_hash) != suite.pin_algorithm.digest_size:
            raise InvalidInput(
                f"the PIN hash must be {suite.pin_algorithm.digest_size} bytes for this suite"
            )
        message.append(pin_hash)
    elif pin_hash is not None:
        raise InvalidInput("this OCRA suite takes no PIN hash")
    if suite.session_length is not None:
        if session is None:
            raise InvalidInput("this OCRA suite needs session information")
        if len(session) != suite.session_length:
            raise InvalidInput(f"session information must be {suite.session_length} bytes")
        message.append(session)
    elif session is not None:
        raise InvalidInput("this OCRA suite takes no session information")
    if suite.time_step is not None:
        if timestamp is None:
            raise InvalidInput("this OCRA suite needs a timestamp")
        _check_counter(timestamp, "timestamp")
        message.append(timestamp.to_bytes(8, "big"))
    elif timestamp is not None:
        raise InvalidInput("this OCRA suite takes no timestamp")
    return b"".join(message)


def ocra(
    suite: OcraSuite | str,
    key: bytes,
    *,
    question: str,
    counter: int | None = None,
    pin_hash: bytes | None = None,
    session: bytes | None = None,
    timestamp: int | None = None,
) -> str:
    """The OCRA response (RFC 6287) for ``question`` and the inputs ``suite`` asks for.

    ``pin_hash`` is the hash of the PIN made with the suite's P algorithm; ``timestamp`` is a
    count of the suite's time steps (see ``timestamp_steps``). InvalidInput if an input the
    suite needs is missing, one it does not take is given, or one is malformed.
    """
    parsed = _as_suite(suite)
    _check_key(key)
    message = _ocra_message(
        parsed,
        question=question,
        counter=counter,
        pin_hash=pin_hash,
        session=session,
        timestamp=timestamp,
    )
    mac = hmac.digest(key, message, parsed.algorithm.hashlib_name)
    if parsed.digits == 0:
        return mac.hex()
    return _truncate(mac, parsed.digits)


def verify_ocra(
    suite: OcraSuite | str,
    key: bytes,
    response: str,
    *,
    question: str,
    counter: int | None = None,
    pin_hash: bytes | None = None,
    session: bytes | None = None,
    timestamp: int | None = None,
) -> None:
    """Return if ``response`` is the OCRA response for these inputs, else raise WrongCode.

    The comparison is constant-time; the response never appears in an error message.
    Inputs that do not fit the suite raise InvalidInput, as in ``ocra``.
    """
    expected = ocra(
        suite,
        key,
        question=question,
        counter=counter,
        pin_hash=pin_hash,
        session=session,
        timestamp=timestamp,
    )
    if not hmac.compare_digest(expected.encode("ascii"), response.encode("utf-8")):
        raise WrongCode


def timestamp_steps(suite: OcraSuite | str, now: float) -> int:
    """The T input of a time-based suite at unix time ``now``: whole time steps since the epoch."""
    parsed = _as_suite(suite)
    if parsed.time_step is None:
        raise InvalidInput("this OCRA suite takes no timestamp")
    if now < 0:
        raise InvalidInput("now must not be before the unix epoch")
    return int(now // parsed.time_step)
