"""What a MySQL or MariaDB login can really do to a table, read from its grants.

A login can write a table through its own grants (global `*.*`, on the database, possibly
by a wildcard pattern, on the table, or on some of its columns), through any role granted to
it (active or not: `SET ROLE` is one statement away), through roles granted to those roles,
and through PUBLIC (MariaDB 10.11). Each path counts, as in db/privileges.py for PostgreSQL.

The grants are read with `SHOW GRANTS`, which every login may run for itself and for the
roles granted to it (an inactive one after a `SET ROLE` to it, undone at once);
information_schema would show only what is active right now.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# GRANT <privileges> ON <scope> TO <grantee> [...]; role memberships have no ON.
_GRANT = re.compile(r"^GRANT (?P<privs>.+?) ON (?P<scope>\S+) TO ", re.S)
_ROLE = re.compile(r"^GRANT (?P<roles>`[^`]+`(?:@`[^`]*`)?(?:, ?`[^`]+`(?:@`[^`]*`)?)*) TO ")
_IDENT = re.compile(r"`((?:[^`]|``)*)`|(\*)|([^.`]+)")
_ALL = ("ALL PRIVILEGES", "ALL")


def _split_privileges(text: str) -> list[tuple[str, bool]]:
    """(privilege, on some columns only) for each item of a GRANT's privilege list."""
    items, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    out = []
    for item in items:
        name, _, columns = item.strip().partition("(")
        out.append((name.strip().upper(), bool(columns)))
    return out


def _scope(text: str) -> tuple[str, str] | None:
    """(database pattern, table) of a GRANT's `db`.`table`; None for procedures and the like."""
    parts = [m.group(1) if m.group(1) is not None else (m.group(2) or m.group(3))
             for m in _IDENT.finditer(text)]  # fmt: skip
    if len(parts) != 2:
        return None
    return parts[0].replace("``", "`"), parts[1].replace("``", "`")


def _database_matches(pattern: str, database: str) -> bool:
    """Whether a database-level grant's PATTERN (MySQL wildcards % and _) names DATABASE."""
    if pattern == "*":
        return True
    regex = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    return re.fullmatch(regex, database) is not None


def _show(conn: Connection, grantee: str) -> list[str]:
    sql = f"SHOW GRANTS FOR {grantee}"
    try:
        return [row[0] for row in conn.exec_driver_sql(sql)]
    except sa.exc.DBAPIError:
        pass
    if grantee in ("CURRENT_USER", "PUBLIC"):
        return []  # no PUBLIC on this server (before MariaDB 10.11, MySQL)
    # A login may look at a role granted to it only while the role is active: make it active
    # for the one statement, then put the session's own role back.
    current = conn.exec_driver_sql("SELECT CURRENT_ROLE()").scalar()
    try:
        conn.exec_driver_sql(f"SET ROLE {grantee}")
        return [row[0] for row in conn.exec_driver_sql(sql)]
    except sa.exc.DBAPIError:
        return []
    finally:
        back = "NONE" if current is None else "`" + current.replace("`", "``") + "`"
        conn.exec_driver_sql(f"SET ROLE {back}")


def _grant_lines(conn: Connection) -> list[tuple[str | None, str]]:
    """(through which role, or None for the login's own) and each GRANT line reachable."""
    lines = [(None, line) for line in _show(conn, "CURRENT_USER")]
    seen: set[str] = set()
    queue = [(None, line) for _, line in lines]
    queue.append(("PUBLIC", "GRANT `PUBLIC` TO x"))
    while queue:
        _via, line = queue.pop()
        found = _ROLE.match(line)
        if not found:
            continue
        for role in re.findall(r"`([^`]+)`(?:@`[^`]*`)?", found.group("roles")):
            if role in seen:
                continue
            seen.add(role)
            more = _show(
                conn, "PUBLIC" if role == "PUBLIC" else "`" + role.replace("`", "``") + "`"
            )
            lines += [(role, grant) for grant in more]
            queue += [(role, grant) for grant in more]
    return lines


def privileges(conn: Connection, table: str, wanted: tuple[str, ...]) -> list[str]:
    """Which of the WANTED privileges the login has on TABLE of this database, by any path.

    Named as on PostgreSQL: `INSERT`, `INSERT (through role x)`, `INSERT (on some columns)`.
    """
    database = conn.exec_driver_sql("SELECT DATABASE()").scalar() or ""
    found: dict[str, dict] = {}
    for via, line in _grant_lines(conn):
        match = _GRANT.match(line)
        scope = _scope(match.group("scope")) if match else None
        if scope is None:
            continue
        db_pattern, name = scope
        if not _database_matches(db_pattern, database) or name not in ("*", table):
            continue
        for priv, columns in _split_privileges(match.group("privs")):
            for want in wanted:
                if priv == want or priv in _ALL:
                    entry = found.setdefault(want, {"own": False, "roles": set(), "cols": True})
                    if via is None:
                        entry["own"] = True
                    else:
                        entry["roles"].add(via)
                    entry["cols"] = entry["cols"] and columns
    out = []
    for want in wanted:
        if want not in found:
            continue
        entry = found[want]
        how = []
        if not entry["own"]:
            roles = sorted(entry["roles"])
            how.append(f"through {'roles' if len(roles) > 1 else 'role'} {', '.join(roles)}")
        if entry["cols"]:
            how.append("on some columns")
        out.append(want + (f" ({', '.join(how)})" if how else ""))
    return out
