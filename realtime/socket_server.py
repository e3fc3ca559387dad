"""The Socket.IO server: its client manager, limits and namespaces."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import socketio

from realtime import log_context
from realtime.hub import LessonHub
from realtime.limits import LimitedServer
from realtime.namespaces import StudentNamespace, TutorNamespace, UnknownNamespace
from realtime.queue_link import QueueLink
from realtime.rooms import RedisRoomManager, RoomManager
from realtime.transport import LeanEngineIOServer


class SocketServer(LimitedServer):
    """The Socket.IO server with the limits of `realtime.limits`, on the smaller Engine.IO
    server of `realtime.transport`."""

    hub: LessonHub | None = None

    def _engineio_server_class(self) -> type[LeanEngineIOServer]:
        return LeanEngineIOServer

    async def _trigger_event(self, event: Any, namespace: str, *args: Any) -> Any:
        # Every handler runs with the connection's ids bound, for the log lines it writes;
        # who the connection is (lesson, student) is looked up when a line is written, so the
        # lines of a join carry them as soon as the join is accepted.
        sid = args[0] if args and isinstance(args[0], str) else None
        ids = log_context.bind(sid=sid, lesson=_asked_lesson(args))
        lookup = None
        if sid is not None:
            who = _ConnectionIds(self, sid)
            who()  # known now, unless this is the connect; then as soon as the join is accepted
            lookup = log_context.bind_lookup(who)
        try:
            return await super()._trigger_event(event, namespace, *args)
        finally:
            if lookup is not None:
                log_context.reset_lookup(lookup)
            log_context.reset(ids)


class _ConnectionIds:
    """Who a connection is, for its log lines: looked up while it is known, then remembered
    (the line that says it left is written after the hub has let it go)."""

    def __init__(self, server: SocketServer, sid: str) -> None:
        self._server = server
        self._sid = sid
        self._ids: dict[str, str] = {}

    def __call__(self) -> dict[str, str]:
        if not self._ids and self._server.hub is not None:
            conn = self._server.hub.connection(self._sid)
            if conn is not None:
                role = "student" if conn.role.value == "student" else "user"
                self._ids = {"lesson": str(conn.lesson_id), role: str(conn.user_id)}
        return self._ids


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
    sio.hub = hub
    sio.register_namespace(StudentNamespace(hub))
    sio.register_namespace(TutorNamespace(hub))
    sio.register_namespace(UnknownNamespace())
    return sio, hub


def _asked_lesson(args: tuple[Any, ...]) -> str | None:
    """On a connect (sid, environ, auth): the lesson the client asks for, if it is an id."""
    auth = args[2] if len(args) > 2 else None
    asked = auth.get("lesson_id") if isinstance(auth, dict) else None
    try:
        return str(uuid.UUID(asked)) if isinstance(asked, str) else None
    except ValueError:
        return None


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
