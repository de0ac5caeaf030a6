#!/usr/bin/env python
"""Install what the non-Python peers need: the Next.js app's packages and build, and Debian's
nginx with the nchan module. bench/run.py calls `ready()` before each such target; run this
file to do it all up front: python bench/peers/setup.py. The test run never calls it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PEERS = Path(__file__).resolve().parent
NEXTJS = PEERS / "nextjs"
NCHAN_MODULE = Path("/usr/lib/nginx/modules/ngx_nchan_module.so")
APT_PACKAGES = ["nginx", "libnginx-mod-nchan"]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                     else None)


def nextjs_built() -> bool:
    """node_modules installed and a production build newer than every source file."""
    build = NEXTJS / ".next" / "BUILD_ID"
    if not (NEXTJS / "node_modules" / "next").is_dir() or not build.exists():
        return False
    sources = [*NEXTJS.glob("app/**/*.js"), NEXTJS / "next.config.mjs", NEXTJS / "package.json"]
    return all(p.stat().st_mtime <= build.stat().st_mtime for p in sources)


def nchan_installed() -> bool:
    return nginx_binary() is not None and NCHAN_MODULE.exists()


def installed(target: str) -> bool:
    return nextjs_built() if target == "nextjs" else nchan_installed()


def setup_nextjs() -> str | None:
    """npm ci (the committed lock) and next build; returns why it could not, or None."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "node and npm are not installed (apt-get install nodejs npm)"
    for step in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
        done = subprocess.run(step, cwd=NEXTJS, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return f"{' '.join(step[1:])} failed: {(done.stdout + done.stderr)[-1500:]}"
    return None


def setup_nchan() -> str | None:
    """apt-get install nginx libnginx-mod-nchan (as root), no system nginx started."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"nchan is not installed: apt-get install {' '.join(APT_PACKAGES)} (as root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Installing nginx would start the system nginx on port 80: refuse service starts meanwhile.
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq",
                                                     *APT_PACKAGES]):
            done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                return f"{' '.join(step)} failed: {(done.stdout + done.stderr)[-1500:]}"
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    return None if nchan_installed() else "libnginx-mod-nchan installed no module"


def ready(target: str, install: bool = True) -> str | None:
    """None when `target` can run (installing it first when allowed), else why not."""
    if target not in ("nextjs", "nchan") or installed(target):
        return None
    if not install:
        return f"{target} is not set up (python bench/peers/setup.py)"
    return setup_nextjs() if target == "nextjs" else setup_nchan()


def main() -> int:
    failed = 0
    for target in ("nextjs", "nchan"):
        why = ready(target)
        print(f"{target}: {'ready' if why is None else why}")
        failed += why is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
