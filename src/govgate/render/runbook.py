"""Text and JSON for the runbook's results: the verdict, gap, proposal, rollout, report.

Registered by class name (see `render`): importing this module imports no command.
"""

from __future__ import annotations

from rich.text import Text

from ..runbook.verdict import Status
from . import renders, styled, to_jsonable

_COLOUR = {
    Status.BLOCKED: "bold red",
    Status.READY: "bold yellow",
    Status.APPLIED: "bold green",
    Status.DRIFTED: "bold magenta",
}


@renders("govgate.runbook.verdict.GateVerdict", as_json=True)
def _verdict_json(v) -> dict:
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
        **({"agent": to_jsonable(v.agent)} if v.agent is not None else {}),
        **({"containment": _containment_json(v.containment)} if v.containment else {}),
    }


def _containment_json(c) -> dict:
    keys = ("setting", "abi", "contained", "refuses", "reason", "words")
    return {key: getattr(c, key) for key in keys}


@renders("govgate.db.state.Slot", as_json=True)
def _slot_json(x) -> dict:
    return {"collection": x.collection, "duty": x.duty, "authority": x.authority}


@renders("govgate.runbook.report.Report", as_json=True)
def _report_json(r) -> dict:
    return r.data


@renders("govgate.runbook.verdict.GateVerdict")
def _gate_verdict(v, why: bool = False, **_) -> list[str]:
    lines: list = [Text(v.status.value, style=_COLOUR[v.status])]
    if not why:
        return lines
    lines.append(f"proposal: {v.proposal_id or 'none'}   gap: {v.gap}")
    lines += [line for r in v.reasons for line in (f"  • {r.message}", f"    → {r.fix}")]
    if v.status is Status.READY:
        pairs = zip(v.approval_ids or (v.approval_id,), v.approvers or ("",), strict=False)
        made = " and ".join(f"approval {a}" + (f" by {p}" if p else "") for a, p in pairs)
        lines.append(f"  {made}: in place, and production is exactly as expected")
    if v.status is Status.APPLIED:
        lines.append(f"  rollout {v.rollout_id} is in place and verifies green")
    lines += [f"  note: {n}" for n in v.notes]
    if v.agent is not None:
        lines.append(f"  agent: {v.agent.words}")
        if v.status is Status.READY and not v.agent.alive:
            lines.append("  note: nothing runs the rollout until an agent is started")
            lines.append("    → `govgate agent`, or `systemctl start govgate-agent`")
    if v.containment is not None:
        lines.append(f"  {v.containment.words}")
    return lines


@renders("govgate.runbook.gap.GapReport")
def _gap_report(r, **_) -> list[str]:
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


@renders("govgate.runbook.proposal.ProposeResult")
def _propose_result(r, **_) -> list[str]:
    p = r.proposal
    head = "frozen" if r.created else "already frozen, identical: nothing changed"
    return [
        f"proposal {p.id} {head}",
        *p.describe(),
        f"approval id to ratify it: {p.approval_id}",
        f"proposal hash (SHA-256): {p.sha256}",
    ]


@renders("govgate.runbook.verify.VerifyResult")
def _verify_result(r, **_) -> list[str]:
    if not r.checks:
        return ["nothing to verify: no rollout is in effect"]
    rest = f": rollout {r.rollout_id} of proposal {r.proposal_id}"
    return [
        styled("all green", "green", rest) if r.ok else styled("verification FAILED", "red", rest),
        *[f"  {'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in r.checks],
    ]


@renders("govgate.runbook.apply.RolloutResult")
def _rollout_result(r, **_) -> list[str]:
    head = (
        styled("DRY RUN", "yellow", f": everything ran and was rolled back: rollout {r.rollout_id}")
        if r.dry_run
        else styled("applied", "green", f": rollout {r.rollout_id}")
    )
    from ..runbook.report import sentences

    return [head, *sentences(r.report)]


@renders("govgate.runbook.rollback.RollbackResult")
def _rollback_result(r, asking: bool = False, **_) -> list:
    """A rollback done, or (dry run) what it would do: ASKING, as the question's preface."""
    which = f"rollout {r.rollout_id} of proposal {r.proposal_id}" + (
        " (forced)" if r.forced else ""
    )
    would = "would " if r.dry_run else ""
    if asking:
        lines: list = [styled("rollback", "bold", f" of {which} removes:")]
    elif r.dry_run:
        lines = [styled("DRY RUN", "yellow", f": nothing was removed; rolling back {which}:")]
    else:
        lines = [styled("rolled back", "green", f" {which}")]
    lines.append(
        f"  {'' if r.dry_run else 'removed '}{r.records_removed} accountability records"
        + (":" if r.dry_run and r.records_by_authority else "")
    )
    if r.dry_run:
        lines += [f"    {a:<28} {n:>5}" for a, n in r.records_by_authority.items()]
    objects = [_object_words(o) for o in r.objects_removed]
    lines.append(
        f"  {'' if r.dry_run else 'removed '}{len(objects)} dashboard objects"
        + (": " + ", ".join(objects) if objects else "")
    )
    lines.append(f"  ownership gap {would}{'return' if would else 'is back'} to {r.gap_after}")
    if r.restored:
        lines.append(
            f"  proven: the fingerprint {would}equal{'' if would else 's'} the pre-rollout one "
            f"({r.fingerprint[:16]}…)"
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
    if r.dry_run and not asking:
        lines.append("  to do it: `govgate rollback` (asks first; --yes in scripts)")
    return lines


def _object_words(obj: dict) -> str:
    kind, name = obj.get("kind", "object"), obj.get("name") or obj.get("id") or "?"
    panels = obj.get("panels")
    return f"{kind} {name}" + (f" with {len(panels)} panels" if panels else "")


@renders("govgate.runbook.report.Report")
def _report(r, **_) -> list[str]:
    from ..runbook.report import sentences

    return sentences(r.data)


@renders("govgate.runbook.ratify.RatifyResult")
def _ratify_result(r, **_) -> list[str]:
    lines = [
        styled("ratified", "green", f": approval {r.approval_id} for proposal {r.proposal_id}"),
        f"  hash {r.proposal_sha256}",
        f"  approved by {r.approver or r.approved_by} at {r.approved_at}",
    ]
    if r.not_after:
        lines.append(f"  valid until {r.not_after}")
    lines.append("  signed: the signature is stored beside it" if r.signed else "  not signed")
    return lines
