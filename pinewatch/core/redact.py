"""The one credential redaction: for every log line, error text and API field.

Camera URLs carry passwords (`rtsp://admin:secret@10.0.0.5/...`, or
`?user=admin&pwd=secret` on snapshot URLs), and libraries repeat the URL in
their own error texts (PyAV, httpx). `redact` takes any text, not only a URL,
so an error message can be passed through it whole.
"""

from __future__ import annotations

import logging
import re

# scheme://userinfo@ : userinfo runs to the last '@' before the host's '/', so a password
# holding '@' is covered whole.
_USERINFO = re.compile(r"(?<=://)[^/\s?#]*@")
# Credential-looking query or form parameters: ?pwd=..., &password=..., &token=...
_SECRET_PARAMS = re.compile(
    r"(?i)(?<=[?&;])((?:user(?:name)?|login|pass(?:word|wd)?|pwd|secret|token|api_?key|key|auth|sig(?:nature)?)=)[^&#\s]*"
)
MASK = "***"


def redact(text: str) -> str:
    """`text` with URL credentials replaced by ***; everything else untouched."""
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(MASK + "@", text)
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts each record's final message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# They log every request URL at INFO: snapshot URLs with passwords, Telegram's with the bot token.
URL_LOGGERS = ("httpx", "httpcore")


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Redact every handler of `logger` (the root by default) and quiet the URL loggers; idempotent."""
    for name in URL_LOGGERS:
        if logging.getLogger(name).level < logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
