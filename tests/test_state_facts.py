"""What a State derives from its rows (gap, holders, conflicts) is computed by fast paths
(issue 14); each must say exactly what the plain definition says, for any rows at all:
duplicated collections, slots claimed twice, inactive and unknown authorities, NULLs.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from govgate.db.state import State, conflicts

_NAMES = st.sampled_from(["a", "b", "c"])
_AUTH = st.sampled_from(["GOV-1", "GOV-2", "GOV-3", "GHOST"])


def _state(governed, duties, authorities, rows) -> State:
    return State(
        governed=tuple(sorted(governed)),
        duties=tuple(sorted(duties)),
        authorities=tuple(sorted(authorities)),
        accountability=tuple(sorted(rows, key=lambda r: [(v is not None, v) for v in r])),
        rollouts=(),
        external_emission="off",
        schema_version="1",
    )


_STATES = st.builds(
    _state,
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


# Every slot held once by an active authority (the gap's and conflicts' fast paths), and the
# same but for one row that names a duty nobody governs (the fast paths must step aside).
_GOVERNED = [("a", "d"), ("b", "d")]
_DUTIES = [("own", "t"), ("run", "t")]
_AUTHORITIES = [("GOV-1", "n", True), ("GOV-2", "n", False)]
_ALL_HELD = [(c, d, "GOV-1", "RO-1") for c, _ in _GOVERNED for d, _ in _DUTIES]
_FULLY_HELD = _state(_GOVERNED, _DUTIES, _AUTHORITIES, _ALL_HELD)
_ONE_ODD_ROW = _state(
    _GOVERNED, _DUTIES, _AUTHORITIES, [*_ALL_HELD[1:], ("a", "odd", "GOV-1", None)]
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
@example(_FULLY_HELD)
@example(_ONE_ODD_ROW)
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


def _conflicts_by_definition(state: State) -> list[str]:
    known = {code for code, _, _ in state.authorities}
    active = {code for code, _, on in state.authorities if on}
    duties = {code for code, _ in state.duties}
    governed = {code for code, _ in state.governed}
    named: dict[tuple[str, str], set[str]] = {}
    for c, d, a, _ in state.accountability:
        named.setdefault((c, d), set()).add(a)
    found = [
        f"{c}/{d}: claimed by {len(who)} authorities: {', '.join(sorted(who))}"
        for (c, d), who in sorted(named.items())
        if len(who) > 1
    ]
    for c, d, a, _ in state.accountability:
        if a not in known:
            found.append(f"{c}/{d}: names unknown authority {a}")
        elif a not in active:
            found.append(f"{c}/{d}: names inactive authority {a}")
        if d not in duties:
            found.append(f"{c}/{d}: names unknown duty {d}")
        if c not in governed:
            found.append(f"{c}/{d}: names a collection that is not governed")
    return found


@settings(max_examples=400, deadline=None)
@given(_STATES)
@example(_FULLY_HELD)
@example(_ONE_ODD_ROW)
def test_conflicts_name_every_slot_claimed_twice_and_every_row_at_fault(state):
    assert [str(c) for c in conflicts(state)] == _conflicts_by_definition(state)


@settings(max_examples=300, deadline=None)
@given(_STATES, st.sampled_from([None, "RO-1", "RO-2"]))
@example(_FULLY_HELD, "RO-1")
def test_the_records_under_a_rollout_are_its_rows_in_the_states_order(state, rollout_id):
    expected = [r[:3] for r in state.accountability if r[3] == rollout_id]
    assert state.records_under(rollout_id) == expected
