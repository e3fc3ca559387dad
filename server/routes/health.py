"""Health: is this process able to serve?"""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.http import services


async def health(request: Request) -> JSONResponse:
    svc = services(request)
    parts: dict[str, str] = {}
    try:
        async with svc.sessions() as s:
            await s.execute(text("SELECT 1"))
        parts["database"] = "ok"
    except Exception as exc:
        parts["database"] = f"failing: {type(exc).__name__}"
    parts["vision"] = "ok" if svc.vision.alive() else "failing: the pool is closed"
    ok = all(v == "ok" for v in parts.values())
    return JSONResponse(
        {
            "status": "ok" if ok else "failing",
            **parts,
            "connections": svc.hub.connection_counts,
            "vision_pool": svc.vision.stats(),
        },
        status_code=200 if ok else 503,
    )


routes = [Route("/api/health", health, methods=["GET"])]
