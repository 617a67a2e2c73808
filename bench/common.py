"""What the loader, the servers and the load generator agree on: serials, seeds and codes.

Token ``i`` (1-based) has a fixed serial and contract ID, and a seed derived from its serial
with a constant bench key, so the load generator can compute any token's codes without
holding a million seeds, and no seed ever travels over HTTP.
"""

from __future__ import annotations

import hmac

from kinko.domain.serials import luhn_check_digit

#: Derives each bench token's seed from its serial. A benchmark constant, not a secret.
BENCH_SEED_KEY = b"kinko benchmark seeds v1"
PERIOD = 30
DIGITS = 6


def serial_of(i: int) -> str:
    body = str(50_000_000_000 + i)
    return body + luhn_check_digit(body)


def contract_id_of(i: int) -> str:
    return str(3_000_000_000 + i)


def seed_of(serial: str) -> bytes:
    return hmac.digest(BENCH_SEED_KEY, serial.encode("ascii"), "sha1")


def hotp(seed: bytes, counter: int) -> str:
    mac = hmac.digest(seed, counter.to_bytes(8, "big"), "sha1")
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFF_FFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def wrong_code(seed: bytes, step: int, spread: int = 3) -> str:
    """Six digits that are the code of none of the steps within ``spread`` of ``step``."""
    near = {hotp(seed, s) for s in range(max(step - spread, 0), step + spread + 1)}
    candidate = int.from_bytes(seed[:4], "big") % 10**DIGITS
    while f"{candidate:06d}" in near:
        candidate = (candidate + 1) % 10**DIGITS
    return f"{candidate:06d}"


class Walker:
    """Fresh codes for a slice of the bench tokens, which no other client uses.

    Tokens are taken in turn; each time a token comes round it gets the code of a step the
    server will accept: above the step it last spent (so the replay check passes, never
    bypassed) and inside the window of ±1 step around now plus the drift the server learned
    from the previous success. With many tokens that is simply the current
    step; a token that comes round again within the same 30 s gets its next step, as HOTP
    counters do. ``invalid`` codes match no step near the window.
    """

    def __init__(self, indices: range | list[int]) -> None:
        self.indices = indices
        self.position = 0
        self.state: dict[int, tuple[int, int]] = {}  # token -> (last step spent, drift)

    def next_valid(self, now: float) -> tuple[int, int, str]:
        """(token index, step, code) for the next token's lowest acceptable fresh step."""
        i = self.indices[self.position % len(self.indices)]
        self.position += 1
        current = int(now // PERIOD)
        last, drift = self.state.get(i, (None, 0))
        # The centre of the window when it is still fresh (what a phone shows), else the next
        # step up: either survives a request that crosses into the next 30 s on its way.
        step = current + drift if last is None else max(last + 1, current + drift)
        return i, step, hotp(seed_of(serial_of(i)), step)

    def spent(self, i: int, step: int, now: float) -> None:
        self.state[i] = (step, step - int(now // PERIOD))

    def next_invalid(self, now: float) -> tuple[int, str]:
        i = self.indices[self.position % len(self.indices)]
        self.position += 1
        _, drift = self.state.get(i, (None, 0))
        return i, wrong_code(seed_of(serial_of(i)), int(now // PERIOD) + drift)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


class CounterWalker(Walker):
    """``Walker`` for HOTP tokens (privacyIDEA): each token's next counter, 0, 1, 2, ..."""

    def next_valid(self, now: float) -> tuple[int, int, str]:
        i = self.indices[self.position % len(self.indices)]
        self.position += 1
        last, _ = self.state.get(i, (None, 0))
        counter = 0 if last is None else last + 1
        return i, counter, hotp(seed_of(serial_of(i)), counter)

    def spent(self, i: int, step: int, now: float) -> None:
        self.state[i] = (step, 0)

    def next_invalid(self, now: float) -> tuple[int, str]:
        i = self.indices[self.position % len(self.indices)]
        self.position += 1
        last, _ = self.state.get(i, (None, 0))
        # privacyIDEA looks 10 counters ahead (its default window); stay clear of them.
        return i, wrong_code(seed_of(serial_of(i)), (last or 0) + 10, spread=12)
