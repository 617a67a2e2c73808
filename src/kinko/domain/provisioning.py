"""otpauth:// URIs (the Key Uri Format of authenticator apps) for a token's seed.

Used for development tokens now and for third-party authenticator apps later.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

from kinko.domain.otp import TotpParameters
from kinko.domain.secrets import Seed


def otpauth_uri(serial: str, seed: Seed, params: TotpParameters, *, issuer: str) -> str:
    """``otpauth://totp/ISSUER:SERIAL?secret=...``; the serial is the account name.

    The URI carries the seed itself: show it once, never log or store it.
    """
    secret = base64.b32encode(seed.reveal()).decode("ascii").rstrip("=")
    label = quote(f"{issuer}:{serial}", safe=":")
    query = {
        "secret": secret,
        "issuer": issuer,
        "algorithm": params.algorithm.value,
        "digits": str(params.digits),
        "period": str(params.period),
    }
    return f"otpauth://totp/{label}?{urlencode(query, quote_via=quote)}"
