"""A plan: what a plan file asks for, validated and inert (it knows nothing of any database).

`plan_file` reads and checks the file (YAML, keys, types); `resolve` checks a plan against
production. Kept apart so that a command that never reads a plan file (every one but
`propose`, `rehearse` and `demo`) loads neither YAML nor the file's validation models.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PlanProblem


@dataclass(frozen=True)
class Assignment:
    """One authority's share of a plan, with where it stands in the file."""

    authority: str
    collections: tuple[str, ...]
    duties: tuple[str, ...] | None  # None: every duty
    line: int | None
    pattern_lines: tuple[int | None, ...]
    duty_lines: tuple[int | None, ...]


@dataclass(frozen=True)
class Approvals:
    """What a plan asks of its approval: REQUIRED distinct people, each one of FROM (when
    given: e-mail addresses or signer principals), valid VALID_DAYS (None: configuration)."""

    required: int = 1
    from_: tuple[str, ...] = ()
    valid_days: int | None = None

    def is_default(self) -> bool:
        return self == Approvals()


@dataclass(frozen=True)
class Plan:
    """A validated plan file: inert, it knows nothing of any database."""

    proposal: str
    approval: str
    title: str
    protected: tuple[str, ...]
    assignments: tuple[Assignment, ...]
    file: str
    text: str
    protected_lines: tuple[int | None, ...] = ()
    approvals: Approvals = Approvals()

    def problem(
        self, message: str, line: int | None, key: str, hint: str | None = None
    ) -> PlanProblem:
        return PlanProblem(message, self.file, line, key, hint)
