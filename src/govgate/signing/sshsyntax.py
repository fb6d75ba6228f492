"""OpenSSH text syntax used by allowed_signers: pattern lists, options, timestamps.

Each function mirrors the OpenSSH routine named in its docstring, so a file means here
what it means to ssh-keygen; where this code is stricter, the docstring says so.
"""

from __future__ import annotations

import calendar
import functools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

WS = " \t"
_TIME = re.compile(r"([0-9]{8}|[0-9]{12}|[0-9]{14})(z|utc)?", re.IGNORECASE)
_MAX_SUBPATTERN = 1023  # OpenSSH refuses (never matches) longer sub-patterns


class LineError(Exception):
    """A problem with the line being parsed; the caller adds file and line."""


@functools.lru_cache(maxsize=1024)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def match_pattern(text: str, pattern: str) -> bool:
    """OpenSSH match_pattern: ``*`` any run, ``?`` one character, case-sensitive."""
    return _pattern_regex(pattern).fullmatch(text) is not None


def match_pattern_list(text: str, patterns: str) -> bool:
    """OpenSSH match_pattern_list: true iff some pattern matches and no ``!pattern`` does."""
    positive = False
    for sub in patterns.split(","):
        negated = sub.startswith("!")
        if negated:
            sub = sub[1:]
        if len(sub) >= _MAX_SUBPATTERN:
            return False
        if match_pattern(text, sub):
            if negated:
                return False
            positive = True
    return positive


def parse_time(value: str) -> datetime:
    """OpenSSH parse_absolute_time: a timestamp as an aware UTC datetime. ``Z``/``UTC``
    suffix: UTC; none: this process's local zone read with tm_isdst=0, as OpenSSH does.
    ValueError when it is not ``YYYYMMDD[HHMM[SS]][Z|UTC]``, not after the epoch, or not
    a real date (stricter: OpenSSH lets mktime roll Feb 30 over into March)."""
    m = _TIME.fullmatch(value)
    if m is None:
        raise ValueError("want YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, optionally + Z")
    d = m[1]
    fields = (int(d[0:4]), int(d[4:6]), int(d[6:8]), int(d[8:10] or 0), int(d[10:12] or 0))
    fields += (int(d[12:14] or 0),)
    try:
        datetime(*fields)
    except ValueError as exc:
        raise ValueError(f"not a calendar time: {exc}") from exc
    if m[2]:
        stamp = calendar.timegm((*fields, 0, 0, 0))
    else:
        try:
            # tm_isdst=0 as OpenSSH leaves it (it zeroes struct tm before strptime).
            stamp = int(time.mktime((*fields, 0, 0, 0)))
        except (OverflowError, ValueError) as exc:
            raise ValueError(f"not representable in local time: {exc}") from exc
    if stamp <= 0:
        raise ValueError("must be after 1970-01-01T00:00:00Z")
    return datetime.fromtimestamp(stamp, UTC)


def split_field(s: str) -> tuple[str, str]:
    """OpenSSH strdelimw without quotes: the first blank-delimited field and the rest."""
    for i, c in enumerate(s):
        if c in WS:
            return s[:i], s[i:].lstrip(WS)
    return s, ""


def split_options(s: str) -> tuple[str, str]:
    """OpenSSH sshkey_advance_past_options: the options field (it ends at the first
    unquoted blank; \\" escapes a quote) and the rest; LineError if a quote is open."""
    quoted, i = False, 0
    while i < len(s) and (quoted or s[i] not in WS):
        if s[i] == "\\" and s[i + 1 : i + 2] == '"':
            i += 1
        elif s[i] == '"':
            quoted = not quoted
        i += 1
    if quoted:
        raise LineError("unterminated quote in options")
    return s[:i], s[i:].lstrip(WS)


def _dequote(opts: str, i: int, name: str) -> tuple[str, int]:
    """OpenSSH opt_dequote: the quoted value at ``opts[i]`` and the index after it."""
    if opts[i : i + 1] != '"':
        raise LineError(f'{name}= needs a double-quoted value, e.g. {name}="..."')
    out, i = [], i + 1
    while i < len(opts) and opts[i] != '"':
        if opts[i] == "\\" and opts[i + 1 : i + 2] == '"':
            i += 1
        out.append(opts[i])
        i += 1
    if i >= len(opts):
        raise LineError(f"{name}= value lacks its closing quote")
    return "".join(out), i + 1


@dataclass(frozen=True)
class Options:
    """The options field of one allowed_signers line."""

    cert_authority: bool = False
    namespaces: str | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None


def parse_options(opts: str) -> Options:
    """Mirrors OpenSSH's sshsigopt_parse: case-insensitive keywords, quoted values, empty
    options between commas tolerated; LineError for unknown or repeated options, bad
    times, a trailing comma, or valid-before not after valid-after."""
    found: dict[str, str | datetime] = {}
    cert_authority, i = False, 0
    while i < len(opts):
        start, rest = i, opts[i:].lower()
        if rest.startswith("cert-authority"):
            cert_authority = True
            i += len("cert-authority")
        for name in ("namespaces", "valid-after", "valid-before"):
            if i == start and rest.startswith(name + "="):
                if name in found:
                    raise LineError(f'multiple "{name}" options')
                value, i = _dequote(opts, i + len(name) + 1, name)
                found[name] = value
                if name != "namespaces":
                    try:
                        found[name] = parse_time(value)
                    except ValueError as exc:
                        raise LineError(f"invalid {name} time {value!r}: {exc}") from exc
        if i >= len(opts):
            break
        if opts[i] != ",":
            unknown = opts[start:].split(",", 1)[0]
            raise LineError(
                f"unknown option {unknown!r} (known: cert-authority, namespaces=, "
                "valid-after=, valid-before=)"
            )
        i += 1
        if i >= len(opts):
            raise LineError("options end with a comma")
    parsed = Options(cert_authority, **{k.replace("-", "_"): v for k, v in found.items()})
    after, before = parsed.valid_after, parsed.valid_before
    if after is not None and before is not None and before <= after:
        raise LineError("valid-before is not later than valid-after")
    return parsed
