"""The governance tables (fixed names and columns) and govgate's own journal tables, and
the check that a database has them (`require_tables`).

The five governance tables have fixed names and columns because other tools and
people write them; govgate only adds columns and tables beside them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection

from ..errors import SchemaMissing
from .types import LongText, Timestamp, UserRef

SCHEMA_VERSION = "1"

metadata = sa.MetaData()

# MySQL and MariaDB: InnoDB (transactions, consistent dumps) and a binary collation, so that
# ids and hashes compare exactly, as on PostgreSQL and SQLite; the server's default
# (utf8mb4_general_ci) would take 'apr-1' for 'APR-1'. Other dialects ignore these options.
_OPTIONS = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_bin"))
}

authorities = sa.Table(
    "os_authorities",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean(create_constraint=False), nullable=False, default=True),
    **_OPTIONS,
)

governed_collections = sa.Table(
    "os_governed_collections",
    metadata,
    sa.Column("collection", sa.String(64), primary_key=True),
    sa.Column("domain", sa.String(64), nullable=False),
    **_OPTIONS,
)

duties = sa.Table(
    "os_duties",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(255), nullable=False),
    **_OPTIONS,
)

approvals = sa.Table(
    "os_proposal_approvals",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("proposal_id", sa.String(100), nullable=False),
    sa.Column("proposal_sha256", sa.String(64), nullable=False),
    # Directus fills these itself (special user-created / date-created) when a human
    # creates the row in the app; govgate ratify fills them on plain SQL databases.
    sa.Column(
        "approved_by", UserRef()
    ),  # VARCHAR(255); uuid on a PostgreSQL Directus (directus_meta)
    sa.Column("approved_at", Timestamp()),  # Directus writes epoch ms on SQLite
    sa.Column("statement", LongText),
    # Revision v3: until when the approval may start a rollout (NULL: approved_at plus the
    # plan's or configuration's validity).
    sa.Column("not_after", Timestamp()),
    **_OPTIONS,
)

accountability = sa.Table(
    "os_accountability",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("duty", sa.String(64), nullable=False),
    sa.Column("authority", sa.String(64), nullable=False),
    sa.Column("rollout_id", sa.String(64)),
    sa.UniqueConstraint("collection", "duty", name="os_accountability_slot"),
    **_OPTIONS,
)

proposals = sa.Table(
    "os_proposals",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("approval_id", sa.String(100), nullable=False),
    sa.Column("title", LongText, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("body", LongText, nullable=False),  # canonical JSON the hash is taken of
    sa.Column("expected_state", LongText, nullable=False),  # canonical JSON, for diffs
    sa.Column("plan_file", LongText),
    sa.Column("plan_text", LongText),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(255)),
    **_OPTIONS,
)

rollouts = sa.Table(
    "os_rollouts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("proposal_id", sa.String(100), nullable=False),
    sa.Column("proposal_sha256", sa.String(64), nullable=False),
    # unique: an approval is single use, enforced by the database itself
    sa.Column("approval_id", sa.String(100), nullable=False, unique=True),
    sa.Column("status", sa.String(20), nullable=False),  # applied | rolled_back
    sa.Column("pre_fingerprint", sa.String(64), nullable=False),
    sa.Column("post_fingerprint", sa.String(64)),
    sa.Column("created_objects", LongText, nullable=False),  # JSON list of views/dashboards made
    sa.Column("records", LongText, nullable=False),  # JSON list of the slots inserted
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("applied_by", sa.String(255)),
    sa.Column("rolled_back_at", sa.String(40)),
    sa.Column("rolled_back_by", sa.String(255)),
    sa.Column("report", LongText),
    **_OPTIONS,
)

audit = sa.Table(
    "os_audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("proposal_id", sa.String(100)),
    sa.Column("rollout_id", sa.String(64)),
    sa.Column("detail", LongText, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    **_OPTIONS,
)

# Which approval each rollout used: the approval id is the key, so an approval is used once,
# ever. Written only by the custody trigger on os_rollouts (db/custody.py), never by code.
approval_uses = sa.Table(
    "os_approval_uses",
    metadata,
    sa.Column("approval_id", sa.String(100), primary_key=True),
    sa.Column("rollout_id", sa.String(64), nullable=False),
    sa.Column("used_at", sa.String(40), nullable=False),
    **_OPTIONS,
)

# Revision v3: the signed payload of an approval and its signature, beside the approval. The
# payload is canonical JSON (signing/payload.py); `kind` says how it was signed: "sshsig"
# (armored OpenSSH signature) or "webauthn" (a passkey assertion, as JSON).
approval_signatures = sa.Table(
    "os_approval_signatures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("approval_id", sa.String(100), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("payload", LongText, nullable=False),
    sa.Column("signature", LongText, nullable=False),
    sa.Column("created_by", UserRef()),
    sa.Column("created_at", Timestamp()),
    **_OPTIONS,
)

# Revision v3: passkeys people register in the Directus app (WebAuthn public keys). A passkey
# here proves nothing: it counts once an operator copies it into the trust root, a file
# outside the database (`[approvals] allowed_signers`).
passkeys = sa.Table(
    "os_passkeys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # ASCII on MySQL and MariaDB: a unique key holds at most 3072 bytes, and base64url is ASCII.
    sa.Column(
        "credential_id",
        sa.String(1400).with_variant(
            mysql.VARCHAR(1400, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"
        ),
        nullable=False,
        unique=True,
    ),
    sa.Column("public_key", LongText, nullable=False),  # SubjectPublicKeyInfo, DER, base64url
    sa.Column("algorithm", sa.Integer, nullable=False),  # COSE: -7 ES256, -8 EdDSA, -257 RS256
    sa.Column("user_id", UserRef(), nullable=False),
    sa.Column("created_at", Timestamp()),
    **_OPTIONS,
)

settings = sa.Table(
    "os_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", LongText, nullable=False),
    **_OPTIONS,
)

outbox = sa.Table(
    "os_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("payload", LongText, nullable=False),
    sa.Column("sent_at", sa.String(40)),
    **_OPTIONS,
)

# Revision v4: one row per agent process, kept up to date while it runs (agent/observe.py):
# what `status --why`, `doctor` and the owner's page say of the agent. The agent's role may
# INSERT and UPDATE it and nothing else; the gate's verdict never depends on it. Times are
# UTC ISO 8601 strings from the agent's clock.
agent_heartbeats = sa.Table(
    "os_agent_heartbeats",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # one agent process: a random hex id
    sa.Column("identity", sa.String(255), nullable=False),
    sa.Column("version", sa.String(40), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("seen_at", sa.String(40), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # idle | waiting | applying | stopped
    sa.Column("last_status", sa.String(20)),  # the gate's last word it saw
    sa.Column("polls", sa.Integer, nullable=False),
    sa.Column("rollouts", sa.Integer, nullable=False),
    sa.Column("errors", sa.Integer, nullable=False),
    **_OPTIONS,
)

GOVERNANCE_TABLES = (
    "os_authorities",
    "os_governed_collections",
    "os_duties",
    "os_proposal_approvals",
    "os_accountability",
)
OWN_TABLES = ("os_proposals", "os_rollouts", "os_audit", "os_settings", "os_outbox")
ALL_TABLES = GOVERNANCE_TABLES + OWN_TABLES
# Tables of a later schema revision: `govgate upgrade` creates them on an older database.
CUSTODY_TABLES = ("os_approval_uses",)  # v2
SIGNATURE_TABLES = ("os_approval_signatures", "os_passkeys")  # v3
HEARTBEAT_TABLES = ("os_agent_heartbeats",)  # v4
LATER_TABLES = CUSTODY_TABLES + SIGNATURE_TABLES + HEARTBEAT_TABLES
# Columns of a later schema revision: a database without them wants `govgate upgrade`.
LATER_COLUMNS = {("os_proposal_approvals", "not_after")}  # v3

# The id init gives this database once (os_settings); signed approvals name it, so an approval
# signed for one database never counts in another.
DATABASE_ID = "database_id"

# Rows of os_settings that init writes once and never overwrites.
DEFAULT_SETTINGS = {"schema_version": SCHEMA_VERSION, "external_emission": "off"}

# The read-only dashboard views a rollout creates (SQL that both dialects accept).
VIEWS = {
    "os_v_accountability_matrix": (
        "SELECT a.collection, g.domain, a.duty, a.authority, a.rollout_id "
        "FROM os_accountability a JOIN os_governed_collections g ON g.collection = a.collection"
    ),
    "os_v_gap_by_authority": (
        "SELECT au.code AS authority, au.name, COUNT(a.id) AS slots_held "
        "FROM os_authorities au LEFT JOIN os_accountability a ON a.authority = au.code "
        "GROUP BY au.code, au.name"
    ),
}


def require_tables(conn: Connection) -> None:
    """Raises SchemaMissing naming every governance or journal table, or column, that is absent.

    Tables other tools created may carry more columns; the ones the schema
    names (and govgate's own) must be there. Checked once per transaction: the catalogue
    queries cost PostgreSQL more than reading the state of a small database.
    """
    transaction = conn.get_transaction()
    if transaction is not None and conn.info.get(_TABLES_CHECKED) is transaction:
        return
    insp = sa.inspect(conn)
    present = set(insp.get_table_names())
    missing = [t for t in ALL_TABLES if t not in present]
    if missing:
        raise SchemaMissing(
            f"missing governance tables in {conn.engine.url.render_as_string(hide_password=True)}"
            f": {', '.join(missing)}",
            hint="run `govgate init` to create them (existing rows are never altered)",
        )
    # One catalogue query for every table where the dialect can (PostgreSQL), not one each.
    columns = {
        key[1]: cols for key, cols in insp.get_multi_columns(filter_names=ALL_TABLES).items()
    }
    for name in ALL_TABLES:
        have = {c["name"] for c in columns.get(name, ())}
        lacking = [
            c.name
            for c in metadata.tables[name].columns
            if c.name not in have and (name, c.name) not in LATER_COLUMNS
        ]
        if lacking:
            raise SchemaMissing(
                f"table {name} lacks the columns {', '.join(lacking)}",
                hint="add them (govgate init never alters existing tables)",
            )
    if transaction is not None:
        conn.info[_TABLES_CHECKED] = transaction


_TABLES_CHECKED = "govgate.tables_checked_in"
