"""Every JSON document govgate writes, for real, through one runbook on a lab: each `--json`
command and the dashboard's JSON twins, in each state of the gate, and their errors.

`collect` returns {schema name: [(where it came from, document)]}; the names are those of
docs/json/<name>.schema.json (docs/JSON.md).
"""

from __future__ import annotations

import json
from collections import defaultdict

from starlette.testclient import TestClient

from govgate.web import app as web_app

from support.constants import ROOT
from support.labs import Lab, agent_args, ratify

PLAN = str(ROOT / "plans" / "oneroof-authmodel.yaml")
TWINS = {
    "/status.json": "status",
    "/gap.json": "gap",
    "/verify.json": "verify",
    "/proposal.json": "proposal-view",
    "/report.json": "report",
    "/audit.json?limit=all": "audit-view",
}


def collect(lab: Lab, gg, tmp_path) -> dict[str, list[tuple[str, object]]]:
    found: dict[str, list[tuple[str, object]]] = defaultdict(list)
    db = ("--db", lab.url)
    agent = agent_args(lab)

    def cli(name: str, *args: str, codes=(0,), as_agent: bool = True) -> None:
        run = gg(*(agent if as_agent else db), *args)
        assert run.code in codes, f"{' '.join(args)}: exit {run.code}\n{run.out}{run.err}"
        document = json.loads(run.out)
        found["error" if "error" in document else name].append((" ".join(args), document))

    def twins(client: TestClient) -> None:
        for path, name in TWINS.items():
            answer = client.get(path)
            document = answer.json()
            found["error" if "error" in document else name].append((path, document))

    with TestClient(web_app.create_app(lab.settings)) as client:
        # BLOCKED: nothing approved yet
        cli("status", "status", "--json", "--why")
        cli("gap", "gap", "--json", as_agent=False)
        cli("propose", "propose", PLAN, "--json", as_agent=False)
        cli("verify", "verify", "--json")
        cli("audit", "audit", "--json", as_agent=False)
        cli("audit-verify", "audit", "verify", "--json", as_agent=False)
        cli("doctor", "doctor", "--json", codes=(0, 1))
        cli("upgrade", "upgrade", "--json", as_agent=False)
        cli("passkeys", "passkeys", "--rp-id", "localhost", "--json", as_agent=False)
        cli("error", "rollback", "--dry-run", "--json", codes=(1,))  # nothing to roll back
        cli("error", "report", "--format", "json", codes=(1,), as_agent=False)
        cli("error", "propose", str(tmp_path / "missing.yaml"), "--json", codes=(2,))
        cli("error", "status", "--json", "--no-such-option", codes=(2,))
        twins(client)
        approver = lab.scalar(
            "SELECT id FROM directus_users WHERE email = 'approver@oneroof.example'"
        )
        for who in (str(approver), "nobody@example.org"):
            answer = client.get(
                "/approval-payload.json", params={"approval_id": "APR-JSON-1", "approver": who}
            )
            document = answer.json()
            name = "error" if "error" in document else "approval-payload"
            found[name].append(("/approval-payload.json", document))

        # READY, then APPLIED
        ratify(lab)
        cli("status", "status", "--json")
        cli("apply", "apply", "--dry-run", "--json")
        cli("apply", "apply", "--json")
        cli("status", "status", "--json", "--why")
        cli("verify", "verify", "--json")
        cli("report", "report", "--json", as_agent=False)
        cli("report", "report", "--format", "json", as_agent=False)
        cli("rollback", "rollback", "--dry-run", "--json")
        cli("audit-export", "audit", "export", str(tmp_path / "export"), "--json", as_agent=False)
        checkpoint = str(tmp_path / "export" / "head.json")
        cli("audit-verify", "audit", "verify", "--checkpoint", checkpoint, "--json", as_agent=False)
        cli("error", "apply", "--json", codes=(1,))  # already applied: refused
        twins(client)

        # DRIFTED, then rolled back by force
        lab.execute(
            "UPDATE os_accountability SET authority = 'GOV-DOT' "
            "WHERE collection = 'kg_entities' AND duty = 'ownership'"
        )
        cli("status", "status", "--json", "--why")
        cli("verify", "verify", "--json", codes=(1,))
        cli("error", "rollback", "--yes", "--json", codes=(1,))  # edited records: refused
        cli("rollback", "rollback", "--force", "--yes", "--json")
        twins(client)

    cli("rehearse", "rehearse", "--json", codes=(0, 1))
    folder = tmp_path / "extensions"
    folder.mkdir()
    cli("directus-extension", "directus", "extension", str(folder), "--json", as_agent=False)
    return found
