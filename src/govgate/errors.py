"""The one exception family of govgate.

Library code raises these and never prints or exits; the CLI translates them,
at a single boundary, into a message and an exit code (SPEC section 7):
1 refused or a check failed, 2 bad input, 3 environment error.
"""

from __future__ import annotations

from dataclasses import dataclass


class GovgateError(Exception):
    """Base of every error govgate raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class Refused(GovgateError):
    """The operation was refused; nothing was changed."""


class CheckFailed(Refused):
    """A verification check failed; the transaction was rolled back."""

    def __init__(self, message: str, *, failures: tuple[str, ...] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.failures = failures


class BadInput(GovgateError):
    """The input (plan, argument, configuration) is wrong; nothing was changed."""

    exit_code = 2


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong with a plan, and where it is."""

    message: str
    file: str
    line: int | None = None
    key: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        at = f" (at {self.key})" if self.key else ""
        tail = f" — {self.hint}" if self.hint else ""
        return f"{where}: {self.message}{at}{tail}"


class PlanError(BadInput):
    """A plan file is malformed or conflicts with the database."""

    def __init__(self, problems: list[PlanProblem] | tuple[PlanProblem, ...]):
        self.problems = tuple(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(str(first) + more)

    def to_dict(self) -> dict:
        data = super().to_dict()
        data["problems"] = [p.__dict__ for p in self.problems]
        return data


class EnvironmentFault(GovgateError):
    """The environment is not usable: database unreachable, missing table, ..."""

    exit_code = 3


class DatabaseUnreachable(EnvironmentFault):
    """The database could not be reached."""


class SchemaMissing(EnvironmentFault):
    """A governance table is missing; `govgate init` creates it."""


@dataclass(frozen=True)
class Difference:
    """One fact that is not as expected: what, expected, actual."""

    what: str
    expected: object = None
    actual: object = None

    def __str__(self) -> str:
        return self.what


class RollbackRefused(Refused):
    """A rollback would not restore the pre-rollout state; `--force` overrides."""

    def __init__(self, message: str, differences: tuple[Difference, ...], hint: str | None = None):
        super().__init__(message, hint=hint)
        self.differences = differences


class EmissionBlocked(Refused):
    """The process tried to open a network connection that is not allowed."""


class Aborted(Refused):
    """A rollout step failed and its transaction was rolled back: nothing changed."""

    def __init__(self, step: str, cause: str, failures: tuple[str, ...] = ()):
        super().__init__(f"aborted at step '{step}': {cause}; the transaction was rolled back, nothing changed")
        self.step = step
        self.cause = cause
        self.failures = failures
