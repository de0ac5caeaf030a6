"""Static files with content-hashed URLs, cached for a year, and gzipped for text.

`url_for('static', filename='app.js')` gives `/static/app.js?v=<hash of the content>`, so a
browser may keep the file for good (`immutable`) and a new deploy is a new URL. A request
without the current hash (an old page, a hand-typed URL) is answered with `no-cache` and
revalidated instead. Text files go out gzipped when the client accepts it, compressed once
per file version."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

from quart import Quart, request
from werkzeug.security import safe_join

FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TEXT = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_GZIP_BYTES = 512  # below this the gzip header and a CPU hop cost more than they save


class Assets:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._known: dict[str, tuple[float, str, bytes | None]] = {}  # name: mtime, hash, gz

    def _path(self, filename: str) -> Path | None:
        joined = safe_join(self.folder, filename)
        return Path(joined) if joined else None

    def _entry(self, filename: str, with_gzip: bool = False) -> tuple[str, bytes | None]:
        path = self._path(filename)
        if path is None or not path.is_file():
            return "", None
        mtime = path.stat().st_mtime
        known = self._known.get(filename)
        if known is None or known[0] != mtime or (with_gzip and known[2] is None):
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()[:12]
            compressed = gzip.compress(data, 9, mtime=0) if with_gzip else None
            known = (mtime, digest, compressed)
            self._known[filename] = known
        return known[1], known[2]

    def version(self, filename: str) -> str:
        return self._entry(filename)[0]

    def url_defaults(self, endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = self.version(values["filename"])
            if digest:
                values["v"] = digest

    async def after(self, response: Any) -> Any:
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        current = self.version(filename)
        fresh = bool(current) and request.args.get("v") == current
        response.headers["Cache-Control"] = FOREVER if fresh else REVALIDATE
        if response.status_code == 200 and response.mimetype.startswith(TEXT):
            response.headers.add_header("Vary", "Accept-Encoding")
            if "gzip" in request.headers.get("Accept-Encoding", "").lower():
                await self._compress(response, filename)
        return response

    async def _compress(self, response: Any, filename: str) -> None:
        if "Content-Range" in response.headers or (response.content_length or 0) < MIN_GZIP_BYTES:
            return  # a range of the plain file was asked for, or too small to gain
        _digest, compressed = self._entry(filename, with_gzip=True)
        if compressed is None:
            return
        response.set_data(compressed)
        response.headers["Content-Encoding"] = "gzip"
        etag = response.headers.get("ETag")
        if etag:  # another representation: another validator
            response.headers["ETag"] = etag[:-1] + '-gzip"' if etag.endswith('"') else etag


def install_assets(app: Quart) -> Assets:
    assets = Assets(str(app.static_folder))
    app.url_defaults(assets.url_defaults)
    app.after_request(assets.after)
    return assets
