"""The browser pages: login, the student page and the tutor dashboard, and their static files."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
