"""The OpenAPI document and a page that renders it (served from here, no CDN)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from server.api_route import api
from server.openapi import build_openapi

PAGE_DIR = Path(__file__).resolve().parent.parent / "apidocs"
PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _version() -> str:
    try:
        return version("trust-lesson")
    except PackageNotFoundError:
        return "0"


async def openapi_json(request: Request) -> JSONResponse:
    state = request.app.state
    document: dict[str, Any] | None = getattr(state, "openapi", None)
    if document is None:
        document = build_openapi(request.app.routes, version=_version())
        state.openapi = document
    return JSONResponse(document)


async def docs_page(_request: Request) -> Response:
    return FileResponse(PAGE_DIR / "index.html", headers=PAGE_HEADERS)


async def docs_script(_request: Request) -> Response:
    return FileResponse(PAGE_DIR / "apidocs.js", media_type="text/javascript", headers=PAGE_HEADERS)


async def docs_style(_request: Request) -> Response:
    return FileResponse(PAGE_DIR / "apidocs.css", media_type="text/css", headers=PAGE_HEADERS)


routes = [
    api(
        "GET",
        "/api/openapi.json",
        openapi_json,
        "This document",
        "anyone",
        public=True,
    ),
    api(
        "GET",
        "/api/docs",
        docs_page,
        "This document as a page to read",
        "anyone",
        media_type="text/html",
        public=True,
    ),
    Route("/api/docs/apidocs.js", docs_script, methods=["GET"]),
    Route("/api/docs/apidocs.css", docs_style, methods=["GET"]),
]
