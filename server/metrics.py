"""Prometheus metrics: what the hub reports, how long HTTP requests take, how late the event
loop runs, and the process's memory, descriptors and tasks.

Each app has its own registry, so several apps in one process (tests) do not collide. With
several server processes, scrape each one: the figures are per process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connected = Gauge(
            "trust_lesson_connected",
            "Open Socket.IO connections in this process, by role.",
            ["role"],
            registry=self.registry,
        )
        self.prompts = Counter(
            "trust_lesson_prompts_issued", "Capture prompts issued.", registry=self.registry
        )
        self.postponed = Counter(
            "trust_lesson_prompts_postponed",
            "Prompts put off a few seconds because the vision pool was nearly full.",
            registry=self.registry,
        )
        self.checks = Counter(
            "trust_lesson_checks",
            "Frames judged, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.vision_seconds = Histogram(
            "trust_lesson_vision_seconds",
            "Time to judge one frame, queueing in the vision pool included.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "trust_lesson_http_request_seconds",
            "HTTP request latency, by route template.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "trust_lesson_event_loop_lag_seconds",
            "How late the event loop ran a timer due every 50 ms: time some handler held it.",
            buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        self.loop_lag_max = Gauge(
            "trust_lesson_event_loop_lag_max_seconds",
            "The longest the event loop was held since the process started.",
            registry=self.registry,
        )
        self.tasks = Gauge(
            "trust_lesson_asyncio_tasks",
            "asyncio tasks alive in this process.",
            registry=self.registry,
        )
        self.tasks.set_function(lambda: len(asyncio.all_tasks()))
        # Resident memory, open file descriptors, CPU time of this process.
        ProcessCollector(registry=self.registry)
        self._counts: Callable[[], dict[str, int]] = dict

    async def watch_event_loop(self, every_s: float = 0.05) -> None:
        """Sample the event loop's lag for as long as the server runs."""
        loop = asyncio.get_running_loop()
        worst = 0.0
        while True:
            due = loop.time() + every_s
            await asyncio.sleep(every_s)
            lag = max(0.0, loop.time() - due)
            self.loop_lag.observe(lag)
            if lag > worst:
                worst = lag
                self.loop_lag_max.set(worst)

    def watch_connections(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    # The hub's events (realtime.hub.HubEvents).
    def prompt_issued(self) -> None:
        self.prompts.inc()

    def prompt_postponed(self) -> None:
        self.postponed.inc()

    def frame_judged(self, outcome: str, seconds: float) -> None:
        self.checks.labels(outcome=outcome).inc()
        self.vision_seconds.observe(seconds)

    def render(self) -> bytes:
        for role, n in self._counts().items():
            self.connected.labels(role=role).set(n)
        return generate_latest(self.registry)


async def metrics_endpoint(request: Request) -> Response:
    metrics = request.app.state.metrics
    assert isinstance(metrics, Metrics)
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


class TimingMiddleware:
    """Times each HTTP request, labelled by its route template (``/api/lessons/{lesson_id}``),
    never by the raw path, so ids do not multiply the series."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.http_seconds.labels(
                method=scope["method"], route=self._template(scope), status=str(status)
            ).observe(time.perf_counter() - started)

    def _template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", "other"))
        return "unmatched"
