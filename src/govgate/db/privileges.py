"""What a PostgreSQL login can really do to a table: the one query the gate and doctor share
(MySQL and MariaDB: db/mysql_grants.py, the same answer read from their grants).

A login can write a table through its own grants, through any role it is a member of
(inherited, or reachable with SET ROLE), through a grant on some of its columns only, or
by owning it (directly or through a role). Each of those counts: an agent that could write
an approval after a `SET ROLE` could forge one.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import mysql_grants
from .mysql import is_mysql

_QUERY = sa.text(
    """
SELECT p.priv,
       CASE WHEN BOOL_OR(r.rolname = current_user AND (r.rolsuper OR c.relowner = r.oid
                         OR EXISTS (SELECT 1 FROM aclexplode(c.relacl) a
                                    WHERE a.grantee = r.oid AND a.privilege_type = p.priv)))
            THEN NULL
            ELSE string_agg(DISTINCT r.rolname, ', ')
                 FILTER (WHERE r.rolname <> current_user AND r.rolname NOT LIKE 'pg\\_%')
       END AS via,
       BOOL_AND(NOT has_table_privilege(r.oid, :t, p.priv)
                AND c.relowner <> r.oid) AS columns_only
  FROM pg_roles r
  CROSS JOIN unnest(CAST(:wanted AS text[])) AS p(priv)
  JOIN pg_class c ON c.oid = to_regclass(:t)
 WHERE pg_has_role(current_user, r.oid, 'MEMBER')
   AND (c.relowner = r.oid
        OR has_table_privilege(r.oid, :t, p.priv)
        OR (p.priv IN ('SELECT', 'INSERT', 'UPDATE')
            AND has_any_column_privilege(r.oid, :t, p.priv)))
 GROUP BY p.priv
 ORDER BY MIN(array_position(CAST(:wanted AS text[]), p.priv))
"""
)


def privileges(conn: Connection, table: str, wanted: tuple[str, ...]) -> list[str]:
    """Which of the WANTED privileges the connection's login has on TABLE, by any path.

    Each is named, with how it is reached when not directly: `INSERT (through role x)`,
    `INSERT (on some columns)`. Empty on SQLite, which has no roles.
    """
    if is_mysql(conn):
        return mysql_grants.privileges(conn, table, wanted)
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(_QUERY, {"t": table, "wanted": list(wanted)}).all()
    out = []
    for priv, via, columns_only in rows:
        how = [f"through {'roles' if ',' in via else 'role'} {via}"] if via else []
        how += ["on some columns"] if columns_only else []
        out.append(priv + (f" ({', '.join(how)})" if how else ""))
    return out
