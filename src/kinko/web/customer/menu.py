"""The signed-in customer's menu as a page of its own (/menu): on a smartphone the menu bar
keeps a few items and links here, so no destination is ever off-screen or behind a script.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.web.customer.common import login_required, page

router = APIRouter()


@router.get("/menu")
def menu(request: Request) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    return page(request, "menu.html", title="メニュー")
