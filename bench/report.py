"""The benchmark's table, its ratios, the targets of issue #14 and the cost curve's series.

A case result is a dict: db, collections, duties, slots, and `ms`: {measure: median ms}, where a
measure is `ip:OP` (govgate in-process), `cli:OP` (a govgate process), or a baseline's name
(`floor`, `floor_cli`, `floor_delete`, `sqitch_deploy`, `sqitch_status`, `sqitch_verify`,
`sqitch_revert`, `directus_create`, `directus_delete`).
"""

from __future__ import annotations

from measure import OPERATIONS

# govgate's CLI operation -> the Sqitch command doing the same; in-process operation -> its floor
SQITCH_OF = {
    "apply": "sqitch_deploy",
    "status": "sqitch_status",
    "status-applied": "sqitch_status",
    "verify": "sqitch_verify",
    "rollback": "sqitch_revert",
}
FLOOR_OF = {"apply": "floor", "rollback": "floor_delete"}
# The two `status` targets hold for the gate before the rollout (READY) and once it is applied.
_CLI_STATUSES = (("cli:status", "status"), ("cli:status-applied", "status, applied"))
BASELINES = (
    ("govgate --version", None, "cli:startup", "process start-up and imports alone"),
    ("page poll, unchanged", "ip:poll", None, "GET /status.json, nothing committed since"),
    ("floor", "floor", "floor_cli", "COPY / executemany, one transaction"),
    ("floor delete", "floor_delete", None, "DELETE, one transaction"),
    ("sqitch deploy --verify", None, "sqitch_deploy", ""),
    ("sqitch status", None, "sqitch_status", ""),
    ("sqitch verify", None, "sqitch_verify", ""),
    ("sqitch revert -y", None, "sqitch_revert", ""),
    ("directus REST create", "directus_create", None, "POST /items, one request"),
    ("directus REST delete", "directus_delete", None, "DELETE /items, one request"),
)
HEADER = (
    "database",
    "size",
    "slots",
    "operation",
    "in-proc ms",
    "CLI ms",
    "in-proc µs/slot",
    "CLI µs/slot",
    "CLI/sqitch",
    "in-proc/floor",
    "CLI/floor-proc",
)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def rows(results: list[dict]) -> list[dict]:
    """One row per database x size x operation (govgate's, then the baselines')."""
    out = []
    for r in results:
        ms, slots = r["ms"], r["slots"]
        base = {"database": r["db"], "size": r["label"], "slots": slots}
        for op in OPERATIONS:
            ip, cli = ms.get(f"ip:{op}"), ms.get(f"cli:{op}")
            out.append(
                {
                    **base,
                    "operation": op,
                    "in_process_ms": ip,
                    "cli_ms": cli,
                    "in_process_us_per_slot": ip * 1000 / slots if ip else None,
                    "cli_us_per_slot": cli * 1000 / slots if cli else None,
                    "cli_vs_sqitch": _ratio(cli, ms.get(SQITCH_OF.get(op, ""))),
                    "in_process_vs_floor": _ratio(ip, ms.get(FLOOR_OF.get(op, ""))),
                    "cli_vs_floor_process": _ratio(cli, ms.get("floor_cli"))
                    if op == "apply"
                    else None,
                }
            )
        for name, ip_key, cli_key, note in BASELINES:
            ip, cli = ms.get(ip_key or ""), ms.get(cli_key or "")
            if ip is None and cli is None:
                continue
            out.append(
                {
                    **base,
                    "operation": name,
                    "note": note,
                    "in_process_ms": ip,
                    "cli_ms": cli,
                    "in_process_us_per_slot": ip * 1000 / slots if ip else None,
                    "cli_us_per_slot": cli * 1000 / slots if cli else None,
                }
            )
    return out


def _cell(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def table(table_rows: list[dict]) -> str:
    """The rows as a Markdown table (readable as plain text too)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * 3 + "---|" + "---:|" * 7]
    for r in table_rows:
        cells = [
            r["database"],
            r["size"],
            f"{r['slots']:,}",
            r["operation"],
            _cell(r["in_process_ms"]),
            _cell(r["cli_ms"]),
            _cell(r["in_process_us_per_slot"], 1),
            _cell(r["cli_us_per_slot"], 1),
            _cell(r.get("cli_vs_sqitch"), 2),
            _cell(r.get("in_process_vs_floor"), 1),
            _cell(r.get("cli_vs_floor_process"), 1),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _check(name: str, value: float | None, limit: float, unit: str = "×") -> dict:
    ok = None if value is None else value <= limit
    return {"target": name, "value": value, "limit": limit, "unit": unit, "met": ok}


def targets(results: list[dict]) -> list[dict]:
    """Issue #14's targets, each with the value measured, per database."""
    out = []
    for db in sorted({r["db"] for r in results}):
        mine = sorted((r for r in results if r["db"] == db), key=lambda r: r["slots"])
        demo = next((r for r in mine if r["collections"] == 35 and r["duties"] == 6), None)
        if demo:
            ms = demo["ms"]
            out.append(
                _check(
                    f"{db} 35×6: CLI apply ≤ 0.5 × sqitch deploy --verify",
                    _ratio(ms.get("cli:apply"), ms.get("sqitch_deploy")),
                    0.5,
                )
            )
            for key, word in _CLI_STATUSES:
                status = ms.get(key)
                out.append(
                    _check(f"{db} 35×6: CLI {word} < 0.12 s", status and status / 1000, 0.12, "s")
                )
        big = [r for r in mine if r["slots"] >= 40_000]
        if big:
            r = min(big, key=lambda r: r["slots"])
            ms, at = r["ms"], f"{db} {r['label']} ({r['slots']:,} slots)"
            out += [
                _check(
                    f"{at}: CLI apply ≤ sqitch deploy --verify",
                    _ratio(ms.get("cli:apply"), ms.get("sqitch_deploy")),
                    1.0,
                ),
                _check(
                    f"{at}: in-process apply ≤ 3 × floor",
                    _ratio(ms.get("ip:apply"), ms.get("floor")),
                    3.0,
                ),
                _check(
                    f"{at}: CLI rollback ≤ sqitch revert",
                    _ratio(ms.get("cli:rollback"), ms.get("sqitch_revert")),
                    1.0,
                ),
                *(
                    _check(f"{at}: CLI {word} < 0.2 s", ms.get(key) and ms[key] / 1000, 0.2, "s")
                    for key, word in _CLI_STATUSES
                ),
                _check(f"{at}: page poll, unchanged, < 50 ms", ms.get("ip:poll"), 50.0, " ms"),
            ]
        flat = [r for r in mine if r["duties"] == 6]
        if len(flat) > 1:
            for key in ("ip:apply", "cli:apply", "ip:rollback", "ip:status", "ip:status-applied"):
                per_slot = [r["ms"][key] / r["slots"] for r in flat if r["ms"].get(key)]
                if len(per_slot) == len(flat):
                    out.append(
                        _check(
                            f"{db} {flat[0]['label']}→{flat[-1]['label']}: {key} time per slot "
                            "flat (max/min)",
                            max(per_slot) / min(per_slot),
                            1.5,
                        )
                    )
    return out


def targets_text(checks: list[dict]) -> str:
    lines = []
    for c in checks:
        mark = {True: "MET ", False: "MISS", None: "n/a "}[c["met"]]
        value = "—" if c["value"] is None else f"{c['value']:.3g}"
        lines.append(f"  [{mark}] {c['target']}: {value} (limit {c['limit']:g}{c['unit']})")
    return "\n".join(lines)


def comparisons(results: list[dict]) -> list[str]:
    """Ratios the table has no column for: govgate against Directus's REST API."""
    out = []
    for r in results:
        ms = r["ms"]
        for mine, theirs, words in (
            ("ip:apply", "directus_create", "in-process apply / Directus REST create"),
            ("ip:rollback", "directus_delete", "in-process rollback / Directus REST delete"),
            ("cli:apply", "directus_create", "CLI apply / Directus REST create"),
        ):
            ratio = _ratio(ms.get(mine), ms.get(theirs))
            if ratio is not None:
                out.append(f"  {r['db']} {r['label']}: {words} = {ratio:.2f}")
    return out


def curve_series(results: list[dict]) -> tuple[dict, dict]:
    """({database: {series: {slots: µs/slot}}}, {slots: "N X D"}) for curve.draw."""
    wanted = {f"ip:{op}": op for op in OPERATIONS}
    wanted.update({f"cli:{op}": f"cli {op}" for op in ("status", "apply", "rollback")})
    wanted.update(
        floor="floor",
        floor_cli="floor cli",
        sqitch_deploy="sqitch deploy",
        sqitch_revert="sqitch revert",
    )
    panels: dict[str, dict[str, dict[int, float]]] = {}
    notes = {}
    for r in results:
        notes[r["slots"]] = f"{r['collections']:,} X {r['duties']}"
        series = panels.setdefault(r["db"], {})
        for key, name in wanted.items():
            if r["ms"].get(key):
                series.setdefault(name, {})[r["slots"]] = r["ms"][key] * 1000 / r["slots"]
    return panels, notes
