"""The governance collections as Directus shows them: each table's collection and field meta.

What `registration` writes with SQL and `api_registration` through the REST API is the same:
the rows below. `approved_by`/`created_by`/`user_id` are `user-created` and
`approved_at`/`created_at` `date-created`, so Directus fills them with the real user and
time and overrides whatever a client sends.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..db import schema as s


@dataclass(frozen=True)
class CollectionMeta:
    table: str
    icon: str
    note: str
    readonly: bool = False  # every field read-only in the app (govgate's own journals)
    directus_writes: bool = True  # PostgreSQL: Directus's role may write it (else SELECT only)
    display_template: str | None = None


# What shows in the Directus app, in this order. os_settings and os_outbox stay unregistered:
# they are govgate's internals, and every registered collection counts against the licence.
COLLECTIONS = (
    CollectionMeta(
        "os_proposal_approvals",
        "verified",
        "Human ratifications of govgate proposals: one new item per proposal, carrying the "
        "proposal's exact hash. Directus records who approved and when; never edit one.",
        display_template="{{id}} · {{proposal_id}}",
    ),
    CollectionMeta(
        "os_approval_signatures",
        "draw",
        "The signed payload of an approval and its signature (SSH key or passkey); never edit one.",
        display_template="{{approval_id}} · {{kind}}",
    ),
    CollectionMeta(
        "os_passkeys",
        "passkey",
        "Passkeys people registered to approve in the app; one counts only once an operator "
        "adds it to the allowed signers file.",
        display_template="{{user_id}} · {{algorithm}}",
    ),
    CollectionMeta(
        "os_proposals",
        "description",
        "Proposals frozen by `govgate propose` (written by govgate only).",
        readonly=True,
        directus_writes=False,
        display_template="{{id}} · {{title}}",
    ),
    CollectionMeta(
        "os_accountability",
        "assignment_ind",
        "Which authority is accountable for which duty of which governed collection.",
        display_template="{{collection}} · {{duty}} → {{authority}}",
    ),
    CollectionMeta(
        "os_authorities",
        "account_balance",
        "Bodies that can be accountable.",
        display_template="{{code}} · {{name}}",
    ),
    CollectionMeta(
        "os_governed_collections",
        "inventory_2",
        "The tables under governance.",
        display_template="{{collection}}",
    ),
    CollectionMeta(
        "os_duties", "rule", "Accountability duties.", display_template="{{code}} · {{title}}"
    ),
    CollectionMeta(
        "os_rollouts",
        "rocket_launch",
        "Rollouts journaled by govgate (written by govgate only; `govgate rollback` undoes one).",
        readonly=True,
        directus_writes=False,
        display_template="{{id}} · {{status}}",
    ),
    CollectionMeta(
        "os_audit",
        "history",
        "govgate's hash-chained audit trail (written by govgate only: any edit breaks "
        "`govgate audit verify`).",
        readonly=True,
        directus_writes=False,
        display_template="{{seq}} · {{kind}} · {{actor}}",
    ),
)
REGISTERED = tuple(c.table for c in COLLECTIONS)

_APPROVAL_FIELDS = {
    "id": {
        "interface": "input",
        "required": True,
        "note": "The approval id, e.g. the plan's `approval:` (APR-…). Single use.",
    },
    "proposal_id": {
        "interface": "input",
        "required": True,
        "note": "The proposal you approve (PROP-…).",
    },
    "proposal_sha256": {
        "interface": "input",
        "required": True,
        "note": "The proposal hash printed by `govgate propose` and `govgate status --json`.",
    },
    "approved_by": {
        "special": "user-created",
        "interface": "select-dropdown-m2o",
        "display": "user",
        "options": {"template": "{{first_name}} {{last_name}} ({{email}})"},
        "readonly": True,
        "width": "half",
        "note": "Filled by Directus: who created this item.",
    },
    "approved_at": {
        "special": "date-created",
        "interface": "datetime",
        "display": "datetime",
        "display_options": {"relative": True},
        "readonly": True,
        "width": "half",
        "note": "Filled by Directus: when this item was created.",
    },
    "statement": {"interface": "input-multiline", "note": "What you state by approving."},
    "not_after": {
        "interface": "datetime",
        "width": "half",
        "note": "The approval starts no rollout after this (empty: approved_at plus 14 days).",
    },
}


def _interface(column: sa.Column) -> dict:
    """The app interface for a plain column, by its type (what Directus would pick itself)."""
    t = column.type
    if isinstance(t, sa.Boolean):
        return {"interface": "boolean", "special": "cast-boolean"}
    if isinstance(t, sa.DateTime):
        return {"interface": "datetime"}
    if isinstance(t, sa.Integer):
        return {"interface": "input"}
    if isinstance(t, sa.Text) or (isinstance(t, sa.String) and t.length is None):
        return {"interface": "input-multiline"}
    return {"interface": "input"}


_FILLED_BY_DIRECTUS = {
    "created_by": {"special": "user-created", "interface": "select-dropdown-m2o", "readonly": True},
    "created_at": {"special": "date-created", "interface": "datetime", "readonly": True},
}
_FIELDS = {
    s.approvals.name: _APPROVAL_FIELDS,
    s.approval_signatures.name: _FILLED_BY_DIRECTUS,
    s.passkeys.name: {
        "user_id": _FILLED_BY_DIRECTUS["created_by"],
        "created_at": _FILLED_BY_DIRECTUS["created_at"],
    },
}


def field_rows(meta: CollectionMeta) -> list[dict]:
    """The directus_fields rows for one governance table, column by column."""
    table = s.metadata.tables[meta.table]
    rows = []
    for sort, column in enumerate(table.columns, start=1):
        spec = dict(_FIELDS.get(meta.table, {}).get(column.name, {}))
        if "interface" not in spec:
            spec.update(_interface(column))
        rows.append(
            {
                "collection": meta.table,
                "field": column.name,
                "special": spec.get("special"),
                "interface": spec["interface"],
                "options": spec.get("options"),
                "display": spec.get("display"),
                "display_options": spec.get("display_options"),
                "readonly": bool(meta.readonly or spec.get("readonly", False)),
                "hidden": False,
                "sort": sort,
                "width": spec.get("width", "full"),
                "note": spec.get("note"),
                "required": bool(spec.get("required", False)),
            }
        )
    return rows
