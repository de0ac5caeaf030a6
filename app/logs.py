"""One log format for everything the process writes: Kehai's own loggers, Hypercorn's and
Quart's all go through a single handler on the root logger, as text or as JSON lines
(KEHAI_LOG_FORMAT), at KEHAI_LOG_LEVEL."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
# Loggers that libraries give handlers of their own; they are made to propagate instead.
ROUTED = ("hypercorn.error", "hypercorn.access", "quart.app", "quart.serving", "app",
          "asyncio")
# What every LogRecord carries; anything else on a record came in through `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`; the message already reads as a sentence."""

    def format(self, record: logging.LogRecord) -> str:
        # A path or header may carry a decoded line break: keep one record on one line.
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's fields
    (an access line's method, path, status, duration_ms, user_id) for log pipelines."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": _timestamp(record), "level": record.levelname,
                               "logger": record.name, "message": record.getMessage(),
                               **_fields(record)}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that writes its lines together: at most FLUSH_S after they were
    logged, at once for a warning or worse, and at exit.

    Each access and stream line was a write of its own, and a flush; in a reconnect storm
    (two lines per stream) and on the message path those writes were a visible part of the
    server's CPU (bench/results/rooms.md). Writing happens on a small thread of its own;
    a process killed outright loses at most FLUSH_S of lines, never a warning."""

    FLUSH_S = 0.1
    MAX_LINES = 512

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        threading.Thread(target=self._forever, name="kehai-log", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:  # called with self.lock held
        try:
            self._lines.append(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING or len(self._lines) >= self.MAX_LINES:
                self._write()
        except Exception:
            self.handleError(record)

    def _write(self) -> None:
        if self._lines:
            text, self._lines = "".join(self._lines), []
            self.stream.write(text)
            self.stream.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def _forever(self) -> None:
        while True:
            time.sleep(self.FLUSH_S)
            try:
                self.flush()
            except Exception:  # a closed stream at exit: nothing left to write to
                return


def configure(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Install the one handler; call before the app and Hypercorn create their loggers."""
    if fmt not in FORMATS:
        raise ValueError(f"KEHAI_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"KEHAI_LOG_LEVEL must be a logging level, not {level!r}")
    handler = BatchedStreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    # Neither format prints where a line was logged from, nor the thread or process: the
    # logging HOWTO's "Optimization" switches skip collecting them (finding the caller walks
    # the stack and normalises file names, a visible part of each access line's cost).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for name in ROUTED:
        routed = logging.getLogger(name)
        routed.handlers = []
        routed.propagate = True
        routed.setLevel(logging.NOTSET)


class OutageLog:
    """One warning when a dependency starts failing and one when it works again: an expected
    outage (Redis restarting, the database failing over) is not a traceback per request."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log, self.what, self.down = log, what, False

    def failed(self, error: BaseException) -> None:
        if not self.down:
            self.down = True
            self.log.warning("%s unavailable (%s: %s)", self.what, type(error).__name__, error)

    def ok(self) -> None:
        if self.down:
            self.down = False
            self.log.warning("%s available again", self.what)


ACCESS = logging.getLogger("kehai.access")


def access_line(method: str, path: str, status: int, duration_ms: float,
                user_id: int | None) -> None:
    """One request's access line, whichever handler answered it (Quart, or a lean one)."""
    ACCESS.info("%s %s %s %.1f ms user=%s", method, path, status, duration_ms,
                user_id if user_id is not None else "-",
                extra={"method": method, "path": path, "status": status,
                       "duration_ms": duration_ms, "user_id": user_id})
