"""Properties (hypothesis): on generated productions and plans, apply then rollback is the
identity, verify is green after apply, and the fingerprint does not depend on row order.

A production is the One-Roof demo changed by the strategy: governed collections and duties
removed, authorities added, slots already held by the authority the plan gives them. A plan
assigns disjoint sets of the remaining collections to some authorities, each with all duties or
a subset. Every example is recorded (hypothesis does not stop at the first failure: the figure
counts them all). "Identity" compares every table row by row, except the journals a rollout
must leave behind (os_audit, os_rollouts, os_approval_uses: the spent approval stays spent).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govgate import api
from govgate.db.engine import Mode
from govgate.db.session import session
from govgate.db.state import read_state
from govgate.runbook.gate import Status

from .common import Figure, Servers, tally
from support.labs import ratify, with_settings

FAMILY = "properties"
JOURNALS = ("os_audit", "os_rollouts", "os_approval_uses")
SHUFFLED = ("os_governed_collections", "os_duties", "os_authorities", "os_accountability")
COLLECTIONS = 35


@st.composite
def production_and_plan(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    drop_collections = draw(st.integers(0, 20))
    drop_duties = draw(st.integers(0, 4))
    new_authorities = draw(st.integers(0, 3))
    assignees = draw(st.integers(1, 4 + new_authorities))
    held = draw(st.integers(0, 10))
    subset_duties = draw(st.booleans())
    return dict(
        seed=seed,
        drop_collections=drop_collections,
        drop_duties=drop_duties,
        new_authorities=new_authorities,
        assignees=assignees,
        held=held,
        subset_duties=subset_duties,
    )


def build(lab, spec: dict, folder: Path, n: int) -> tuple[str, Path]:
    """Change LAB's production as SPEC says; write the plan; returns (proposal id, plan path)."""
    rng = random.Random(spec["seed"])
    collections = [r[0] for r in lab.rows("SELECT collection FROM os_governed_collections")]
    duties = [r[0] for r in lab.rows("SELECT code FROM os_duties")]
    authorities = [r[0] for r in lab.rows("SELECT code FROM os_authorities")]
    rng.shuffle(collections)
    for name in collections[: spec["drop_collections"]]:
        lab.execute("DELETE FROM os_governed_collections WHERE collection = :c", c=name)
    collections = sorted(collections[spec["drop_collections"] :])
    for code in rng.sample(duties, spec["drop_duties"]):
        lab.execute("DELETE FROM os_duties WHERE code = :d", d=code)
        duties.remove(code)
    for i in range(spec["new_authorities"]):
        code = f"GOV-GEN-{i}"
        lab.execute(
            "INSERT INTO os_authorities (code, name, active) VALUES (:c, :n, :a)",
            c=code,
            n=f"Generated authority {i}",
            a=True,
        )
        authorities.append(code)
    chosen = rng.sample(sorted(authorities), min(spec["assignees"], len(authorities)))
    rng.shuffle(collections)
    shares = [collections[i :: len(chosen)] for i in range(len(chosen))]
    assign, slots = {}, []
    for code, share in zip(chosen, shares, strict=True):
        if not share:
            continue
        mine = (
            sorted(rng.sample(duties, rng.randint(1, len(duties))))
            if spec["subset_duties"]
            else None
        )
        assign[code] = {"collections": share, "duties": mine} if mine else share
        slots += [(c, d, code) for c in share for d in (mine or duties)]
    # Some slots already held by the very authority the plan gives them: left out of records.
    for c, d, code in rng.sample(slots, min(spec["held"], max(0, len(slots) - 1))):
        lab.execute(
            "INSERT INTO os_accountability (collection, duty, authority) VALUES (:c, :d, :a)",
            c=c,
            d=d,
            a=code,
        )
    pid = f"PROP-GEN-{n}"
    plan = {
        "proposal": pid,
        "approval": f"APR-GEN-{n}",
        "title": "Generated",
        "protected": ["billing_*", "signoff_*", "law_*"],
        "assign": assign,
    }
    path = folder / f"plan-{n}.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return pid, path


def fingerprint(lab, pid: str) -> str:
    with session(lab.url, Mode.READ) as conn:
        return read_state(conn, pid).fingerprint


def reordered_fingerprint(lab, pid: str, seed: int, folder: Path) -> str:
    """The fingerprint of a copy of LAB whose rows the fingerprint reads were deleted and
    inserted again in another order (new row ids). A copy: the lab itself stays as it is."""
    copy = folder / f"reordered-{seed}.db"
    shutil.copyfile(lab.url.removeprefix("sqlite:///"), copy)
    other = with_settings(lab, db_url=f"sqlite:///{copy}")
    reorder(other, seed)
    try:
        return fingerprint(other, pid)
    finally:
        copy.unlink()


def reorder(lab, seed: int) -> None:
    """Delete and re-insert the rows the fingerprint reads, in another order (new row ids)."""
    rng = random.Random(seed)
    for table in SHUFFLED:
        engine = lab.engine()
        try:
            with engine.begin() as conn:
                cols = list(conn.exec_driver_sql(f"SELECT * FROM {table} LIMIT 1").keys())
                keep = [c for c in cols if c != "id"]  # a new id each: the order is all new
                rows = [
                    tuple(r)
                    for r in conn.exec_driver_sql(f"SELECT {', '.join(keep)} FROM {table}").all()
                ]
                rng.shuffle(rows)
                conn.exec_driver_sql(f"DELETE FROM {table}")
                marks = ", ".join("?" for _ in keep)
                for row in rows:
                    conn.exec_driver_sql(
                        f"INSERT INTO {table} ({', '.join(keep)}) VALUES ({marks})", row
                    )
        finally:
            engine.dispose()


def check(lab, spec: dict, folder: Path, n: int) -> dict[str, tuple[bool, str]]:
    what = f"example {n} {spec}"
    pid, path = build(lab, spec, folder, n)
    api.propose(lab.settings, str(path), actor="engineer")
    ratify(lab, proposal=pid)
    out = {}
    before_fp = fingerprint(lab, pid)
    same = reordered_fingerprint(lab, pid, spec["seed"], folder) == before_fp
    before = lab.snapshot(exclude=JOURNALS)
    api.apply(lab.settings)
    applied_fp = fingerprint(lab, pid)
    same = same and reordered_fingerprint(lab, pid, spec["seed"] + 1, folder) == applied_fp
    out["order"] = (same, f"{what}: the fingerprint moved when the rows were reordered")
    green = api.status(lab.settings).status is Status.APPLIED and api.verify(lab.settings).ok
    out["verify"] = (green, f"{what}: verify not green after apply")
    api.rollback(lab.settings)
    out["identity"] = (
        lab.snapshot(exclude=JOURNALS) == before and fingerprint(lab, pid) == before_fp,
        f"{what}: rollback not identity",
    )
    return out


def run(servers: Servers, examples: int, folder: Path) -> list[Figure]:
    """EXAMPLES generated productions and plans, each on a fresh SQLite lab (the reordering
    works on a copy of the file: SQLite, where a copy is a file copy)."""
    backend = "sqlite"
    results: dict[str, list] = {"identity": [], "verify": [], "order": []}
    counter = [0]

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(production_and_plan())
    def example(spec):
        counter[0] += 1
        lab = servers.lab(backend)
        try:
            found = check(lab, spec, folder, counter[0])
        except Exception as exc:  # an example that errors is a failed example, never skipped
            found = {
                k: (False, f"example {counter[0]} {spec}: {type(exc).__name__}: {exc}")
                for k in results
            }
        finally:
            servers.drop(lab)
        for key, value in found.items():
            results[key].append(value)

    example()
    minimum = 200 if examples >= 200 else 0
    return [
        tally(
            FAMILY,
            "apply then rollback is the identity, row by row",
            results["identity"],
            minimum=minimum,
        ),
        tally(FAMILY, "verify green after apply", results["verify"], minimum=minimum),
        tally(FAMILY, "fingerprint independent of row order", results["order"], minimum=minimum),
    ]
