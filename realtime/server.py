"""The Socket.IO server: its client manager, limits and namespaces."""

from __future__ import annotations

import socketio

from realtime.hub import LessonHub
from realtime.namespaces import StudentNamespace, TutorNamespace


def create_socket_server(
    *,
    message_queue_url: str | None,
    channel: str = "trust-lesson",
    max_message_bytes: int,
    ping_interval_s: float,
    ping_timeout_s: float,
    cors_allowed_origins: list[str] | str | None = None,
) -> tuple[socketio.AsyncServer, LessonHub]:
    """Build the server; ``message_queue_url`` (redis://) lets several processes share rooms."""
    manager = (
        socketio.AsyncRedisManager(message_queue_url, channel=f"{channel}:socketio")
        if message_queue_url
        else None
    )
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        # None: same-origin only (the page's own scheme and host).
        cors_allowed_origins=cors_allowed_origins,
        max_http_buffer_size=max_message_bytes,
        ping_interval=ping_interval_s,
        ping_timeout=ping_timeout_s,
        logger=False,
        engineio_logger=False,
    )
    hub = LessonHub(sio)
    sio.register_namespace(StudentNamespace(hub))
    sio.register_namespace(TutorNamespace(hub))
    return sio, hub
