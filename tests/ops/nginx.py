"""The real nginx, run by a test with deploy/nginx's site in front of Kehai processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from string import Template

import pytest

from tests.support import IN_CI, ROOT, free_port

SITE = ROOT / "deploy" / "nginx" / "kehai.conf.template"
MAIN = """
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/kehai.conf;
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                       else None)
    if found is None:
        if IN_CI:
            pytest.fail("nginx is required under CI=true (.ci/run installs Debian's nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx, see DESIGN's trap)")
    return found


class Nginx:
    """nginx -c <conf> -p <dir> on free ports, the site rendered from the template."""

    def __init__(self, directory: Path, upstreams: list[int], cert: Path, key: Path) -> None:
        self.dir = directory
        self.binary = nginx_binary()
        self.https_port, self.http_port = free_port(), free_port()
        directory.mkdir(parents=True, exist_ok=True)
        site = Template(SITE.read_text()).safe_substitute(
            KEHAI_SERVER_NAME="localhost",
            KEHAI_HTTPS_PORT=self.https_port, KEHAI_HTTP_PORT=self.http_port,
            KEHAI_TLS_CERT=cert, KEHAI_TLS_KEY=key,
            KEHAI_UPSTREAM_SERVERS=" ".join(f"server 127.0.0.1:{p};" for p in upstreams))
        (directory / "kehai.conf").write_text(site)
        self.conf = directory / "nginx.conf"
        self.conf.write_text(MAIN.format(dir=directory))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.binary, "-c", str(self.conf), "-p", str(self.dir), *args],
                              capture_output=True, text=True, timeout=30)

    def start(self) -> Nginx:
        checked = self._run("-t")
        assert checked.returncode == 0, checked.stderr  # the shipped site is valid nginx
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf), "-p", str(self.dir),
                                      "-g", "daemon off;"], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()  # type: ignore[union-attr]
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.https_port), timeout=1):
                return self
            time.sleep(0.1)
        raise RuntimeError("nginx did not start: " + (self.dir / "error.log").read_text())

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self._run("-s", "stop")
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
