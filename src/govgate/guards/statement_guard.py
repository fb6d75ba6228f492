"""Confinement on MySQL and MariaDB: by statement as it is sent, and by count before commit.

MySQL has no per-transaction view of the tables written (PostgreSQL's
`pg_stat_xact_user_tables`) and no authorizer (SQLite's). Three things stand in for them:

1. Table-level GRANTs of the agent's role (`govgate init --roles`), which the server enforces
   and the gate and `doctor` check (db/mysql_grants.py).
2. A guard on the rollout's connection that sees every statement before it is sent: it
   refuses anything but SELECT, SHOW and INSERT / UPDATE / DELETE of one allowed table,
   so DDL (which would commit the transaction halfway), LOCK, SET, CALL or a write to any
   other table never reaches the server. It counts the rows each allowed statement reports.
3. Before commit, proof that the session wrote exactly those rows: the server's own session
   counters Handler_write / _update / _delete moved by the rows the allowed statements
   reported, plus the rows govgate's custody triggers write beside them
   (db/mysql_custody.TRIGGER_WRITES), and not one more. A write that went around the guard
   (the driver's own cursor, a stored function called in a SELECT, a trigger someone else put
   on an allowed table) shows as a difference, and the transaction is rolled back.
   Nothing committed it halfway: the savepoint set as the guard was installed must still
   exist (any commit, implicit ones included, removes every savepoint; `@@in_transaction`
   alone would be 1 again once a later statement opened a new transaction).

These counters count rows, not tables: the proof is "no row beyond what the allowed statements
wrote", which with (2) means no row outside the allowed tables.
"""

from __future__ import annotations

import re
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import mysql
from ..db.mysql_custody import TRIGGER_WRITES
from ..errors import CheckFailed

_NAME = r"`?(\w+)`?"  # one plain table name: a qualified one (db.table) never matches
_TARGETS = {
    "INSERT": re.compile(rf"^\s*INSERT\s+INTO\s+{_NAME}\s*[(\s]", re.I),
    "UPDATE": re.compile(rf"^\s*UPDATE\s+{_NAME}\s+SET\s", re.I),
    "DELETE": re.compile(rf"^\s*DELETE\s+FROM\s+{_NAME}(?:\s+WHERE\s|\s*$)", re.I),
}
_COUNTER = {"INSERT": "Handler_write", "UPDATE": "Handler_update", "DELETE": "Handler_delete"}
_SAVEPOINT = "govgate_confined"
_NO_SAVEPOINT = 1305  # SAVEPOINT ... does not exist


class StatementGuard:
    """What one confined transaction sent, refused and counted on a MySQL connection."""

    def __init__(self, conn: Connection, tables: frozenset[str], denied: list[str]):
        self.conn, self.tables, self.denied = conn, tables, denied
        self.expected: Counter[str] = Counter()
        self.baseline = mysql.handler_counters(conn)
        self._pending: tuple[str, str] | None = None
        mysql.raw_execute(conn, f"SAVEPOINT {_SAVEPOINT}")

    def install(self) -> None:
        sa.event.listen(self.conn, "before_cursor_execute", self._before, retval=True)
        sa.event.listen(self.conn, "after_cursor_execute", self._after)

    def remove(self) -> None:
        for name, fn in (
            ("before_cursor_execute", self._before),
            ("after_cursor_execute", self._after),
        ):
            if sa.event.contains(self.conn, name, fn):
                sa.event.remove(self.conn, name, fn)

    # -- as each statement is sent

    def _before(self, _conn, _cursor, statement, parameters, _context, _many):
        self._pending = None
        verb = mysql.first_verb(statement)
        if verb not in mysql.DML_ONLY_VERBS:
            self._refuse(f"{verb or 'an unrecognised statement'} inside the rollout", statement)
        if verb in _TARGETS:
            match = _TARGETS[verb].match(statement)
            if match is None:
                self._refuse(f"{verb} of a form the rollout never sends", statement)
            table = match.group(1)
            if table not in self.tables:
                self._refuse(f"{verb.lower()} into {table}", statement)
            self._pending = (verb, table)
        return statement, parameters

    def _after(self, _conn, cursor, _statement, _parameters, _context, _many):
        if self._pending is None:
            return
        verb, table = self._pending
        self._pending = None
        rows = max(cursor.rowcount or 0, 0)
        self.expected[_COUNTER[verb]] += rows
        if verb == "INSERT":
            self.expected["Handler_write"] += rows * TRIGGER_WRITES.get(table, 0)

    def _refuse(self, what: str, statement: str) -> None:
        self.denied.append(f"{what}: {' '.join(statement.split())[:120]}")
        raise CheckFailed(
            "the rollout tried to run what it may not run",
            failures=tuple(f"confinement: {d}" for d in self.denied[-1:]),
        )

    # -- before commit

    def violations(self) -> list[str]:
        """Differences between the rows this session wrote and the rows its allowed statements
        reported, and an implicit commit; empty when the transaction is exactly as meant."""
        out = []
        if not mysql.in_transaction(self.conn) or not self._savepoint_stands():
            out.append(
                "the transaction was committed before its end (an implicit commit: DDL or a "
                "transaction statement sent around govgate's guard); what ran before it stays"
            )
        now = mysql.handler_counters(self.conn)
        for counter in mysql.HANDLER_COUNTERS:
            wrote = now[counter] - self.baseline[counter]
            meant = self.expected[counter]
            if wrote != meant:
                out.append(
                    f"this session's {counter} moved by {wrote}, but the rollout's own statements "
                    f"account for {meant}: something wrote rows around the statement guard"
                )
        return out

    def _savepoint_stands(self) -> bool:
        """Whether the guard's savepoint still exists (then set again for the next check)."""
        try:
            mysql.raw_execute(self.conn, f"RELEASE SAVEPOINT {_SAVEPOINT}")
        except Exception as exc:
            if getattr(exc, "args", (None,))[0] != _NO_SAVEPOINT:
                raise
            return False
        mysql.raw_execute(self.conn, f"SAVEPOINT {_SAVEPOINT}")
        return True
