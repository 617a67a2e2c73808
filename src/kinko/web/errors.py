"""The one place that turns kinko's errors into what a customer reads (Japanese keys for
``i18n``) and into HTTP status codes.

Messages name no secret and, at a password step, never say which input was wrong.
"""

from __future__ import annotations

from kinko.domain import errors as e
from kinko.services.api_clients import ClientForbidden, ClientUnauthorized
from kinko.services.approvals import NotPermitted

#: error code → the customer's message (Japanese; English through i18n.EN)
CUSTOMER_MESSAGES: dict[str, str] = {
    e.WrongPassword.code: "契約者IDまたはログインパスワードが正しくありません。",
    e.PasswordLocked.code: "パスワードがロックされています。当金庫までお問い合わせください。",
    e.WrongCode.code: "ワンタイムパスワードが正しくありません。",
    e.ReplayedCode.code:
        "このワンタイムパスワードは使用済みです。次に表示されるワンタイムパスワードを入力してください。",
    e.TokenLocked.code:
        "ワンタイムパスワードがロックされています。当金庫までお問い合わせください。",
    e.TokenSuspended.code:
        "ワンタイムパスワードが利用停止中です。当金庫までお問い合わせください。",
    e.TokenRevoked.code: "このトークンは利用できません。当金庫までお問い合わせください。",
    e.TokenExpired.code:
        "トークンの有効期限が切れています。アプリでトークンを作り直してください。",
    e.NotFound.code:
        "このシリアル番号のトークンは登録できません。シリアル番号をご確認ください。",
    e.Conflict.code: "受付できませんでした。もう一度最初からお試しください。",
    e.InvalidInput.code: "入力内容が正しくありません。",
}

#: At a step that asks for the OTP and a password together, a wrong one of either reads
#: the same, so the screen gives no hint of which it was.
COMBINED_STEP_MESSAGE = (
    "ワンタイムパスワードまたは確認用パスワードが正しくありません。"
)

HTTP_STATUS: dict[str, int] = {
    e.InvalidInput.code: 422,
    e.NotFound.code: 404,
    e.InvalidTransition.code: 409,
    e.Conflict.code: 409,
    e.OtpAlreadyInUse.code: 409,
    e.OtpNotInUse.code: 409,
    e.WrongPassword.code: 401,
    e.WrongCode.code: 401,
    e.ReplayedCode.code: 401,
    e.PasswordLocked.code: 423,
    e.TokenLocked.code: 423,
    e.TokenSuspended.code: 423,
    e.TokenRevoked.code: 403,
    e.TokenExpired.code: 410,
    # the API's callers: a bank system's client secret, and what it or a staff role may do
    ClientUnauthorized.code: 401,
    ClientForbidden.code: 403,
    NotPermitted.code: 403,
}


def customer_message(error: e.KinkoError) -> str:
    return CUSTOMER_MESSAGES.get(error.code, CUSTOMER_MESSAGES[e.Conflict.code])


#: ... and a lock there does not say whether the token or the password locked.
COMBINED_LOCK_MESSAGE = (
    "ご本人確認ができないため、お手続きを停止しました。当金庫までお問い合わせください。"
)


def combined_step_message(error: e.KinkoError) -> str:
    """The message at a step that takes the OTP and the confirmation password together."""
    if isinstance(error, e.WrongCode | e.WrongPassword):
        return COMBINED_STEP_MESSAGE
    if isinstance(error, e.TokenLocked | e.PasswordLocked):
        return COMBINED_LOCK_MESSAGE
    return customer_message(error)


def http_status(error: e.KinkoError) -> int:
    return HTTP_STATUS.get(error.code, 400)
