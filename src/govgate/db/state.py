"""The governance state a rollout depends on, its fingerprint, gap and conflicts.

`read_state` is the only reader of that state; everything else (gate, verify,
rollback, rehearsal) compares `State` values, so SQLite and PostgreSQL agree as
long as they hold the same facts.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, partial
from operator import itemgetter
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import schema as s
from .schema import require_tables


def canonical_json(data: object) -> str:
    """The one canonical JSON: sorted keys, no spaces, UTF-8 as is. (Without the check for
    cycles, which nothing here can hold: a fifth of encoding 60,000 rows, same bytes.)"""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# An accountability row's parts (the first two are a slot's too): its collection, its duty,
# its slot, its authority, the (collection, duty, authority) a rollout journals, its rollout.
_COLLECTION, _DUTY, _SLOT = itemgetter(0), itemgetter(1), itemgetter(0, 1)
_HOLDER, _RECORD, _ROLLOUT = itemgetter(2), itemgetter(0, 1, 2), itemgetter(3)


class Slot(NamedTuple):
    """One (collection, duty) pair, and who takes it. A named tuple, not a dataclass: a
    proposal holds up to hundreds of thousands, and each `status` reads them all back."""

    collection: str
    duty: str
    authority: str


@dataclass(frozen=True)
class State:
    """Facts a rollout depends on, each a sorted tuple so row order never matters."""

    governed: tuple[tuple[str, str], ...]  # (collection, domain)
    duties: tuple[tuple[str, str], ...]  # (code, title)
    authorities: tuple[tuple[str, str, bool], ...]  # (code, name, active)
    accountability: tuple[
        tuple[str, str, str, str | None], ...
    ]  # (collection, duty, authority, rollout)
    rollouts: tuple[str, ...]  # this proposal's rollouts in effect
    external_emission: str
    schema_version: str

    def canonical(self) -> dict:
        # Tuples: JSON writes them as arrays, exactly as lists (copying 60,000 rows into
        # lists cost more than hashing them).
        return {
            "governed": self.governed,
            "duties": self.duties,
            "authorities": self.authorities,
            "accountability": self.accountability,
            "rollouts": self.rollouts,
            "external_emission": self.external_emission,
            "schema_version": self.schema_version,
        }

    @cached_property
    def fingerprint(self) -> str:
        return sha256_hex(canonical_json(self.canonical()))

    @classmethod
    def from_canonical(cls, data: dict) -> State:
        return cls(
            governed=tuple(tuple(r) for r in data["governed"]),
            duties=tuple(tuple(r) for r in data["duties"]),
            authorities=tuple((c, n, as_bool(a)) for c, n, a in data["authorities"]),
            accountability=tuple(tuple(r) for r in data["accountability"]),
            rollouts=tuple(data["rollouts"]),
            external_emission=data["external_emission"],
            schema_version=data["schema_version"],
        )

    # -- derived facts -------------------------------------------------------

    # A State is immutable: what is derived from it is computed once (at 60,000 slots the gap
    # alone was asked for five times in one rollout).

    @cached_property
    def slots(self) -> list[tuple[str, str]]:
        return [(c, d) for c, _ in self.governed for d, _ in self.duties]

    @cached_property
    def active_authorities(self) -> frozenset[str]:
        return frozenset(code for code, _, active in self.authorities if active)

    def holders(self) -> dict[tuple[str, str], frozenset[str]]:
        """Slot -> the authorities accountability rows name for it (read-only)."""
        return self._holders

    @cached_property
    def _holders(self) -> dict[tuple[str, str], frozenset[str]]:
        one, more = self._held
        return {slot: more.get(slot) or frozenset((who,)) for slot, who in one.items()}

    def held_twice(self) -> dict[tuple[str, str], frozenset[str]]:
        """Slot -> its authorities, for the slots that rows give to more than one (read-only)."""
        return self._held[1]

    @cached_property
    def _held(self) -> tuple[dict, dict]:
        # Almost every slot has one holder: a plain dict of them, and sets only for the rare
        # slot claimed twice (a set per slot was most of a 60,000-slot status).
        rows = self.accountability
        one: dict[tuple[str, str], str] = dict(
            zip(map(_SLOT, rows), map(_HOLDER, rows), strict=True)
        )
        if len(one) == len(rows):  # no slot has two rows: the usual case, built in C
            return one, {}
        one, more = {}, {}
        for collection, duty, authority, _ in rows:
            slot = (collection, duty)
            first = one.setdefault(slot, authority)
            if first != authority:
                more.setdefault(slot, {first}).add(authority)
        return one, {slot: frozenset(who) for slot, who in more.items()}

    def uncovered(self) -> list[tuple[str, str]]:
        """Slots with no row naming an active authority: the ownership gap."""
        return self._uncovered

    @cached_property
    def _uncovered(self) -> list[tuple[str, str]]:
        (one, more), active = self._held, self.active_authorities
        return [
            slot
            for slot in self.slots
            if not (one.get(slot) in active or (slot in more and more[slot] & active))
        ]

    @cached_property
    def gap(self) -> int:
        """How many slots `uncovered` lists, counted from the rows that hold slots instead of
        listing every slot (at 60,000 slots and none held, a list of 60,000 for a number)."""
        (one, more), active = self._held, self.active_authorities
        collections = Counter(c for c, _ in self.governed)
        duties = Counter(d for d, _ in self.duties)
        total = len(self.governed) * len(self.duties)
        if (
            not more
            and len(collections) == len(self.governed)
            and len(duties) == len(self.duties)
            and active.issuperset(one.values())
            and collections.keys() >= set(map(_COLLECTION, one))
            and duties.keys() >= set(map(_DUTY, one))
        ):  # the usual case, decided in C: each held slot is a distinct slot an active one holds
            return total - len(one)
        covered = sum(
            collections[c] * duties[d]
            for (c, d), who in one.items()
            if c in collections
            and d in duties
            and (who in active if not more or (c, d) not in more else bool(more[(c, d)] & active))
        )
        return total - covered

    def records_under(self, rollout_id: str | None) -> list[tuple[str, str, str]]:
        """(collection, duty, authority) of each row under ROLLOUT_ID, in the state's order.
        (Not kept: 60,000 tuples kept alive cost a collector's pass more than slicing again.)"""
        rows = self.accountability
        if set(map(_ROLLOUT, rows)) == {rollout_id}:  # every row is the rollout's: sliced in C
            return list(map(_RECORD, rows))
        return [row[:3] for row in rows if row[3] == rollout_id]

    def domain_of(self) -> dict[str, str]:
        return dict(self.governed)

    @cached_property
    def conflicts_found(self) -> tuple[Conflict, ...]:
        """See `conflicts` (verification and the report both ask)."""
        return tuple(_conflicts(self))


def read_state(conn: Connection, proposal_id: str | None) -> State:
    """The state as the connection sees it now.

    Raises SchemaMissing when a governance table is absent.
    """
    require_tables(conn)
    rows = partial(plain_rows, conn)

    if proposal_id is None:
        in_effect: list[str] = []
    else:
        in_effect = [
            r[0]
            for r in rows(
                sa.select(s.rollouts.c.id).where(
                    s.rollouts.c.proposal_id == proposal_id, s.rollouts.c.status == "applied"
                )
            )
        ]
    settings = dict(rows(sa.select(s.settings.c.key, s.settings.c.value)))
    return State(
        governed=sorted_rows(
            rows(sa.select(s.governed_collections.c.collection, s.governed_collections.c.domain))
        ),
        duties=sorted_rows(rows(sa.select(s.duties.c.code, s.duties.c.title))),
        authorities=sorted_rows(
            (c, n, as_bool(a))
            for c, n, a in rows(
                sa.select(s.authorities.c.code, s.authorities.c.name, s.authorities.c.active)
            )
        ),
        accountability=sorted_rows(
            rows(
                sa.select(
                    s.accountability.c.collection,
                    s.accountability.c.duty,
                    s.accountability.c.authority,
                    s.accountability.c.rollout_id,
                )
            )
        ),
        rollouts=tuple(sorted(in_effect)),
        external_emission=settings.get("external_emission", "off"),
        schema_version=settings.get("schema_version", ""),
    )


def plain_rows(conn: Connection, query) -> list[tuple]:
    """QUERY's rows as the driver's own plain tuples, fetched at once.

    SQLAlchemy's row objects, fetched one by one, were half the cost of reading 60,000
    rows. Values are the driver's (booleans may be 0/1: see `as_bool`); driver errors are
    translated at the session's boundary like any other.
    """
    result = conn.execute(query)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    if rows and type(rows[0]) is not tuple:  # a cursor's rows all have its row type
        return list(map(tuple, rows))
    return rows if type(rows) is list else list(rows)


def sorted_rows(rows) -> tuple:
    """ROWS as a sorted tuple of tuples. None sorts before any string, so that rows with a
    NULL column order the same everywhere. A list is taken to hold tuples already (as
    `plain_rows` returns them); any other iterable is copied into tuples."""
    if not isinstance(rows, list):
        rows = [tuple(r) for r in rows]
    try:
        # Plain tuple order, in C: the order below whenever it succeeds, since tuples compare
        # a NULL with a string (TypeError) only where two rows tie on every column before it.
        return tuple(sorted(rows))
    except TypeError:
        pass
    nullable = [i for i, column in enumerate(zip(*rows, strict=True)) if None in column]
    if len(nullable) == 1:
        # Equivalent to the general key below, at a fraction of its cost (the rollout id of an
        # accountability row is the one column that is NULL, on every row made by hand).
        j = nullable[0]
        return tuple(
            sorted(
                rows,
                key=lambda r: (r[:j], r[j] is not None, "" if r[j] is None else r[j], r[j + 1 :]),
            )
        )
    return tuple(sorted(rows, key=lambda r: [(v is not None, v) for v in r]))


_FALSE = {"0", "false", "f", "no", "n", "off", ""}


def as_bool(value) -> bool:
    """A boolean as any database or tool may have stored it (SQLite: 0/1 or text)."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE
    return bool(value)


# -- conflicts -----------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A slot claimed twice, or a row naming something unknown or inactive."""

    collection: str
    duty: str
    problem: str

    def __str__(self) -> str:
        return f"{self.collection}/{self.duty}: {self.problem}"


def conflicts(state: State) -> list[Conflict]:
    """Every conflict in the state, in a stable order: a slot claimed twice, or a row naming
    something unknown or inactive."""
    return list(state.conflicts_found)


def _conflicts(state: State) -> list[Conflict]:
    known = {code for code, _, _ in state.authorities}
    duties = {code for code, _ in state.duties}
    governed = set(state.domain_of())
    active = state.active_authorities
    claimed_twice = sorted(state.held_twice().items())
    found = [
        Conflict(c, d, f"claimed by {len(a)} authorities: {', '.join(sorted(a))}")
        for (c, d), a in claimed_twice
    ]
    # The rows at fault (almost always none) are looked for only when the columns' values, as
    # sets compared in C, say that there are some; words only for those rows.
    rows = state.accountability
    suspect = (
        []
        if active.issuperset(map(_HOLDER, rows))
        and duties.issuperset(map(_DUTY, rows))
        and governed.issuperset(map(_COLLECTION, rows))
        else [r for r in rows if r[2] not in active or r[1] not in duties or r[0] not in governed]
    )
    for collection, duty, authority, _ in suspect:
        if authority not in known:
            found.append(Conflict(collection, duty, f"names unknown authority {authority}"))
        elif authority not in active:
            found.append(Conflict(collection, duty, f"names inactive authority {authority}"))
        if duty not in duties:
            found.append(Conflict(collection, duty, f"names unknown duty {duty}"))
        if collection not in governed:
            found.append(Conflict(collection, duty, "names a collection that is not governed"))
    return found
