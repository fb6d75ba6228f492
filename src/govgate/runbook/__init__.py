"""The runbook's stages: plan, resolve, proposal, ratify, gate, apply, verify, rollback, report."""
