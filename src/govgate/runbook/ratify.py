"""Ratification: the human path, and the only code that writes approvals.

Nothing the agent runs (apply, rollback, agent, rehearse on production) imports
this module's `record`. It refuses without an interactive terminal, refuses the
agent's identity, shows exactly what is being approved and needs the human to
type the approval id.

What it shows starts with the totals, in a bounded number of lines whatever the size of
the proposal; the collection-by-collection list follows only when it is short (or asked
for). Every line is escaped (`text.escape`): a title or a name cannot move the cursor,
clear the screen or reverse the text the human reads before typing the id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import audit
from ..db import schema as s
from ..directus import identity
from ..directus import tables as dx
from ..errors import BadInput, Refused
from ..text import escape
from . import proposal as prop
from .approval import agent_identities

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
        return [
            *lines,
            f"Proposal hash: {p.sha256}",
            f"Approver: {self.approver_label}",
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
    recorded, label = approver, approver
    if directus:
        recorded = identity.user_id(conn, approver)
        if recorded is None:
            raise BadInput(
                f"'{approver}' is not a Directus user of this database",
                hint="pass --as with your Directus e-mail address",
            )
        label = f"{approver} (Directus user {recorded})"
    if recorded in agent_ids:
        raise refusal
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
    return RatificationRequest(proposal, approval_id, recorded, label, statement, directus)


def require_terminal(interactive: bool) -> None:
    """Raises Refused unless a person sits at an interactive terminal."""
    if not interactive:
        raise Refused(
            "ratification needs a person at an interactive terminal; nothing was written",
            hint="run `govgate ratify` yourself in a terminal, or approve in the Directus app",
        )


def record(
    conn: Connection, request: RatificationRequest, typed: str, *, interactive: bool
) -> RatifyResult:
    """Write the approval row (and, on Directus, what the app would record) and audit it.

    Raises Refused without an interactive terminal or when TYPED is not the approval id.
    """
    require_terminal(interactive)
    if typed.strip() != request.approval_id:
        raise Refused(
            f"you typed '{typed.strip()}', not the approval id {request.approval_id}; "
            "nothing was approved"
        )
    now = datetime.now(UTC)
    p = request.proposal
    conn.execute(
        s.approvals.insert().values(
            id=request.approval_id,
            proposal_id=p.id,
            proposal_sha256=p.sha256,
            approved_by=request.approver,
            approved_at=now,
            statement=request.statement,
        )
    )
    if request.directus:
        _directus_activity(conn, request, now)
    audit.append(
        conn,
        audit.Kind.RATIFICATION,
        request.approver,
        proposal_id=p.id,
        detail={"approval": request.approval_id, "sha256": p.sha256},
    )
    return RatifyResult(request.approval_id, p.id, p.sha256, request.approver, now.isoformat())


def _directus_activity(conn: Connection, request: RatificationRequest, now: datetime) -> None:
    # What the Directus app records when a person creates the item: the gate
    # checks this provenance, and the approver's own session writes it.
    values = dict(
        action="create",
        user=request.approver,
        timestamp=now,
        ip=None,
        user_agent="govgate ratify",
        collection=s.approvals.name,
        item=request.approval_id,
        origin="govgate ratify",
    )
    if conn.dialect.name == "postgresql":
        # INSERT … RETURNING would need SELECT on directus_activity; the approver's
        # role may only insert there, so the id comes from the table's sequence.
        activity_id = conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence('directus_activity', 'id'))")
        ).scalar_one()
        conn.execute(dx.activity.insert().inline().values(id=activity_id, **values))
    else:
        activity_id = conn.execute(
            dx.activity.insert().values(**values).returning(dx.activity.c.id)
        ).scalar_one()
    data = {
        "id": request.approval_id,
        "proposal_id": request.proposal.id,
        "proposal_sha256": request.proposal.sha256,
        "statement": request.statement,
    }
    conn.execute(
        dx.revisions.insert()
        .inline()
        .values(  # inline: no RETURNING, which needs SELECT
            activity=activity_id,
            collection=s.approvals.name,
            item=request.approval_id,
            data=data,
            delta=data,
        )
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
