"""Headers on every /api answer: nothing there may be sniffed or stored.

Tokens, reports with students' names, CSVs and evidence thumbnails must not be kept by a
browser's cache or a shared proxy (``Cache-Control: no-store``), nor read as another type
than they are (``X-Content-Type-Options: nosniff``). Errors included. The pages and static
files carry their own headers (``server.routes.pages``); HSTS and the rest belong to the TLS
proxy in front (README, "Behind a reverse proxy").
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


class ApiHeaders:
    def __init__(self, app: ASGIApp, prefix: str = "/api") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in API_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_private)
