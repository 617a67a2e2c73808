"""The errors the token app raises on purpose, as one small tree.

Every message is one line, Japanese first and English second, fit to show the customer as is.
No message ever holds a seed, a code or a PIN.

    TokenAppError
    ├── VaultError                  the token file on this device (vault*.py)
    │   ├── VaultDamaged            not JSON, a field missing or odd, a seed that does not decrypt
    │   ├── UnsupportedVersion      a format version this app does not know
    │   ├── InsecurePermissions     group or other users may read the file
    │   ├── WrongPin                the PIN does not open the file
    │   ├── PinRequired             a PIN is needed and none was given
    │   ├── InvalidPin              a PIN that is not 4 to 12 digits
    │   ├── KeyringUnavailable      the OS keyring is missing, fails, or lost the file key
    │   └── TokenNotFound           no token with that serial (or none yet) on this device
    └── ActivationError             activating a new token (client.py)
        ├── InvalidServerUrl        not an http(s) URL, or plain http to a host other than loopback
        ├── ServerUnreachable       network error or timeout
        ├── ServerRefused           a response other than 201 (the server's ``detail`` included)
        │   └── RateLimited         429; ``retry_after`` seconds when the server said
        └── MalformedAnswer         a 201 whose body is not what the protocol says
"""

from __future__ import annotations


class TokenAppError(Exception):
    """Base of every error the token app raises on purpose."""


class VaultError(TokenAppError):
    """The token file on this device cannot be used."""


class VaultDamaged(VaultError):
    """The token file is damaged or was changed by something other than this app."""


class UnsupportedVersion(VaultError):
    """The token file has a format version this app does not know."""


class InsecurePermissions(VaultError):
    """Users other than the owner may read or change the token file."""


class WrongPin(VaultError):
    """The PIN does not open the token file."""


class PinRequired(VaultError):
    """A PIN is needed and none was given."""


class InvalidPin(VaultError):
    """A PIN must be 4 to 12 digits."""


class KeyringUnavailable(VaultError):
    """The OS keyring is not available or does not hold the key of the token file."""


class TokenNotFound(VaultError):
    """No token with that serial on this device, or no token at all yet."""


class ActivationError(TokenAppError):
    """A new token could not be activated."""


class InvalidServerUrl(ActivationError):
    """The server address is not usable."""


class ServerUnreachable(ActivationError):
    """The server could not be reached."""


class ServerRefused(ActivationError):
    """The server answered with an error."""

    def __init__(
        self, message: str, *, status: int, code: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail


class RateLimited(ServerRefused):
    """Too many activations from this address; try again later."""

    def __init__(
        self, message: str, *, status: int, code: str | None = None, detail: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, detail=detail)
        self.retry_after = retry_after


class MalformedAnswer(ActivationError):
    """The server's answer does not follow the activation protocol."""
