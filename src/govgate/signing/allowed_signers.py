"""OpenSSH allowed_signers files (ssh-keygen(1), ALLOWED SIGNERS), parsed and queried.

Each line is ``principals [options] keytype base64-key [comment]``; blank lines and lines
starting with ``#`` are skipped. Principals and ``namespaces=`` values are OpenSSH pattern
lists: comma-separated patterns with ``*`` and ``?``, where a matching ``!pattern`` vetoes
the whole list. Options: ``cert-authority``, ``namespaces="…"``, ``valid-after="…"``,
``valid-before="…"`` (keywords case-insensitive, values double-quoted as OpenSSH demands).

Decisions match ``ssh-keygen -Y verify`` (the first line naming the principal and key,
permitting the namespace and valid at the verify time, wins), with these documented
choices:

* The whole file is parsed strictly up front and any bad line fails ``load``/``parse``,
  where OpenSSH only notices a bad line when it names the principal being checked. An
  approval gate should not run on a half-understood trust file.
* Certificates are unsupported: ``cert-authority`` lines are kept (so the file loads) but
  never vouch for a key, exactly as for OpenSSH with a plain-key signature; a refusal names
  such a line when it lists the signing key.
* Timestamps ``YYYYMMDD[HHMM[SS]]`` with a ``Z``/``UTC`` suffix are UTC. Without it they are
  local time of this process's time zone at parse time, computed as OpenSSH does
  (``mktime`` with ``tm_isdst=0``): during daylight-saving time such a timestamp lands one
  hour after the wall-clock reading, exactly where ssh-keygen puts it. Write ``Z``.
  ``valid-after`` holds from that second on, ``valid-before`` up to and including it;
  impossible dates (Feb 30) are refused rather than normalised.
* Key types this package cannot verify (ssh-dss, certificates, ...) are accepted in the
  file but never match.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from govgate.files import MiB, read_bounded
from govgate.signing import sshkeys, sshsig, sshwire
from govgate.signing.errors import AllowedSignersError, SignatureError
from govgate.signing.sshsyntax import (
    WS,
    LineError,
    match_pattern_list,
    parse_options,
    parse_time,
    split_field,
    split_options,
)

__all__ = ["AllowedSigners", "Entry", "load", "match_pattern_list", "parse", "parse_time"]

_OTHER_KEY_TYPES = frozenset({"ssh-dss", "ssh-xmss@openssh.com"})


def _epoch_seconds(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("'at' must be a timezone-aware datetime")
    # Whole seconds, like the time_t ssh-keygen compares.
    return math.floor(at.timestamp())


def _canonical(blob: bytes) -> bytes:
    try:
        return sshkeys.parse_public_key(blob).blob
    except SignatureError:
        return blob


@dataclass(frozen=True)
class Entry:
    """One allowed_signers line. ``principals`` and ``namespaces`` are pattern lists as
    written; ``key_blob`` is the canonical key encoding; ``supported`` is False for key
    types this package cannot verify (such lines never match)."""

    source: str
    line: int
    principals: str
    key_type: str
    key_blob: bytes
    cert_authority: bool = False
    namespaces: str | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    supported: bool = True

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def fingerprint(self) -> str:
        return sshkeys.public_key_fingerprint(self.key_blob)

    def matches_principal(self, principal: str) -> bool:
        return match_pattern_list(principal, self.principals)

    def permits_namespace(self, namespace: str) -> bool:
        return self.namespaces is None or match_pattern_list(namespace, self.namespaces)

    def valid_at(self, at: datetime) -> bool:
        """Inside [valid-after, valid-before], both ends included; ValueError if naive."""
        when = _epoch_seconds(at)
        if self.valid_after is not None and when < self.valid_after.timestamp():
            return False
        return self.valid_before is None or when <= self.valid_before.timestamp()


@dataclass(frozen=True)
class AllowedSigners:
    """A parsed allowed_signers file: its entries in file order."""

    source: str
    entries: tuple[Entry, ...]

    def find(self, principal: str, key_blob: bytes, namespace: str, at: datetime) -> Entry:
        """The first entry allowing ``key_blob`` to sign for ``principal`` in ``namespace``
        at ``at`` (timezone-aware). Raises SignatureError, most specific first:
        "key-not-valid-at" (a line lists principal and key, permits the namespace, but not
        at this time), "wrong-namespace" (lines list principal and key, none for this
        namespace), else "key-not-allowed". ValueError if ``at`` is naive."""
        _epoch_seconds(at)
        key = _canonical(key_blob)
        fp = sshkeys.public_key_fingerprint(key_blob)
        refusal: SignatureError | None = None
        ca_line: Entry | None = None
        for e in self.entries:
            if not e.matches_principal(principal) or e.key_blob != key or not e.supported:
                continue
            if e.cert_authority:
                ca_line = ca_line or e
            elif not e.permits_namespace(namespace):
                if refusal is None:
                    refusal = SignatureError(
                        "wrong-namespace",
                        f"{e.location}: key {fp} of {principal!r} is not permitted in "
                        f"namespace {namespace!r} (namespaces={e.namespaces!r})",
                    )
            elif not e.valid_at(at):
                if refusal is None or refusal.code == "wrong-namespace":
                    refusal = SignatureError(
                        "key-not-valid-at",
                        f"{e.location}: key {fp} of {principal!r} is not valid at "
                        f"{at.isoformat()} (valid-after={_iso(e.valid_after)}, "
                        f"valid-before={_iso(e.valid_before)})",
                    )
            else:
                return e
        if refusal is not None:
            raise refusal
        message = f"{self.source}: no line allows key {fp} for principal {principal!r}"
        if ca_line is not None:
            message += (
                f" ({ca_line.location} lists it as cert-authority; certificates are not "
                "supported, so it vouches for nothing)"
            )
        raise SignatureError("key-not-allowed", message)

    def principals_for(self, key_blob: bytes, *, at: datetime | None = None) -> tuple[str, ...]:
        """The principal patterns of the non-cert-authority lines listing ``key_blob``
        (only lines valid at ``at`` when given), in file order, without duplicates and
        without negated patterns."""
        key = _canonical(key_blob)
        out: list[str] = []
        for e in self.entries:
            if e.key_blob != key or e.cert_authority or not e.supported:
                continue
            if at is not None and not e.valid_at(at):
                continue
            for p in e.principals.split(","):
                if not p.startswith("!") and p not in out:
                    out.append(p)
        return tuple(out)

    def verify(
        self, payload: bytes, armored: str, principal: str, namespace: str, at: datetime
    ) -> tuple[sshsig.Signature, Entry]:
        """``ssh-keygen -Y verify -I principal -n namespace`` in-process: the signature
        must verify (sshsig.verify), then its key must be allowed (find). Raises the
        SignatureError of whichever step refuses first."""
        sig = sshsig.verify(payload, armored, namespace)
        return sig, self.find(principal, sig.public_key, namespace, at)


def _iso(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat()


def _is_key_type(name: str) -> bool:
    return (
        name in sshkeys.SUPPORTED_KEY_TYPES
        or name in _OTHER_KEY_TYPES
        or name.endswith("-cert-v01@openssh.com")
    )


def _split_principals(s: str) -> tuple[str, str]:
    if s.startswith('"'):
        end = s.find('"', 1)
        if end < 0:
            raise LineError("unterminated quote in principals")
        field, rest = s[1:end], s[end + 1 :]
        if rest and rest[0] not in WS:
            raise LineError("expected whitespace after the quoted principals")
        rest = rest.lstrip(WS)
    else:
        field, rest = split_field(s)
        if '"' in field:
            raise LineError('a quote inside principals: quote the whole field ("...")')
    if not field:
        raise LineError("empty principals")
    return field, rest


def _parse_key(s: str) -> tuple[str, bytes, bool]:
    key_type, rest = split_field(s)
    b64, _comment = split_field(rest)
    if not _is_key_type(key_type):
        raise LineError(f"unknown key type {key_type!r}")
    if not b64:
        raise LineError(f"missing base64 key after {key_type!r}")
    try:
        blob = base64.b64decode(b64, validate=True)
        inner = sshwire.first_string(blob)
    except (binascii.Error, ValueError) as exc:
        raise LineError(f"key is not valid base64 SSH key data: {exc}") from exc
    if inner != key_type:
        raise LineError(f"key type {key_type!r} does not match the encoded key ({inner!r})")
    if key_type not in sshkeys.SUPPORTED_KEY_TYPES:
        return key_type, blob, False
    try:
        return key_type, sshkeys.parse_public_key(blob).blob, True
    except SignatureError as exc:
        raise LineError(f"invalid {key_type} key: {exc.message}") from exc


def _parse_line(text: str, source: str, lineno: int) -> Entry | None:
    s = text.rstrip("\r").lstrip(WS)
    if not s or s.startswith("#"):
        return None
    principals, rest = _split_principals(s)
    if not rest:
        raise LineError("missing key: expected 'principals [options] keytype base64-key'")
    options = ""
    if not _is_key_type(split_field(rest)[0]):
        options, rest = split_options(rest)
        if not rest:
            raise LineError("missing key after the options")
    opts = parse_options(options)
    key_type, blob, supported = _parse_key(rest)
    return Entry(
        source=source,
        line=lineno,
        principals=principals,
        key_type=key_type,
        key_blob=blob,
        cert_authority=opts.cert_authority,
        namespaces=opts.namespaces,
        valid_after=opts.valid_after,
        valid_before=opts.valid_before,
        supported=supported,
    )


def _parse_lines(lines: list[str], source: str) -> AllowedSigners:
    entries = []
    for lineno, text in enumerate(lines, 1):
        try:
            entry = _parse_line(text, source, lineno)
        except LineError as exc:
            raise AllowedSignersError(source, lineno, str(exc)) from None
        if entry is not None:
            entries.append(entry)
    return AllowedSigners(source, tuple(entries))


def parse(text: str, source: str = "<text>") -> AllowedSigners:
    """Parse allowed_signers text; ``source`` names it in errors and refusals.
    Raises AllowedSignersError (file, line, problem) for the first bad line."""
    return _parse_lines(text.split("\n"), source)


def load(path: str | Path) -> AllowedSigners:
    """Read and parse an allowed_signers file. Raises AllowedSignersError for an
    unreadable file (line None), a line that is not UTF-8, or the first bad line."""
    source = str(path)
    try:
        data = read_bounded(path, 16 * MiB)
    except OSError as exc:
        raise AllowedSignersError(source, None, f"cannot read: {exc.strerror or exc}") from exc
    lines = []
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise AllowedSignersError(source, lineno, "line is not UTF-8") from None
    return _parse_lines(lines, source)
