"""Test helpers: a real Kehai server in a subprocess, and people who use it over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI") == "true"
FAST = {
    "testing": True,
    "heartbeat_s": 1.0,
    "presence_grace_s": 1.0,
    "lease_s": 3.0,
    "lease_renew_s": 1.0,
    "typing_expiry_s": 1.5,
    "register_limit": [1000, 60],
    "login_limit": [50, 60],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python run.py` on a free port, as a user would start it."""

    def __init__(self, instance: Path, tuning: dict | None = None, env: dict | None = None,
                 port: int | None = None, args: list[str] | None = None,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.args = args or []
        self.instance = instance
        self.tuning = {**FAST, **(tuning or {})}
        self.extra_env = env or {}
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # KEHAI_CERTFILE set: served over TLS (and HTTP/2); `verify` is the CA to trust
        self.scheme = "https" if self.extra_env.get("KEHAI_CERTFILE") else "http"
        self.verify = verify
        self.log = instance / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {
            **os.environ,
            "KEHAI_INSTANCE_DIR": str(self.instance),
            "KEHAI_PORT": str(self.port),
            "KEHAI_TUNING": json.dumps(self.tuning),
            **self.extra_env,
        }
        self.instance.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *self.args],
                                         cwd=ROOT, env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        # Generous: on a loaded machine a cold start (imports, migrations) took over 20 s.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1,
                             verify=self.verify).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> float:
        """Stop the process; returns how long it took to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        began = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - began


_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Person:
    """Someone using Kehai over HTTP with their own cookie jar."""

    def __init__(self, base_url: str, username: str, display_name: str | None = None,
                 password: str = "correct horse battery", lang: str = "en",
                 register: bool = True, **client: object) -> None:
        self.base_url = base_url
        self.username = username
        self.display_name = display_name or username.capitalize()
        self.password = password
        # `client`: more httpx.Client options (verify= a proxy's test CA, http2=True, ...)
        self.http = httpx.Client(base_url=base_url, timeout=10,  # type: ignore[arg-type]
                                 headers={"Accept-Language": lang}, follow_redirects=False,
                                 **client)
        self.csrf = ""
        if register:
            self.register()

    def refresh_csrf(self, path: str = "/login") -> str:
        page = self.http.get(path)
        found = _CSRF.search(page.text)
        assert found, f"no csrf meta on {path}"
        self.csrf = found.group(1)
        return self.csrf

    def register(self) -> None:
        self.refresh_csrf("/register")
        r = self.http.post("/register", data={
            "username": self.username, "display_name": self.display_name,
            "password": self.password, "csrf_token": self.csrf})
        assert r.status_code == 303, r.text
        self.refresh_csrf("/")

    def login(self) -> httpx.Response:
        self.refresh_csrf("/login")
        r = self.http.post("/login", data={"username": self.username, "password": self.password,
                                           "csrf_token": self.csrf})
        if r.status_code == 303:
            self.refresh_csrf("/")
        return r

    def post(self, path: str, data: dict | None = None, htmx: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf}
        if htmx:
            headers["HX-Request"] = "true"
        return self.http.post(path, data=data or {}, headers=headers)

    def start_direct(self, other: str) -> int:
        r = self.post("/conversations", {"with": other}, htmx=False)
        assert r.status_code == 303, r.text
        return int(r.headers["location"].rsplit("/", 1)[1])

    def start_group(self, title: str, members: list[str]) -> int:
        r = self.post("/conversations", {"title": title, "members": ",".join(members)}, htmx=False)
        assert r.status_code == 303, r.text
        return int(r.headers["location"].rsplit("/", 1)[1])

    def send(self, conversation_id: int, body: str, client_id: str | None = None) -> httpx.Response:
        data = {"body": body}
        if client_id:
            data["client_id"] = client_id
        return self.post(f"/c/{conversation_id}/messages", data)

    def cookies(self) -> dict[str, str]:
        return dict(self.http.cookies)

    def close(self) -> None:
        self.http.close()


@contextlib.contextmanager
def running(instance: Path, **kwargs: object) -> Iterator[Server]:
    server = Server(instance, **kwargs).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
