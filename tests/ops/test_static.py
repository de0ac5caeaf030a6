"""Static files as a browser gets them: content-hashed URLs kept for a year, gzipped text."""

from __future__ import annotations

import os
import re

import httpx

from app.views.assets import Assets
from tests.support import ROOT

SRC = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def test_pages_link_static_files_by_content_hash_and_those_are_cached_for_good(server):
    page = httpx.get(server.url + "/login").text
    urls = SRC.findall(page)
    assert any("app.js?v=" in u for u in urls) and any("app.css?v=" in u for u in urls), urls
    for url in urls:
        r = httpx.get(server.url + url.replace("&amp;", "&"))
        assert r.status_code == 200, url
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable", url


def test_an_unversioned_or_stale_url_is_revalidated_not_kept(server):
    for url in ("/static/app.js", "/static/app.js?v=000000000000"):
        r = httpx.get(server.url + url)
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "no-cache", url


def test_text_is_gzipped_for_clients_that_accept_it(server):
    page = httpx.get(server.url + "/login").text
    (htmx,) = [u for u in SRC.findall(page) if "htmx.min.js" in u]
    plain = (ROOT / "static/vendor/htmx.min.js").read_bytes()
    r = httpx.get(server.url + htmx, headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["Vary"]
    assert int(r.headers["Content-Length"]) < len(plain) / 2  # ~37 KB down to ~13 KB
    assert r.content == plain  # httpx decodes it: the same file
    identity = httpx.get(server.url + htmx, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in identity.headers and identity.content == plain


def test_a_changed_file_gets_a_new_url(tmp_path):
    (tmp_path / "app.js").write_text("one")
    assets = Assets(str(tmp_path))
    first = assets.version("app.js")
    (tmp_path / "app.js").write_text("two, and longer")
    os.utime(tmp_path / "app.js", (1, 1))  # a deploy: another mtime, whatever the clock
    assert assets.version("app.js") != first and len(first) == 12
    assert assets.version("missing.js") == "" and assets.version("../secret") == ""
