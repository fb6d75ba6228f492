"""What differs between two governance states (`db.state.State`), each difference in plain
words: the gate's drift, a rollout's "changed meanwhile", rollback's check."""

from __future__ import annotations

from collections import Counter

from ..errors import Difference
from .state import State


def differences(expected: State, actual: State) -> list[Difference]:
    """What differs between two states, each in plain words."""
    out: list[Difference] = []
    out += _keyed_diff(
        "governed collection", dict(expected.governed), dict(actual.governed), "domain"
    )
    out += _keyed_diff("duty", dict(expected.duties), dict(actual.duties), "title")
    out += _keyed_diff(
        "authority",
        {c: (n, a) for c, n, a in expected.authorities},
        {c: (n, a) for c, n, a in actual.authorities},
        "name/active",
        _authority_change,
    )
    out += _row_diff(expected.accountability, actual.accountability)
    if expected.rollouts != actual.rollouts:
        out.append(
            Difference(
                f"rollouts in effect were {list(expected.rollouts) or 'none'}, "
                f"now {list(actual.rollouts) or 'none'}",
                expected.rollouts,
                actual.rollouts,
            )
        )
    for name in ("external_emission", "schema_version"):
        old, new = getattr(expected, name), getattr(actual, name)
        if old != new:
            out.append(Difference(f"setting {name} was '{old}', now '{new}'", old, new))
    return out


def _keyed_diff(noun, old: dict, new: dict, field: str, describe=None) -> list[Difference]:
    out = [
        Difference(f"{noun} {k} was added", None, new[k]) for k in sorted(new.keys() - old.keys())
    ]
    out += [
        Difference(f"{noun} {k} was removed", old[k], None) for k in sorted(old.keys() - new.keys())
    ]
    for key in sorted(old.keys() & new.keys()):
        if old[key] != new[key]:
            text = (
                describe(key, old[key], new[key])
                if describe
                else f"{noun} {key}: {field} was '{old[key]}', now '{new[key]}'"
            )
            out.append(Difference(text, old[key], new[key]))
    return out


def _authority_change(code, old, new) -> str:
    (old_name, old_active), (new_name, new_active) = old, new
    if old_active != new_active:
        return (
            f"authority {code} is now {'active' if new_active else 'inactive'} "
            f"(was {'active' if old_active else 'inactive'})"
        )
    return f"authority {code} was renamed from '{old_name}' to '{new_name}'"


def _row_diff(old_rows, new_rows) -> list[Difference]:
    old, new = Counter(old_rows), Counter(new_rows)
    added, removed = new - old, old - new
    word = lambda r: f"{r[0]}/{r[1]} → {r[2]}" + (f" (rollout {r[3]})" if r[3] else "")  # noqa: E731
    out = [
        Difference(f"accountability row added: {word(r)}", None, r) for r in sorted(added, key=str)
    ]
    out += [
        Difference(f"accountability row removed: {word(r)}", r, None)
        for r in sorted(removed, key=str)
    ]
    return out
