"""Resolving a plan against production: the exact slots it assigns, or every problem.

Checks authorities, duties, collections, protection and double assignment against the
state; every problem names the plan's file, line and key.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict

from ..db.state import Slot, State
from ..errors import PlanError, PlanProblem
from .plan import Assignment, Plan

# What makes a name a pattern for fnmatch; a name without these matches only itself. (Every
# name fnmatch is handed becomes a compiled regex, kept in a cache: at 10,000 collections,
# compiling each collection's name was most of a `propose`.)
_WILDCARD = re.compile(r"[*?\[]")


def resolve(plan: Plan, state: State) -> tuple[Slot, ...]:
    """The exact slots the plan assigns, checked against STATE.

    Slots already held in production by the same authority are left out (they are
    in place already). Raises PlanError naming every problem found.
    """
    problems: list[PlanProblem] = []
    known = {code: active for code, _, active in state.authorities}
    claims: dict[tuple[str, str], dict[str, int | None]] = defaultdict(
        dict
    )  # slot -> authority -> line
    for a in plan.assignments:
        problems += _authority_problems(plan, a, known)
        duties = _duties_of(plan, a, state, problems)
        for collection, line in _collections_of(plan, a, state, problems):
            for duty in duties:
                claims[(collection, duty)].setdefault(a.authority, line)
    problems += _double_claims(plan, claims)
    problems += _held_elsewhere(plan, claims, state.holders())
    if problems:
        raise PlanError(problems)
    holders = state.holders()
    return tuple(
        Slot(c, d, next(iter(who)))
        for (c, d), who in sorted(claims.items())
        if not holders.get((c, d))
    )


def _grouped(items) -> dict:
    """(collection, key) -> duties, so one problem speaks for a whole collection."""
    out: dict = defaultdict(list)
    for (collection, duty), key in items:
        out[(collection, key)].append(duty)
    return out


def _slots_text(collection: str, duties: list[str]) -> str:
    names = ", ".join(f"{collection}/{d}" for d in duties)
    return f"slot {names} is" if len(duties) == 1 else f"slots {names} are"


def _double_claims(plan: Plan, claims: dict) -> list[PlanProblem]:
    doubles = ((slot, tuple(who.items())) for slot, who in claims.items() if len(who) > 1)
    out = []
    for (collection, who), duties in _grouped(doubles).items():
        names = " and ".join(f"{a} (line {line})" for a, line in who)
        out.append(
            plan.problem(
                f"conflict: {_slots_text(collection, duties)} assigned to both {names}",
                who[-1][1],
                f"assign.{who[-1][0]}",
                "assign each slot to one authority only",
            )
        )
    return out


def _held_elsewhere(plan: Plan, claims: dict, holders: dict) -> list[PlanProblem]:
    held = (
        (slot, (tuple(sorted(holders[slot])), a, line))
        for slot, who in claims.items()
        for a, line in who.items()
        if holders.get(slot, set()) - {a}
    )
    return [
        plan.problem(
            f"conflict: {_slots_text(collection, duties)} already held in production by "
            f"{', '.join(others)}, not {a}",
            line,
            f"assign.{a}",
            "leave them out of the plan or remove the existing rows first",
        )
        for (collection, (others, a, line)), duties in _grouped(held).items()
    ]


def _authority_problems(plan: Plan, a: Assignment, known: dict[str, bool]) -> list[PlanProblem]:
    key = f"assign.{a.authority}"
    if a.authority not in known:
        return [
            plan.problem(
                f"unknown authority '{a.authority}'",
                a.line,
                key,
                f"known authorities: {', '.join(sorted(known)) or 'none'}",
            )
        ]
    if not known[a.authority]:
        return [
            plan.problem(
                f"authority '{a.authority}' is inactive",
                a.line,
                key,
                "activate it in os_authorities or assign its slots to another",
            )
        ]
    return []


def _duties_of(plan: Plan, a: Assignment, state: State, problems: list) -> list[str]:
    every = [code for code, _ in state.duties]
    if a.duties is None:
        return every
    for duty, line in zip(a.duties, a.duty_lines, strict=False):
        if duty not in every:
            problems.append(
                plan.problem(
                    f"unknown duty '{duty}'",
                    line,
                    f"assign.{a.authority}.duties",
                    f"known duties: {', '.join(every) or 'none'}",
                )
            )
    seen = []
    for duty in a.duties:
        if duty in every and duty not in seen:
            seen.append(duty)
    return seen


def _collections_of(
    plan: Plan, a: Assignment, state: State, problems: list
) -> list[tuple[str, int | None]]:
    """(collection, line of the pattern that matched it) for each collection the assignment
    names.
    """
    governed = [c for c, _ in state.governed]
    names = set(governed)
    matched: dict[str, int | None] = {}
    key = f"assign.{a.authority}"
    for pattern, line in zip(a.collections, a.pattern_lines, strict=False):
        guard = _protected_by(plan, pattern)
        if guard:
            problems.append(
                plan.problem(
                    f"'{pattern}' names a protected collection (protected: {guard})",
                    line,
                    key,
                    "protected collections can never be assigned",
                )
            )
            continue
        if _WILDCARD.search(pattern):
            hits = [c for c in governed if fnmatch.fnmatchcase(c, pattern)]
        else:
            hits = [pattern] if pattern in names else []
        if not hits:
            problems.append(
                plan.problem(
                    f"pattern '{pattern}' matches no governed collection",
                    line,
                    key,
                    "check the spelling, or add the table to os_governed_collections",
                )
            )
        for hit in hits:
            guard = _protected_by(plan, hit)
            if guard:
                problems.append(
                    plan.problem(
                        f"'{pattern}' matches protected collection '{hit}' (protected: {guard})",
                        line,
                        key,
                        "narrow the pattern so it leaves protected collections out",
                    )
                )
            else:
                matched.setdefault(hit, line)
    return list(matched.items())


def _protected_by(plan: Plan, name: str) -> str | None:
    # A pattern is refused when it could name a protected collection, e.g. `billing_*`.
    # A name without wildcards that no guard matches cannot match a guard as a pattern either.
    pattern = bool(_WILDCARD.search(name))
    for guard in plan.protected:
        if fnmatch.fnmatchcase(name, guard) or (pattern and fnmatch.fnmatchcase(guard, name)):
            return guard
    return None
