"""Serving one process with uvicorn, and draining it on SIGTERM.

On the first SIGTERM (or Ctrl-C) the process stops taking new Socket.IO connections and
reports itself draining on /api/health, waits until the frames it is judging have their
answers (at most TL_DRAIN_TIMEOUT_S), and only then lets uvicorn close the connections and
run the shutdown: presence intervals are closed and its open prompts cancelled, so students
who reconnect elsewhere are prompted afresh. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
from types import FrameType
from typing import Any

import uvicorn

from realtime.hub import LessonHub
from server.settings import Settings
from server.websocket_protocol import LeanWebSocketProtocol

logger = logging.getLogger(__name__)


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for this app, with ``options`` (host, port, log_level...).

    - A WebSocket message over the socket limit is refused from its frame header (close code
      1009) before its payload is read. python-engineio checks the limit only once the whole
      message is in memory, and uvicorn's own limit is 16 MiB.
    - No per-message deflate: frames are JPEG already, and deflate state doubles the memory an
      idle connection holds (bench/RESULTS.md, idle).
    - uvicorn's WebSocket protocol with less held per connection, and no WebSocket-level
      pings: Engine.IO's heartbeat already closes silent connections (`server.websocket_protocol`).
    - The client's address and scheme from X-Forwarded-For/-Proto only when the connection
      comes from one of TL_TRUSTED_PROXIES (never from uvicorn's own FORWARDED_ALLOW_IPS).
    """
    return uvicorn.Config(
        app,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        ws=LeanWebSocketProtocol,
        ws_max_size=settings.max_socket_message_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        **options,
    )


# After SIGTERM, how long frames already sent have to reach the server before it counts the
# frames being judged.
DRAIN_GRACE_S = 0.5


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining before it stops. Overrides uvicorn's ``handle_exit`` and
    ``serve``, which are not a documented API: docs/library-internals.md."""

    def __init__(self, config: uvicorn.Config, hub: LessonHub, drain_timeout_s: float) -> None:
        super().__init__(config)
        self._hub = hub
        self._drain_timeout_s = drain_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining = False
        self._drain_task: asyncio.Task[None] | None = None

    async def serve(self, sockets: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            logger.info("ready: open %s/ (Ctrl-C to stop)", self._address())

    def _address(self) -> str:
        config = self.config
        port = config.port
        if port == 0 and self.servers and self.servers[0].sockets:
            port = self.servers[0].sockets[0].getsockname()[1]
        host = config.host if config.host not in (None, "0.0.0.0", "::") else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if config.ssl else 'http'}://{host}:{port}"

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining or self._loop is None or self.should_exit:
            super().handle_exit(sig, frame)
            return
        self._draining = True
        # A signal handler may interrupt anything: hand the work to the event loop.
        self._loop.call_soon_threadsafe(self._start_drain, sig, frame)

    def _start_drain(self, sig: int, frame: FrameType | None) -> None:
        assert self._loop is not None
        self._drain_task = self._loop.create_task(self._drain(sig, frame), name="drain")

    async def _drain(self, sig: int, frame: FrameType | None) -> None:
        self._hub.begin_drain()
        logger.info("draining: no new connections; waiting for frames being judged")
        # Frames sent just before the signal may still be on the wire or in the transport's
        # queue, not yet counted as being judged: give them a moment to arrive.
        await asyncio.sleep(min(DRAIN_GRACE_S, self._drain_timeout_s))
        if await self._hub.drained(self._drain_timeout_s):
            logger.info("drained; shutting down")
        else:
            logger.warning(
                "frames still being judged after %.0f s; shutting down", self._drain_timeout_s
            )
        super().handle_exit(sig, frame)
