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

from identity import IdentityPool
from realtime.cluster import Bus, LocalBus, RedisBus
from realtime.limits import LimitedASGIApp
from realtime.processes import ProcessRegistry
from realtime.queue_link import QueueLink
from realtime.rooms import RedisRoomManager
from realtime.socket_server import create_socket_server
from records.keys import signing_key
from records.sealer import publish_key, seal_now, seal_periodically
from server.devices import DeviceCookies
from server.errors import Problem, handle_http_exception, handle_problem, handle_unexpected
from server.facekey import face_cipher
from server.first_admin import create_first_admin
from server.headers import ApiHeaders
from server.login_limits import FailureLimiter
from server.logs import redact_url
from server.metrics import Metrics, TimingMiddleware
from server.purge import purge_periodically
from server.request_ids import RequestIdMiddleware
from server.resources import Resources
from server.routes import (
    audit,
    auth,
    courses,
    docs,
    faces,
    health,
    lessons,
    pages,
    records,
    reports,
    reviews,
    users,
)
from server.security import TokenCodec
from server.settings import Settings
from server.token_secret import check_for_serving, token_secret
from storage.db import make_engine, make_sessions
from storage.errors import SchemaOutOfDate
from storage.migrate import current_revision, is_current, upgrade
from vision import ImageLimits, Thresholds, Vision, VisionPool, VisionProcesses

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> LimitedASGIApp:
    """Build the whole server: Starlette for HTTP, wrapped by the Socket.IO app."""
    settings = settings or Settings()
    # Told by every part that uses Redis when it loses it and has it again.
    link = QueueLink()
    sio, hub = create_socket_server(
        link=link,
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
        vision = _vision(settings)
        identity = (
            IdentityPool(
                workers=settings.identity_workers,
                max_pending=settings.identity_max_pending,
                nice=settings.worker_nice,
            )
            if settings.identity_workers
            else None
        )
        purger: asyncio.Task[None] | None = None
        sealer: asyncio.Task[None] | None = None
        registry: ProcessRegistry | None = None
        lag_watch: asyncio.Task[None] | None = None
        try:
            if engine.dialect.name == "sqlite":
                # The embedded default keeps itself up to date; a shared database is migrated
                # on purpose, once, by `trust-lesson migrate`.
                before = await current_revision(engine)
                await upgrade(engine)
            elif not await is_current(engine):
                raise SchemaOutOfDate(
                    "the database schema is not up to date: run `trust-lesson migrate` first"
                )
            else:
                before = None
            revision = await current_revision(engine)
            logger.info(
                "database: %s ready, schema %s%s",
                engine.url.render_as_string(hide_password=True),
                revision,
                f" (migrated from {before or 'empty'})" if before != revision else "",
            )
            secret = token_secret(settings.secret_key, settings.database_url)
            if settings.env == "production":
                check_for_serving(secret, host="any address", production=True)
            await create_first_admin(sessions, settings)
            key = await asyncio.to_thread(signing_key, settings.signing_key, settings.database_url)
            await publish_key(sessions, key)
            cipher = face_cipher(settings)
            # The worker processes of vision and identity start side by side.
            await asyncio.gather(
                vision.warm_up(), *([identity.start()] if identity is not None else [])
            )
            tokens = TokenCodec(secret, settings.token_ttl_s)
            registry = ProcessRegistry(
                sessions, heartbeat_s=settings.heartbeat_s, stale_after_s=settings.process_stale_s
            )
            await registry.start()
            bus: Bus = (
                RedisBus(
                    settings.message_queue_url,
                    registry.process_id,
                    channel=settings.message_queue_channel,
                    link=link,
                    processes_alive=lambda: registry.alive if registry else 1,
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
                identity=identity,
                face_cipher=cipher,
                on_lesson_ended=lambda lesson_id: seal_now(sessions, lesson_id, key, "end"),
            )
            logger.info(
                "message queue: %s",
                f"{redact_url(settings.message_queue_url)} ready, channel "
                f"{settings.message_queue_channel}"
                if settings.message_queue_url
                else "none (TL_MESSAGE_QUEUE_URL unset): lessons are held by this process alone",
            )
            if settings.message_queue_url:
                # A process settled as dead no longer counts as unreachable: tutors whose class
                # list said so get it afresh.
                registry.on_reaped = lambda: hub.queue_changed(link.reachable)
            resources = Resources(
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
                face_cipher=cipher,
                identity=identity,
                signing_key=key,
                devices=DeviceCookies(secret),
            )
            purger = asyncio.create_task(
                purge_periodically(
                    sessions,
                    settings.purge_interval_s,
                    face_retention_days=settings.face_retention_days,
                ),
                name="purge",
            )
            sealer = asyncio.create_task(
                seal_periodically(sessions, key, settings.seal_interval_s), name="seal"
            )
            lag_watch = asyncio.create_task(metrics.watch_event_loop(), name="loop-lag")
            # What start-up made (modules, models, the detectors) lives as long as the process:
            # kept out of the collector's full passes, which would otherwise walk all of it now
            # and then, holding the event loop and every thread (bench/RESULTS.md, figures
            # behind the code).
            gc.collect()
            gc.freeze()
            yield {"resources": resources}
        finally:
            if purger is not None:
                purger.cancel()
            if sealer is not None:
                sealer.cancel()
            if lag_watch is not None:
                lag_watch.cancel()
            await hub.stop()
            if isinstance(sio.manager, RedisRoomManager):
                await sio.manager.close()
            if registry is not None:
                await registry.stop()
            # close() waits for frames being judged: not on the event loop.
            await vision.shutdown()
            if identity is not None:
                await identity.close()
            await engine.dispose()

    routes: list[BaseRoute] = [
        *auth.routes,
        *users.routes,
        *faces.routes,
        *courses.routes,
        *lessons.routes,
        *reports.routes,
        *reviews.routes,
        *records.routes,
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
    # Outermost, so the ids reach every log line of the request, the access line included.
    app.add_middleware(RequestIdMiddleware)
    # No on_startup/on_shutdown here: Starlette's lifespan must run.
    return LimitedASGIApp(sio, app, max_bytes=settings.max_socket_message_bytes)


def _vision(settings: Settings) -> Vision:
    """The vision pool: threads of this process, or worker processes when asked."""
    limits = ImageLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)
    thresholds = Thresholds(
        looking_away_yaw=settings.vision_looking_away_yaw_deg,
        looking_away_pitch=settings.vision_looking_away_pitch_deg,
        challenge_yaw=settings.vision_challenge_yaw_deg,
    )
    common: dict[str, Any] = {
        "workers": settings.vision_workers,
        "max_pending": settings.vision_max_pending,
        "limits": limits,
        "min_confidence": settings.min_face_confidence,
        "thresholds": thresholds,
        "scan": settings.vision_side_scan,
    }
    if settings.vision_processes:
        return VisionProcesses(**common, nice=settings.worker_nice)
    return VisionPool(**common)
