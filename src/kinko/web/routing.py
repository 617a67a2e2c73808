"""What a 405 must say: the methods a path allows, for the ``Allow`` header (RFC 9110 §15.5.6).

Starlette answers 405 with the methods of the first route whose path matched, but one path
often has several routes (a screen's GET and its form's POST), and its static files say
nothing; this asks every route of the router instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

#: The methods an ``Allow`` header may list, in the order it lists them.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """The methods some route of ``routes`` serves at ``scope``'s path."""
    # The request's scope as the router saw it: a Mount that matched (the static files)
    # has moved its prefix into ``root_path`` since.
    scope = {"type": "http", "path": scope["path"],
             "root_path": scope.get("app_root_path", scope.get("root_path", ""))}
    allowed: set[str] = set()
    for route in routes:
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            if route.matches(scope)[0] is Match.FULL:
                allowed.update(("GET", "HEAD"))
            continue
        for method in METHODS:
            if method not in allowed and \
                    route.matches({**scope, "method": method})[0] is Match.FULL:
                allowed.add(method)
    return [method for method in METHODS if method in allowed]


def allow_header(routes: Iterable[BaseRoute], scope: Scope) -> dict[str, str]:
    """``{"Allow": "GET, HEAD"}`` for a 405 at ``scope``'s path."""
    return {"Allow": ", ".join(allowed_methods(routes, scope))}
