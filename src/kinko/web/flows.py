"""Server-side state machines for the customer's multi-step procedures (利用開始 and so on).

The current flow lives in the web session: its name, the one step it expects next, what
earlier steps proved, and when it was last touched. Out of order or idle: start again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from kinko.services.websessions import WebSession

FLOW_IDLE_TIMEOUT = timedelta(minutes=10)

T = TypeVar("T")


class FlowInterrupted(Exception):
    """The request does not fit the session's flow; ``message`` says why (Japanese key)."""

    def __init__(self, flow: str, message: str) -> None:
        super().__init__(message)
        self.flow = flow
        self.message = message


OUT_OF_ORDER = "操作の順番が正しくないため、最初からやり直してください。"
TIMED_OUT = "一定時間操作がなかったため、最初からやり直してください。"
FINISHED = "この手続きは完了しています。"


@dataclass
class Flow:
    name: str
    step: str
    proof: dict[str, Any]
    touched: str
    #: Side facts of the current step (e.g. the serial issued for another authenticator app).
    extra: dict[str, Any] = field(default_factory=dict)

    def proven(self, kind: type[T]) -> T:
        """Rebuild the typed result an earlier step returned (e.g. ``EnrollmentStarted``)."""
        return kind(**self.proof)


def start(session: WebSession, name: str, first_step: str, now: datetime) -> Flow:
    session.data.pop("finished_flow", None)
    session.data.pop("finished_shown", None)
    flow = Flow(name, first_step, {}, now.isoformat())
    session.data["flow"] = asdict(flow)
    return flow


def expect(session: WebSession, name: str, step: str, now: datetime) -> Flow:
    """The flow if it is at ``step`` now; otherwise ``FlowInterrupted`` (and it is dropped)."""
    raw = session.data.get("flow")
    if not raw and session.expired:
        raise FlowInterrupted(name, TIMED_OUT)
    if not raw or raw.get("name") != name:
        finished = session.data.get("finished_flow") == name
        raise FlowInterrupted(name, FINISHED if finished else OUT_OF_ORDER)
    flow = Flow(**raw)
    if now - datetime.fromisoformat(flow.touched) > FLOW_IDLE_TIMEOUT:
        session.data.pop("flow", None)
        raise FlowInterrupted(name, TIMED_OUT)
    if flow.step != step:
        session.data.pop("flow", None)
        raise FlowInterrupted(name, OUT_OF_ORDER)
    return flow


def advance(session: WebSession, flow: Flow, step: str, now: datetime,
            proof: object | None = None) -> None:
    """Move to ``step``, keeping the typed result of the step just done."""
    flow.step = step
    flow.touched = now.isoformat()
    flow.extra = {}
    if proof is not None:
        flow.proof = asdict(proof)  # type: ignore[call-overload]
    session.data["flow"] = asdict(flow)


def remember(session: WebSession, flow: Flow, now: datetime, **extra: Any) -> None:
    """Keep side facts for the current step without moving on."""
    flow.extra.update(extra)
    flow.touched = now.isoformat()
    session.data["flow"] = asdict(flow)


def finish(session: WebSession, flow: Flow, now: datetime, **shown: Any) -> None:
    """The flow is done: only its completion page may still be shown, with ``shown`` (what
    it tells the customer, e.g. the serial registered)."""
    session.data.pop("flow", None)
    session.data["finished_flow"] = flow.name
    session.data["finished_shown"] = shown


def finished(session: WebSession, name: str) -> dict[str, Any] | None:
    """What the completion page of flow ``name`` shows; None unless that flow just finished
    in this session."""
    if session.data.get("finished_flow") != name:
        return None
    shown: dict[str, Any] = session.data.get("finished_shown") or {}
    return shown
