"""The API client for synchronous code: Playwright's sync API, in the browser tests, cannot
share an event loop with the async client, so `BlockingApi` runs it on a loop of its own, in
a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from testkit.api import Api, Classroom, User, make_classroom
from testkit.timing import timeout

T = TypeVar("T")


class BlockingApi:
    def __init__(self, base_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="api", daemon=True)
        self._thread.start()
        self._api = self._run(self._make(base_url))
        self._admin: str | None = None

    @staticmethod
    async def _make(base_url: str) -> Api:
        return Api(base_url)  # its HTTP client belongs to the loop it is made on

    def _run(self, step: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(step, self._loop).result(timeout(120))

    def close(self) -> None:
        self._run(self._api.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout(10))
        self._loop.close()

    def login(self, email: str, password: str) -> str:
        return self._run(self._api.login(email, password))

    def call(
        self, method: str, path: str, token: str | None, json: Any = None, expect: int = 200
    ) -> Any:
        return self._run(self._api.call(method, path, token, json, expect))

    @property
    def admin(self) -> str:
        if self._admin is None:
            self._admin = self._run(self._api.admin_token())
        return self._admin

    def add_user(self, role: str, name: str) -> User:
        return self._run(self._api.add_user(self.admin, role, name))

    def classroom(
        self,
        student_names: list[str],
        *,
        course_title: str = "Forklift safety",
        lesson_title: str = "Lesson 1: loads and balance",
        policy: dict[str, Any] | None = None,
    ) -> Classroom:
        """A tutor, enrolled students, a course and a live lesson, all through the API."""
        return self._run(
            make_classroom(
                self._api,
                policy=policy,
                student_names=student_names,
                course_title=course_title,
                lesson_title=lesson_title,
            )
        )
