"""The Socket.IO server: its client manager, limits and namespaces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import socketio

from realtime.hub import LessonHub
from realtime.limits import LimitedServer
from realtime.namespaces import StudentNamespace, TutorNamespace, UnknownNamespace
from realtime.queue_link import QueueLink
from realtime.rooms import RedisRoomManager, RoomManager
from realtime.transport import LeanEngineIOServer


class SocketServer(LimitedServer):
    """The Socket.IO server with the limits of `realtime.limits`, on the smaller Engine.IO
    server of `realtime.transport`."""

    def _engineio_server_class(self) -> type[LeanEngineIOServer]:
        return LeanEngineIOServer


def create_socket_server(
    *,
    message_queue_url: str | None,
    channel: str = "trust-lesson",
    max_message_bytes: int,
    ping_interval_s: float,
    ping_timeout_s: float,
    cors_origins: list[str] | None = None,
    link: QueueLink | None = None,
) -> tuple[socketio.AsyncServer, LessonHub]:
    """Build the server; ``message_queue_url`` (redis://) lets several processes share rooms,
    ``link`` hears when Redis is lost and back."""
    manager: socketio.AsyncManager = (
        RedisRoomManager(message_queue_url, channel=f"{channel}:socketio", link=link)
        if message_queue_url
        else RoomManager()
    )
    sio = SocketServer(
        async_mode="asgi",
        # Every namespace reaches the catch-all below, which refuses all but ours with a code.
        namespaces="*",
        client_manager=manager,
        # None: same-origin only (the page's own scheme and host).
        cors_allowed_origins=_origins_check(cors_origins) if cors_origins else None,
        max_http_buffer_size=max_message_bytes,
        ping_interval=ping_interval_s,
        ping_timeout=ping_timeout_s,
        logger=False,
        engineio_logger=False,
    )
    hub = LessonHub(sio)
    sio.register_namespace(StudentNamespace(hub))
    sio.register_namespace(TutorNamespace(hub))
    sio.register_namespace(UnknownNamespace())
    return sio, hub


def _origins_check(extra: list[str]) -> Callable[[str | None, dict[str, Any]], bool]:
    """The server's own origin, and the configured others."""
    allowed = {o.rstrip("/") for o in extra}

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None:
            return True  # not a browser: no Origin header to check
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", environ.get("HTTP_HOST", ""))
        forwarded_proto = environ.get("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme"))
        behind_proxy = f"{forwarded_proto}://{forwarded_host}".split(",")[0].strip()
        return origin in allowed or origin in (own, behind_proxy)

    return check
