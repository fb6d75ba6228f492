"""Names, identities and paths the suite shares: each defined here once.

The values are the One-Roof demo's (`govgate demo`, plans/oneroof-authmodel.yaml) and the
logins the lab fixtures create on PostgreSQL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# -- paths ---------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "govgate"
SUPPORT = Path(__file__).resolve().parent
ONE_ROOF_PLAN = ROOT / "plans" / "oneroof-authmodel.yaml"
DIRECTUS_SCHEMA = ROOT / "tests" / "directus" / "data" / "directus-12.4.0-schema.json"
GOVGATE = str(Path(sys.executable).parent / "govgate")  # the installed command line

# -- the demo's proposal and the people around it --------------------------------------------
PROPOSAL = "PROP-AUTHMODEL-1"
APPROVAL = "APR-BOOT-AUTHMODEL-1"  # the approval id a human types to ratify PROPOSAL
APPROVER = "approver@oneroof.example"  # the demo's human approver (a Directus user)
AGENT_DIRECTUS_USER = "agent@oneroof.example"  # the demo's agent (a Directus user)
AGENT_IDENTITY = "govgate-agent"  # who the agent says it is in journals and the audit trail
AUTHORITIES = ("GOV-COUNCIL", "GOV-DOT", "GOV-KG-SYS", "GOV-MOIT")
DUTIES = ("access", "change", "incident", "ownership", "retention", "stewardship")
# authority -> (slots, collections) the demo's proposal makes it accountable for
SLOTS = {"GOV-DOT": (54, 9), "GOV-MOIT": (48, 8), "GOV-KG-SYS": (48, 8), "GOV-COUNCIL": (60, 10)}

# -- PostgreSQL logins the lab fixtures create (in roles made by `govgate init --roles`) -------
AGENT_LOGIN = "gg_agent_login"  # in govgate_agent
APPROVER_LOGIN = "gg_approver_login"  # in govgate_approver

# -- the command line ----------------------------------------------------------------------
PROMPT = "Type the approval id"  # what `govgate ratify` asks on a terminal
# The command line reads no configuration file: /dev/null names an empty one (a file that does
# not exist is an error, and ./govgate.toml would be read when GOVGATE_CONFIG is unset).
NO_CONFIG = {"GOVGATE_CONFIG": os.devnull}
