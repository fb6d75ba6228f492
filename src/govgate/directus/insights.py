"""The Directus Insights dashboard a rollout creates: rows, nothing else.

A Directus dashboard is just rows in directus_dashboards and directus_panels;
the app renders them. The rollout inserts them in its own transaction and the
rollback deletes exactly those rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import schema as s
from . import tables as dx

NAME = "Governance accountability"


def _panel(
    dashboard_id: str,
    name: str,
    kind: str,
    box: tuple[int, int, int, int],
    options: dict,
    user: str | None,
    created: datetime,
    icon: str,
    note: str | None = None,
) -> dict:
    x, y, w, h = box
    return {
        "id": str(uuid.uuid4()),
        "dashboard": dashboard_id,
        "name": name,
        "icon": icon,
        "color": None,
        "show_header": True,
        "note": note,
        "type": kind,
        "position_x": x,
        "position_y": y,
        "width": w,
        "height": h,
        "options": options,
        "date_created": created,
        "user_created": user,
    }


def panels_for(
    dashboard_id: str,
    authorities: list[str],
    slots: int,
    gap_before: int,
    gap_after: int,
    user: str | None,
    created: datetime | None = None,
) -> list[dict]:
    """The panels: the gap, slots covered, accountability by authority, and the matrix.

    Panel types and option names are those of the Directus 12 app (label, metric,
    metric-list, list); the app runs the queries when it renders the dashboard, so
    the counts are always live, except the gap label, which records the rollout.
    """
    created = created or datetime.now(UTC)
    table = s.accountability.name
    return [
        _panel(
            dashboard_id,
            "Ownership gap",
            "label",
            (1, 1, 12, 8),
            {
                "text": f"Ownership gap: {gap_after} (was {gap_before} before the rollout)",
                "whiteSpace": "normal",
            },
            user,
            created,
            "rule",
            note=f"Slots without an accountable authority, out of {slots}.",
        ),
        _panel(
            dashboard_id,
            "Accountability slots covered",
            "metric",
            (13, 1, 12, 8),
            {"collection": table, "field": "id", "function": "count", "suffix": f" of {slots}"},
            user,
            created,
            "assignment_turned_in",
            note=f"Ownership gap = {slots} − this number.",
        ),
        _panel(
            dashboard_id,
            "Accountability by authority",
            "metric-list",
            (1, 9, 24, 4 + 2 * len(authorities)),
            {
                "collection": table,
                "groupByField": "authority",
                "aggregateField": "id",
                "aggregateFunction": "count",
                "sortDirection": "desc",
                "limit": max(len(authorities), 5),
            },
            user,
            created,
            "account_balance",
            note="Slots each authority is accountable for.",
        ),
        _panel(
            dashboard_id,
            "Accountability matrix",
            "list",
            (1, 13 + 2 * len(authorities), 24, 14),
            {
                "collection": table,
                "limit": 250,
                "sortField": "collection",
                "sortDirection": "asc",
                "displayTemplate": "{{collection}} · {{duty}} → {{authority}}",
            },
            user,
            created,
            "table_view",
        ),
    ]


def create(conn: Connection, rollout_id: str, proposal, agent_user: str | None) -> list[dict]:
    """Insert the dashboard and its panels; returns the objects for the journal."""
    dashboard_id = str(uuid.uuid4())
    created = datetime.now(UTC)  # as Directus sets it (date-created), not the column default
    authorities = list(proposal.records_by_authority)  # sorted
    slots = (
        conn.execute(sa.select(sa.func.count()).select_from(s.governed_collections)).scalar_one()
        * conn.execute(sa.select(sa.func.count()).select_from(s.duties)).scalar_one()
    )
    conn.execute(
        dx.dashboards.insert().values(
            id=dashboard_id,
            name=NAME,
            icon="policy",
            date_created=created,
            user_created=agent_user,
            note=f"Created by govgate rollout {rollout_id} (proposal {proposal.id}); "
            "`govgate rollback` removes it.",
        )
    )
    panels = panels_for(
        dashboard_id,
        authorities,
        slots,
        proposal.gap_before,
        proposal.predicted_gap,
        agent_user,
        created,
    )
    conn.execute(dx.panels.insert(), panels)
    return [
        {"kind": "dashboard", "id": dashboard_id, "name": NAME, "panels": [p["id"] for p in panels]}
    ]


def remove(conn: Connection, objects: list[dict]) -> None:
    """Delete exactly the dashboards (and their panels) a rollout recorded."""
    for obj in objects:
        conn.execute(dx.panels.delete().where(dx.panels.c.id.in_(obj["panels"])))
        conn.execute(dx.dashboards.delete().where(dx.dashboards.c.id == obj["id"]))
