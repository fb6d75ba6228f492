"""The gate's verdict: its word, every reason, and what it judged. Inert data."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..db.heartbeat import Liveness
from ..db.state import State
from .proposal import Proposal

if TYPE_CHECKING:  # status alone loads no Landlock code
    from ..guards.containment import Containment


class Status(str, enum.Enum):
    BLOCKED = "BLOCKED"
    READY = "READY"
    APPLIED = "APPLIED"
    DRIFTED = "DRIFTED"


@dataclass(frozen=True)
class Reason:
    """Why the gate is not READY, in plain words, and what would clear it."""

    code: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.message} — {self.fix}" if self.fix else self.message


@dataclass(frozen=True)
class GateVerdict:
    """The gate's word, every reason, and what it judged: the proposal and the state.

    `apply` acts on exactly what the verdict judged, so it reads neither twice.
    """

    status: Status
    reasons: tuple[Reason, ...]
    proposal_id: str | None
    proposal_sha256: str | None
    gap: int
    fingerprint: str
    approval_id: str | None = None
    rollout_id: str | None = None
    notes: tuple[str, ...] = ()
    # READY: every approval the rollout will use (the first is approval_id) and their people
    approval_ids: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
    proposal: Proposal | None = field(default=None, repr=False, compare=False)
    state: State | None = field(default=None, repr=False, compare=False)
    # Whether an agent was seen lately (`api.status(liveness=True)`): shown, never judged.
    agent: Liveness | None = field(default=None, repr=False, compare=False)
    # Whether a rollout runs contained by the kernel here (the same call): shown, never judged.
    containment: Containment | None = field(default=None, repr=False, compare=False)
