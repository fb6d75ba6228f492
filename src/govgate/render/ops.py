"""Text for the operations' results: demo, init, upgrade, audit, doctor, rehearsal, passkeys.

Registered by class name (see `render`): importing this module imports no command.
"""

from __future__ import annotations

import json
import os
import shlex

from .registry import renders, styled


@renders("govgate.ops.demo.DemoResult")
def _demo_result(r, prog: str = "govgate", **_) -> list[str]:
    return [
        f"demo built at {r.url}",
        f"  {r.governed} governed collections, {r.protected} protected collections, "
        f"{r.sample_rows} sample rows",
        f"  proposal {r.proposal.id} frozen: {len(r.proposal.slots)} slots, "
        f"gap {r.proposal.gap_before} → {r.proposal.predicted_gap}",
        f"  hash {r.proposal.sha256}",
        *(f"  wrote {f}" for f in r.files),
        *(f"  left {f} as it was (not the demo's)" for f in r.kept),
        *demo_next_steps(r, prog),
    ]


def demo_next_steps(r, prog: str = "govgate") -> list[str]:
    """The commands that go on with the demo, exactly (PROG: how govgate is run here): the
    demo's approver ratifies with the key the demo wrote, then apply, report, rollback."""
    from ..ops.demo_files import APPROVER, KEY_NAME

    key = next((f for f in r.files if os.path.basename(f) == KEY_NAME), None)
    if key is None:  # no key written (a server database, or files that were not the demo's)
        return []
    folder = os.path.dirname(key)
    go = ""
    if folder and os.path.abspath(folder) != os.getcwd():  # its govgate.toml is there
        go = f"cd {shlex.quote(folder)} && "
        prog = os.path.abspath(prog) if os.sep in prog else prog
    return [
        f"next, as the demo's approver {APPROVER} with its key {KEY_NAME} "
        "(type the approval id when asked):",
        f"  {go}{prog} ratify {r.proposal.id} --as {APPROVER} --sign-key {os.path.basename(key)}",
        f"  {prog} apply && {prog} report && {prog} rollback",
    ]


@renders("govgate.ops.passkeys.PasskeyList")
def _passkey_list(r, **_) -> list[str]:
    if not r.passkeys:
        return [f"no passkey is registered (relying party {r.rp_id})"]
    lines = [
        f"{len(r.passkeys)} passkeys registered for {r.rp_id}; after checking each with its "
        "person, copy its line into the allowed_signers file:"
    ]
    for k in r.passkeys:
        lines.append(f"  {k.person}, registered {k.registered_at or 'at an unknown time'}:")
        lines.append(f"    {k.line}" if k.line else f"    cannot be trusted: {k.problem}")
    return lines


@renders("govgate.ops.init.InitResult")
def _init_result(r, **_) -> list[str]:
    lines = [f"schema version {r.schema_version}"]
    lines.append("created tables: " + (", ".join(r.created_tables) or "none (all present)"))
    if r.created_settings:
        lines.append("created settings: " + ", ".join(r.created_settings))
    how = {"api": "through its REST API", "sql": "with SQL"}.get(r.registered_via)
    if r.directus_registered:
        via = f" ({how})" if how else ""
        lines.append(f"registered in Directus{via}: " + ", ".join(r.directus_registered))
    elif r.registered_via == "api":
        lines.append(f"Directus: nothing left to register (checked {how})")
    if r.directus_cache:
        lines.append("Directus schema cache: " + r.directus_cache)
    if r.roles:
        lines.append("roles: " + ", ".join(r.roles) + " (NOLOGIN: GRANT them to the login users)")
    return lines


@renders("govgate.ops.upgrade.UpgradeResult")
def _upgrade_result(r, **_) -> list[str]:
    if not r.changed:
        return [f"govgate's tables are at revision {r.after} already: nothing to do"]
    return [
        styled("upgraded", "green", f": govgate's tables from revision {r.before} to {r.after}")
    ]


@renders("govgate.db.audit.ChainCheck")
def _chain_check(r, **_) -> list[str]:
    if r.ok:
        return [styled("audit chain intact", "green", f": {r.rows} rows")]
    return [styled("audit chain BROKEN", "red", f": {r.problem}")]


@renders("govgate.db.audit.AnchoredCheck")
def _anchored_check(r, **_) -> list[str]:
    cp = r.checkpoint
    seen = f"the checkpoint of {cp.at} (row {cp.seq}, {cp.source})" if cp else "no checkpoint"
    if not r.ok:
        return [styled("audit chain BROKEN", "red", f": {r.problem}"), f"  checked against {seen}"]
    anchored = (
        f"  anchored: row {cp.seq} still has the hash recorded by {seen}"
        if cp and cp.seq
        else f"  anchored: {seen} saw an empty trail"
    )
    return [styled("audit chain intact", "green", f": {r.rows} rows"), anchored]


@renders("govgate.db.anchor.ExportResult")
def _export_result(r, **_) -> list[str]:
    replaced = " (replacing the previous export)" if r.replaced else ""
    lines: list = [
        styled("exported", "green", f": {r.rows} audit rows to {r.folder}{replaced}"),
        f"  head: row {r.head_seq}, hash {r.head_hash}",
        f"  database id: {r.database_id or 'none'}; exported at {r.exported_at}",
        f"  audit.jsonl SHA-256: {r.audit_jsonl_sha256}",
        "  keep head.json where the database's owners cannot change it; check with "
        f"`govgate audit verify --checkpoint {r.folder}/head.json`",
    ]
    if r.signatures:
        lines.append(
            f"  {r.signatures} signed approvals as <approval-id>.json and .sig"
            + (
                ", with allowed_signers: anyone checks one with `ssh-keygen -Y verify -f "
                "allowed_signers -I <approver> -n govgate-approval -s <id>.sig < <id>.json`"
                if r.allowed_signers
                else " (no [approvals] allowed_signers configured: none copied)"
            )
        )
    if not r.chain.ok:
        lines.append(styled("  the chain is BROKEN", "red", f": {r.chain.problem}"))
    return lines


@renders("govgate.db.audit.AuditEvent")
def _audit_event(e, **_) -> list[str]:
    refs = " ".join(x for x in (e.proposal_id, e.rollout_id) if x)
    return [f"#{e.seq:<4} {e.at[:19]}  {e.kind:<12} {e.actor:<20} {refs}  {json.dumps(e.detail)}"]


@renders("govgate.ops.doctor.DoctorResult")
def _doctor_result(r, **_) -> list[str]:
    def word(f):
        return ("warn", "yellow") if f.warning else ("ok  ", "green") if f.ok else ("FAIL", "red")

    return [styled(*word(f), f" {f.name}: {f.detail}") for f in r.findings]


@renders("govgate.ops.rehearse.RehearsalResult")
def _rehearsal_result(r, **_) -> list[str]:
    head = (
        styled("rehearsal passed", "green", f": proposal {r.proposal_id}")
        if r.ok
        else styled("rehearsal FAILED", "red", f" at step '{r.failed_step or 'production check'}'")
    )
    lines: list = [head]
    lines += [
        f"  {'✓' if x.ok else '✗'} {x.name:<9} {x.duration_ms:>6} ms  {x.detail}" for x in r.steps
    ]
    lines += [f"  differs: {d}" for d in r.differences]
    untouched = (
        "production untouched"
        if r.production_untouched
        else "PRODUCTION CHANGED during the rehearsal"
    )
    lines.append(
        f"{untouched}: fingerprint {r.production_fingerprint_before[:16]}… before, "
        f"{r.production_fingerprint_after[:16]}… after; row counts "
        f"{'equal' if r.production_counts_equal else 'differ'}"
    )
    if r.predicted_gap_after is not None:
        lines.append(
            f"predicted end state: gap {r.predicted_gap_after}, {r.predicted_records} records, "
            f"objects: {', '.join(r.predicted_objects) or 'none'}"
        )
    lines.append(f"the copy ({r.copy}) was {'dropped' if r.copy_dropped else 'NOT dropped'}")
    return lines
