"""The one exception family of govgate, its exit codes, and how an error is described.

Library code raises these and never prints or exits. Driver errors become members of
this family at one place (`db.session`); the CLI, the agent and the web page turn
them into a message and an exit code with the table below.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass

# The exit-code table every front end uses (README "Exit codes").
EXIT_OK = 0
EXIT_REFUSED = 1  # refused, or a check failed: nothing changed
EXIT_BAD_INPUT = 2  # bad input: nothing changed
EXIT_ENVIRONMENT = 3  # the database or the machine is not usable
EXIT_SIGINT = 130  # 128 + SIGINT: stopped by Ctrl-C
EXIT_SIGPIPE = 141  # 128 + SIGPIPE: the reader of the output went away
EXIT_SIGTERM = 143  # 128 + SIGTERM


class GovgateError(Exception):
    """Base of every error govgate raises on purpose."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}

    def __reduce__(self):
        # Pickled whole (a contained rollout sends its error to the parent): every attribute
        # and note, without calling __init__ (subclasses take other arguments), and what it
        # was raised from, so that `lost_connection` still sees a lost connection behind it.
        link = self.__cause__ or self.__context__
        return _rebuild, (type(self), self.args, dict(self.__dict__), _portable(link))


def _rebuild(cls: type, args: tuple, state: dict, link: BaseException | None) -> GovgateError:
    exc = cls.__new__(cls, *args)
    exc.__dict__.update(state)
    exc.__cause__ = link
    return exc


def _portable(exc: BaseException | None) -> BaseException | None:
    """EXC when it survives pickling (a GovgateError always does, with its own cause); else
    its words in a plain Exception. A driver's error keeps no cause of its own there."""
    if exc is None or isinstance(exc, GovgateError) or crosses_a_pipe(exc):
        return exc
    return Exception(f"{type(exc).__name__}: {exc}")


def crosses_a_pipe(exc: BaseException) -> bool:
    """Whether EXC pickles and unpickles again (some objects pickle but cannot be rebuilt):
    what a contained child can send its parent as it is."""
    try:
        pickle.loads(pickle.dumps(exc, pickle.HIGHEST_PROTOCOL))
    except Exception:  # any failure alike
        return False
    return True


class Refused(GovgateError):
    """The operation was refused; nothing was changed."""


class CheckFailed(Refused):
    """A verification check failed; the transaction was rolled back."""

    def __init__(self, message: str, *, failures: tuple[str, ...] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.failures = failures


class BadInput(GovgateError):
    """The input (plan, argument, configuration) is wrong; nothing was changed."""

    exit_code = EXIT_BAD_INPUT


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

    exit_code = EXIT_ENVIRONMENT


class DatabaseUnreachable(EnvironmentFault):
    """The database could not be reached, or the connection to it was lost."""


class DatabaseError(EnvironmentFault):
    """The database refused a statement govgate did not expect it to refuse."""


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
        super().__init__(
            f"aborted at step '{step}': {cause}; the transaction was rolled back, nothing changed"
        )
        self.step = step
        self.cause = cause
        self.failures = failures


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """EXC and every exception it was raised from or during, each once."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def describe(exc: BaseException) -> str:
    """One line naming what went wrong: a GovgateError's message, else `Type: first line`."""
    if isinstance(exc, GovgateError):
        return exc.message
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}".rstrip(": ")


def lost_connection(exc: BaseException) -> bool:
    """The database went away (unreachable, dropped, locked): worth waiting out and retrying."""
    return any(isinstance(e, DatabaseUnreachable) for e in causes(exc))


def environmental(exc: BaseException) -> bool:
    """An environment error (exit 3): the database or its schema, not the rollout's content."""
    if isinstance(exc, Refused):
        return lost_connection(exc)
    return isinstance(exc, EnvironmentFault) or lost_connection(exc)
