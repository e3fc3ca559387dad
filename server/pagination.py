"""What list endpoints read from the query — ``limit``, an opaque ``cursor`` and filters
(``?status=live,scheduled``, ``?action=...``) — and the ``{items, next_cursor}`` they answer."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from server.errors import Problem
from storage.pages import Order, Page, Position

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: Position | None


def page_request(request: Request, order: Order) -> PageRequest:
    raw_limit = request.query_params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise _invalid("limit", f"a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    cursor = request.query_params.get("cursor")
    after = None
    if cursor:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            if b"\\u0000" in raw or b"\x00" in raw:
                raise ValueError("NUL in a cursor")
            after = order.parse(json.loads(raw))
        except (ValueError, TypeError, AttributeError, RecursionError, binascii.Error):
            raise _invalid("cursor", "a cursor from this list (start again without one)") from None
    return PageRequest(limit=limit, after=after)


def encode_cursor(position: Position | None) -> str | None:
    if position is None:
        return None
    raw = json.dumps(Order.dump(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def page_body(page: Page[Any], render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": [render(item) for item in page.items],
        "next_cursor": encode_cursor(page.next_position),
    }


def text_param(request: Request, name: str, max_length: int = 200) -> str | None:
    """A free-text filter such as ``?action=user.create``; None when absent or empty."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    if len(raw) > max_length or "\x00" in raw:
        raise _invalid(name, f"text of at most {max_length} characters, without NUL")
    return raw


def choice(request: Request, name: str, allowed: Sequence[str]) -> list[str] | None:
    """A comma-separated filter such as ``?status=live,scheduled``; None when absent."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    values = [v.strip() for v in raw.split(",") if v.strip()]
    wrong = [v for v in values if v not in allowed]
    if wrong or not values:
        raise _invalid(name, f"one or more of {', '.join(allowed)}")
    return values


def _invalid(field: str, expected: str) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        f"{field}: must be {expected}",
        errors=[{"field": field, "message": f"must be {expected}"}],
    )
