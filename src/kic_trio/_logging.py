"""Logging for the standalone program. The library never configures handlers itself.

Levels as upstream: ``trace`` (below debug), ``debug``, ``info``, ``error``. Formats: ``text``
(``console`` is an alias) and ``json``, one object per line.

Secrets: nothing in kic-trio logs Secret data, tokens or keys. As a second line of defence the
standalone program installs :class:`RedactingFilter`, which masks the configured admin token
and header values should they ever reach a record.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LEVELS = {"trace": TRACE, "debug": logging.DEBUG, "info": logging.INFO, "error": logging.ERROR}
_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, str | int | float | bool | None) else str(value)
                )
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = [
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STD_ATTRS and not k.startswith("_")
        ]
        return f"{base} {' '.join(extras)}" if extras else base


class RedactingFilter(logging.Filter):
    """Masks the given secret strings in every record's message and extras."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "<redacted>")
        if redacted != message:
            record.msg, record.args = redacted, None
        for key, value in list(vars(record).items()):
            if key not in _STD_ATTRS and isinstance(value, str):
                for secret in self._secrets:
                    value = value.replace(secret, "<redacted>")
                setattr(record, key, value)
        return True


def configure_logging(
    level: str, fmt: str, secrets: Iterable[str] = (), stream: object = None
) -> logging.Handler:
    """Install one handler on the ``kic_trio`` logger (and quiet noisy libraries). Returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger("kic_trio")
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
    root.propagate = False
    for noisy in ("httpx", "httpcore", "hypercorn", "kr8s"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level != "trace" else logging.DEBUG)
    return handler
