"""Run by privacyIDEA's own interpreter (bench/peer/privacyidea): create 1..N HOTP tokens.

Each token gets the serial and seed of bench token ``i`` (``bench.common``, copied here so
this file needs nothing of kinko), 6 digits, SHA-1, and a fail limit high enough that the
"invalid" rows measure wrong codes rather than refusals of locked tokens.
"""

import hashlib
import hmac
import sys

from privacyidea.app import create_app

BENCH_SEED_KEY = b"kinko benchmark seeds v1"


def luhn_check_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def serial_of(i: int) -> str:
    body = str(50_000_000_000 + i)
    return body + luhn_check_digit(body)


def main() -> None:
    config_file, count = sys.argv[1], int(sys.argv[2])
    app = create_app(config_name="production", config_file=config_file, silent=True)
    with app.app_context():
        from privacyidea.lib.token import init_token

        for i in range(1, count + 1):
            serial = serial_of(i)
            seed = hmac.new(BENCH_SEED_KEY, serial.encode("ascii"), hashlib.sha1).digest()
            token = init_token({"type": "hotp", "serial": serial, "otpkey": seed.hex(),
                                "otplen": 6, "hashlib": "sha1"})
            token.set_maxfail(1_000_000_000)
            token.save()
    print(f"privacyIDEA: {count} HOTP tokens created")


if __name__ == "__main__":
    main()
