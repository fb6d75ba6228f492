"""Ratification is human-only (SPEC 4.1): a person at a terminal types the approval id.

`govgate ratify` refuses without an interactive terminal (even when the id is piped in),
refuses the agent's identity and the agent's Directus user before asking anything, and
approves nothing unless exactly the approval id is typed. Every refusal writes nothing.
The whole ratification on a terminal is in test_runbook.py; that the approver's PostgreSQL
login may ratify is in test_roles.py.
"""

from __future__ import annotations

import os
import subprocess

from support.constants import (
    AGENT_DIRECTUS_USER,
    AGENT_IDENTITY,
    APPROVAL,
    APPROVER,
    GOVGATE,
    NO_CONFIG,
    PROMPT,
    PROPOSAL,
)
from support.labs import agent_args, gate, ratify_on_terminal


def test_ratify_as_the_agent_identity_is_refused_on_a_terminal_and_writes_nothing(lab):
    before = lab.snapshot()
    run = ratify_on_terminal(lab, APPROVAL, who=AGENT_IDENTITY)
    assert run.code == 1, run.output
    assert "'govgate-agent' is the agent's identity; the agent can never ratify" in run.output
    assert PROMPT not in run.output  # refused before anything was asked
    assert lab.snapshot() == before
    assert gate(lab)["status"] == "BLOCKED"


def test_ratify_as_the_agents_directus_user_is_refused_on_a_terminal_and_writes_nothing(lab):
    before = lab.snapshot()
    run = ratify_on_terminal(
        lab,
        APPROVAL,
        who=AGENT_DIRECTUS_USER,
        env={"GOVGATE_DIRECTUS_AGENT_USER": AGENT_DIRECTUS_USER},
    )
    assert run.code == 1, run.output
    assert "is the agent's identity; the agent can never ratify" in run.output
    assert lab.snapshot() == before


def test_ratify_without_a_terminal_is_refused_even_when_the_id_is_piped_in(lab):
    before = lab.snapshot()
    result = subprocess.run(
        [GOVGATE, "--db", lab.approver_url, "ratify", PROPOSAL, "--as", APPROVER],
        input=f"{APPROVAL}\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **NO_CONFIG},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "ratification needs a person at an interactive terminal; nothing was written"
        in result.stderr
    )
    assert lab.snapshot() == before
    assert gate(lab)["codes"] == ["no-approval"]


def test_typing_anything_but_the_approval_id_approves_nothing(lab, gg):
    before = lab.snapshot()
    typo = ratify_on_terminal(lab, "APR-BOOT-AUTHMODEL-l")
    assert typo.code == 1, typo.output
    assert "nothing was approved" in typo.output
    assert lab.snapshot() == before
    status = gg(*agent_args(lab), "status")
    assert status.out.strip() == "BLOCKED"
