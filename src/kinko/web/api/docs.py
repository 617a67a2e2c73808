"""The API's OpenAPI document (``/api/openapi.json``) and a browsable page (``/api/docs``).

FastAPI's own Swagger UI loads its scripts from a CDN, which the site's strict
Content-Security-Policy forbids (and the bank's servers are offline). ``/api/docs`` is
rendered on the server from the same OpenAPI document instead: plain HTML and one
stylesheet from ``/static``, no script, so the CSP stays as strict as everywhere else.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from pydantic.json_schema import models_json_schema

from kinko import __version__
from kinko.web.api.problems import MEDIA_TYPE, Problem

router = APIRouter()

SCOPE_KEY = "x-kinko-scope"
METHODS = ("get", "post", "put", "patch", "delete")
DESCRIPTION = """\
The JSON API of kinko for the bank's own systems. Authenticate every call (except the
token app's activation) with `Authorization: Bearer kk_<id>_<secret>`, the secret that
`kinko api-client add` printed once. Each operation needs one scope (`x-kinko-scope`):
`verify`, `manage` or `audit`. Errors are `application/problem+json` (RFC 9457) with a
stable `code`. See docs/api.md for examples."""


@router.get("/api/openapi.json", include_in_schema=False)
def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(api_document(request.app))


@router.get("/api/docs", include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    return HTMLResponse(render(api_document(request.app)))


def api_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of every route under /api/, built once per app."""
    document: dict[str, Any] | None = getattr(app.state, "api_openapi", None)
    if document is None:
        document = build_document(app)
        app.state.api_openapi = document
    return document


def build_document(app: FastAPI) -> dict[str, Any]:
    # FastAPI's own document of the whole app (the HTML pages included), cut down to /api/.
    full = copy.deepcopy(app.openapi())
    document: dict[str, Any] = {
        "openapi": full["openapi"],
        "info": {"title": "kinko API", "version": __version__, "description": DESCRIPTION},
        "paths": {path: item for path, item in full.get("paths", {}).items()
                  if path.startswith("/api/")},
        "components": {"schemas": full.get("components", {}).get("schemas", {})},
    }
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, problem_schemas = models_json_schema(
        [(Problem, "serialization")], ref_template="#/components/schemas/{model}")
    schemas.update(problem_schemas["$defs"])
    components["securitySchemes"] = {"bearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "kk_<id>_<secret>",
        "description": "An API client's secret from `kinko api-client add`"}}
    problem_content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in document.get("paths", {}).values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            if SCOPE_KEY in operation:
                operation["security"] = [{"bearer": []}]
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = problem_content
    components["schemas"] = _referenced(document["paths"], schemas)
    return document


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The schemas that ``paths`` use, directly or through other schemas (so neither the
    HTML pages' form models nor FastAPI's unused validation error body are listed)."""
    prefix = "#/components/schemas/"
    kept: dict[str, Any] = {}
    pending: list[Any] = [paths]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                name = ref[len(prefix):]
                if name not in kept and name in schemas:
                    kept[name] = schemas[name]
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return dict(sorted(kept.items()))


# --- the HTML page -------------------------------------------------------------------------

def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _type(document: dict[str, Any], schema: dict[str, Any]) -> str:
    """A short human reading of a JSON schema: ``string (date-time) | null``."""
    if "$ref" in schema:
        target = _resolve(document, schema)
        if "enum" in target:
            return " | ".join(f'"{value}"' for value in target["enum"])
        return str(schema["$ref"]).rsplit("/", 1)[1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type(document, part) for part in schema[key])
    if "const" in schema:
        return f'"{schema["const"]}"'
    if "enum" in schema:
        return " | ".join(f'"{value}"' for value in schema["enum"])
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {_type(document, schema.get('items', {}))}"
    notes = [str(schema["format"])] if "format" in schema else []
    if "minLength" in schema or "maxLength" in schema:
        notes.append(f"{schema.get('minLength', 0)}–{schema.get('maxLength', '')} chars")
    if "minimum" in schema or "maximum" in schema:
        notes.append(f"{schema.get('minimum', '')}…{schema.get('maximum', '')}")
    return kind + (f" ({', '.join(notes)})" if notes else "")


def _fields(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, str]]:
    schema = _resolve(document, schema)
    required = set(schema.get("required", []))
    return [{"name": name, "type": _type(document, prop),
             "required": "yes" if name in required else "",
             "description": str(prop.get("description", "")
                                or _resolve(document, prop).get("description", ""))}
            for name, prop in schema.get("properties", {}).items()]


def _bodies(document: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The request body's shapes (a union gives one per variant)."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return []
    variants = schema.get("oneOf") or schema.get("anyOf") or [schema]
    return [{"name": str(v.get("$ref", "body")).rsplit("/", 1)[-1],
             "fields": _fields(document, v)} for v in variants]


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    listed = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            listed.append({
                "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                "method": method.upper(), "path": path,
                "summary": operation.get("summary", ""),
                "description": operation.get("description", ""),
                "scope": operation.get(SCOPE_KEY), "tags": operation.get("tags", []),
                "parameters": [
                    {"name": p["name"], "in": p["in"], "type": _type(document, p["schema"]),
                     "required": "yes" if p.get("required") else "",
                     "description": p.get("description", "")}
                    for p in operation.get("parameters", [])],
                "bodies": _bodies(document, operation),
                "responses": [{"status": status, "description": r.get("description", "")}
                              for status, r in operation.get("responses", {}).items()],
            })
    return listed


def code_spans(text: str) -> Markup:
    """Escape ``text`` and show its `backticked` words as code, as the descriptions write."""
    parts = str(escape(text)).split("`")
    return Markup("".join(f"<code>{part}</code>" if i % 2 else part  # noqa: S704 - escaped
                          for i, part in enumerate(parts)))


_PAGES = Environment(loader=FileSystemLoader(Path(__file__).parents[1] / "templates"),
                     autoescape=True)
_PAGES.filters["code_spans"] = code_spans


def render(document: dict[str, Any]) -> str:
    return _PAGES.get_template("api_docs.html").render(doc=document, ops=operations(document))
