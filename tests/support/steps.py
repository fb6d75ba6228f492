"""Step hooks, and what an aborted step must leave behind.

apply and rollback call `hook(step, conn)` before each of their steps, inside their own
transaction and on its connection. The hooks here do what a bug or an intruder would do
there; the assertions check that the command aborted, that every table is as before, and
that the audit trail gained exactly one `abort` row naming the step.
"""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from govgate import api
from govgate.errors import Aborted

from support.constants import AGENT_LOGIN
from support.labs import Lab, audit_rows

# Statements a rollout must never run: a protected collection, the authorities, a new table.
WRITE_BILLING = (
    "INSERT INTO billing_invoices (id, name, status, notes) VALUES (9001, 'stray', 'draft', 'x')"
)
WRITE_AUTHORITIES = "UPDATE os_authorities SET name = 'Hijacked' WHERE code = 'GOV-DOT'"
CREATE_TABLE = "CREATE TABLE os_stray (id integer)"


def stray(at_step: str, sql: str):
    """A hook that runs SQL inside the transaction, on its connection, before AT_STEP."""

    def hook(name, conn):
        if name == at_step:
            conn.execute(sa.text(sql))

    return hook


def emitting_hook(port: int, swallow: bool = False):
    """A hook that opens a TCP connection to 127.0.0.1:PORT before the `records` step.

    With SWALLOW it hides the refusal, as a library that catches every exception would.
    """

    def hook(step, conn):
        if step == "records":
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2)
            except Exception:
                if not swallow:
                    raise

    return hook


def grant_too_much(lab: Lab) -> None:
    """A misconfigured agent role: the database would let these writes through."""
    if lab.backend == "mariadb":  # one table per GRANT; the login is an account
        for table in ("billing_invoices", "os_authorities"):
            lab.execute(f"GRANT INSERT, UPDATE ON {table} TO '{AGENT_LOGIN}'@'127.0.0.1'")
        return
    lab.execute(f"GRANT INSERT, UPDATE ON billing_invoices, os_authorities TO {AGENT_LOGIN}")


def assert_one_abort_row_naming(lab: Lab, audit_before: list[tuple], step: str) -> None:
    """The trail kept every earlier row, gained one `abort` row naming STEP, and verifies."""
    after = audit_rows(lab)
    assert after[: len(audit_before)] == audit_before
    new = after[len(audit_before) :]
    assert [row[1] for row in new] == ["abort"], new
    assert f'"step":"{step}"' in new[0][2]
    assert api.audit_verify(lab.settings).ok


def assert_aborted_and_nothing_written(lab: Lab, action, hook, step: str, *phrases: str) -> Aborted:
    """ACTION (api.apply or api.rollback) with HOOK aborts at STEP naming PHRASES; every table
    but the audit trail is as before, and the trail gained one abort row naming STEP."""
    before, audit_before = lab.snapshot(exclude=("os_audit",)), audit_rows(lab)
    with pytest.raises(Aborted) as aborted:
        action(lab.settings, hook=hook)
    assert aborted.value.step == step
    for phrase in phrases:
        assert phrase in aborted.value.message, aborted.value.message
    assert lab.snapshot(exclude=("os_audit",)) == before
    assert_one_abort_row_naming(lab, audit_before, step)
    return aborted.value
