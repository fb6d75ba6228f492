"""Tampering with the audit trail as its owner can: edits, deletions, insertions, reorderings,
and re-hashings that leave a chain that walks clean (see forgery.py for the figure)."""

from __future__ import annotations

import json

from govgate.db.audit import GENESIS, _hash

from .common import ROOT  # noqa: F401  (tests/ on sys.path first)


def owner(lab, sql: str, **params) -> None:
    lab.execute(sql, **params)


def _rows(lab) -> list[tuple]:
    return lab.rows(
        "SELECT seq, at, kind, actor, proposal_id, rollout_id, detail, prev_hash, hash "
        "FROM os_audit ORDER BY seq"
    )


def _rehash(lab, rows: list[tuple]) -> None:
    """Rewrite every row so the chain walks clean, as a careful owner would."""
    owner(lab, "DELETE FROM os_audit")
    prev = GENESIS
    for seq, at, kind, actor, pid, rid, detail, _, _ in rows:
        digest = _hash(seq, at, kind, actor, pid, rid, json.loads(detail), prev)
        owner(
            lab,
            "INSERT INTO os_audit (seq, at, kind, actor, proposal_id, rollout_id, detail, "
            "prev_hash, hash) VALUES (:s, :at, :k, :a, :p, :r, :d, :ph, :h)",
            s=seq,
            at=at,
            k=kind,
            a=actor,
            p=pid,
            r=rid,
            d=detail,
            ph=prev,
            h=digest,
        )
        prev = digest


def tamperings(count: int) -> list[tuple[str, int]]:
    kinds = (
        "edit",
        "delete",
        "insert",
        "reorder",
        "rehash-edit",
        "rehash-delete",
        "rehash-reorder",
        "rehash-truncate",
    )
    return [(k, i) for k in kinds for i in range(1, count + 1)]


def tamper(lab, kind: str, at: int) -> None:
    rows = _rows(lab)
    seq = rows[at - 1][0]
    if kind == "edit":
        owner(lab, "UPDATE os_audit SET actor = 'mallory' WHERE seq = :s", s=seq)
    elif kind == "delete":
        owner(lab, "DELETE FROM os_audit WHERE seq = :s", s=seq)
    elif kind == "insert":  # a row squeezed in: every later row moves up one
        new = list(rows[at - 1])
        new[3] = "mallory"
        _rehash_free(lab, rows[:at] + [tuple(new)] + rows[at:])
    elif kind == "reorder":
        other = rows[at % len(rows)]
        swapped = list(rows)
        swapped[at - 1], swapped[at % len(rows)] = other, rows[at - 1]
        _rehash_free(lab, swapped)
    else:
        changed = [list(r) for r in rows]
        if kind == "rehash-edit":
            changed[at - 1][3] = "mallory"
        elif kind == "rehash-delete":
            del changed[at - 1]
        elif kind == "rehash-reorder":
            j = at % len(changed)
            changed[at - 1], changed[j] = changed[j], changed[at - 1]
        else:
            changed = changed[: at - 1] if at > 1 else changed[:0]
        for i, row in enumerate(changed):
            row[0] = i + 1
        _rehash(lab, [tuple(r) for r in changed])


def _rehash_free(lab, rows: list[tuple]) -> None:
    """Store ROWS as they are (their old hashes), renumbered 1…n."""
    owner(lab, "DELETE FROM os_audit")
    for i, row in enumerate(rows):
        owner(
            lab,
            "INSERT INTO os_audit (seq, at, kind, actor, proposal_id, rollout_id, detail, "
            "prev_hash, hash) VALUES (:s, :at, :k, :a, :p, :r, :d, :ph, :h)",
            s=i + 1,
            at=row[1],
            k=row[2],
            a=row[3],
            p=row[4],
            r=row[5],
            d=row[6],
            ph=row[7],
            h=row[8],
        )
