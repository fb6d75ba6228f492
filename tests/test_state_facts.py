"""What a State derives from its rows (gap, holders, conflicts) is computed by fast paths
(issue 14); each must say exactly what the plain definition says, for any rows at all:
duplicated collections, slots claimed twice, inactive and unknown authorities, NULLs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from govgate.db.state import State

_NAMES = st.sampled_from(["a", "b", "c"])
_AUTH = st.sampled_from(["GOV-1", "GOV-2", "GOV-3", "GHOST"])

_STATES = st.builds(
    lambda governed, duties, authorities, rows: State(
        governed=tuple(sorted(governed)),
        duties=tuple(sorted(duties)),
        authorities=tuple(sorted(authorities)),
        accountability=tuple(sorted(rows, key=lambda r: [(v is not None, v) for v in r])),
        rollouts=(),
        external_emission="off",
        schema_version="1",
    ),
    st.lists(st.tuples(_NAMES, st.just("d")), max_size=5),
    st.lists(st.tuples(st.sampled_from(["own", "run", "fix"]), st.just("t")), max_size=4),
    st.lists(st.tuples(_AUTH.filter(lambda a: a != "GHOST"), st.just("n"), st.booleans())),
    st.lists(
        st.tuples(
            _NAMES,
            st.sampled_from(["own", "run", "fix", "odd"]),
            _AUTH,
            st.one_of(st.none(), st.just("RO-1")),
        ),
        max_size=25,
    ),
)


def _uncovered_by_definition(state: State) -> list[tuple[str, str]]:
    active = {code for code, _, on in state.authorities if on}
    named: dict[tuple[str, str], set[str]] = {}
    for c, d, a, _ in state.accountability:
        named.setdefault((c, d), set()).add(a)
    return [
        (c, d)
        for c, _ in state.governed
        for d, _ in state.duties
        if not (named.get((c, d), set()) & active)
    ]


@settings(max_examples=400, deadline=None)
@given(_STATES)
def test_the_counted_gap_is_the_number_of_slots_no_active_authority_holds(state):
    expected = _uncovered_by_definition(state)
    assert state.gap == len(expected)
    assert state.uncovered() == expected


@settings(max_examples=400, deadline=None)
@given(_STATES)
def test_the_holders_of_each_slot_are_every_authority_its_rows_name(state):
    named: dict[tuple[str, str], set[str]] = {}
    for c, d, a, _ in state.accountability:
        named.setdefault((c, d), set()).add(a)
    assert state.holders() == {slot: frozenset(who) for slot, who in named.items()}
    assert state.held_twice() == {
        slot: frozenset(who) for slot, who in named.items() if len(who) > 1
    }
