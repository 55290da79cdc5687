"""JSON-lines logging: one object per line with ts, level, target, msg and ids.

mcops parses these lines (grep for the runbooks' messages, pandas for the fields), so
the shape is a contract (server/README.md "Logs"). Built on stdlib logging so that
handlers flush per line and the stdout and LOG_FILE outputs stay identical.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["TRACE", "Log", "configure", "get_logger"]

TRACE = 5
_ROOT = "mcops_server"
_LEVEL_NAMES = {
    TRACE: "TRACE",
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "ERROR",
}
_LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": _LEVEL_NAMES.get(record.levelno, record.levelname),
            "target": record.name.removeprefix(_ROOT + "."),
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, default=str)


def configure(
    *, level: str = "info", log_file: str | None = None, stream: TextIO | None = None
) -> None:
    """Send this server's log lines to stdout (or ``stream``) and optionally a file."""
    logger = logging.getLogger(_ROOT)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    formatter = _JsonFormatter()
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stdout)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(_LEVELS[level])
    logger.propagate = False


class Log:
    """A logger for one target; keyword arguments become JSON fields (ids)."""

    def __init__(self, target: str) -> None:
        self._logger = logging.getLogger(f"{_ROOT}.{target}")

    def enabled(self, level: int) -> bool:
        return self._logger.isEnabledFor(level)

    def _log(self, level: int, msg: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, msg, extra={"fields": fields})

    def trace(self, msg: str, **fields: Any) -> None:
        self._log(TRACE, msg, fields)

    def debug(self, msg: str, **fields: Any) -> None:
        self._log(logging.DEBUG, msg, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._log(logging.INFO, msg, fields)

    def warn(self, msg: str, **fields: Any) -> None:
        self._log(logging.WARNING, msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._log(logging.ERROR, msg, fields)


def get_logger(target: str) -> Log:
    """The logger whose lines carry ``target`` (e.g. ``conversation``)."""
    return Log(target)
