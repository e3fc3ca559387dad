"""Ops: the OpenAPI document and its page, Prometheus metrics, health."""

from __future__ import annotations

import os
import re

import pytest
from openapi_spec_validator import validate

from server.api_route import ApiRoute
from server.app import create_app
from server.routes.health import _message_queue
from server.settings import Settings
from testkit.api import Api
from testkit.frames import blank_jpeg, face_jpeg
from testkit.lessons import one_student_lesson, prompted
from testkit.participants import Participant


async def test_the_openapi_document_is_valid_and_lists_every_api_route(api: Api) -> None:
    r = await api.http.get("/api/openapi.json")
    assert r.status_code == 200
    document = r.json()
    validate(document)  # raises on an invalid OpenAPI 3.1 document
    app = create_app(Settings())
    routes = [r for r in app.other_asgi_app.routes if r.path.startswith("/api/")]
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    for route in routes:
        if route.path.startswith("/api/docs"):
            continue  # the page that renders the document
        assert isinstance(route, ApiRoute), f"{route.path} is not documented"
        assert (route.operation.method, route.path) in documented
    # Bodies and answers carry their schemas; the login body names its fields.
    login = document["paths"]["/api/auth/login"]["post"]
    body_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][body_ref.split("/")[-1]]
    assert set(body["properties"]) == {"email", "password"}
    users = document["paths"]["/api/users"]["get"]
    assert {p["name"] for p in users["parameters"]} == {"limit", "cursor", "role"}
    assert "403" in users["responses"] and "401" in users["responses"]


async def test_the_docs_page_is_served_locally_under_a_strict_policy(api: Api) -> None:
    page = await api.http.get("/api/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources  # nothing remote
    for source in sources:
        assert (await api.http.get(source)).status_code == 200, source


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_prompts_checks_connections_and_requests(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    before = (await api.http.get("/metrics")).text
    _room, me, tutor, student = await one_student_lesson(api, server_url, participants)
    prompt = await prompted(tutor, student, me["id"])
    await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": blank_jpeg()})
    await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    r = await api.http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = r.text
    assert _sample(after, "trust_lesson_connected", role="students") >= 1
    assert _sample(after, "trust_lesson_connected", role="tutors") >= 1
    assert _sample(after, "trust_lesson_prompts_issued_total") >= (
        _sample(before, "trust_lesson_prompts_issued_total") + 1
    )
    for outcome in ("present", "no_face"):
        assert _sample(after, "trust_lesson_checks_total", outcome=outcome) >= (
            _sample(before, "trust_lesson_checks_total", outcome=outcome) + 1
        )
    assert _sample(after, "trust_lesson_vision_seconds_count") >= 2
    # Requests are labelled by their route template, never by ids.
    assert (
        _sample(
            after,
            "trust_lesson_http_request_seconds_count",
            route="/api/lessons/{lesson_id}/start",
            method="POST",
            status="200",
        )
        >= 1
    )
    assert me["id"] not in after
    # What the soak and load benchmarks read: loop lag, tasks, memory, descriptors.
    assert _sample(after, "trust_lesson_event_loop_lag_seconds_count") > 0
    assert _sample(after, "trust_lesson_asyncio_tasks") > 0
    assert _sample(after, "process_resident_memory_bytes") > 10_000_000
    assert _sample(after, "process_open_fds") > 0


async def test_health_names_each_part(api: Api) -> None:
    health = await api.call("GET", "/api/health", None)
    assert health["status"] == "ok"
    assert health["database"] == "ok" and health["vision"] == "ok"
    assert health["message_queue"] == "not configured"


async def test_an_unreachable_message_queue_is_named_failing() -> None:
    assert (await _message_queue("redis://127.0.0.1:1/0")).startswith("failing:")


async def test_a_reachable_redis_is_healthy() -> None:
    import redis.asyncio as redis

    url = os.environ.get("TL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    finally:
        await client.aclose()
    assert await _message_queue(url) == "ok"
