"""Plain SQL for tests: run a statement on an engine, then dispose of it."""

from __future__ import annotations

import sqlalchemy as sa


def sql_rows(engine: sa.Engine, sql: str, params: dict) -> list[tuple]:
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def sql_execute(engine: sa.Engine, sql: str, params: dict) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()
