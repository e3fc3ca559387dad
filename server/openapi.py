"""The OpenAPI 3.1 document, built from the app's :class:`~server.api_route.ApiRoute` objects."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.api_route import ApiRoute
from server.schemas import ProblemOut

_PARAM = re.compile(r"{(\w+)}")
_REASONS = {
    400: "The request is malformed.",
    401: "No valid bearer token.",
    403: "The caller's role may not do this.",
    404: "Not found, or not visible to the caller.",
    409: "Conflicts with the current state.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "A field is invalid; `detail` and `errors` name it.",
    429: "Too many failed attempts; `Retry-After` says when to try again.",
    503: "A part of the server is failing; the body names it.",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def build_openapi(routes: Iterable[Any], *, version: str) -> dict[str, Any]:
    api_routes = [r for r in routes if isinstance(r, ApiRoute)]
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (ProblemOut, "serialization")
    ]
    for route in api_routes:
        op = route.operation
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    refs, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")

    paths: dict[str, dict[str, Any]] = {}
    for route in api_routes:
        op = route.operation
        entry: dict[str, Any] = {
            "summary": op.summary,
            "description": f"Who may call it: {op.access}.",
            "operationId": f"{op.method.lower()}_{route.name}",
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(route.path)
            ]
            + [
                {"name": q.name, "in": "query", "description": q.description, "schema": q.schema}
                for q in op.query
            ],
            "responses": {},
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if op.status == 204:
            entry["responses"]["204"] = {"description": "Done; no content."}
        else:
            content: dict[str, Any]
            if op.response is not None:
                content = {op.media_type: {"schema": refs[(op.response, "serialization")]}}
            elif op.media_type == "application/json":
                content = {op.media_type: {"schema": {"type": "object"}}}
            else:
                content = {op.media_type: {"schema": {"type": "string", "format": "binary"}}}
            entry["responses"][str(op.status)] = {"description": "Success.", "content": content}
        problem = {"application/problem+json": {"schema": refs[(ProblemOut, "serialization")]}}
        codes = set(op.errors)
        if not op.public:
            codes |= {401, 403}
            entry["security"] = [{"bearer": []}]
        if op.body is not None:
            codes |= {400, 413, 415, 422}
        if _PARAM.search(route.path):
            codes.add(404)
        for code in sorted(codes):
            answer: dict[str, Any] = {"description": _REASONS[code], "content": problem}
            if code == 503 and op.response is not None:
                # The same document as the success, saying which part is failing.
                answer["content"] = entry["responses"][str(op.status)]["content"]
            if code == 429:
                answer["headers"] = _RETRY_AFTER
            entry["responses"][str(code)] = answer
        paths.setdefault(route.path, {})[op.method.lower()] = entry

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trust Lesson Live",
            "version": version,
            "description": (
                "Admin, reporting and ops API. Errors are application/problem+json. "
                "List endpoints take `limit` and `cursor` and answer `{items, next_cursor}`."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
