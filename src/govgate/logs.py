"""One logging pipeline (structlog) for the agent, the web server and Python warnings.

Every record — an agent event (`emit`), uvicorn's access and error logs, a Python warning
(`logging.captureWarnings`), any library's `logging` record — goes through the same chain
and leaves as one line:

- `json`: one JSON object a line: `ts` (UTC, ISO 8601), `level` (debug, info, warning,
  error, critical), `event`, then the fields; control, bidi and invisible formatting
  characters written as `\\u` escapes (`text.json_safe`);
- `text`: `ts level event key=value …`, every control character escaped visibly
  (`text.escape`), for a person at a terminal.

`auto` (the default) is `text` when the stream is a terminal and `json` otherwise (a
journal, a pipe, a file). Passwords and tokens never leave: a URL's password becomes `***`
(as `config.mask_url` writes it), so do `password=…`, `Bearer …` and the value of any field
named like a password, secret, token, cookie or authorization.

structlog is imported when a pipeline is configured: the agent and `serve` configure one at
once; other commands install a stand-in (`install_lazily`) that configures it only if a
warning or an error is ever logged, so a short command pays nothing for it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

from .text import escape, json_safe

FORMATS = ("auto", "json", "text")
_ORDER = ("ts", "level", "event")
_SECRET_KEY = re.compile(r"(^|_)(password|passwd|secret|token|authorization|cookie)s?($|_)", re.I)
_SECRETS = (
    (re.compile(r"([a-zA-Z][\w+.-]*://[^/\s:@]*:)[^@\s/]*@"), r"\1***@"),
    (re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.I), r"\1***"),
    (re.compile(r"(Bearer\s+)\S+", re.I), r"\1***"),
)


def resolve(fmt: str | None, stream: TextIO) -> str:
    """FMT (`auto` or None: text on a terminal, JSON otherwise) as `json` or `text`."""
    if fmt in ("json", "text"):
        return fmt
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"


def configure(fmt: str | None = None, stream: TextIO | None = None, level: str = "info") -> str:
    """Send every log record, structlog's and the standard library's, to STREAM (default
    standard error) as FMT; capture Python warnings. Returns the format chosen. Calling it
    again replaces the previous pipeline."""
    import structlog

    stream = stream or sys.stderr
    chosen = resolve(fmt, stream)
    render = _json if chosen == "json" else _text
    chain = [
        structlog.stdlib.add_log_level,
        _timestamp,
        _foreign,
        structlog.processors.format_exc_info,
        _redact,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=chain,
        pass_foreign_args=True,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, render],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    _install(handler, getattr(logging, level.upper()))
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *chain, _wrap(structlog)],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return chosen


def install_lazily(fmt: str | None = None, stream: TextIO | None = None) -> None:
    """Capture warnings and errors into the pipeline, configuring it only at the first one."""
    _install(_Lazy(fmt, stream), logging.WARNING)


def emit(record: dict) -> None:
    """Log RECORD (`ts`, `level`, `event`, fields: an agent event's `to_dict()`)."""
    import structlog

    fields = dict(record)
    name, level = fields.pop("event"), fields.pop("level", "info")
    structlog.get_logger("govgate").log(getattr(logging, level.upper()), name, **fields)


def reset() -> None:
    """Take govgate's handlers off the root logger and stop capturing warnings."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "govgate", False)]:
        root.removeHandler(handler)
    logging.captureWarnings(False)


def redact(value):
    """VALUE with passwords and tokens masked (strings, and inside lists and dicts)."""
    if isinstance(value, str):
        for pattern, replacement in _SECRETS:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {k: "***" if _secret(k, v) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


# -- the chain ------------------------------------------------------------------------------


def _install(handler: logging.Handler, level: int) -> None:
    reset()
    handler.govgate = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(level, root.level) if root.level else level)
    handler.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through root, not their own
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.captureWarnings(True)


class _Lazy(logging.Handler):
    """Configures the real pipeline at the first record, then hands the record to it."""

    def __init__(self, fmt: str | None, stream: TextIO | None):
        super().__init__()
        self.fmt, self.stream = fmt, stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            configure(self.fmt, self.stream or sys.stderr, level="warning")
        except Exception:  # no pipeline: the standard library's last resort says it
            self.handleError(record)
            return
        for handler in logging.getLogger().handlers:
            if getattr(handler, "govgate", False) and record.levelno >= handler.level:
                handler.handle(record)


def _wrap(structlog):
    return structlog.stdlib.ProcessorFormatter.wrap_for_formatter


def _timestamp(_logger, _name, event_dict: dict) -> dict:
    if "ts" not in event_dict:
        event_dict["ts"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    return event_dict


def _foreign(_logger, _name, event_dict: dict) -> dict:
    """Records of the standard library: uvicorn's access log as fields, warnings by name."""
    record = event_dict.get("_record")
    args = event_dict.pop("positional_args", None)
    if record is None or event_dict.get("_from_structlog"):
        return event_dict
    event_dict["logger"] = record.name
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        client, method, path, http, status = args
        event_dict.update(event="http_request", client=client, method=method, path=path)
        event_dict.update(http=http, status=status)
    elif record.name == "py.warnings":
        event_dict.update(event="python_warning", message=str(event_dict.get("event")).strip())
    return event_dict


def _redact(_logger, _name, event_dict: dict) -> dict:
    return {k: ("***" if _secret(k, v) else redact(v)) for k, v in event_dict.items()}


def _secret(key, value) -> bool:
    return isinstance(value, str) and bool(_SECRET_KEY.search(str(key)))


def _ordered(event_dict: dict) -> dict:
    head = {k: event_dict[k] for k in _ORDER if k in event_dict}
    return {**head, **{k: v for k, v in event_dict.items() if k not in head}}


def _json(_logger, _name, event_dict: dict) -> str:
    text = json.dumps(_ordered(event_dict), ensure_ascii=False, default=str, separators=(",", ":"))
    return json_safe(text)


def _text(_logger, _name, event_dict: dict) -> str:
    data = _ordered(event_dict)
    ts, level, name = (data.pop(k, "") for k in _ORDER)
    parts = [str(ts), f"{str(level):<7}", str(name)]
    for key, value in data.items():
        shown = value if isinstance(value, str) and value and " " not in value else None
        shown = shown or json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{key}={shown}")
    return escape(" ".join(parts))
