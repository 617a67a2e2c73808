"""/app: the customer's software token as an installable web app (PWA) that kinko serves.

The page, its web app manifest, its service worker (scope /app) and its files, each with a
CSP of its own; and the QR code of the app's address for the internet banking's 利用開始
screen. The app talks to kinko only through the activation API (docs/activation.md): this
module keeps no state and touches no database.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from kinko.web.i18n import CONTACT, translate
from kinko.web.pages import render

router = APIRouter()

PATH = "/app"
FILES = Path(__file__).with_name("static") / "app"
TEMPLATE = "phone_app.html"

#: The app's pages and files: scripts, styles, the manifest and the worker from this origin
#: only; nothing inline. Trusted Types: no script URL is made from a string but through the
#: one policy that registers the service worker (app.js), and no HTML is parsed from one.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; require-trusted-types-for 'script'; "
    "trusted-types kinko-app"
)
#: Revalidate every time (ETag): the service worker keeps the offline copy, not the cache.
CACHE_CONTROL = "no-cache"
THEME_COLOUR = "#0b5b4b"

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    "": "text/plain; charset=utf-8",  # the vendored packages' LICENSE files
}
#: Files made here rather than served as they lie in static/app.
MESSAGES, MANIFEST, WORKER = "messages.json", "manifest.webmanifest", "sw.js"
#: Not part of the offline copy: the fallback X25519 is needed only to activate, i.e. online.
ONLINE_ONLY = ("vendor/", "x25519-fallback.js")
_VERSION_LINE = 'const VERSION = "dev";'
_SHELL_LINE = "const SHELL = [];"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str

    @functools.cached_property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class Bundle:
    """Every file under /app/ by its path after /app/, and the version the worker carries."""

    assets: dict[str, Asset]
    version: str


@functools.cache
def bundle(bank_name: str) -> Bundle:
    """The app's files for one bank name (read once per process: they ship with kinko)."""
    assets: dict[str, Asset] = {}
    for path in sorted(FILES.rglob("*")):
        name = path.relative_to(FILES).as_posix()
        if path.is_file() and path.name != "README.md" and name not in (MESSAGES, WORKER):
            assets[name] = Asset(path.read_bytes(), MEDIA_TYPES[path.suffix])
    texts = messages(bank_name)
    assets[MESSAGES] = Asset(_json(texts), MEDIA_TYPES[".json"])
    assets[MANIFEST] = Asset(_json(manifest(bank_name, texts)), MEDIA_TYPES[".webmanifest"])
    digest = hashlib.sha256()
    for name, asset in sorted(assets.items()):
        digest.update(name.encode() + b"\0" + asset.body + b"\0")
    template = Path(__file__).with_name("templates") / TEMPLATE
    digest.update(template.read_bytes())
    version = digest.hexdigest()[:16]
    shell = [PATH] + [f"{PATH}/{name}" for name in assets
                      if not name.startswith(ONLINE_ONLY) and not name.endswith("LICENSE")]
    worker = (FILES / WORKER).read_text(encoding="utf-8")
    if _VERSION_LINE not in worker or _SHELL_LINE not in worker:
        raise RuntimeError(f"{WORKER} lost the lines kinko fills in")
    worker = worker.replace(_VERSION_LINE, f"const VERSION = {json.dumps(version)};").replace(
        _SHELL_LINE, f"const SHELL = {json.dumps(shell)};")
    assets[WORKER] = Asset(worker.encode(), MEDIA_TYPES[".js"])
    return Bundle(assets, version)


def messages(bank_name: str) -> dict[str, dict[str, str]]:
    """The app's texts (static/app/messages.json), with the bank's name and the help desk as
    the internet banking words them."""
    texts: dict[str, dict[str, str]] = json.loads((FILES / MESSAGES).read_text(encoding="utf-8"))
    texts["help_desk"] = {"ja": str(CONTACT), "en": translate(CONTACT, "en")}  # IB's footer
    texts["bank_name"] = {"ja": bank_name, "en": bank_name}
    return texts


def manifest(bank_name: str, texts: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The web app manifest: what "ホーム画面に追加" installs."""
    icon = f"{PATH}/icon"
    return {
        "id": PATH,
        "name": f"{bank_name} {texts['app_name']['ja']}",
        "short_name": texts["app_name"]["ja"],
        "description": texts["app_description"]["ja"],
        "lang": "ja",
        "dir": "ltr",
        "start_url": PATH,
        "scope": PATH,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f2f5f7",
        "theme_color": THEME_COLOUR,
        "icons": [
            {"src": f"{icon}-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": f"{icon}-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": f"{icon}-maskable-512.png", "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
            {"src": f"{icon}.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
    }


def _json(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def _bank_name(request: Request) -> str:
    name: str = request.app.state.kinko.settings.bank_name
    return name


@router.get(PATH, include_in_schema=False)
def page(request: Request) -> Response:
    """The app's one page; its language is the internet banking's (the kinko_lang cookie)."""
    response = render(request.app.state.web.templates, request, TEMPLATE,
                      bank_name=_bank_name(request), theme_colour=THEME_COLOUR)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@router.get(f"{PATH}/", include_in_schema=False)
def page_with_slash() -> Response:
    return RedirectResponse(PATH, status_code=308)


@router.get(f"{PATH}/qr.svg", include_in_schema=False)
def qr_code(request: Request) -> Response:
    """The QR code of this server's /app, for a customer at a PC to open it on the phone."""
    url = str(request.base_url).rstrip("/") + PATH
    svg = io.BytesIO()
    segno.make(url, error="m").save(svg, kind="svg", scale=4, border=2, xmldecl=False,
                                    title=url)
    return Response(svg.getvalue(), media_type="image/svg+xml")


@router.get(PATH + "/{name:path}", include_in_schema=False)
def asset(name: str, request: Request) -> Response:
    found = bundle(_bank_name(request)).assets.get(name)
    if found is None:
        raise HTTPException(404)
    headers = {"ETag": found.etag, "Cache-Control": CACHE_CONTROL, "Content-Security-Policy": CSP}
    if name == WORKER:
        headers["Service-Worker-Allowed"] = PATH  # the scope /app, above the worker's /app/
    if found.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
