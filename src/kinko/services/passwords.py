"""Password hashing with argon2id, behind the ``PasswordHasher`` port.

Production uses argon2-cffi's RFC 9106 low-memory profile; tests pass cheaper parameters.
"""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kinko.domain.secrets import Password


class Argon2Hasher:
    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher.from_parameters(
            argon2.profiles.RFC_9106_LOW_MEMORY
        )
        self._dummy = self._hasher.hash("kinko dummy password")

    @classmethod
    def fast_for_tests(cls) -> Argon2Hasher:
        """Real argon2id, with parameters cheap enough for thousands of test hashes."""
        return cls(argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))

    def hash(self, password: Password) -> str:
        return self._hasher.hash(password.reveal())

    def verify(self, stored_hash: str, password: Password) -> bool:
        try:
            return self._hasher.verify(stored_hash, password.reveal())
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    def dummy_verify(self, password: Password) -> None:
        self.verify(self._dummy, password)
