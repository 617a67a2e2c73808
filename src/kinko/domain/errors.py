"""The errors kinko's domain and services raise, as one small tree.

    KinkoError
    ├── InvalidInput                 malformed serial, code, contract ID, parameter
    ├── NotFound                     no such customer or token
    │   └── NotCustomersToken        a customer-token action on a token not that customer's
    ├── InvalidTransition            a lifecycle event not allowed in the current state
    ├── RateLimited                  too many attempts from this address or for this
    │                                contract; ``retry_after`` seconds
    ├── Conflict                     the request contradicts current state
    │   │                            (token belongs to someone else, changed meanwhile, ...)
    │   ├── OtpAlreadyInUse          利用開始 for a contract that already has a token
    │   └── OtpNotInUse              利用中止 / 交換 / a code check for a contract without one
    └── AuthenticationFailed         a password or code was not accepted
        ├── WrongPassword            wrong login or confirmation password
        ├── PasswordLocked           too many wrong passwords; the bank must unlock
        ├── WrongCode                wrong one-time password
        ├── ReplayedCode             a code at or below the last accepted step
        ├── TokenLocked              too many wrong codes; the bank must unlock
        ├── TokenSuspended           suspended by bank staff (lost phone)
        ├── TokenRevoked             stopped, exchanged out, revoked or expired
        └── TokenExpired             unbound for longer than the binding period

Messages never contain a seed, a code or a password. Each error has a stable
``code`` string that the web and API layers map to responses in one place.
"""

from __future__ import annotations


class KinkoError(Exception):
    """Base of every error kinko raises on purpose."""

    code = "kinko_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__doc__ or self.code)


class InvalidInput(KinkoError):
    """The input is malformed."""

    code = "invalid_input"


class NotFound(KinkoError):
    """No such customer or token."""

    code = "not_found"


class NotCustomersToken(NotFound):
    """This customer has no token with this serial number.

    Raised alike for a bank staff member's own sign-in token, another customer's token, a
    token nobody has registered and a serial that does not exist, so the refusal tells
    nothing about which. Its code stays ``not_found``: callers see a plain 404."""


class InvalidTransition(KinkoError):
    """This lifecycle event is not allowed in the token's current state."""

    code = "invalid_transition"


class RateLimited(KinkoError):
    """Too many attempts; try again later."""

    code = "rate_limited"

    def __init__(self, retry_after: int, message: str = "") -> None:
        super().__init__(message or "too many attempts; try again later")
        self.retry_after = retry_after


class Conflict(KinkoError):
    """The request contradicts the current state."""

    code = "conflict"


class AlreadyRequested(Conflict):
    """The same four-eyes request is already waiting for approval."""


class AlreadyDecided(Conflict):
    """The four-eyes request was approved or rejected already."""


class TokenChangedMeanwhile(Conflict):
    """Another change reached the token first; look again and retry."""


class PasswordNotLocked(Conflict):
    """There is nothing to unlock: the password is not locked."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"the {kind} password is not locked")
        self.kind = kind


class NotActiveForResync(Conflict):
    """Only an active token can be resynchronised."""


class OtpAlreadyInUse(Conflict):
    """One-time passwords are already in use for this contract."""

    code = "otp_already_in_use"


class OtpNotInUse(Conflict):
    """One-time passwords are not in use for this contract."""

    code = "otp_not_in_use"


class AuthenticationFailed(KinkoError):
    """A password or code was not accepted."""

    code = "authentication_failed"


class WrongPassword(AuthenticationFailed):
    """The password is not correct."""

    code = "wrong_password"


class PasswordLocked(AuthenticationFailed):
    """Too many wrong passwords; please contact the bank."""

    code = "password_locked"

    def __init__(self, message: str = "", *, password: str | None = None) -> None:
        super().__init__(message)
        #: Which password is locked (``PasswordKind``'s value: ``login`` or
        #: ``confirmation``), so that the customer is told which one the bank must unlock.
        self.password = password


class WrongCode(AuthenticationFailed):
    """The one-time password is not correct."""

    code = "wrong_code"

    def __init__(self, message: str = "", *, remaining: int | None = None) -> None:
        super().__init__(message)
        #: Wrong codes the token still takes before it locks, when the decision counted
        #: this one (``verification.decide``); None when nothing counted it.
        self.remaining = remaining


class ReplayedCode(AuthenticationFailed):
    """This one-time password was already used."""

    code = "replayed_code"


class TokenLocked(AuthenticationFailed):
    """The token is locked after too many wrong codes; please contact the bank."""

    code = "token_locked"


class TokenSuspended(AuthenticationFailed):
    """The token is suspended by the bank."""

    code = "token_suspended"


class TokenRevoked(AuthenticationFailed):
    """The token is no longer in use."""

    code = "token_revoked"


class TokenExpired(AuthenticationFailed):
    """The token was not registered in time and has expired."""

    code = "token_expired"
