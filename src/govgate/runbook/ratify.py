"""Ratification, the human path: what a person is asked to approve (`approve` writes it).

`prepare` refuses the agent's identity and the proposal's own author (four eyes), and
builds the request: what is being approved, by whom, valid how long. The human then types
the approval id; nothing is written without an interactive terminal.

What it shows starts with the totals, in a bounded number of lines whatever the size of
the proposal; the collection-by-collection list follows only when it is short (or asked
for). Every line is escaped (`text.escape`): a title or a name cannot move the cursor,
clear the screen or reverse the text the human reads before typing the id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import evidence
from ..db import schema as s
from ..directus import identity
from ..errors import BadInput, Refused
from ..text import escape
from . import proposal as prop
from .approval import agent_identities, proposer_of, same_person
from .evidence import person

SHORT_LIST = 40  # the collection-by-collection list is shown whole up to this many lines
MAX_AUTHORITY_LINES = 20  # the totals name at most this many authorities one by one


@dataclass(frozen=True)
class RatificationRequest:
    """What the human is asked to approve."""

    proposal: prop.Proposal
    approval_id: str
    approver: str  # as recorded in approved_by
    approver_label: str  # as shown to the human
    statement: str
    directus: bool
    principal: str = ""  # the name a signature gives the approver: their e-mail, else --as
    valid_days: int = 14
    database_id: str = ""

    def not_after(self, approved_at: datetime) -> datetime:
        return approved_at + timedelta(days=self.valid_days)

    def summary(self) -> list[str]:
        """The totals: slots, authorities, collections per authority, the gap before → after."""
        p = self.proposal
        by_authority = p.by_authority()
        collections = {c for cols in by_authority.values() for c in cols}
        lines = [
            f"Proposal {p.id}: {p.title}",
            f"Approving it makes {len(by_authority)} authorities accountable for "
            f"{len(p.slots)} slots in {len(collections)} collections; the ownership gap "
            f"goes from {p.gap_before} to {p.predicted_gap}.",
        ]
        for n, (authority, cols) in enumerate(by_authority.items()):
            if n == MAX_AUTHORITY_LINES:
                lines.append(f"  … and {len(by_authority) - n} more authorities (see --full)")
                break
            lines.append(
                f"  {authority} becomes accountable for {sum(map(len, cols.values()))} "
                f"slots in {len(cols)} collections"
            )
        a = p.approvals
        if a.required > 1 or a.from_:
            who = f" from {', '.join(a.from_)}" if a.from_ else ""
            lines.append(f"It needs approvals of {a.required} distinct people{who}.")
        return [
            *lines,
            f"Proposal hash: {p.sha256}",
            f"Approver: {self.approver_label}",
            f"Valid for {self.valid_days} days after approval.",
            f"Statement: {self.statement}",
        ]

    def details(self) -> list[str]:
        """Authority by authority, collection by collection: each collection's duties."""
        lines = []
        for authority, cols in self.proposal.by_authority().items():
            lines.append(f"{authority}, collection by collection:")
            lines += [f"  {c}: {', '.join(d)}" for c, d in cols.items()]
        return lines

    def is_long(self) -> bool:
        """True when the collection-by-collection list is too long to show before the prompt."""
        return len(self.details()) > SHORT_LIST

    def lines(self, full: bool = False, paged: bool = False) -> list[str]:
        """What the human reads before typing, escaped: the totals first, then the list.

        The list is shown whole when it is short or FULL; otherwise one line says how much
        more there is: in the pager (PAGED, the front end shows `details()` there) or with
        `--full`. Without FULL the lines are bounded whatever the size of the proposal.
        """
        details = self.details()
        if full or len(details) <= SHORT_LIST:
            shown = details
        elif paged:
            shown = [f"{len(details)} more lines: shown in your pager, every collection"]
        else:
            shown = [f"{len(details)} more lines: run with --full to see every collection"]
        ask = f"To approve, type the approval id: {self.approval_id}"
        return [escape(line) for line in (*self.summary(), *shown, ask)]


@dataclass(frozen=True)
class RatifyResult:
    approval_id: str
    proposal_id: str
    proposal_sha256: str
    approved_by: str
    approved_at: str
    signed: bool = False
    approver: str = ""  # the person, as people read it
    not_after: str = ""


Confirm = Callable[[RatificationRequest], str]


def prepare(
    conn: Connection,
    settings: Settings,
    proposal_id: str,
    approver: str,
    approval_id: str | None = None,
    statement: str | None = None,
) -> RatificationRequest:
    """Check that APPROVER may ratify PROPOSAL_ID and build the request.

    Raises Refused for the agent's identity or an unknown proposal, BadInput for
    an unknown Directus user or an approval id that is taken.
    """
    proposal = prop.load(conn, proposal_id)
    if proposal is None:
        raise BadInput(
            f"there is no proposal {proposal_id}", hint="`govgate status` names the current one"
        )
    directus = identity.in_use(conn, settings)
    agent_ids = agent_identities(conn, settings, directus)
    refusal = Refused(
        f"'{approver}' is the agent's identity; the agent can never ratify",
        hint="a human runs `govgate ratify` under their own name",
    )
    if approver in agent_ids:  # before any lookup: the agent is refused as the agent
        raise refusal
    recorded, label, principal = approver, approver, approver
    if directus:
        found = identity.person(conn, approver)
        if found is None:
            raise BadInput(
                f"'{approver}' is not a Directus user of this database",
                hint="pass --as with your Directus e-mail address",
            )
        recorded, label, principal = (
            found.id,
            f"{found.label} (Directus user {found.id})",
            (found.email or found.id),
        )
    if recorded in agent_ids:
        raise refusal
    proposer = proposer_of(conn, proposal.id, directus)
    if proposer is not None and same_person(proposer, person(conn, recorded, directus)):
        raise Refused(
            f"{approver} froze proposal {proposal.id}; whoever proposes a change cannot also "
            "approve it (four eyes)",
            hint="another person ratifies it",
        )
    approval_id = approval_id or _free_approval_id(conn, proposal.approval_id)
    if _approval_exists(conn, approval_id):
        raise BadInput(
            f"approval id {approval_id} is taken", hint="choose another with --approval-id"
        )
    statement = statement or (
        f"I ratify proposal {proposal.id} ({proposal.title}) with hash "
        f"{proposal.sha256}: the authorities named in it become accountable "
        "for exactly these collections and duties."
    )
    return RatificationRequest(
        proposal,
        approval_id,
        recorded,
        label,
        statement,
        directus,
        principal,
        proposal.approvals.valid_days or settings.approval_valid_days,
        evidence.database_id(conn) or "",
    )


def require_terminal(interactive: bool) -> None:
    """Raises Refused unless a person sits at an interactive terminal."""
    if not interactive:
        raise Refused(
            "ratification needs a person at an interactive terminal; nothing was written",
            hint="run `govgate ratify` yourself in a terminal, or approve in the Directus app",
        )


def _approval_exists(conn: Connection, approval_id: str) -> bool:
    return (
        conn.execute(sa.select(s.approvals.c.id).where(s.approvals.c.id == approval_id)).first()
        is not None
    )


def _free_approval_id(conn: Connection, base: str) -> str:
    """The plan's approval id, or BASE-2, BASE-3… once earlier ones were used."""
    candidate, n = base, 1
    while _approval_exists(conn, candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate
