"""Every published RFC 4226, 6238 and 6287 test vector, run against kinko.domain.otp and .ocra."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from kinko.domain.ocra import OcraSuite, ocra, timestamp_steps, verify_ocra
from kinko.domain.otp import Algorithm, TotpParameters, hotp, verify_totp
from tests.vectors import load_vectors

RFC4226 = load_vectors("rfc4226.json")
RFC6238 = load_vectors("rfc6238.json")
RFC6287 = load_vectors("rfc6287.json")


def _ocra_id(entry: dict[str, Any]) -> str:
    extras = [f"{k}={entry[k]}" for k in ("counter", "timestamp_steps_hex") if k in entry]
    return "-".join([entry["suite"], entry["question"], *extras])


def _ocra_inputs(entry: dict[str, Any]) -> dict[str, Any]:
    inputs: dict[str, Any] = {"question": entry["question"]}
    if "counter" in entry:
        inputs["counter"] = entry["counter"]
    if "pin_sha1_hex" in entry:
        inputs["pin_hash"] = bytes.fromhex(entry["pin_sha1_hex"])
    if "timestamp_steps_hex" in entry:
        inputs["timestamp"] = int(entry["timestamp_steps_hex"], 16)
    return inputs


def test_the_vector_files_are_not_empty() -> None:
    assert len(RFC4226["values"]) == 10
    assert len(RFC6238["values"]) == 18
    assert RFC6287["values"]


@pytest.mark.parametrize("entry", RFC4226["values"], ids=lambda e: f"counter-{e['counter']}")
def test_hotp_matches_rfc4226_appendix_d(entry: dict[str, Any]) -> None:
    key = bytes.fromhex(RFC4226["secret_hex"])
    assert key == RFC4226["secret_ascii"].encode("ascii")
    code = hotp(
        key,
        entry["counter"],
        digits=RFC4226["digits"],
        algorithm=Algorithm(RFC4226["algorithm"]),
    )
    assert code == entry["otp"]


@pytest.mark.parametrize(
    "entry", RFC6238["values"], ids=lambda e: f"{e['algorithm']}-{e['unix_time']}"
)
def test_totp_matches_rfc6238_appendix_b(entry: dict[str, Any]) -> None:
    algorithm = Algorithm(entry["algorithm"])
    key = bytes.fromhex(RFC6238["secrets_hex"][entry["algorithm"]])
    params = TotpParameters(
        algorithm=algorithm,
        digits=RFC6238["digits"],
        period=RFC6238["period"],
        t0=RFC6238["t0"],
    )
    assert params.step_at(entry["unix_time"]) == entry["step"]
    assert params.code_at(key, entry["unix_time"]) == entry["otp"]
    match = verify_totp(params, key, entry["otp"], now=entry["unix_time"], window=0)
    assert (match.step, match.drift) == (entry["step"], 0)


@pytest.mark.parametrize("entry", RFC6287["values"], ids=_ocra_id)
def test_ocra_matches_rfc6287_appendix_c(entry: dict[str, Any]) -> None:
    key = bytes.fromhex(entry["key_hex"])
    inputs = _ocra_inputs(entry)
    assert ocra(entry["suite"], key, **inputs) == entry["response"]
    assert ocra(OcraSuite.parse(entry["suite"]), key, **inputs) == entry["response"]
    verify_ocra(entry["suite"], key, entry["response"], **inputs)


@pytest.mark.parametrize("entry", [e for e in RFC6287["values"] if "pin" in e], ids=_ocra_id)
def test_ocra_vector_pin_hash_is_the_sha1_of_the_pin(entry: dict[str, Any]) -> None:
    digest = hashlib.sha1(entry["pin"].encode("ascii")).hexdigest()  # noqa: S324 - RFC 6287 PSHA1 is SHA-1 by definition
    assert digest == entry["pin_sha1_hex"]


@pytest.mark.parametrize(
    "entry", [e for e in RFC6287["values"] if "timestamp_steps_hex" in e], ids=_ocra_id
)
def test_ocra_vector_timestamp_is_whole_time_steps_since_the_epoch(
    entry: dict[str, Any],
) -> None:
    steps = int(entry["timestamp_steps_hex"], 16)
    suite = OcraSuite.parse(entry["suite"])
    assert suite.time_step is not None
    start = steps * suite.time_step
    assert timestamp_steps(suite, start) == steps
    assert timestamp_steps(suite, start + suite.time_step - 0.5) == steps
    assert timestamp_steps(suite, start + suite.time_step) == steps + 1
