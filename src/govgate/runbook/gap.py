"""The ownership gap broken down by authority, domain and collection."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from ..db.state import State

UNASSIGNED = "(no authority planned)"


@dataclass(frozen=True)
class GapReport:
    """`govgate gap`: the uncovered slots and who the current proposal gives them to."""

    total: int
    slots: int
    by_domain: dict[str, int]
    by_collection: dict[str, list[str]]  # collection -> its uncovered duties
    by_authority: dict[str, int]  # authority planned to take the gap's slots -> count
    held_by_authority: dict[str, int]  # slots each authority holds today
    proposal_id: str | None


def gap_report(state: State, proposal=None) -> GapReport:
    """Break STATE's gap down; PROPOSAL (optional) says who would take each slot."""
    uncovered = state.uncovered()
    domain = state.domain_of()
    planned = {(x.collection, x.duty): x.authority for x in proposal.slots} if proposal else {}
    by_collection: dict[str, list[str]] = defaultdict(list)
    for collection, duty in uncovered:
        by_collection[collection].append(duty)
    active = state.active_authorities
    held = Counter(a for (_, _, a, _) in state.accountability if a in active)
    return GapReport(
        total=len(uncovered),
        slots=len(state.slots),
        by_domain=dict(sorted(Counter(domain[c] for c, _ in uncovered).items())),
        by_collection=dict(sorted(by_collection.items())),
        by_authority=dict(
            sorted(Counter(planned.get(slot, UNASSIGNED) for slot in uncovered).items())
        ),
        held_by_authority={code: held.get(code, 0) for code, _, _ in state.authorities},
        proposal_id=proposal.id if proposal else None,
    )
