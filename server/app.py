"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from realtime.cluster import Bus, LocalBus, ProcessRegistry, RedisBus
from realtime.limits import LimitedASGIApp
from realtime.server import create_socket_server
from server import bootstrap
from server.devices import DeviceCookies
from server.headers import ApiHeaders
from server.keys import check_for_serving, signing_key
from server.metrics import Metrics, TimingMiddleware
from server.problems import Problem, handle_http_exception, handle_problem, handle_unexpected
from server.purge import purge_periodically
from server.ratelimit import FailureLimiter
from server.routes import audit, auth, courses, docs, health, lessons, pages, reports, users
from server.security import TokenCodec
from server.services import Services
from server.settings import Settings
from storage.db import make_engine, make_sessions
from storage.errors import SchemaOutOfDate
from storage.migrate import is_current, upgrade
from vision import ImageLimits, Thresholds, VisionPool

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> LimitedASGIApp:
    """Build the whole server: Starlette for HTTP, wrapped by the Socket.IO app."""
    settings = settings or Settings()
    sio, hub = create_socket_server(
        message_queue_url=settings.message_queue_url,
        channel=settings.message_queue_channel,
        cors_origins=settings.cors_origins,
        max_message_bytes=settings.max_socket_message_bytes,
        ping_interval_s=settings.ping_interval_s,
        ping_timeout_s=settings.ping_timeout_s,
    )

    metrics = Metrics()
    metrics.watch_connections(lambda: hub.connection_counts)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        engine = make_engine(settings.database_url)
        sessions = make_sessions(engine)
        vision = VisionPool(
            workers=settings.vision_workers,
            max_pending=settings.vision_max_pending,
            limits=ImageLimits(
                max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels
            ),
            min_confidence=settings.min_face_confidence,
            thresholds=Thresholds(
                looking_away_yaw=settings.vision_looking_away_yaw_deg,
                looking_away_pitch=settings.vision_looking_away_pitch_deg,
                challenge_yaw=settings.vision_challenge_yaw_deg,
            ),
            scan=settings.vision_side_scan,
        )
        purger: asyncio.Task[None] | None = None
        registry: ProcessRegistry | None = None
        lag_watch: asyncio.Task[None] | None = None
        try:
            if engine.dialect.name == "sqlite":
                # The embedded default keeps itself up to date; a shared database is migrated
                # on purpose, once, by `trust-lesson migrate`.
                await upgrade(engine)
            elif not await is_current(engine):
                raise SchemaOutOfDate(
                    "the database schema is not up to date: run `trust-lesson migrate` first"
                )
            key = signing_key(settings.secret_key, settings.database_url)
            if settings.env == "production":
                check_for_serving(key, host="any address", production=True)
            await bootstrap.on_start(sessions, settings)
            await vision.warm_up()
            tokens = TokenCodec(key, settings.token_ttl_s)
            registry = ProcessRegistry(
                sessions, heartbeat_s=settings.heartbeat_s, stale_after_s=settings.process_stale_s
            )
            await registry.start()
            bus: Bus = (
                RedisBus(
                    settings.message_queue_url,
                    registry.process_id,
                    channel=settings.message_queue_channel,
                )
                if settings.message_queue_url
                else LocalBus()
            )
            await hub.start(
                sessions=sessions,
                vision=vision,
                tokens=tokens,
                events=metrics,
                process_id=registry.process_id,
                bus=bus,
                stale_after_s=settings.process_stale_s,
                db_wait_s=settings.db_wait_s,
            )
            services = Services(
                settings=settings,
                engine=engine,
                sessions=sessions,
                tokens=tokens,
                vision=vision,
                hub=hub,
                account_logins=FailureLimiter(settings.login_max_failures, settings.login_window_s),
                address_logins=FailureLimiter(
                    settings.login_max_failures_per_address, settings.login_window_s
                ),
                devices=DeviceCookies(key),
            )
            purger = asyncio.create_task(
                purge_periodically(sessions, settings.purge_interval_s), name="purge"
            )
            lag_watch = asyncio.create_task(metrics.watch_event_loop(), name="loop-lag")
            # What start-up made (modules, models, the detectors) lives as long as the process:
            # kept out of the collector's full passes, which would otherwise walk its ~200k
            # objects now and then, holding the event loop (and every thread) for 100 ms or more.
            gc.collect()
            gc.freeze()
            logger.info("serving (database %s)", engine.dialect.name)
            yield {"services": services}
        finally:
            if purger is not None:
                purger.cancel()
            if lag_watch is not None:
                lag_watch.cancel()
            await hub.stop()
            if registry is not None:
                await registry.stop()
            # close() waits for frames being judged: not on the event loop.
            await asyncio.to_thread(vision.close)
            await engine.dispose()

    routes: list[BaseRoute] = [
        *auth.routes,
        *users.routes,
        *courses.routes,
        *lessons.routes,
        *reports.routes,
        *audit.routes,
        *health.routes,
        *docs.routes,
        *pages.routes,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            Problem: handle_problem,
            HTTPException: handle_http_exception,
            # Database failures are answered here (503 when it is away)...
            DBAPIError: handle_unexpected,
            PoolTimeout: handle_unexpected,
            OSError: handle_unexpected,
            # ...and anything else as a 500 problem document.
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.hub = hub
    app.add_middleware(TimingMiddleware, metrics=metrics, routes=routes)
    # Outermost but CORS: errors answered by the exception handlers get the headers too.
    app.add_middleware(ApiHeaders)
    if settings.cors_origins:
        # Other origins allowed by the settings; same-origin needs no CORS at all.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type"],
            max_age=600,
        )
    # No on_startup/on_shutdown here: Starlette's lifespan must run.
    return LimitedASGIApp(sio, app, max_bytes=settings.max_socket_message_bytes)
