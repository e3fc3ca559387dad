"""Health: is this process able to serve? And its metrics."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api_route import api
from server.metrics import metrics_endpoint
from server.request_context import resources_of
from server.schemas import HealthOut

CHECK_TIMEOUT_S = 3.0


async def health(request: Request) -> JSONResponse:
    resources = resources_of(request)
    parts: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), resources.sessions() as s:
            await s.execute(text("SELECT 1"))
        parts["database"] = "ok"
    except Exception as exc:
        parts["database"] = f"failing: {type(exc).__name__}"
    parts["vision"] = "ok" if resources.vision.alive() else "failing: the pool is closed"
    parts["message_queue"] = await _message_queue(resources.settings.message_queue_url)
    link = getattr(resources.hub.bus, "link", None)
    if link is not None and not link.reachable:
        # Which of this process's parts lost Redis (its subscriptions may lag this ping).
        parts["message_queue"] = f"failing: {link.describe()}"
    if parts["message_queue"].startswith("failing"):
        # What still works: this process serves the students and tutors connected to it.
        parts["message_queue"] += "; serving this process's own connections only"
    # While draining for a restart, tell load balancers to send new clients elsewhere.
    parts["process"] = "draining" if resources.hub.draining else "ok"
    ok = all(v in ("ok", "not configured") for v in parts.values())
    return JSONResponse(
        {
            "status": "ok" if ok else "failing",
            **parts,
            "connections": resources.hub.connection_counts,
            "vision_pool": resources.vision.stats(),
        },
        status_code=200 if ok else 503,
    )


async def _message_queue(url: str | None) -> str:
    if not url:
        return "not configured"
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_S)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await client.ping()
        return "ok"
    except Exception as exc:
        return f"failing: {type(exc).__name__}"
    finally:
        await client.aclose()


routes = [
    api(
        "GET",
        "/api/health",
        health,
        "Can this process serve? Database, vision pool and message queue; 503 names the part",
        "anyone",
        response=HealthOut,
        public=True,
        errors=[503],
    ),
    api(
        "GET",
        "/metrics",
        metrics_endpoint,
        "Prometheus metrics of this process (text exposition format)",
        "anyone who can reach it (keep it off the public address: README, Monitoring)",
        media_type="text/plain",
        public=True,
    ),
]
