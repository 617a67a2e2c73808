"""otpauth:// URIs that standard authenticator apps read."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, unquote, urlsplit

from kinko.domain.otp import Algorithm, TotpParameters
from kinko.domain.provisioning import otpauth_uri
from kinko.domain.secrets import Seed


def test_the_uri_names_the_bank_and_the_serial_and_carries_the_seed_in_base32() -> None:
    seed = Seed(bytes(range(20)))
    uri = otpauth_uri("123456789015", seed, TotpParameters(), issuer="きんこ信用金庫")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/きんこ信用金庫:123456789015"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["issuer"] == "きんこ信用金庫"
    assert (query["algorithm"], query["digits"], query["period"]) == ("SHA1", "6", "30")
    secret = query["secret"]
    padded = secret + "=" * (-len(secret) % 8)
    assert base64.b32decode(padded) == seed.reveal()


def test_the_uri_states_non_default_parameters() -> None:
    params = TotpParameters(algorithm=Algorithm.SHA256, digits=8, period=60)
    uri = otpauth_uri("123456789015", Seed(b"k" * 32), params, issuer="Bank")
    assert "algorithm=SHA256" in uri and "digits=8" in uri and "period=60" in uri
