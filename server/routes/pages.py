"""The browser pages: login, the student page and the tutor dashboard, and their static files.

The pages are plain HTML files under ``web_client/pages``; their scripts and styles live under
``web_client/static`` and are served at ``/static/``. The Socket.IO client comes from npm
(``web_client/node_modules``, installed by ``npm ci``) and is served at ``/static/vendor/`` —
never from a CDN. ``web_client`` is a package, so an installed wheel serves the same files.
Every response here carries a Content-Security-Policy that allows only this
origin, so a display name that slipped into the markup could still not run.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import Problem, not_found
from web_client import ROOT as WEB_CLIENT

PAGES = WEB_CLIENT / "pages"
STATIC = WEB_CLIENT / "static"
VENDOR = WEB_CLIENT / "node_modules" / "socket.io-client" / "dist"
# Only these files of the npm package are served; nothing else under node_modules is reachable.
VENDOR_FILES = frozenset({"socket.io.esm.min.js", "socket.io.esm.min.js.map"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    # Revalidate every time (ETag/Last-Modified make that cheap): after an upgrade no browser
    # keeps running an old script against a new server.
    "Cache-Control": "no-cache",
}


class _Secured:
    """Wrap an ASGI app so that each of its HTTP responses carries :data:`SECURITY_HEADERS`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_secured)


def _page(filename: str) -> FileResponse:
    return FileResponse(PAGES / filename, media_type="text/html", headers=SECURITY_HEADERS)


async def login_page(_request: Request) -> Response:
    return _page("index.html")


async def student_page(_request: Request) -> Response:
    # The lesson id is read by the page's script from its own address; the route's uuid
    # convertor already turned a malformed one into a 404.
    return _page("student.html")


async def tutor_page(_request: Request) -> Response:
    return _page("tutor.html")


async def review_page(_request: Request) -> Response:
    return _page("review.html")


async def verify_page(_request: Request) -> Response:
    return _page("verify.html")


async def vendor_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in VENDOR_FILES:
        raise not_found("file")
    path = VENDOR / name
    if not path.is_file():
        raise Problem(
            503,
            "Service Unavailable",
            "the Socket.IO client is not installed: run `npm ci` in web_client/ (make run does)",
        )
    return FileResponse(path, headers=SECURITY_HEADERS)


routes: list[BaseRoute] = [
    Route("/", login_page, methods=["GET"]),
    Route("/student/lessons/{lesson_id:uuid}", student_page, methods=["GET"]),
    Route("/tutor/lessons/{lesson_id:uuid}", tutor_page, methods=["GET"]),
    Route("/tutor/lessons/{lesson_id:uuid}/review", review_page, methods=["GET"]),
    Route("/verify", verify_page, methods=["GET"]),
    # Before the /static mount, which would otherwise take these paths.
    Route("/static/vendor/{name}", vendor_file, methods=["GET"]),
    # StaticFiles resolves every path and refuses one that leaves the directory (404).
    Mount("/static", app=_Secured(StaticFiles(directory=STATIC)), name="static"),
]
