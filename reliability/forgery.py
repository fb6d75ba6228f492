"""Forgery and tampering: every way docs/SECURITY.md lists of reaching READY or APPLIED without a
genuine human approval, tried on a fresh lab each; and every edit, deletion, insertion,
reordering and re-hashing of the audit trail, each held against `audit verify`.

An attack is accepted when the gate then says READY (or APPLIED for a forged rollout), or when
`apply` then writes a rollout. A write the database refuses (a custody trigger, a missing
grant) is the attack failing. Tampering is detected when `audit verify` fails; re-hashings are
held against a checkpoint taken before (`audit export`), as docs/GUARANTEES.md section 9 says
only a checkpoint sees a consistent rewrite.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from govgate import api
from govgate.db.audit import database_id
from govgate.runbook.gate import Status
from govgate.signing import sshsig

from .common import Servers, tally
from .tampering import _rehash_free, _rows, tamper, tamperings
from support import signing
from support.constants import AGENT_DIRECTUS_USER, AGENT_IDENTITY, APPROVAL, APPROVER
from support.labs import insert_approval, lift_custody, ratify, with_settings

FAMILY = "forgery"


def owner(lab, sql: str, **params) -> None:
    lab.execute(sql, **params)


def _spent(lab) -> str:
    ratify(lab)
    rollout = api.apply(lab.settings).rollout_id
    api.rollback(lab.settings)
    return rollout


def _sign_app_approval(lab, changes: dict, namespace: str = "govgate-approval", who=APPROVER):
    """An approval as the Directus app makes one, signed over a payload changed by CHANGES."""
    from govgate.runbook import evidence as ev
    from govgate.runbook.approval import approvals_for

    insert_approval(lab)
    engine = lab.engine()
    try:
        with engine.connect() as conn:
            approval = next(a for a in approvals_for(conn, "PROP-AUTHMODEL-1") if a.id == APPROVAL)
            until = approval.not_after or approval.approved_at + timedelta(days=14)
            payload = ev.payload_for(
                approval, api.status(lab.settings).proposal, APPROVER, until, database_id(conn)
            )
    finally:
        engine.dispose()
    body = dataclasses.replace(payload, **changes).encode()
    signature = sshsig.sign(body, str(signing.key_path(who)), namespace)
    lab.execute(
        "INSERT INTO os_approval_signatures (approval_id, kind, payload, signature) "
        "VALUES (:a, 'sshsig', :p, :s)",
        a=APPROVAL,
        p=body.decode(),
        s=signature,
    )


def _forged_rollout(lab) -> None:
    """The owner writes a rollout and its records by hand, naming an approval nobody made."""
    lift_custody(lab)
    sha = lab.scalar("SELECT sha256 FROM os_proposals WHERE id = 'PROP-AUTHMODEL-1'")
    owner(
        lab,
        "INSERT INTO os_rollouts (id, proposal_id, proposal_sha256, approval_id, status, "
        "pre_fingerprint, created_objects, records, started_at) VALUES ('RO-FORGED', "
        "'PROP-AUTHMODEL-1', :h, 'APR-NOBODY', 'applied', 'x', '[]', '[]', '2026-01-01')",
        h=sha,
    )


def _agent_rewrites_history(lab) -> None:
    ratify(lab)
    api.apply(lab.settings)
    lift_custody(lab)
    owner(lab, "UPDATE os_proposal_approvals SET approved_by = :a", a=AGENT_IDENTITY)


def _activity_by(user_sql: str):
    def attack(lab):
        owner(
            lab,
            "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, "
            "approved_by, approved_at, statement) VALUES (:a, 'PROP-AUTHMODEL-1', :h, "
            f"{user_sql}, :t, 'x')",
            a=APPROVAL,
            h=api.status(lab.settings).proposal_sha256,
            t=datetime.now(UTC),
        )
        owner(
            lab,
            'INSERT INTO directus_activity (action, "user", collection, item, origin) '
            f"VALUES ('create', {user_sql}, 'os_proposal_approvals', :a, 'app')",
            a=APPROVAL,
        )

    return attack


AGENT_USER = f"(SELECT id FROM directus_users WHERE email = '{AGENT_DIRECTUS_USER}')"

# name -> (attack, "ready" or "applied": what it tries to reach)
ATTACKS = {
    "unsigned approval written with SQL, no activity": (
        lambda lab: owner(
            lab,
            "INSERT INTO os_proposal_approvals (id, proposal_id, "
            "proposal_sha256, approved_by, approved_at, statement) VALUES (:a, "
            "'PROP-AUTHMODEL-1', :h, NULL, :t, 'x')",
            a=APPROVAL,
            h=api.status(lab.settings).proposal_sha256,
            t=datetime.now(UTC),
        ),
        "ready",
    ),
    "approval and activity by the agent's Directus user": (_activity_by(AGENT_USER), "ready"),
    "approval and activity by nobody": (_activity_by("NULL"), "ready"),
    "approval carrying another hash": (lambda lab: insert_approval(lab, sha256="0" * 64), "ready"),
    "approval by the agent's identity": (
        lambda lab: insert_approval(lab, approved_by=AGENT_IDENTITY),
        "ready",
    ),
    "REHEARSAL- approval in production": (
        lambda lab: insert_approval(lab, approval_id="REHEARSAL-deadbeef"),
        "ready",
    ),
    "payload changed after signing": (
        lambda lab: (
            ratify(lab),
            lift_custody(lab),
            owner(
                lab,
                "UPDATE os_approval_signatures SET payload = REPLACE(payload, 'I ratify', "
                "'I ratify too')",
            ),
        ),
        "ready",
    ),
    "approval row changed after signing": (
        lambda lab: (
            ratify(lab),
            lift_custody(lab),
            owner(lab, "UPDATE os_proposal_approvals SET statement = 'something else'"),
        ),
        "ready",
    ),
    "signed by a key allowed_signers does not list": (
        lambda lab: ratify(with_settings(lab, allowed_signers=None), signer_as=signing.UNTRUSTED),
        "ready",
    ),
    "signature in another namespace": (
        lambda lab: _sign_app_approval(lab, {}, namespace="file"),
        "ready",
    ),
    "signed for another database": (
        lambda lab: _sign_app_approval(
            lab, {"database_id": "00000000-0000-4000-8000-000000000000"}
        ),
        "ready",
    ),
    "signed by another trusted person's key in the approver's name": (
        lambda lab: _sign_app_approval(lab, {}, who=signing.SECOND_APPROVER),
        "ready",
    ),
    "expired approval": (
        lambda lab: (
            insert_approval(lab),
            lift_custody(lab),
            owner(
                lab,
                "UPDATE os_proposal_approvals SET approved_at = :t",
                t=datetime.now(UTC) - timedelta(days=15),
            ),
        ),
        "ready",
    ),
    "spent approval re-armed by renaming it in the journal": (
        lambda lab: lab.execute_as_agent(
            "UPDATE os_rollouts SET approval_id = approval_id || '-x' WHERE id = :r",
            r=_spent(lab),
        ),
        "ready",
    ),
    "spent approval's use deleted": (
        lambda lab: (_spent(lab), lab.execute_as_agent("DELETE FROM os_approval_uses")),
        "ready",
    ),
    "spent approval's journal row deleted": (
        lambda lab: (_spent(lab), lab.execute_as_agent("DELETE FROM os_rollouts")),
        "ready",
    ),
    "rolled-back rollout flipped back to applied": (
        lambda lab: lab.execute_as_agent(
            "UPDATE os_rollouts SET status = 'applied' WHERE id = :r", r=_spent(lab)
        ),
        "applied",
    ),
    "rollout row naming an approval that does not exist (agent)": (
        lambda lab: lab.execute_as_agent(
            "INSERT INTO os_rollouts (id, proposal_id, proposal_sha256, "
            "approval_id, status, pre_fingerprint, created_objects, records, "
            "started_at) VALUES ('RO-F', 'PROP-AUTHMODEL-1', :h, 'APR-NOBODY', "
            "'applied', 'x', '[]', '[]', '2026-01-01')",
            h=api.status(lab.settings).proposal_sha256,
        ),
        "applied",
    ),
    "rollout row written by the owner with custody lifted": (_forged_rollout, "applied"),
    "approval behind an applied rollout rewritten to the agent's": (
        _agent_rewrites_history,
        "applied",
    ),
    "approval edited by the agent's login after it was made": (
        lambda lab: (
            ratify(lab),
            lab.execute_as_agent("UPDATE os_proposal_approvals SET proposal_sha256 = '0'"),
        ),
        "ready-kept",
    ),
}


def try_attack(lab, attack, reaches: str) -> tuple[bool, str]:
    """Run ATTACK; (accepted?, how it ended). The gate is judged as an operator configures it:
    naming the agent's identity and its Directus user (README, "The agent's policy")."""
    lab = with_settings(lab, directus_agent_user=AGENT_DIRECTUS_USER, agent_identity=AGENT_IDENTITY)
    try:
        attack(lab)
        ended = "written"
    except Exception as exc:  # the database refused the forgery: it failed there
        ended = f"refused by the database ({type(exc).__name__})"
    status = api.status(lab.settings).status
    if reaches == "ready-kept":  # the genuine approval stays; only an edit would be a forgery
        edited = lab.scalar(
            "SELECT COUNT(*) FROM os_proposal_approvals WHERE proposal_sha256 = '0'"
        )
        return bool(edited), f"{ended}, edits stored: {edited}"
    rollouts = lab.scalar("SELECT COUNT(*) FROM os_rollouts WHERE status = 'applied'")
    if reaches == "ready":
        if status is Status.READY:
            return True, f"{ended}; gate READY"
        try:
            api.apply(lab.settings)
        except Exception:
            pass
        after = lab.scalar("SELECT COUNT(*) FROM os_rollouts WHERE status = 'applied'")
        return after > rollouts, f"{ended}; gate {status.value}"
    return status is Status.APPLIED, f"{ended}; gate {status.value}"


def run(servers: Servers, backends: tuple[str, ...], folder: Path, sample: int | None = None):
    accepted, detected = [], []
    for backend in backends:
        for name, (attack, reaches) in list(ATTACKS.items())[:: sample or 1]:
            lab = servers.lab(backend)
            try:
                good, how = try_attack(lab, attack, reaches)
            except Exception as exc:
                good, how = True, f"harness error {type(exc).__name__}: {exc}"
            accepted.append((not good, f"{backend}: {name}: {how}"))
            servers.drop(lab)
        lab = servers.lab(backend)
        ratify(lab)
        api.apply(lab.settings)
        api.rollback(lab.settings)
        export = folder / f"export-{backend}-{lab.db_name or 'sqlite'}"
        api.audit_export(lab.settings, str(export))
        lift_custody(lab)
        pristine = _rows(lab)
        for kind, at in tamperings(len(pristine))[:: sample or 1]:
            tamper(lab, kind, at)
            checkpoint = str(export / "head.json") if kind.startswith("rehash") else None
            result = api.audit_verify(lab.settings, checkpoint)
            detected.append((not result.ok, f"{backend}: {kind} of row {at}: not detected"))
            _rehash_free(lab, pristine)
        servers.drop(lab)
    return [
        tally(
            FAMILY,
            "forgeries accepted (READY or APPLIED without a genuine approval)",
            accepted,
            bar="zero",
        ),
        tally(
            FAMILY,
            "audit-trail tamperings detected by `audit verify` (re-hashings: with "
            "the checkpoint of an export)",
            detected,
        ),
    ]
