"""What each page shows, as plain values built from the library's results.

Everything here is a pure function of `govgate.api` results except
`current_proposal`, the one read the library has no public call for yet: it
reads the current proposal through the library's own read-only session.
Nothing here writes, prints or renders HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .. import api
from ..db.audit import AuditEvent, ChainCheck
from ..runbook import proposal as prop
from ..runbook.gate import GateVerdict, Status
from ..runbook.report import Report, sentences

# The fields of /status.json whose change makes an open page reload itself.
WATCHED_STATUS_FIELDS = ("status", "gap", "fingerprint", "approval", "rollout", "agent.alive")
# The fields of /audit.json?limit=1 the audit page also watches.
WATCHED_AUDIT_FIELDS = ("chain.ok", "chain.rows")

HEADLINES = {
    Status.BLOCKED: (
        "Nothing can run yet. Every reason is listed below, each with what would clear it."
    ),
    Status.READY: (
        "Approved, and production is exactly as expected: the agent will run the rollout."
    ),
    Status.APPLIED: "The rollout is in place and verifies green.",
    Status.DRIFTED: (
        "The rollout is in place, but its records were changed since: each change is listed below."
    ),
}


# READY, but no agent was seen lately: the page must not promise that one will run it.
READY_WITHOUT_AGENT = (
    "Approved, and production is exactly as expected, but no agent was seen lately: "
    "nothing runs the rollout until one is started."
)


def headline(verdict: GateVerdict) -> str:
    """The sentence under the word; READY promises the agent only when one was seen lately."""
    agent = verdict.agent
    if verdict.status is Status.READY and agent is not None and not agent.alive:
        return READY_WITHOUT_AGENT
    return HEADLINES[verdict.status]


def current_proposal(settings) -> prop.Proposal | None:
    """The proposal the gate is about (the most recently frozen one), or None."""
    return api.proposal(settings)


@dataclass(frozen=True)
class AuthorityChange:
    """One authority's part of a proposal: collection -> the duties it takes."""

    authority: str
    slots: int
    collections: dict[str, list[str]]


@dataclass(frozen=True)
class ProposalView:
    """What approving the current proposal changes, authority by authority."""

    proposal: prop.Proposal | None
    status: str | None  # the gate's word for it, when known
    in_place: bool  # APPLIED: these records exist now
    duties: list[str]  # every duty the proposal touches, in order
    authorities: list[AuthorityChange]


def proposal_view(
    proposal: prop.Proposal | None, verdict: GateVerdict | None = None
) -> ProposalView:
    """PROPOSAL broken down authority → collection → duty (empty when there is none)."""
    status = (
        verdict.status
        if verdict is not None and proposal is not None and verdict.proposal_id == proposal.id
        else None
    )
    if proposal is None:
        return ProposalView(None, None, False, [], [])
    duties = list(dict.fromkeys(slot.duty for slot in proposal.slots))
    authorities = [
        AuthorityChange(a, sum(map(len, cols.values())), cols)
        for a, cols in proposal.by_authority().items()
    ]
    return ProposalView(
        proposal, status.value if status else None, status is Status.APPLIED, duties, authorities
    )


def report_sentences(report: Report) -> list[str]:
    """The report in plain words, as `govgate report` prints it."""
    return sentences(report.data)


@dataclass(frozen=True)
class AuditView:
    chain: ChainCheck
    events: list[AuditEvent]
    limit: int | None
    people: dict[str, str] = field(default_factory=dict)  # actor -> "Name <e-mail>"

    def who(self, actor: str) -> str:
        """The actor as people read it: name and e-mail where Directus knows them."""
        return self.people.get(actor, actor)


def audit_view(
    chain: ChainCheck,
    events: list[AuditEvent],
    limit: int | None,
    people: dict[str, str] | None = None,
) -> AuditView:
    return AuditView(chain, list(events), limit, dict(people or {}))


def people(settings, events: list[AuditEvent]) -> dict[str, str]:
    """The events' actors that are Directus users (a UUID or an e-mail), by name and e-mail."""
    return api.people(settings, {e.actor for e in events})


def pick(data, path: str):
    """The value at a dotted PATH of JSON DATA ("chain.rows"), or None."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.lstrip("-").isdigit() and data:
            data = data[int(part)] if -len(data) <= int(part) < len(data) else None
        else:
            return None
    return data


def watch_value(data, fields) -> str:
    """The value the page's refresh script compares: JSON of the watched fields.

    Equal to `JSON.stringify(fields.map(f => pick(data, f)))` in the browser.
    """
    return json.dumps([pick(data, f) for f in fields], ensure_ascii=False, separators=(",", ":"))
