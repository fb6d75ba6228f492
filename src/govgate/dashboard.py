"""The Directus Insights dashboard a rollout creates: rows, nothing else.

A Directus dashboard is just rows in directus_dashboards and directus_panels;
the app renders them. The rollout inserts them in its own transaction and the
rollback deletes exactly those rows.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import directus as dx
from . import schema as s

NAME = "Governance accountability"


def _panel(dashboard_id: str, name: str, kind: str, box: tuple[int, int, int, int], options: dict,
           user: str | None, note: str | None = None) -> dict:
    x, y, w, h = box
    return {"id": str(uuid.uuid4()), "dashboard": dashboard_id, "name": name, "icon": "policy",
            "color": None, "show_header": True, "note": note, "type": kind, "position_x": x,
            "position_y": y, "width": w, "height": h, "options": options, "user_created": user}


def panels_for(dashboard_id: str, authorities: list[str], slots: int, gap_before: int,
               gap_after: int, user: str | None) -> list[dict]:
    """The panels: the gap, slots covered, accountability by authority, and the matrix."""
    count = {"collection": s.accountability.name, "field": "id", "function": "count"}
    out = [
        _panel(dashboard_id, "Ownership gap", "label", (1, 1, 12, 6),
               {"text": f"Ownership gap: {gap_after} (was {gap_before} before the rollout)"}, user,
               note=f"Slots without an accountable authority, out of {slots}."),
        _panel(dashboard_id, "Accountability slots covered", "metric", (13, 1, 12, 6), count, user,
               note=f"Ownership gap = {slots} − this number."),
    ]
    for i, code in enumerate(authorities):
        box = (1 + 12 * (i % 2), 7 + 6 * (i // 2), 12, 6)
        out.append(_panel(dashboard_id, f"Accountable: {code}", "metric", box,
                          {**count, "filter": {"authority": {"_eq": code}}}, user))
    top = 7 + 6 * ((len(authorities) + 1) // 2)
    out.append(_panel(dashboard_id, "Accountability matrix", "list", (1, top, 24, 12),
                      {"collection": s.accountability.name, "limit": 250, "sortField": "collection",
                       "displayTemplate": "{{collection}} · {{duty}} → {{authority}}"}, user))
    return out


def create(conn: Connection, rollout_id: str, proposal, agent_user: str | None) -> list[dict]:
    """Insert the dashboard and its panels; returns the objects for the journal."""
    dashboard_id = str(uuid.uuid4())
    authorities = sorted({x.authority for x in proposal.slots})
    slots = conn.execute(sa.select(sa.func.count()).select_from(s.governed_collections)).scalar_one() * \
        conn.execute(sa.select(sa.func.count()).select_from(s.duties)).scalar_one()
    conn.execute(dx.dashboards.insert().values(
        id=dashboard_id, name=NAME, icon="policy", user_created=agent_user,
        note=f"Created by govgate rollout {rollout_id} (proposal {proposal.id}); "
             "`govgate rollback` removes it."))
    panels = panels_for(dashboard_id, authorities, slots, proposal.gap_before, proposal.predicted_gap,
                        agent_user)
    conn.execute(dx.panels.insert(), panels)
    return [{"kind": "dashboard", "id": dashboard_id, "name": NAME, "panels": [p["id"] for p in panels]}]


def remove(conn: Connection, objects: list[dict]) -> None:
    """Delete exactly the dashboards (and their panels) a rollout recorded."""
    for obj in objects:
        conn.execute(dx.panels.delete().where(dx.panels.c.id.in_(obj["panels"])))
        conn.execute(dx.dashboards.delete().where(dx.dashboards.c.id == obj["id"]))
