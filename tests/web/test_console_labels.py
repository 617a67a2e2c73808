"""The staff console names audit actions and their reasons in words, in Japanese or (after
the English switch) in English, never by their codes; and a revocation already waiting for
a supervisor holds back its form instead of inviting a second request."""

from __future__ import annotations

import re

import pytest

from kinko.domain.events import Action
from kinko.domain.model import StaffRole
from kinko.services import approvals
from kinko.web import i18n
from kinko.web.pages import ACTION_LABELS, REASON_LABELS
from tests.support import Harness
from tests.web.client import text_of
from tests.web.test_console_http import Staff

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
WAITING = "このトークンの失効は申請済みで、責任者の承認を待っています。"


def test_every_audit_action_has_one_japanese_label_and_its_english() -> None:
    assert set(ACTION_LABELS) == set(Action)
    assert len(set(ACTION_LABELS.values())) == len(ACTION_LABELS), "two actions read the same"
    for action, label in ACTION_LABELS.items():
        assert JAPANESE.search(label), (action, label)
        assert i18n.translate(label, "en") != label, f"no English for {label!r} ({action})"


@pytest.mark.parametrize("code", sorted(REASON_LABELS))
def test_every_reason_code_has_a_label_in_both_languages(code: str) -> None:
    label = REASON_LABELS[code]
    assert i18n.translate(label, "en") != label, f"no English for {label!r} ({code})"


def revoke_form(html: str) -> str:
    found = re.search(r'<form method="post" action="[^"]*/revoke".*?</form>', html, re.S)
    assert found is not None
    return found.group(0)


@pytest.fixture
def operator(harness: Harness) -> Staff:
    return Staff(harness, "tanaka", StaffRole.OPERATOR)


def test_the_customer_view_names_events_in_words_and_switches_to_english(
    operator: Staff, harness: Harness,
) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    url = f"/console/customers/{customer.contract_id}"
    operator.act(customer.contract_id, issued.token.serial, "suspend")
    page = operator.browser.get(url)
    text = text_of(page)
    for action in Action:
        assert action.value not in text, f"raw code {action.value} on the customer view"
    assert "トークン発行 (発行)" in text
    assert "トークン登録 (利用開始)" in text
    assert "トークン利用停止 (紛失届)" in text

    # The same switch as the customer screens: the page again, in English.
    assert f'href="/lang/en?next={url}"' in page.text
    switched = operator.browser.client.get(f"/lang/en?next={url}")
    assert switched.headers["location"] == url
    english = operator.browser.get(url)
    assert '<html lang="en">' in english.text
    english_text = text_of(english)
    assert "Token issued (Issued)" in english_text
    assert "Token registered (Start using)" in english_text
    assert "Token suspended" in english_text
    assert 'href="/lang/ja?next=' in english.text


def test_the_audit_list_names_actions_and_request_reasons(
    operator: Staff, harness: Harness,
) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    operator.act(customer.contract_id, issued.token.serial, "revoke")
    (request,) = approvals.pending(h.ctx)
    page = operator.browser.get(f"/console/audit?contract_id={customer.contract_id}")
    text = text_of(page)
    assert "承認の申請" in text
    assert f"失効 (申請番号 {request.id}): 紛失届" in text


def test_a_revocation_waiting_for_approval_disables_its_form_until_decided(
    operator: Staff, harness: Harness,
) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    url = f"/console/customers/{customer.contract_id}"
    assert "<fieldset disabled>" not in revoke_form(operator.browser.get(url).text)

    page = operator.act(customer.contract_id, issued.token.serial, "revoke")
    form = revoke_form(page.text)
    assert "<fieldset disabled>" in form
    assert WAITING in text_of(page)
    assert 'aria-describedby="pending-revoke"' in form
    # Only the revocation waits: suspending stays possible at once (a lost phone).
    suspend = re.search(r'<form method="post" action="[^"]*/suspend".*?</form>', page.text,
                        re.S)
    assert suspend is not None and "disabled" not in suspend.group(0)

    # Once a supervisor has decided (here: rejected), a new request may be made.
    (request,) = approvals.pending(h.ctx)
    supervisor = Staff(h, "kimura", StaffRole.SUPERVISOR)
    supervisor.sign_in()
    supervisor.browser.get("/console/requests")
    rejected = supervisor.browser.post(f"/console/requests/{request.id}/reject", {})
    assert rejected.status_code == 303
    again = operator.browser.get(url)
    assert "<fieldset disabled>" not in revoke_form(again.text)
    assert WAITING not in text_of(again)
