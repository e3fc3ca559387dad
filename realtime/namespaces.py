"""The Socket.IO namespaces: each client event, with its payload as received, goes to the hub
(whose parts validate it); unknown events and namespaces are answered and refused here."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from realtime.connections import Connection
from realtime.emitter import STUDENT_NS, TUTOR_NS
from realtime.errors import Refused
from realtime.hub import LessonHub
from realtime.live import LiveLesson

logger = logging.getLogger(__name__)

LIFECYCLE = frozenset({"connect", "disconnect"})
MAX_EVENT_NAME = 64


class _LessonNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    events: frozenset[str] = frozenset()
    """The events clients may send; each is handled by ``on_<event>(sid, data)``."""

    def __init__(self, namespace: str, hub: LessonHub) -> None:
        super().__init__(namespace)
        self.hub = hub

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            conn, live = await self.hub.authenticate(auth, self.namespace)
            await self.joined(sid, conn, live)
            if self.server.get_environ(sid, self.namespace) is None:
                # The session closed while the join was being checked (a long-polling client
                # that gave up): python-socketio will not report its disconnect, so undo here.
                await self.hub.left(sid)
                raise Refused("bad_request", "the connection closed during its join")
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

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        if not isinstance(event, str):
            return {"error": "an event name must be a string"}
        if event in LIFECYCLE:
            if not self.server.manager.is_connected(args[0], self.namespace):
                # The real connect and disconnect: python-socketio calls them while the sid
                # is not (or no longer) counted as connected.
                return await super().trigger_event(event, *args)
        elif event in self.events:
            # The payload, and nothing of any extra arguments a client may add.
            sid, data = args[0], args[1] if len(args) > 1 else None
            return await getattr(self, f"on_{event}")(sid, data)
        # An unknown event (or a client's event named like a lifecycle one) is answered and
        # logged, never dispatched, never an error that drops the socket.
        name = event[:MAX_EVENT_NAME] + ("…" if len(event) > MAX_EVENT_NAME else "")
        logger.info("unknown event %r on %s from sid %s", name, self.namespace, args[:1])
        return {"error": f"unknown event {name!r}"}


class StudentNamespace(_LessonNamespace):
    events = frozenset({"capture", "camera"})

    def __init__(self, hub: LessonHub) -> None:
        super().__init__(STUDENT_NS, hub)

    async def joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        await self.hub.student_joined(sid, conn, live)

    async def on_capture(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self.hub.capture(sid, data)

    async def on_camera(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self.hub.camera(sid, data)


class TutorNamespace(_LessonNamespace):
    events = frozenset({"check_now", "end_lesson"})

    def __init__(self, hub: LessonHub) -> None:
        super().__init__(TUTOR_NS, hub)

    async def joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        await self.hub.tutor_joined(sid, conn, live)

    async def on_check_now(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self.hub.check_now(sid, data)

    async def on_end_lesson(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self.hub.end_lesson_by(sid)


class UnknownNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Every namespace but /student and /tutor, the default '/' included: refused with a code."""

    def __init__(self) -> None:
        super().__init__("*")

    async def on_connect(
        self, namespace: str, sid: str, environ: dict[str, Any], auth: Any = None
    ) -> None:
        raise socketio.exceptions.ConnectionRefusedError(
            f"no such namespace; connect to {STUDENT_NS} or {TUTOR_NS}",
            {"code": "bad_request"},
        )
