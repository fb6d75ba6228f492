"""The one rendering path: library values to text (Rich markup) or JSON.

`to_jsonable` turns any result into plain data; `text_lines` turns it into the
lines a person reads. Colour is Rich's to decide: only on a terminal.

Data is shown, never obeyed: every line `text_lines` returns passes `text.escape`, which
writes control, bidi and invisible formatting characters as visible escapes. The lines'
own wording holds no such character (each line is one line: a reason and its fix are
two), so what gets escaped is always data: a title, a name, an actor. `to_json` writes
the same characters as `\\u` escapes.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from functools import cached_property, singledispatch

from rich.text import Span, Text

from .db import anchor, audit
from .ops import doctor, passkeys, rehearse
from .ops import init as setup
from .ops import upgrade as upgrade_mod
from .ops.demo import DemoResult
from .runbook import apply as rollout
from .runbook import gap, gate, proposal, ratify, verify
from .runbook import rollback as rollback_mod
from .runbook.report import Report, sentences
from .text import escape, json_safe


def to_jsonable(value):
    """Plain JSON data for any result: dataclasses, enums, tuples, dicts."""
    if isinstance(value, gate.GateVerdict):
        return _verdict_json(value)
    if isinstance(value, Report):
        return value.data
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for extra in ("sha256", "ok", "failures", "failed_step", "production_untouched"):
            if isinstance(getattr(type(value), extra, None), (property, cached_property)):
                data[extra] = to_jsonable(getattr(value, extra))
        return data
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def to_json(value) -> str:
    return json_safe(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def _verdict_json(v: gate.GateVerdict) -> dict:
    return {
        "status": v.status.value,
        "gap": v.gap,
        "proposal": v.proposal_id,
        "proposal_sha256": v.proposal_sha256,
        "fingerprint": v.fingerprint,
        "approval": v.approval_id,
        "approvals": list(v.approval_ids),
        "approvers": list(v.approvers),
        "rollout": v.rollout_id,
        "reasons": [{"code": r.code, "message": r.message, "fix": r.fix} for r in v.reasons],
        "notes": list(v.notes),
    }


def styled(word: str, style: str, rest: str = "") -> Text:
    """A line whose first words are coloured (on a terminal); data is never markup."""
    return Text.assemble((word, style), rest)


_COLOUR = {
    gate.Status.BLOCKED: "bold red",
    gate.Status.READY: "bold yellow",
    gate.Status.APPLIED: "bold green",
    gate.Status.DRIFTED: "bold magenta",
}


def text_lines(value, **opts) -> list:
    """The lines a person reads for VALUE (str or Rich Text), every one escaped."""
    return [_safe(line) for line in _lines(value, **opts)]


def _safe(line):
    """LINE with `text.escape` applied; a Rich Text keeps its styles."""
    if not isinstance(line, Text):
        return escape(line)
    if line.plain.isprintable():
        return line
    cuts = sorted({0, len(line), *(i for span in line.spans for i in (span.start, span.end))})
    out = Text(style=line.style, end=line.end)
    for start, end in zip(cuts, cuts[1:], strict=False):
        piece = line[start:end]  # its spans cover all of it
        shown = escape(piece.plain)
        out.append_text(Text(shown, spans=[Span(0, len(shown), x.style) for x in piece.spans]))
    return out


@singledispatch
def _lines(value, **opts) -> list:
    return [str(value)]


@_lines.register
def _(v: gate.GateVerdict, why: bool = False, **_) -> list[str]:
    lines: list = [Text(v.status.value, style=_COLOUR[v.status])]
    if not why:
        return lines
    lines.append(f"proposal: {v.proposal_id or 'none'}   gap: {v.gap}")
    lines += [line for r in v.reasons for line in (f"  • {r.message}", f"    → {r.fix}")]
    if v.status is gate.Status.READY:
        pairs = zip(v.approval_ids or (v.approval_id,), v.approvers or ("",), strict=False)
        made = " and ".join(f"approval {a}" + (f" by {p}" if p else "") for a, p in pairs)
        lines.append(f"  {made}: in place, and production is exactly as expected")
    if v.status is gate.Status.APPLIED:
        lines.append(f"  rollout {v.rollout_id} is in place and verifies green")
    lines += [f"  note: {n}" for n in v.notes]
    return lines


@_lines.register
def _(r: gap.GapReport, **_) -> list[str]:
    lines = [
        f"ownership gap: {r.total} of {r.slots} slots uncovered"
        + (f" (proposal {r.proposal_id})" if r.proposal_id else "")
    ]
    if r.by_authority:
        lines.append("by authority (who the proposal gives them to):")
        lines += [f"  {a:<28} {n:>4}" for a, n in r.by_authority.items()]
    if r.by_domain:
        lines.append("by domain:")
        lines += [f"  {d:<28} {n:>4}" for d, n in r.by_domain.items()]
    if r.by_collection:
        lines.append("by collection:")
        lines += [f"  {c:<28} {len(d):>4}  {', '.join(d)}" for c, d in r.by_collection.items()]
    lines.append(
        "held today by authority: " + ", ".join(f"{a} {n}" for a, n in r.held_by_authority.items())
    )
    return lines


@_lines.register
def _(r: proposal.ProposeResult, **_) -> list[str]:
    p = r.proposal
    head = "frozen" if r.created else "already frozen, identical: nothing changed"
    return [
        f"proposal {p.id} {head}",
        *p.describe(),
        f"approval id to ratify it: {p.approval_id}",
        f"proposal hash (SHA-256): {p.sha256}",
    ]


@_lines.register
def _(r: DemoResult, **_) -> list[str]:
    return [
        f"demo built at {r.url}",
        f"  {r.governed} governed collections, {r.protected} protected collections, "
        f"{r.sample_rows} sample rows",
        f"  proposal {r.proposal.id} frozen: {len(r.proposal.slots)} slots, "
        f"gap {r.proposal.gap_before} → {r.proposal.predicted_gap}",
        f"  hash {r.proposal.sha256}",
        *(f"  wrote {f}" for f in r.files),
        *(f"  left {f} as it was (not the demo's)" for f in r.kept),
    ]


@_lines.register
def _(r: passkeys.PasskeyList, **_) -> list[str]:
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


@_lines.register
def _(r: setup.InitResult, **_) -> list[str]:
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


@_lines.register
def _(r: upgrade_mod.UpgradeResult, **_) -> list[str]:
    if not r.changed:
        return [f"govgate's tables are at revision {r.after} already: nothing to do"]
    return [
        styled("upgraded", "green", f": govgate's tables from revision {r.before} to {r.after}")
    ]


@_lines.register
def _(r: audit.ChainCheck, **_) -> list[str]:
    if r.ok:
        return [styled("audit chain intact", "green", f": {r.rows} rows")]
    return [styled("audit chain BROKEN", "red", f": {r.problem}")]


@_lines.register
def _(r: audit.AnchoredCheck, **_) -> list[str]:
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


@_lines.register
def _(r: anchor.ExportResult, **_) -> list[str]:
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


@_lines.register(list)
def _(items: list, **opts) -> list[str]:
    return [line for item in items for line in _lines(item, **opts)]


@_lines.register
def _(e: audit.AuditEvent, **_) -> list[str]:
    refs = " ".join(x for x in (e.proposal_id, e.rollout_id) if x)
    return [f"#{e.seq:<4} {e.at[:19]}  {e.kind:<12} {e.actor:<20} {refs}  {json.dumps(e.detail)}"]


@_lines.register
def _(r: verify.VerifyResult, **_) -> list[str]:
    if not r.checks:
        return ["nothing to verify: no rollout is in effect"]
    rest = f": rollout {r.rollout_id} of proposal {r.proposal_id}"
    return [
        styled("all green", "green", rest) if r.ok else styled("verification FAILED", "red", rest),
        *[f"  {'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in r.checks],
    ]


@_lines.register
def _(r: rollout.RolloutResult, **_) -> list[str]:
    head = (
        styled("DRY RUN", "yellow", f": everything ran and was rolled back: rollout {r.rollout_id}")
        if r.dry_run
        else styled("applied", "green", f": rollout {r.rollout_id}")
    )
    return [head, *sentences(r.report)]


@_lines.register
def _(r: rollback_mod.RollbackResult, **_) -> list[str]:
    lines: list = [
        styled(
            "rolled back",
            "green",
            f" rollout {r.rollout_id} of proposal {r.proposal_id}"
            + (" (forced)" if r.forced else ""),
        ),
        f"  removed {r.records_removed} accountability records and "
        f"{len(r.objects_removed)} dashboard objects",
        f"  ownership gap is back to {r.gap_after}",
    ]
    if r.restored:
        lines.append(
            f"  proven: the fingerprint equals the pre-rollout one ({r.fingerprint[:16]}…)"
        )
    else:
        lines.append(
            styled(
                "  the fingerprint differs from the pre-rollout one",
                "red",
                f": {r.fingerprint[:16]}… vs {r.pre_fingerprint[:16]}…",
            )
        )
    lines += [f"  • {d}" for d in r.differences]
    return lines


@_lines.register
def _(r: Report, **_) -> list[str]:
    return sentences(r.data)


@_lines.register
def _(r: ratify.RatifyResult, **_) -> list[str]:
    lines = [
        styled("ratified", "green", f": approval {r.approval_id} for proposal {r.proposal_id}"),
        f"  hash {r.proposal_sha256}",
        f"  approved by {r.approver or r.approved_by} at {r.approved_at}",
    ]
    if r.not_after:
        lines.append(f"  valid until {r.not_after}")
    lines.append("  signed: the signature is stored beside it" if r.signed else "  not signed")
    return lines


@_lines.register
def _(r: doctor.DoctorResult, **_) -> list[str]:
    def word(f):
        return ("warn", "yellow") if f.warning else ("ok  ", "green") if f.ok else ("FAIL", "red")

    return [styled(*word(f), f" {f.name}: {f.detail}") for f in r.findings]


@_lines.register
def _(r: rehearse.RehearsalResult, **_) -> list[str]:
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
