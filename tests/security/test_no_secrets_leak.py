"""Seeds, codes and passwords never reach logs, audit events, error messages or reprs.

Every flow runs with DEBUG logging on every logger (SQL statements and their parameters
included) and kinko's own handler writing JSON lines at DEBUG, as an operator would run it;
then both logs and the whole audit table are searched for each secret. The JSON log must
also hold what it promises (every verification's decision, masked), so an empty log cannot
pass.
"""

from __future__ import annotations

import base64
import json
import logging
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kinko.domain.errors import KinkoError, ReplayedCode, WrongCode, WrongPassword
from kinko.domain.events import Actor
from kinko.domain.masking import mask_serial
from kinko.domain.secrets import Code, Password, Seed
from kinko.services import authentication, exchange, staff, stopping, transactions
from kinko.store.rows import AuditEventRow
from tests.security.logcapture import assert_no_secret, json_log
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness

NOISE = re.compile(r"\$argon2id\$\S+|b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"|0x[0-9a-f]+")


def seed_forms(seed: Seed) -> list[str]:
    raw = seed.reveal()
    return [raw.hex(), raw.hex().upper(), base64.b32encode(raw).decode().rstrip("="),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
            base64.b64encode(raw).decode().rstrip("="), repr(raw)[2:-1]]


def test_no_flow_leaks_a_secret_into_logs_or_audit_events(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    codes: list[str] = []

    def code(issued: object, steps: int = 0) -> Code:
        value = h.code(issued, steps=steps)  # type: ignore[arg-type]
        codes.append(value.reveal())
        return value

    with json_log("debug") as jlog:
        h.kinko.engine.echo = "debug"  # log every SQL statement with its parameters and rows
        try:
            customer = h.customer()
            old = h.enroll(customer, login_otp=True)
            authentication.login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD),
                                 code(old))
            for attempt in (lambda: authentication.login(
                                h.ctx, customer.contract_id, Password("wrong-pass-9")),
                            lambda: transactions.authorize(h.ctx, customer.id,
                                                           purpose="transfer",
                                                           code=h.wrong_code(old)),
                            lambda: transactions.authorize(h.ctx, customer.id,
                                                           purpose="transfer",
                                                           code=Code(codes[-1]))):
                with pytest.raises((WrongPassword, WrongCode, ReplayedCode)) as caught:
                    attempt()
                errors.append(str(caught.value))
            h.next_step()
            new = h.issue()
            started = exchange.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
            confirmed = exchange.confirm_old_token(h.ctx, started, code(old))
            exchange.register_new_token(h.ctx, confirmed, new.token.serial, code(new))
            h.next_step()
            staff.resync(h.ctx, new.token.serial, code(new, 3), code(new, 4),
                         reason="本人申出", actor=Actor.staff("sato"))
            h.next_step()
            started_stop = stopping.begin(h.ctx, customer.contract_id,
                                          Password(LOGIN_PASSWORD))
            stopping.stop(h.ctx, started_stop, code(new, 4), Password(CONFIRMATION_PASSWORD))
        finally:
            h.kinko.engine.echo = False

    log = caplog.text
    with Session(h.kinko.engine) as session:
        audit = "\n".join(
            " ".join(str(v) for v in (r.action, r.outcome, r.actor, r.channel, r.contract_id,
                                      r.serial, r.reason))
            for r in session.execute(select(AuditEventRow)).scalars()
        )
    assert "token:code:checked" in audit and "SELECT" in log  # we did capture something
    assert "SELECT" in jlog.text  # the JSON handler saw the SQL echo too

    secrets = [LOGIN_PASSWORD, CONFIRMATION_PASSWORD, "wrong-pass-9"]
    for issued in (old, new):
        secrets += seed_forms(issued.seed)
    assert_no_secret([audit, *errors], secrets, codes)
    # Hashes, byte strings and addresses in the SQL log are noise a six-digit code could
    # collide with by chance; everything else must not hold a code as a number of its own.
    assert_no_secret([log, jlog.text], secrets, codes, noise=NOISE)

    # The JSON log holds what it promises: each decision, the contract ID only masked.
    decisions = jlog.of("kinko.services.verification")
    outcomes = [line["outcome"] for line in decisions]
    # 利用開始 (h.enroll), login, the old and the new token of 交換, and 利用中止; staff
    # resync searches for its two codes itself.
    assert outcomes.count("accepted") == 5
    assert {"wrong_code", "replayed_code"} <= set(outcomes)
    for line in decisions:
        assert line["level"] == ("debug" if line["outcome"] == "accepted" else "info")
        assert line["serial"] in (mask_serial(old.token.serial), mask_serial(new.token.serial))
        assert line["contract_id"] in (None, "10****0001")
        assert line["duration_ms"] >= 0
        assert isinstance(line["drift"], int)
    own = "\n".join(json.dumps(line, ensure_ascii=False)
                     for line in jlog.lines() if line["logger"].startswith("kinko"))
    assert customer.contract_id not in own
    assert old.token.serial not in own and new.token.serial not in own


def test_secret_values_hide_in_repr_str_and_format() -> None:
    for secret in (Password("hunter2-hunter2"), Code("123456"), Seed(b"\x01" * 20)):
        for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", str([secret])):
            assert "hunter2" not in shown and "123456" not in shown and "\\x01" not in shown
            assert "********" in shown


def test_secrets_compare_in_constant_time_and_are_not_hashable() -> None:
    assert Password("a-password") == Password("a-password")
    assert Password("a-password") != Password("b-password")
    assert Password("a-password") != Code("a-password")
    with pytest.raises(TypeError):
        hash(Code("123456"))


def test_every_kinko_error_message_is_free_of_the_input() -> None:
    from kinko.domain.serials import parse_code, parse_contract_id, parse_serial

    for parse, typed in ((parse_serial, "98765"), (parse_code, "98765x"),
                         (parse_contract_id, "98765")):
        with pytest.raises(KinkoError) as caught:
            parse(typed)
        assert typed not in str(caught.value)
