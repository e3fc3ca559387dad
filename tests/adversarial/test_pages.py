"""Every page the server sends is safe by construction: a Content-Security-Policy that allows no
inline script or style, and markup that has none to allow — no script bodies, no on* handler
attributes, no javascript: URLs, no inline styles. (That hostile names render as text is tested
in a real browser, tests/browser.)"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx
import pytest

from server.routes.pages import PAGES, STATIC

LESSON = str(uuid.uuid4())
HTML_PAGES = ["/", f"/student/lessons/{LESSON}", f"/tutor/lessons/{LESSON}", "/api/docs"]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "xlink:href"}


@dataclass
class Inline:
    """What a page carries inline, that a strict policy would have to allow."""

    script_bodies: list[str] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    script_urls: list[str] = field(default_factory=list)
    foreign_scripts: list[str] = field(default_factory=list)


class InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = Inline()
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.handlers.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.found.styles.append(f"<{tag} style={value!r}>")
            if name in URL_ATTRIBUTES and re.match(r"\s*(javascript|vbscript|data):", value, re.I):
                self.found.script_urls.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            # Same origin only: a path, never another host (// or a scheme).
            if src and not (src.startswith("/") and not src.startswith("//")):
                self.found.foreign_scripts.append(src)
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script" and data.strip():
            self.found.script_bodies.append(data.strip()[:80])
        elif self._in == "style" and data.strip():
            self.found.styles.append(f"<style>{data.strip()[:80]}")


def inline_parts(markup: str) -> Inline:
    finder = InlineFinder()
    finder.feed(markup)
    finder.close()
    return finder.found


def assert_strict_policy(response: httpx.Response) -> None:
    csp = response.headers.get("content-security-policy")
    assert csp, (response.url, "no Content-Security-Policy")
    directives = {
        part.strip().split()[0]: part.strip().split()[1:] for part in csp.split(";") if part.strip()
    }
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts == ["'self'"], csp  # no host, scheme, nonce or hash widening it
    styles = directives.get("style-src", directives.get("default-src"))
    assert styles is not None and "*" not in styles, csp
    assert directives.get("frame-ancestors") == ["'none'"], csp
    assert directives.get("base-uri") in (["'none'"], ["'self'"]), csp
    assert response.headers.get("x-content-type-options") == "nosniff"


@pytest.mark.parametrize("path", HTML_PAGES)
def test_every_page_has_a_strict_policy_and_nothing_inline(server_url: str, path: str) -> None:
    r = httpx.get(server_url + path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert_strict_policy(r)
    found = inline_parts(r.text)
    assert found == Inline(), found
    assert "<script" in r.text  # the page does load its script, from a file


def test_every_page_file_in_the_repository_is_free_of_inline_code() -> None:
    """Also pages no route serves yet: nothing inline slips in with a new page."""
    files = sorted(PAGES.glob("*.html"))
    assert files
    for page in files:
        assert inline_parts(page.read_text()) == Inline(), page.name


def test_static_files_and_the_icon_carry_the_policy_and_no_script(server_url: str) -> None:
    for path in ("/static/favicon.svg", "/static/css/app.css", "/static/js/student.js"):
        r = httpx.get(server_url + path)
        assert r.status_code == 200, path
        assert_strict_policy(r)
    svg = httpx.get(server_url + "/static/favicon.svg").text
    found = inline_parts(svg)
    assert found.script_bodies == [] and found.handlers == [] and found.script_urls == []
    assert "<script" not in svg.lower()
    # No HTML hides among the static files, where it would bypass the page routes.
    assert not [p for p in STATIC.rglob("*") if p.suffix.lower() in (".html", ".htm", ".xhtml")]


def test_the_finder_sees_what_it_looks_for() -> None:
    hostile = (
        '<p onclick="x()" style="color:red">a</p><script>alert(1)</script>'
        '<a href=" javascript:alert(1)">b</a><script src="//cdn.example/x.js"></script>'
        "<style>p{}</style><img src=x onerror=alert(1)>"
    )
    found = inline_parts(hostile)
    assert len(found.handlers) == 2 and len(found.styles) == 2
    assert found.script_bodies == ["alert(1)"]
    assert len(found.script_urls) == 1 and found.foreign_scripts == ["//cdn.example/x.js"]
