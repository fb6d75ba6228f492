"""`govgate passkeys`: the passkeys people registered in the Directus app, as trust-root lines.

A passkey registered in the app proves nothing by itself: anyone who can write the database
could add one. It counts once an operator, having checked with the person that the passkey is
theirs, copies its line into the allowed_signers file (outside the database). This lists each
registered passkey with its owner and that line, ready to copy; one that cannot be trusted
(an RS256 passkey) says why instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import schema as s
from ..db.types import from_directus_time
from ..directus import identity
from ..errors import BadInput
from ..signing import webauthn


@dataclass(frozen=True)
class RegisteredPasskey:
    credential_id: str
    person: str  # "Ada Lovelace <ada@example.org>"
    principal: str  # the name its line gives: the person's e-mail
    algorithm: int
    registered_at: str
    line: str | None  # the allowed_signers line, or None with PROBLEM
    problem: str | None = None


@dataclass(frozen=True)
class PasskeyList:
    rp_id: str
    passkeys: tuple[RegisteredPasskey, ...]


def relying_party(settings: Settings, rp_id: str | None) -> str:
    """The relying party id passkeys are bound to: RP_ID, else the host of `[directus] url`.

    Raises BadInput when neither names one.
    """
    host = rp_id or (urlsplit(settings.directus_url).hostname if settings.directus_url else None)
    if not host:
        raise BadInput(
            "which host do people open the Directus app at? passkeys are bound to it",
            hint="pass --rp-id HOST (e.g. directus.example.org), or set [directus] url",
        )
    return host


def registered(conn: Connection, rp_id: str) -> PasskeyList:
    """Every passkey in os_passkeys, oldest first, with its trust-root line for RP_ID."""
    if s.passkeys.name not in sa.inspect(conn).get_table_names():
        raise BadInput(
            "this database has no os_passkeys table", hint="run `govgate upgrade` (or `init`)"
        )
    t = s.passkeys.c
    rows = conn.execute(
        sa.select(t.credential_id, t.public_key, t.algorithm, t.user_id, t.created_at).order_by(
            t.id
        )
    )
    found = []
    for credential_id, public_key, algorithm, user_id, created_at in rows:
        who = identity.person(conn, None if user_id is None else str(user_id))
        principal = (who.email or who.id) if who else str(user_id)
        line, problem = None, None
        try:
            line = webauthn.passkey_line(principal, public_key, algorithm, rp_id, credential_id)
        except ValueError as exc:
            problem = str(exc)
        when = from_directus_time(created_at)
        found.append(
            RegisteredPasskey(
                credential_id,
                who.label if who else str(user_id),
                principal,
                algorithm,
                when.isoformat() if when else "",
                line,
                problem,
            )
        )
    return PasskeyList(rp_id, tuple(found))
