"""What stands behind one approval: the person, until when it holds, and its signature.

A signature is checked in-process (signing/, on `cryptography`; never by starting a
program, which the rollout's guard forbids) against the trust root configured outside
the database (`[approvals] allowed_signers`). Each way it can fail has its own reason:
the payload changed, the approval row changed, the key is not allowed, the namespace is
wrong, the key was not valid when the approval was made, the payload names another
database, user presence is missing where required. A valid signature by an allowed
signer is also what stands in for Directus's own activity record (docs/SECURITY.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import evidence
from ..db import schema as s
from ..db.types import from_directus_time
from ..directus import identity
from ..errors import BadInput
from ..signing import allowed_signers, sshsig, webauthn
from ..signing.errors import SignatureError
from ..signing.payload import NAMESPACE, ApprovalPayload, decode
from . import proposal as prop
from .verdict import Reason

SSHSIG = "sshsig"
WEBAUTHN = "webauthn"
# A passkey signs the payload, then Directus creates the approval and dates it itself.
PASSKEY_DELAY = timedelta(minutes=10)


@dataclass(frozen=True)
class Approval:
    id: str
    proposal_id: str
    proposal_sha256: str
    approved_by: str | None
    statement: str | None
    approved_at: datetime | None = None
    not_after: datetime | None = None


@dataclass(frozen=True)
class Person:
    """Who stands behind an approval or a proposal, as people read it."""

    key: str  # the same person gives the same key: their Directus user id, else their name
    label: str  # "Ada Lovelace <ada@example.org>", an e-mail or a signer's principal
    names: frozenset[str]  # every name they go by, lower-cased: id, e-mail, principal

    def principal(self) -> str:
        """The name a signature names them by: their e-mail when known."""
        emails = sorted(n for n in self.names if "@" in n)
        return emails[0] if emails else self.key


def person(conn: Connection, name: str | None, directus: bool) -> Person:
    """NAME (a Directus user's id or e-mail, or a free name) as a person."""
    found = identity.person(conn, name) if directus else None
    if found is not None:
        names = {found.id, *(x for x in (found.email,) if x)}
        return Person(found.id, found.label, frozenset(n.lower() for n in names))
    text = name or "(nobody)"
    return Person(text.lower(), text, frozenset({text.lower()}))


def iso(at: datetime | None) -> str:
    """UTC, to the second, as signed: 2026-12-02T16:00:00Z."""
    if at is None:
        return ""
    return at.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_after(approval: Approval, proposal: prop.Proposal, settings: Settings) -> datetime | None:
    """Until when APPROVAL may start a rollout: its own `not_after`, else its date plus the
    plan's (else the configuration's) validity. None when it carries no date at all."""
    if approval.not_after is not None:
        return approval.not_after
    if approval.approved_at is None:
        return None
    days = proposal.approvals.valid_days or settings.approval_valid_days
    return approval.approved_at + timedelta(days=days)


def payload_for(
    approval: Approval, proposal: prop.Proposal, principal: str, until: datetime, database: str
) -> ApprovalPayload:
    """The canonical payload an approver signs for APPROVAL, exactly as stored."""
    return ApprovalPayload(
        proposal_id=proposal.id,
        proposal_sha256=proposal.sha256,
        approval_id=approval.id,
        approver=principal,
        approved_at=iso(approval.approved_at),
        not_after=iso(until),
        statement=approval.statement or "",
        database_id=database,
        expected_fingerprint=proposal.expected_fingerprint,
    )


@dataclass(frozen=True)
class Stored:
    kind: str
    payload: str
    signature: str


def stored(conn: Connection, approval_id: str, tables: set[str]) -> Stored | None:
    """The signature stored beside APPROVAL_ID, if any (None before revision v3 too: TABLES,
    the database's tables, lack os_approval_signatures)."""
    if s.approval_signatures.name not in tables:
        return None
    t = s.approval_signatures.c
    row = conn.execute(
        sa.select(t.kind, t.payload, t.signature).where(t.approval_id == approval_id)
    ).first()
    return Stored(*row) if row else None


@dataclass(frozen=True)
class Verdict:
    """What the evidence of one approval says: who signed (None: unsigned) and every refusal."""

    signer: str | None
    reasons: tuple[Reason, ...]


def check(
    conn: Connection,
    settings: Settings,
    proposal: prop.Proposal,
    approval: Approval,
    approver: Person,
    *,
    used: bool,
    tables: set[str],
) -> Verdict:
    """Expiry (for an approval not used yet) and the signature of APPROVAL (TABLES: the
    database's tables)."""
    fix = f"a human ratifies proposal {proposal.id} again: `govgate ratify {proposal.id}`"
    reasons: list[Reason] = []
    until = not_after(approval, proposal, settings)
    found = stored(conn, approval.id, tables)
    if found is None and settings.require_signature and not used:  # asked of new approvals
        reasons.append(
            Reason(
                "signature-required",
                f"approval {approval.id} is not signed, and this configuration requires "
                "a signed approval ([approvals] require_signature)",
                f"a human ratifies with their key: `govgate ratify {proposal.id} "
                "--sign-key KEY` (or --sign-agent)",
            )
        )
    signed = None
    if found is not None:
        why, signed = _signature_reasons(conn, settings, proposal, approval, approver, found)
        reasons += why
    if signed is not None and not reasons:  # what was signed bounds it too
        signed_until = _parse(signed.not_after)
        until = signed_until if until is None else min(until, signed_until)
    if not used and until is None:
        reasons.append(
            Reason(
                "approval-undated",
                f"approval {approval.id} carries no date (approved_at, not_after), so "
                "nobody can tell whether it has expired",
                fix,
            )
        )
    elif not used and datetime.now(UTC) > until:
        reasons.append(
            Reason("approval-expired", f"approval {approval.id} expired at {iso(until)}", fix)
        )
    signer = signed.approver if signed is not None and not reasons else None
    return Verdict(signer, tuple(reasons))


def _signature_reasons(
    conn: Connection,
    settings: Settings,
    proposal: prop.Proposal,
    approval: Approval,
    approver: Person,
    found: Stored,
) -> tuple[list[Reason], ApprovalPayload | None]:
    """Why the signature FOUND does not hold (nothing: it holds), and the payload it signs.

    The payload must decode, match the row and this database; then the signature is checked
    against the trust root: an OpenSSH signature (`sshsig`) or a passkey's assertion
    (`webauthn`), whose key must be listed for the payload's approver.
    """
    fix = (
        f"a human ratifies proposal {proposal.id} again, signing it: "
        f"`govgate ratify {proposal.id} --sign-key KEY`"
    )

    def refuse(code: str, message: str, hint: str = fix) -> tuple[list[Reason], None]:
        return [Reason(code, f"the signature of approval {approval.id}: {message}", hint)], None

    if found.kind not in (SSHSIG, WEBAUTHN):
        return refuse(
            "signature-kind",
            f"this govgate cannot check a signature of kind {found.kind!r}",
            "upgrade govgate",
        )
    if not settings.allowed_signers:
        return refuse(
            "signature-no-trust-root",
            "it cannot be checked: no [approvals] allowed_signers is configured",
            "name the allowed_signers file in govgate.toml ([approvals] allowed_signers)",
        )
    try:
        trusted = allowed_signers.load(settings.allowed_signers)
    except BadInput as exc:
        return refuse("signature-no-trust-root", f"it cannot be checked: {exc.message}", exc.hint)
    raw = found.payload.encode("utf-8")
    try:
        signed = decode(raw)
    except ValueError as exc:
        return refuse("signature-malformed", f"its payload is unreadable ({exc})")
    try:
        if found.kind == SSHSIG:
            sig = sshsig.verify(raw, found.signature, NAMESPACE)
            present, key_type = sig.user_present, sig.key_type
        else:
            passkey = webauthn.parse(found.signature)
    except SignatureError as exc:
        return refuse(*_refusal(exc))
    changed = _changed_fields(signed, approval, proposal, approver, found.kind)
    if changed:
        return refuse(
            "signature-row-changed",
            f"the approval no longer says what was signed ({'; '.join(changed)})",
        )
    here = evidence.database_id(conn)
    if signed.database_id != here:
        return refuse(
            "signature-other-database",
            f"it was signed for database {signed.database_id}, and this is {here}",
            f"an approval counts only in the database it was signed for: {fix}",
        )
    at = _parse(signed.approved_at)
    try:
        if found.kind == SSHSIG:
            trusted.find(signed.approver, sig.public_key, NAMESPACE, at)
        else:
            webauthn.verify(raw, found.signature, trusted, signed.approver, at)
            present, key_type = True, f"passkey {passkey.credential_id[:12]}…"
    except SignatureError as exc:
        code, message = _refusal(exc)
        hint = fix
        if code in ("signature-key-not-allowed", "signature-key-not-valid"):
            hint = (
                f"an operator lists {signed.approver}'s key in {settings.allowed_signers}, or {fix}"
            )
        return refuse(code, message, hint)
    if settings.require_user_presence and present is not True:
        what = (
            "a security key that says nobody touched it"
            if present is False
            else (f"a {key_type} key, which cannot show a human touched it")
        )
        return refuse(
            "signature-no-presence",
            f"it was made with {what}, and [approvals] require_user_presence is set",
            f"a human ratifies with a FIDO security key (sk-ssh-ed25519), touching it: {fix}",
        )
    return [], signed


# How each refusal of the signing package reads at the gate.
_CODES = {
    "wrong-namespace": "signature-namespace",
    "bad-signature": "signature-payload-changed",
    "payload-mismatch": "signature-payload-changed",
    "key-not-allowed": "signature-key-not-allowed",
    "key-not-valid-at": "signature-key-not-valid",
    "relying-party": "signature-origin",
    "origin": "signature-origin",
    "user-presence": "signature-no-presence",
    "user-verification": "signature-no-presence",
}


def _refusal(exc: SignatureError) -> tuple[str, str]:
    code = _CODES.get(exc.code, "signature-malformed")
    if exc.code == "bad-signature":
        return code, "the payload does not match its signature: it was changed after signing"
    if exc.code == "payload-mismatch":
        return code, "the passkey signed another payload: it was changed after signing"
    if exc.code == "wrong-namespace":
        return code, f"{exc.message} (expected {NAMESPACE!r})"
    return code, exc.message


def _parse(stamp: str) -> datetime:
    """A signed time (UTC, ISO 8601); one that does not read as such is the far past, so an
    approval whose payload says it cannot be used."""
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _changed_fields(
    signed: ApprovalPayload,
    approval: Approval,
    proposal: prop.Proposal,
    approver: Person,
    kind: str,
) -> list[str]:
    """Each fact the approval row (or its proposal) states differently from the payload.

    A passkey signs before Directus creates the row and dates it: there the row's time may
    follow the signed one by up to PASSKEY_DELAY; an SSH signature signs the row as stored.
    """
    pairs = [
        ("approval id", signed.approval_id, approval.id),
        ("proposal", signed.proposal_id, approval.proposal_id),
        ("proposal hash", signed.proposal_sha256, approval.proposal_sha256),
        ("statement", signed.statement, approval.statement or ""),
        ("expected fingerprint", signed.expected_fingerprint, proposal.expected_fingerprint),
    ]
    if approval.not_after is not None:
        pairs.append(("not after", signed.not_after, iso(approval.not_after)))
    changed = [f"{name}: signed {a!r}, now {b!r}" for name, a, b in pairs if a != b]
    stored_at = iso(approval.approved_at)
    if kind == WEBAUTHN and approval.approved_at is not None:
        delay = approval.approved_at - _parse(signed.approved_at)
        if not timedelta(seconds=-1) <= delay <= PASSKEY_DELAY:
            changed.append(f"approved at: signed {signed.approved_at!r}, made {stored_at!r}")
    elif signed.approved_at != stored_at:
        changed.append(f"approved at: signed {signed.approved_at!r}, now {stored_at!r}")
    if signed.approver.lower() not in approver.names:
        changed.append(f"approver: signed {signed.approver!r}, now {approver.label!r}")
    return changed


def approval_from_row(row) -> Approval:
    """An Approval from a row of os_proposal_approvals (dates as aware datetimes)."""
    return Approval(
        row.id,
        row.proposal_id,
        row.proposal_sha256,
        None if row.approved_by is None else str(row.approved_by),
        row.statement,
        from_directus_time(row.approved_at),
        from_directus_time(getattr(row, "not_after", None)),
    )
