"""`/healthz` and the agent's liveness as the page shows it.

`/healthz` answers whether the database answers, and nothing more: no state is computed,
so a load balancer or a monitor may ask it as often as it likes. 200 with
`{"status": "ok", …}` when `SELECT 1` succeeds on a read-only connection; 503 with
`{"status": "unavailable", …}` (the error, its URL's password masked) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import __version__, api
from ..config import Settings
from ..db import heartbeat
from ..db.engine import Mode
from ..db.session import session
from ..errors import GovgateError
from ..guards import containment
from .fresh import Fresh


def healthz(settings: Settings) -> Callable[[Request], Response]:
    """The `/healthz` endpoint for SETTINGS' database."""

    def endpoint(request: Request) -> Response:
        try:
            with session(settings.db_url, Mode.READ) as conn:
                conn.exec_driver_sql("SELECT 1")
        except GovgateError as exc:
            body = {"status": "unavailable", "database": "unreachable", "error": exc.message}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    return endpoint


def status(settings: Settings, fresh: Fresh):
    """The gate's verdict with whether an agent was seen lately, as of now: the verdict and
    the heartbeats are kept together until the next commit (FRESH), their age is taken at
    every call."""
    verdict, found = fresh.get(
        "status", lambda: (api.status(settings), api.agent_sightings(settings))
    )
    seen = heartbeat.liveness(found, settings.agent_stale_after)
    return replace(verdict, agent=seen, containment=containment.decide(settings))
