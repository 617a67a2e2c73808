"""Console screens: sign-in, customer search and view, actions with a reason, four-eyes
approvals, and the audit trail with its chain check and CSV export.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from kinko.domain import errors as e
from kinko.domain.errors import InvalidInput, KinkoError, NotCustomersToken
from kinko.domain.model import PasswordKind, RequestKind, StaffMember, StaffRole
from kinko.domain.serials import normalize_digits
from kinko.services import approvals
from kinko.services import audit as audit_service
from kinko.services import console as console_service
from kinko.services.audit import AuditFilter
from kinko.services.staff_accounts import sign_in
from kinko.web.console.common import (
    Form,
    console,
    page,
    pop_notice,
    posted,
    session,
    signed_in,
    staff_required,
)
from kinko.web.pages import JST, Field, redirect

router = APIRouter(prefix="/console")

OTHER = "その他"
SIGN_IN_FAILED = "職員ID、パスワードまたはワンタイムパスワードが正しくありません。"
ACTION_LABELS = {
    "suspend": "利用停止 (紛失届)", "resume": "利用再開", "unlock": "ロック解除",
    "revoke": "失効の申請", "resync": "時刻補正 (再同期)",
}


# --- sign-in -------------------------------------------------------------------------

def _sign_in_page(request: Request, *, name: str = "", error: str | None = None,
                  message: str | None = None, status_code: int = 200) -> Response:
    return page(
        request, "form.html", layout="console/base.html", title="職員サインイン",
        action="/console/login", submit="サインイン", error=error, message=message,
        fields=[
            Field("staff_id", "職員ID", value=name, autocomplete="username", maxlength=32),
            Field("password", "パスワード", kind="password"),
            Field("otp", "ワンタイムパスワード", kind="otp"),
        ],
        status_code=status_code,
    )


@router.get("/login")
def sign_in_form(request: Request) -> Response:
    if signed_in(request):
        return redirect("/console")
    return _sign_in_page(request, message=pop_notice(request))


def _sign_in(request: Request, form: Form) -> Response:
    c = console(request)
    name = form.text("staff_id").lower()
    try:
        member = sign_in(c.web.ctx, name, form.password("password"), form.code("otp"))
    except KinkoError:
        return _sign_in_page(request, name=name, error=SIGN_IN_FAILED, status_code=422)
    fresh = c.sessions.rotate(request)  # a new session ID at sign-in
    fresh.data.clear()
    fresh.data["staff_id"] = member.id
    return redirect("/console")


@router.post("/login")
async def sign_in_post(request: Request) -> Response:
    return await posted(request, _sign_in)


def _sign_out(request: Request, form: Form) -> Response:
    console(request).sessions.destroy(request)
    return redirect("/console/login")


@router.post("/logout")
async def sign_out(request: Request) -> Response:
    return await posted(request, _sign_out)


# --- search and customer view --------------------------------------------------------

@router.get("")
def search(request: Request) -> Response:
    member = staff_required(request)
    if isinstance(member, Response):
        return member
    query = request.query_params.get("q", "")
    error = None
    if query:
        digits = normalize_digits(query)
        try:
            if len(digits) == 12:
                contract_id = console_service.contract_of_serial(console(request).web.ctx,
                                                                 digits)
            else:
                contract_id = console_service.customer_view(
                    console(request).web.ctx, digits).customer.contract_id
            return redirect(f"/console/customers/{contract_id}")
        except KinkoError:
            error = "該当するお客さまが見つかりません。"
    pending = approvals.pending(console(request).web.ctx)
    return page(request, "console/search.html", title="お客さま検索", query=query,
                error=error, pending=len(pending), message=pop_notice(request),
                status_code=404 if error else 200)


@router.get("/customers/{contract_id}")
def customer(contract_id: str, request: Request) -> Response:
    member = staff_required(request)
    if isinstance(member, Response):
        return member
    try:
        view = console_service.customer_view(console(request).web.ctx, contract_id)
    except KinkoError:
        return page(request, "console/message.html", title="お客さま検索",
                    error="該当するお客さまが見つかりません。", status_code=404)
    # A revocation waiting for a supervisor: its form is shown disabled, with a note, instead
    # of inviting a second request the service would refuse.
    revoke_pending = {r.serial for r in approvals.pending(console(request).web.ctx)
                      if r.kind is RequestKind.REVOKE
                      and r.contract_id == view.customer.contract_id}
    return page(request, "console/customer.html", title="お客さま情報", view=view,
                member=member, reasons=console_service.REASONS, action_labels=ACTION_LABELS,
                revoke_pending=revoke_pending,
                is_supervisor=member.role is StaffRole.SUPERVISOR,
                message=pop_notice(request), error=session(request).data.pop("error", None))


def _reason(form: Form) -> str:
    chosen = form.text("reason")
    if chosen not in console_service.REASONS:
        raise InvalidInput("理由を選択してください。")
    text = form.text("reason_text")
    if chosen == OTHER and not text:
        raise InvalidInput("「その他」の内容を入力してください。")
    return f"{chosen}: {text}"[:200] if text else chosen


def _back(request: Request, contract_id: str, *, notice: str | None = None,
          error: str | None = None) -> Response:
    s = session(request)
    if notice:
        s.data["notice"] = notice
    if error:
        s.data["error"] = error
    return redirect(f"/console/customers/{contract_id}")


def _token_action(request: Request, form: Form, member: StaffMember, contract_id: str,
                  serial: str, action: str) -> str:
    """Carry out one action on a token of the customer with ``contract_id`` (the services
    refuse any other token); returns the notice for the customer view."""
    ctx = console(request).web.ctx
    reason = _reason(form)
    if action == "suspend":
        console_service.suspend(ctx, member, contract_id, serial, reason)
        return "トークンを利用停止にしました。"
    if action == "resume":
        console_service.resume(ctx, member, contract_id, serial, reason)
        return "トークンの利用を再開しました。"
    if action == "unlock":
        console_service.unlock_token(ctx, member, contract_id, serial, reason)
        return "トークンのロックを解除しました。"
    if action == "revoke":
        approvals.request_revoke(ctx, member, serial, reason, contract_id=contract_id)
        return "失効を申請しました。別の責任者の承認を待っています。"
    if action == "resync":
        console_service.resync(ctx, member, contract_id, serial, form.code("first"),
                               form.code("second"), reason)
        return "時刻補正を行いました。"
    raise InvalidInput("unknown action")


def _act(request: Request, form: Form) -> Response:
    member = staff_required(request)
    if isinstance(member, Response):
        return member
    contract_id = request.path_params["contract_id"]
    serial = request.path_params["serial"]
    action = request.path_params["action"]
    try:
        notice = _token_action(request, form, member, contract_id, serial, action)
    except KinkoError as error:
        return _back(request, contract_id, error=_staff_message(error))
    return _back(request, contract_id, notice=notice)


@router.post("/customers/{contract_id}/tokens/{serial}/{action}")
async def act(request: Request) -> Response:
    return await posted(request, _act)


def _unlock_password(request: Request, form: Form) -> Response:
    member = staff_required(request)
    if isinstance(member, Response):
        return member
    contract_id = request.path_params["contract_id"]
    try:
        kind = PasswordKind(form.text("kind"))
        approvals.request_password_unlock(console(request).web.ctx, member, contract_id,
                                          kind, _reason(form))
    except (KinkoError, ValueError) as error:
        message = (_staff_message(error) if isinstance(error, KinkoError)
                   else "パスワードの種類を選択してください。")
        return _back(request, contract_id, error=message)
    return _back(request, contract_id,
                 notice="パスワードのロック解除を申請しました。別の責任者の承認を待っています。")


@router.post("/customers/{contract_id}/unlock-password")
async def unlock_password(request: Request) -> Response:
    return await posted(request, _unlock_password)


# --- approvals -----------------------------------------------------------------------

@router.get("/requests")
def requests_page(request: Request) -> Response:
    member = staff_required(request)
    if isinstance(member, Response):
        return member
    return page(request, "console/requests.html", title="承認待ち",
                requests=approvals.pending(console(request).web.ctx), member=member,
                is_supervisor=member.role is StaffRole.SUPERVISOR,
                message=pop_notice(request), error=session(request).data.pop("error", None))


def _decide(request: Request, form: Form) -> Response:
    member = staff_required(request)
    if isinstance(member, Response):
        return member
    ctx = console(request).web.ctx
    try:
        request_id = int(request.path_params["request_id"])
        if request.path_params["decision"] == "approve":
            approvals.approve(ctx, member, request_id)
            session(request).data["notice"] = "申請を承認し、実行しました。"
        elif request.path_params["decision"] == "reject":
            approvals.reject(ctx, member, request_id)
            session(request).data["notice"] = "申請を却下しました。"
        else:
            raise InvalidInput("unknown decision")
    except (KinkoError, ValueError) as error:
        session(request).data["error"] = (_staff_message(error) if isinstance(error, KinkoError)
                                          else "申請が見つかりません。")
    return redirect("/console/requests")


@router.post("/requests/{request_id}/{decision}")
async def decide(request: Request) -> Response:
    return await posted(request, _decide)


# --- audit trail ---------------------------------------------------------------------

def _filters(request: Request) -> AuditFilter:
    """The page's filters: digits as staff type them, a staff ID, days in JST; a day that
    is not a date is ignored."""
    q = request.query_params
    filters: dict[str, Any] = {}
    for name in ("contract_id", "serial", "action"):
        value = q.get(name, "").strip()
        if value:
            filters[name] = normalize_digits(value) if name != "action" else value
    staff_name = q.get("staff", "").strip().lower()
    if staff_name:
        filters["actor"] = f"staff:{staff_name}"
    for name, key in (("since", "since"), ("until", "until")):
        value = q.get(name, "").strip()
        if value:
            try:
                day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=JST)
            except ValueError:
                continue
            filters[key] = (day if name == "since" else day + timedelta(days=1)).astimezone(UTC)
    return AuditFilter(**filters)


@router.get("/audit")
def audit_page(request: Request) -> Response:
    member = staff_required(request)
    if isinstance(member, Response):
        return member
    trail = console(request).web.kinko.audit_trail
    events = audit_service.search(trail, _filters(request), limit=200).events
    report = audit_service.verify(trail) if request.query_params.get("verify") else None
    return page(request, "console/audit.html", title="監査ログ", events=events,
                query=dict(request.query_params), report=report,
                csv_query=str(request.query_params))


@router.get("/audit.csv")
def audit_csv(request: Request) -> Response:
    member = staff_required(request)
    if isinstance(member, Response):
        return member
    out = io.StringIO()
    audit_service.export_csv(console(request).web.kinko.audit_trail, _filters(request), out)
    stamp = datetime.now(UTC).astimezone(JST).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        iter([out.getvalue()]), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kinko-audit-{stamp}.csv"'})


NOT_THIS_CUSTOMERS = "このお客さまのトークンではないため、操作できません。"


#: What staff read for a conflict (the services' own text is English, for logs and the API).
CONFLICTS: dict[type[e.Conflict], str] = {
    e.AlreadyRequested: "同じ申請がすでに承認待ちです。",
    e.AlreadyDecided: "この申請はすでに処理されています。",
    e.TokenChangedMeanwhile:
        "トークンの状態が変わりました。画面を更新してから、もう一度操作してください。",
    e.NotActiveForResync: "再同期できるのは利用中のトークンだけです。",
}
PASSWORD_NOT_LOCKED: dict[str, str] = {
    PasswordKind.LOGIN: "ログインパスワードはロックされていません。",
    PasswordKind.CONFIRMATION: "確認用パスワードはロックされていません。",
}
OTHER_CONFLICT = (
    "ほかの操作と重なったため、実行できませんでした。画面を更新して状態を確認してください。")


def _conflict_message(error: KinkoError) -> str:
    if isinstance(error, e.PasswordNotLocked):
        return PASSWORD_NOT_LOCKED.get(error.kind, OTHER_CONFLICT)
    return next((text for kind, text in CONFLICTS.items() if isinstance(error, kind)),
                OTHER_CONFLICT)


def _staff_message(error: KinkoError) -> str:
    if isinstance(error, NotCustomersToken):
        return NOT_THIS_CUSTOMERS
    messages = {
        "not_permitted": "この操作を行う権限がありません。",
        "invalid_transition": "現在のトークンの状態では、この操作はできません。",
        "conflict": _conflict_message(error),
        "invalid_input": str(error),
        "not_found": "対象が見つかりません。",
        "wrong_code":
            "ワンタイムパスワードが一致しません (2つの連続したコードを入力してください)。",
        "replayed_code": "使用済みのワンタイムパスワードです。",
    }
    return messages.get(error.code, str(error))
