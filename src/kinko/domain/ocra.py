"""OCRA (RFC 6287): challenge-response codes from a suite, a question and optional inputs.

Pure, like ``kinko.domain.otp``, whose HMAC truncation and input checks it shares; responses
are compared in constant time and never appear in an error message.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from typing import Literal

from kinko.domain.errors import InvalidInput, WrongCode
from kinko.domain.otp import Algorithm, check_counter, check_key, truncate

__all__ = [
    "OcraSuite",
    "ocra",
    "timestamp_steps",
    "verify_ocra",
]

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
        check_counter(counter, "counter")
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
        check_counter(timestamp, "timestamp")
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
    check_key(key)
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
    return truncate(mac, parsed.digits)


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
