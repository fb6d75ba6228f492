"""The library: one function per command, each returning a value.

The CLI and the web page only parse, call these and render what they return.
Nothing here prints or exits; failures raise GovgateError subclasses.

Each function imports the modules of its command when it runs, so that a command loads
what it needs and no more: start-up is most of a small command's time (`status` needs
the gate, not the rehearsal, the demo builder or the Directus REST client).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from .config import Settings
from .db import heartbeat
from .db import schema as s
from .db.engine import Mode
from .db.session import Database, session
from .db.state import read_state
from .directus import identity
from .errors import Refused
from .runbook import gate as gate_mod
from .runbook import proposal as prop
from .runbook.verify import VerifyResult, verify_rollout

if TYPE_CHECKING:  # for the annotations: each command imports its modules when it runs
    from .db import anchor
    from .db import audit as audit_mod
    from .directus import bundle as bundle_mod
    from .directus import rest
    from .ops import demo as demo_mod
    from .ops import doctor as doctor_mod
    from .ops import init as init_mod
    from .ops import passkeys as passkeys_mod
    from .ops import rehearse as rehearse_mod
    from .ops import upgrade as upgrade_mod
    from .runbook import apply as apply_mod
    from .runbook import approve as approve_mod
    from .runbook import ratify as ratify_mod
    from .runbook import rollback as rollback_mod
    from .runbook.gap import GapReport
    from .runbook.report import Report


@contextmanager
def _session(
    settings: Settings, mode: Mode = Mode.WRITE, *, agent: bool = False, lock: bool = False
) -> Iterator[Connection]:
    """One transaction on the main database, or (AGENT) through the agent's own connection."""
    with session(settings.agent_url if agent else settings.db_url, mode, lock=lock) as conn:
        yield conn


# -- demo / init ---------------------------------------------------------------------


def demo(
    settings: Settings, path: str | None = None, *, actor: str, rows_per_table: int = 5
) -> demo_mod.DemoResult:
    """Build the One-Roof replica at PATH (SQLite) or at the configured database.

    An existing SQLite demo file is rebuilt; any other existing file, or a
    PostgreSQL database that already holds tables, is refused (BadInput).
    """
    from .ops import demo as demo_mod

    url = f"sqlite:///{path}" if path else settings.db_url
    return demo_mod.create(url, actor=actor, rows_per_table=rows_per_table)


def init(
    settings: Settings, *, actor: str, roles: bool = False, sql_registration: bool = False
) -> init_mod.InitResult:
    """Create missing governance tables (and, with ROLES, the PostgreSQL roles).

    On a Directus database they are registered through its REST API (the configured URL and
    an admin's token), or with SQL when SQL_REGISTRATION asks for it; BadInput, before
    anything is written, when neither is possible.
    """
    from .directus import api_registration, registration
    from .ops import init as init_mod

    with _session(settings, lock=True) as conn:
        via = init_mod.registration_way(conn, settings, sql_registration=sql_registration)
        result = init_mod.create_missing(conn, actor, register_via=via)
        if roles:
            result = init_mod.create_roles(conn, result)
        tables = api_registration.columns(conn) if via == init_mod.VIA_API else {}
    # after the commit: Directus sees the new tables (API), or reloads its schema (SQL)
    if via == init_mod.VIA_API:
        result = api_registration.after_init(settings, result, tables)
    return registration.after_init(settings, result)


def upgrade(settings: Settings, *, actor: str) -> upgrade_mod.UpgradeResult:
    """Migrate govgate's own tables to this version in one locked transaction.

    On a Directus database the collections a revision adds are registered as `init` does:
    through the REST API when its URL and an admin's token are set (after the commit), else
    with SQL, and Directus is asked to reload its schema.
    """
    from .directus import api_registration, registration, rest
    from .ops import upgrade as upgrade_mod

    through_api = bool(settings.directus_url and settings.directus_token)
    with _session(settings, lock=True) as conn:
        directus = identity.is_directus(conn)
        result = upgrade_mod.upgrade(conn, actor, register_sql=not through_api)
        tables = api_registration.columns(conn) if directus and through_api else {}
    if result.changed and directus and through_api:
        api_registration.register(
            rest.Session(settings.directus_url, settings.directus_token), tables
        )
    elif result.changed and directus:
        registration.clear_schema_cache(settings.directus_url, settings.directus_token)
    return result


# -- read commands ---------------------------------------------------------------


def status(
    settings: Settings, proposal_id: str | None = None, *, liveness: bool = False
) -> gate_mod.GateVerdict:
    """The gate's verdict through the agent's own connection; LIVENESS adds `verdict.agent` and
    `verdict.containment`."""
    with _session(settings, Mode.READ, agent=True) as conn:
        verdict = gate_mod.evaluate(conn, settings, proposal_id)
        if liveness:  # whether an agent was seen lately, and contained: words, never reasons
            from .guards import containment

            seen = heartbeat.liveness(heartbeat.sightings(conn), settings.agent_stale_after)
            verdict = replace(verdict, agent=seen, containment=containment.decide(settings))
        return verdict


def agent_sightings(settings: Settings) -> tuple[heartbeat.Heartbeat, ...] | None:
    """The newest agents' heartbeats (None: no heartbeat table, or not readable)."""
    with _session(settings, Mode.READ) as conn:
        return heartbeat.sightings(conn)


def gap(settings: Settings, proposal_id: str | None = None) -> GapReport:
    """The ownership gap by authority, domain and collection."""
    from .runbook.gap import gap_report

    with _session(settings, Mode.READ) as conn:
        pid = proposal_id or prop.current_id(conn)
        state = read_state(conn, pid)
        return gap_report(state, prop.load(conn, pid) if pid else None)


def proposal(settings: Settings, proposal_id: str | None = None) -> prop.Proposal | None:
    """The proposal PROPOSAL_ID (default: the current one), or None when there is none."""
    with _session(settings, Mode.READ) as conn:
        pid = proposal_id or prop.current_id(conn)
        return prop.load(conn, pid) if pid else None


# -- propose ---------------------------------------------------------------------


def propose(settings: Settings, plan_path: str, *, actor: str) -> prop.ProposeResult:
    """Validate the plan and freeze it as a proposal (no-op when identical)."""
    from .runbook.plan_file import load_plan

    plan = load_plan(plan_path)
    with _session(settings, lock=True) as conn:
        return prop.freeze(conn, plan, actor)


def audit_trail(settings: Settings, limit: int | None = None) -> list[audit_mod.AuditEvent]:
    from .db import audit as audit_mod

    with _session(settings, Mode.READ) as conn:
        return audit_mod.events(conn, limit)


def people(settings: Settings, ids) -> dict[str, str]:
    """Each of IDS (actors, approvers) naming a Directus user by e-mail or id, as "Name <e-mail>"
    (`identity.person`); the others are left out, and all of them off Directus."""
    with _session(settings, Mode.READ) as conn:
        if not identity.is_directus(conn):
            return {}
        found = {i: identity.person(conn, i) for i in sorted(set(ids)) if i}
        return {i: p.label for i, p in found.items() if p is not None}


def audit_verify(settings: Settings, checkpoint: str | None = None) -> audit_mod.ChainCheck:
    """Walk the audit chain and cross-check it with the journal (and CHECKPOINT, a file).

    CHECKPOINT is an export's head.json or a report file carrying the audit head;
    a missing or malformed one is BadInput, before the database is read. With it
    the result is an AnchoredCheck.
    """
    from .db import anchor
    from .db import audit as audit_mod

    anchored = anchor.load_checkpoint(checkpoint) if checkpoint is not None else None
    with _session(settings, Mode.READ) as conn:
        return audit_mod.verify_chain(
            conn, directus=identity.in_use(conn, settings), checkpoint=anchored
        )


def audit_head(settings: Settings) -> tuple[int, str]:
    """The newest audit row's (seq, hash); (0, GENESIS) when the trail is empty."""
    from .db import audit as audit_mod

    with _session(settings, Mode.READ) as conn:
        trail = audit_mod.events(conn, limit=1)
    return (trail[-1].seq, trail[-1].hash) if trail else (0, audit_mod.GENESIS)


def audit_export(settings: Settings, folder: str) -> anchor.ExportResult:
    """Write the trail (FOLDER/audit.jsonl) and its head (FOLDER/head.json, a checkpoint).

    FOLDER must be new, empty or a previous export (BadInput otherwise); a previous
    export is replaced only while the trail still matches it (CheckFailed otherwise).
    """
    from .db import anchor

    with _session(settings, Mode.READ) as conn:
        return anchor.export(
            conn,
            folder,
            directus=identity.in_use(conn, settings),
            allowed_signers=settings.allowed_signers,
        )


# -- ratify (the human path) --------------------------------------------------------


def ratify_server(settings: Settings) -> str | None:
    """The Directus server a ratification goes through: `[directus] url` on a Directus
    database; None where govgate writes the approval itself."""
    if not settings.directus_url:
        return None
    with _session(settings, Mode.READ) as conn:
        return settings.directus_url if identity.in_use(conn, settings) else None


def ratify(
    settings: Settings,
    proposal_id: str,
    *,
    approver: str,
    confirm: ratify_mod.Confirm,
    interactive: bool,
    approval_id: str | None = None,
    statement: str | None = None,
    signer: approve_mod.Signer | None = None,
    directus: rest.Session | None = None,
) -> ratify_mod.RatifyResult:
    """Record a human's approval of PROPOSAL_ID after CONFIRM shows it and they type its id.

    With DIRECTUS (a session the person opened with their own credentials) Directus creates
    the approval, its activity and revision itself; otherwise govgate writes the row. With
    SIGNER the canonical payload is signed and stored beside it. The human reads without
    holding any lock; the write re-checks that the proposal did not change meanwhile.
    Refused (nothing written) without an interactive terminal, for the agent's identity, for
    the proposal's author, when the typed id differs, or on a Directus database reached
    without its server and without a signature (nothing else would prove who approved).
    """
    from .runbook import approve as approve_mod
    from .runbook import ratify as ratify_mod

    ratify_mod.require_terminal(interactive)
    with _session(settings, Mode.READ) as conn:
        request = ratify_mod.prepare(conn, settings, proposal_id, approver, approval_id, statement)
    approve_mod.require_evidence(
        request, settings, signed=signer is not None, through_api=directus is not None
    )
    sign = approve_mod.signing_function(settings, signer, request.principal)
    typed = confirm(request)
    if directus is not None:
        approve_mod.create_through_directus(directus, request, typed, interactive=interactive)
        try:
            with _session(settings, lock=True) as conn:
                return approve_mod.after_directus(conn, request, sign)
        except BaseException:
            if sign is not None:  # nothing half-made: the unsigned approval goes too
                directus.delete(s.approvals.name, request.approval_id)
            raise
    with _session(settings, lock=True) as conn:
        again = ratify_mod.prepare(
            conn, settings, proposal_id, approver, request.approval_id, request.statement
        )
        if again.proposal.sha256 != request.proposal.sha256:
            raise Refused(
                "the proposal changed while you read it; nothing was approved",
                hint="run `govgate ratify` again and read the new summary",
            )
        return approve_mod.record(conn, again, typed, interactive=interactive, sign=sign)


def approval_payload(
    settings: Settings, approval_id: str, approver: str
) -> approve_mod.PayloadOffer:
    """The payload a person signs with a passkey to approve the current proposal (reads only)."""
    from .runbook import approve as approve_mod

    with _session(settings, Mode.READ) as conn:
        return approve_mod.payload_offer(conn, settings, approval_id, approver)


def passkeys(settings: Settings, rp_id: str | None = None) -> passkeys_mod.PasskeyList:
    """The passkeys registered in the Directus app, each with its allowed_signers line."""
    from .ops import passkeys as passkeys_mod

    host = passkeys_mod.relying_party(settings, rp_id)
    with _session(settings, Mode.READ) as conn:
        return passkeys_mod.registered(conn, host)


# -- the agent's commands ------------------------------------------------------------


def apply(
    settings: Settings,
    *,
    dry_run: bool = False,
    hook: apply_mod.StepHook | None = None,
    actor: str | None = None,
) -> apply_mod.RolloutResult:
    """Run the ratified rollout through the agent's connection, contained by the kernel where
    `[agent] containment` says (see runbook.contained, runbook.apply). ACTOR is who is
    recorded as applying it: a person at the command line, else the agent.
    """
    from .runbook import contained

    return contained.apply(settings, dry_run=dry_run, hook=hook, actor=actor)


def rollback(
    settings: Settings,
    *,
    hook: apply_mod.StepHook | None = None,
    actor: str | None = None,
    **options,
) -> rollback_mod.RollbackResult:
    """Undo a rollout in effect, recorded as ACTOR (default the agent). OPTIONS: `force`,
    `rollout_id`, `proposal_id` (which one; default the latest), `dry_run`, and `confirm` with
    `interactive` (a person is shown a dry run first): see runbook.rollback."""
    from .runbook import rollback as rollback_mod

    with Database(settings.agent_url) as db:
        return rollback_mod.rollback(db, settings, hook=hook, actor=actor, **options)


def verify(settings: Settings, rollout_id: str | None = None) -> VerifyResult:
    """Re-run the post-conditions of ROLLOUT_ID (default: the current one) on committed state."""
    with _session(settings, Mode.READ, agent=True) as conn:
        return verify_rollout(conn, rollout_id)


def report(settings: Settings, rollout_id: str | None = None) -> Report:
    """The report of ROLLOUT_ID (default: the most recent rollout). Refused when there is none."""
    from .runbook.report import load_report

    with _session(settings, Mode.READ) as conn:
        return load_report(conn, rollout_id)


def doctor(settings: Settings) -> doctor_mod.DoctorResult:
    """Connectivity, schema version, and what the agent's credentials can and cannot write."""
    from .ops import doctor as doctor_mod

    return doctor_mod.run(settings)


def rehearse(
    settings: Settings,
    plan_path: str | None = None,
    *,
    hook: apply_mod.StepHook | None = None,
    progress: rehearse_mod.Progress | None = None,
) -> rehearse_mod.RehearsalResult:
    """The whole runbook on a fresh copy of production; production is only read."""
    from .ops import rehearse as rehearse_mod

    return rehearse_mod.rehearse(settings, plan_path, hook=hook, progress=progress)


# -- the Directus extension -----------------------------------------------------------


def directus_extension(folder: str) -> bundle_mod.InstallResult:
    """Install govgate's Directus extension bundle into FOLDER (Directus's EXTENSIONS_PATH) as
    FOLDER/govgate/, replacing a previous one whole; BadInput when FOLDER is not a folder."""
    from .directus import bundle as bundle_mod

    return bundle_mod.install(folder)
