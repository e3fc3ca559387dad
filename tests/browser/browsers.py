"""Launching Debian's Chromium under Playwright, with a fake camera playing a Y4M file.

Never a downloaded browser: ``executable_path`` is the system Chromium, and nothing here runs
``playwright install``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from server.routes.pages import VENDOR

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path(os.environ.get("TL_CHROMIUM", "/usr/bin/chromium"))
Camera = Literal["face", "wall", "blocked"]
COMMON_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TL_CHROMIUM)"
    if not (VENDOR / "socket.io.esm.min.js").is_file():
        return "socket.io-client is not installed (run `npm ci` in web_client/)"
    return None


def launch(playwright: Playwright, camera: Camera, videos: dict[str, Path]) -> Browser:
    """Chromium whose camera shows ``videos[camera]``; "blocked" refuses camera access."""
    if camera == "blocked":
        args = [*COMMON_ARGS, "--deny-permission-prompts", "--use-fake-device-for-media-stream"]
    else:
        args = [
            *COMMON_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={videos[camera]}",
        ]
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
