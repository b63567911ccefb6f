"""Structured JSON logs on stderr, every line carrying the request id when there is one.

No line carries an API key: key and token query parameters, and anything shaped like a
``pk_``/``sk_`` key, are redacted from every stdlib record (uvicorn's included) before it is
written. uvicorn's own per-connection WebSocket lines ("accepted", "403", "connection
rejected") are dropped: our middleware writes the access log (without query strings) and
``tryon.live`` logs each refusal once, with its reason.
"""

from __future__ import annotations

import logging
import re
import sys

import structlog


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (so captured output works)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


REDACTED = "[redacted]"
_SECRET_PARAM = re.compile(r"(?i)([?&](?:key|api_key|token|access_token)=)[^&#\s\"']*")
_API_KEY = re.compile(r"\b([ps]k)_[A-Za-z0-9_-]{6,}")
# uvicorn's per-connection WebSocket lines, and the websockets library's (through uvicorn's
# logger): the access log and live.refused already say it, once, without the query string.
_UVICORN_WEBSOCKET_LINES = ('%s - "WebSocket %s"', "connection rejected (")


def redact(text: str) -> str:
    """``text`` without key or token query values and without API keys."""
    return _API_KEY.sub(rf"\1_{REDACTED}", _SECRET_PARAM.sub(rf"\1{REDACTED}", text))


class RedactSecrets(logging.Filter):
    """Rewrites a record whose formatted message carries a key; drops uvicorn's WebSocket
    lines (the access log and ``live.refused`` say the same, without the query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str):
            return True  # structlog's own event dicts: our code never logs keys
        if record.name.startswith("uvicorn") and record.msg.startswith(_UVICORN_WEBSOCKET_LINES):
            return False
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def configure(*, level: str = "INFO", json: bool = True) -> None:
    """Route stdlib and structlog loggers through one JSON (or console) renderer."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        # On the logger as well: handlers added elsewhere (pytest's caplog) see clean records.
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
    # Our middleware writes the access log (with request id and timing).
    logging.getLogger("uvicorn.access").disabled = True
    # HTTP clients log full URLs at INFO, query strings (tokens, keys) included.
    for name in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
