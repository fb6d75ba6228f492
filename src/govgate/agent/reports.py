"""The report files the agent writes after a rollout: JSON and plain text, each atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..runbook.report import sentences
from ..runbook.verify import VerifyResult


def write_report(
    report_dir: str | os.PathLike, rollout_id: str, report: dict, verification: VerifyResult
) -> tuple[Path, Path]:
    """Write REPORT_DIR/<rollout>.json and .txt (each atomically); returns both paths."""
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = dict(report)
    data["verification"] = {
        "ok": verification.ok,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in verification.checks],
    }
    words = "all green" if verification.ok else "FAILED"
    text = [
        *sentences(report),
        "",
        f"Verification after commit: {words}.",
        *[f"  {'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in verification.checks],
    ]
    paths = folder / f"{rollout_id}.json", folder / f"{rollout_id}.txt"
    _atomic_write(paths[0], json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    _atomic_write(paths[1], "\n".join(text) + "\n")
    return paths


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
