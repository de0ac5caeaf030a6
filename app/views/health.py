"""Liveness for load balancers and Prometheus metrics."""

from __future__ import annotations

import hmac

from quart import Blueprint, Response, request

from app.db import database, run_db
from app.kehai import kehai
from app.telemetry import render

bp = Blueprint("health", __name__)


def _ping_db() -> bool:
    database.execute_sql("SELECT 1")
    return True


@bp.get("/healthz")
async def healthz() -> Response:
    checks = {"database": False, "broker": False}
    try:
        checks["database"] = await run_db(_ping_db)
    except Exception:
        checks["database"] = False
    try:
        checks["broker"] = await kehai().hub.healthy()
    except Exception:
        checks["broker"] = False
    ok = all(checks.values())
    body = "\n".join(f"{k}: {'ok' if v else 'down'}" for k, v in checks.items()) + "\n"
    return Response(body, status=200 if ok else 503, mimetype="text/plain")


def _authorized(token: str) -> bool:
    """With KEHAI_METRICS_TOKEN set, only `Authorization: Bearer <token>` may read metrics
    (they name users' activity); compared in constant time, as bytes."""
    if not token:
        return True
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode("utf-8", "replace"), f"Bearer {token}".encode())


@bp.get("/metrics")
async def metrics() -> Response:
    if not _authorized(kehai().config.metrics_token):
        return Response("Unauthorized\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body, content_type = render(kehai().registry)
    return Response(body, content_type=content_type)
