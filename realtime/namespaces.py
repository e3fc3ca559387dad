"""The Socket.IO namespaces: decode the event, hand it to the hub, return its answer."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from realtime.errors import Refused
from realtime.hub import STUDENT_NS, TUTOR_NS, Connection, LessonHub
from realtime.live import LiveLesson

logger = logging.getLogger(__name__)


class _LessonNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, namespace: str, hub: LessonHub) -> None:
        super().__init__(namespace)
        self.hub = hub

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            conn, live = await self.hub.authenticate(auth, self.namespace)
            await self.joined(sid, conn, live)
        except Refused as exc:
            logger.info("connection %s to %s refused: %s", sid, self.namespace, exc.code)
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        except Exception:
            # Not the client's fault (the database is unreachable, say): answer, never hang.
            logger.exception("connection %s to %s failed", sid, self.namespace)
            raise socketio.exceptions.ConnectionRefusedError(
                "the server cannot take this connection right now; try again shortly",
                {"code": "unavailable"},
            ) from None

    async def joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        raise NotImplementedError

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self.hub.left(sid)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if not hasattr(self, f"on_{event}"):
            # An unknown event is answered and logged, never an error that drops the socket.
            logger.info("unknown event %r on %s from sid %s", event, self.namespace, args[:1])
            return {"error": f"unknown event {event!r}"}
        return await super().trigger_event(event, *args)


class StudentNamespace(_LessonNamespace):
    def __init__(self, hub: LessonHub) -> None:
        super().__init__(STUDENT_NS, hub)

    async def joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        await self.hub.student_joined(sid, conn, live)

    async def on_capture(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self.hub.capture(sid, data)

    async def on_camera(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self.hub.camera(sid, data)


class TutorNamespace(_LessonNamespace):
    def __init__(self, hub: LessonHub) -> None:
        super().__init__(TUTOR_NS, hub)

    async def joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        await self.hub.tutor_joined(sid, conn, live)

    async def on_check_now(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self.hub.check_now(sid, data)

    async def on_end_lesson(self, sid: str, data: Any = None) -> dict[str, Any]:
        conn = self.hub.connection(sid)
        if conn is None:
            return {"ok": False, "error": "not connected to a lesson"}
        await self.hub.end_lesson(conn.lesson_id, actor_id=conn.user_id)
        return {"ok": True}
