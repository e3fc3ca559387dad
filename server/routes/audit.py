"""The audit trail (admin)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api_route import PAGED, Query, api
from server.pagination import page_body, page_request, text_param
from server.request_context import require, resources_of
from server.schemas import AuditOut, PageOf
from storage import repositories as repo
from storage.models import AuditEntry, Role


async def list_audit(request: Request) -> JSONResponse:
    await require(request, Role.ADMIN)
    page = page_request(request, repo.AUDIT_ORDER)
    async with resources_of(request).sessions() as s:
        found = await repo.audit_page(
            s,
            target_id=text_param(request, "target_id"),
            action=text_param(request, "action"),
            after=page.after,
            limit=page.limit,
        )
    return JSONResponse(page_body(found, _entry_out))


def _entry_out(row: tuple[AuditEntry, str | None]) -> dict[str, object]:
    entry, actor_email = row
    return {
        "id": str(entry.id),
        "at": entry.at.isoformat(),
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_email": actor_email,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "detail": entry.detail,
    }


routes = [
    api(
        "GET",
        "/api/audit",
        list_audit,
        "The audit trail, newest first: who did what to which record, when",
        "admin",
        response=PageOf[AuditOut],
        query=[
            *PAGED,
            Query("target_id", "Only entries about this record"),
            Query("action", "Only this action, e.g. lesson.start"),
        ],
        errors=[422],
    ),
]
