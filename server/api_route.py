"""Routes that describe themselves: who may call them, what they take and what they answer.

Every JSON API route is an :class:`ApiRoute`, so the OpenAPI document is built from the same
objects that serve the requests and cannot drift from them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


LIMIT = Query("limit", "Items per page, 1 to 200 (default 50).", {"type": "integer"})
CURSOR = Query("cursor", "The `next_cursor` of the previous page.")
PAGED = (LIMIT, CURSOR)


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    summary: str
    access: str
    """Who may call it, in words: "admin", "admin or the course's tutor", "anyone"."""
    body: type[BaseModel] | None = None
    body_required: bool = True
    response: type[BaseModel] | None = None
    status: int = 200
    media_type: str = "application/json"
    query: Sequence[Query] = ()
    public: bool = False
    errors: Sequence[int] = ()


class ApiRoute(Route):
    def __init__(self, path: str, endpoint: Handler, operation: Operation) -> None:
        super().__init__(path, endpoint, methods=[operation.method])
        self.operation = operation


def api(
    method: str,
    path: str,
    endpoint: Handler,
    summary: str,
    access: str,
    **details: Any,
) -> ApiRoute:
    return ApiRoute(path, endpoint, Operation(method, summary, access, **details))
