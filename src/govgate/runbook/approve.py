"""Writing a ratification: the approval row (or Directus's, through its REST API), its
signature, and the audit event. With `ratify` (the request), the only code that writes
approvals; nothing the agent runs imports it.

Two paths. On a database with a Directus server govgate can reach, the person signs in and
Directus creates the approval, its activity and revision itself (`create_through_directus`,
then `after_directus` signs and audits). Elsewhere govgate writes the row (`record`); on a
Directus-shaped database without a server that is allowed only when signed, since nothing
else would prove who approved (`require_evidence`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import audit
from ..db import schema as s
from ..errors import BadInput, Refused
from ..signing import allowed_signers
from ..signing.errors import SignatureError
from ..signing.payload import NAMESPACE
from ..signing.signer import AgentSigner, KeySigner
from . import proposal as prop
from .approval import approvals_for
from .evidence import SSHSIG, Approval, iso, payload_for
from .ratify import RatificationRequest, RatifyResult, prepare, require_terminal

# Signs the canonical payload bytes; returns the armored SSHSIG signature.
Sign = Callable[[bytes], str]
Signer = KeySigner | AgentSigner


def require_evidence(
    request: RatificationRequest, settings: Settings, *, signed: bool, through_api: bool
) -> None:
    """Raises Refused when the approval would prove nothing: on a Directus database whose
    server govgate knows, only Directus may create it; without a server, only a signature
    shows who approved."""
    if request.directus and settings.directus_url and not through_api:
        raise Refused(
            f"approvals on this Directus database are created through Directus at "
            f"{settings.directus_url}, as the person who signs in; nothing was approved",
            hint="run `govgate ratify` at a terminal: it asks for your Directus e-mail and "
            "password (or --token)",
        )
    if request.directus and not through_api and not signed:
        raise Refused(
            "this is a Directus database and govgate reaches no Directus server for it "
            "([directus] url is not set): an approval made here counts only when signed; "
            "nothing was approved",
            hint=f"sign it: `govgate ratify {request.proposal.id} --sign-key KEY` "
            "(or --sign-agent), or set [directus] url to approve through Directus",
        )


def signing_function(settings: Settings, signer: Signer | None, principal: str) -> Sign | None:
    """How this ratification signs, checked before anything is written: the key can sign
    (passphrase, agent) and, when a trust root is configured, it lists this key for PRINCIPAL.

    Raises SigningError (bad input) when the key cannot sign, Refused when the trust root
    does not list it.
    """
    if signer is None:
        return None
    trusted = allowed_signers.load(settings.allowed_signers) if settings.allowed_signers else None
    blob = signer.public_blob(principal, trusted)
    if trusted is not None:
        try:
            trusted.find(principal, blob, NAMESPACE, datetime.now(UTC))
        except SignatureError as exc:
            raise Refused(
                f"your key cannot sign approvals as {principal}: {exc.message}; "
                "nothing was approved",
                hint=f"an operator adds your public key for {principal} to "
                f"{settings.allowed_signers} (see README: signed approvals)",
            ) from None
    return lambda payload: signer.sign(payload, NAMESPACE, principal, trusted)


def create_through_directus(
    session, request: RatificationRequest, typed: str, *, interactive: bool
) -> None:
    """Create the approval through Directus's REST API as the person SESSION belongs to:
    Directus records who and when, and writes the activity and revision itself."""
    check_typed(request, typed, interactive=interactive)
    now = datetime.now(UTC).replace(microsecond=0)
    p = request.proposal
    session.create(
        s.approvals.name,
        {
            "id": request.approval_id,
            "proposal_id": p.id,
            "proposal_sha256": p.sha256,
            "statement": request.statement,
            "not_after": iso(request.not_after(now)),
        },
    )


def after_directus(
    conn: Connection, request: RatificationRequest, sign: Sign | None
) -> RatifyResult:
    """Sign the approval Directus created (as stored) and audit the ratification.

    Raises Refused when this database does not show the approval Directus created.
    """
    found = [a for a in approvals_for(conn, request.proposal.id) if a.id == request.approval_id]
    if not found:
        raise Refused(
            f"Directus created approval {request.approval_id}, but this database does not show it",
            hint="point govgate at the database of the Directus server in [directus] url",
        )
    if found[0].approved_by != request.approver:
        raise Refused(
            f"Directus recorded approval {request.approval_id} as made by user "
            f"{found[0].approved_by}, not by {request.approver_label}",
            hint="sign in to Directus as the person named with --as",
        )
    if sign is not None:
        add_signature(conn, request, found[0], sign)
    return audit_ratification(conn, request, found[0], signed=sign is not None)


def check_typed(request: RatificationRequest, typed: str, *, interactive: bool) -> None:
    """Raises Refused without an interactive terminal or when TYPED is not the approval id."""
    require_terminal(interactive)
    if typed.strip() != request.approval_id:
        raise Refused(
            f"you typed '{typed.strip()}', not the approval id {request.approval_id}; "
            "nothing was approved"
        )


def record(
    conn: Connection,
    request: RatificationRequest,
    typed: str,
    *,
    interactive: bool,
    sign: Sign | None = None,
) -> RatifyResult:
    """Write the approval row, its signature when SIGN is given, and the audit event, in the
    caller's transaction (the SQL path: a database without a Directus server to ask).

    Raises Refused without an interactive terminal or when TYPED is not the approval id; a
    SigningError from SIGN leaves nothing written (the caller's transaction rolls back).
    """
    check_typed(request, typed, interactive=interactive)
    now = datetime.now(UTC).replace(microsecond=0)
    p = request.proposal
    conn.execute(
        s.approvals.insert().values(
            id=request.approval_id,
            proposal_id=p.id,
            proposal_sha256=p.sha256,
            approved_by=request.approver,
            approved_at=now,
            statement=request.statement,
            not_after=request.not_after(now),
        )
    )
    approval = Approval(
        request.approval_id,
        p.id,
        p.sha256,
        request.approver,
        request.statement,
        now,
        request.not_after(now),
    )
    if sign is not None:
        add_signature(conn, request, approval, sign)
    return audit_ratification(conn, request, approval, signed=sign is not None)


def add_signature(
    conn: Connection, request: RatificationRequest, approval: Approval, sign: Sign
) -> None:
    """Sign the payload of APPROVAL (as stored) and store it beside the approval."""
    payload = payload_for(
        approval,
        request.proposal,
        request.principal,
        approval.not_after or request.not_after(approval.approved_at),
        request.database_id,
    )
    conn.execute(
        s.approval_signatures.insert().values(
            approval_id=approval.id,
            kind=SSHSIG,
            payload=payload.encode().decode("utf-8"),
            signature=sign(payload.encode()),
            created_by=request.approver,
            created_at=datetime.now(UTC),
        )
    )


def audit_ratification(
    conn: Connection, request: RatificationRequest, approval: Approval, *, signed: bool
) -> RatifyResult:
    """Append the ratification to the audit trail and say what was approved."""
    p = request.proposal
    audit.append(
        conn,
        audit.Kind.RATIFICATION,
        request.principal,  # the person as people read it: an e-mail, never a bare user id
        proposal_id=p.id,
        detail={
            "approval": approval.id,
            "sha256": p.sha256,
            "approver": request.principal,
            "signed": signed,
            "not_after": iso(approval.not_after),
        },
    )
    return RatifyResult(
        approval.id,
        p.id,
        p.sha256,
        request.approver,
        iso(approval.approved_at),
        signed,
        request.approver_label,
        iso(approval.not_after),
    )


@dataclass(frozen=True)
class PayloadOffer:
    """What a person signs with a passkey in the Directus app: the canonical payload of the
    approval they are about to create, the WebAuthn challenge (SHA-256 of its bytes, hex) and
    what it names. Inert: nothing is written."""

    payload: str
    challenge: str
    approval_id: str
    proposal_id: str
    proposal_sha256: str
    approver: str
    statement: str
    approved_at: str
    not_after: str


def payload_offer(
    conn: Connection, settings: Settings, approval_id: str, approver: str
) -> PayloadOffer:
    """The payload APPROVER (a Directus user's id or e-mail) would sign to approve the current
    proposal as APPROVAL_ID, dated now.

    Raises what `ratify.prepare` raises: BadInput for no proposal, an unknown person or an
    approval id that is taken; Refused for the agent or the proposal's author.
    """
    current = prop.current_id(conn)
    if current is None:
        raise BadInput("no proposal has been frozen yet", hint="an engineer runs `govgate propose`")
    request = prepare(conn, settings, current, approver, approval_id)
    now = datetime.now(UTC).replace(microsecond=0)
    p, until = request.proposal, request.not_after(now)
    approval = Approval(
        request.approval_id, p.id, p.sha256, request.approver, request.statement, now, until
    )
    payload = payload_for(approval, p, request.principal, until, request.database_id)
    return PayloadOffer(
        payload.encode().decode("utf-8"),
        payload.challenge().hex(),
        request.approval_id,
        p.id,
        p.sha256,
        request.principal,
        request.statement,
        iso(now),
        iso(until),
    )
