"""The adversarial suite shares the integration tests' real server (uvicorn on a free port,
real Socket.IO clients); tests that need other settings start their own."""

from __future__ import annotations

from tests.integration.conftest import api, participants, server_url

__all__ = ["api", "participants", "server_url"]
