"""JSON for scripts (docs/JSON.md): every document govgate writes — each `--json` command and
each JSON twin of the dashboard, in every state of the gate, and every error — is an object
whose first key is `format_version`, is described by its schema in docs/json/, and names a
proposal, a rollout or an approval one way only. An error under `--json` is a JSON document on
standard output with the exit code it has without `--json`."""

from __future__ import annotations

import json
import os

import pytest

from support.constants import NO_CONFIG, ROOT
from support.json_outputs import collect
from support.jsonschema_lite import problems
from support.labs import agent_args

SCHEMAS = ROOT / "docs" / "json"
# The names a thing had besides its own before format_version 1: never again in a document.
SECOND_NAMES = {"proposal_id", "rollout_id", "approval_id"}


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def keys_anywhere(value, skip=("detail", "report")) -> set[str]:
    """Every key of VALUE's objects, at any depth (not inside free-form SKIP objects)."""
    if isinstance(value, dict):
        return set(value) | {
            k for key, v in value.items() if key not in skip for k in keys_anywhere(v, skip)
        }
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v, skip)}
    return set()


def test_every_json_output_is_a_versioned_object_that_its_schema_describes(lab, gg, tmp_path):
    found = collect(lab, gg, tmp_path)
    if os.environ.get("GOVGATE_DUMP_JSON"):  # the samples docs/json/ was written from
        with open(os.environ["GOVGATE_DUMP_JSON"], "w", encoding="utf-8") as f:
            json.dump(found, f, indent=1)
    documented = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    assert set(found) == documented, "an output without a schema, or a schema never seen"
    for name, samples in found.items():
        for where, document in samples:
            assert isinstance(document, dict), where
            assert next(iter(document)) == "format_version" and document["format_version"] == 1
            assert problems(document, schema(name)) == [], f"{where} ({name})"
            assert not keys_anywhere(document) & SECOND_NAMES, where


def test_the_schemas_are_documented_in_json_md():
    text = (ROOT / "docs" / "JSON.md").read_text(encoding="utf-8")
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        assert data["properties"]["format_version"]["const"] == 1, path.name
        assert f"json/{path.name}" in text, f"docs/JSON.md does not describe {path.name}"


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (("rollback", "--json"), 1, "Refused"),  # no terminal and no --yes
        (("report", "--format", "json"), 1, "Refused"),  # no rollout yet
        (("propose", "/nonexistent/plan.yaml", "--json"), 2, "PlanError"),
        (("gap", "--json", "--bogus"), 2, "NoSuchOption"),
    ],
    ids=["refused", "no-report", "bad-plan", "bad-option"],
)
def test_an_error_under_json_is_a_json_document_on_stdout_with_the_same_exit_code(
    sqlite_lab, gg, args, code, kind
):
    as_text = gg(*agent_args(sqlite_lab), *[a for a in args if a != "--json"])
    as_json = gg(*agent_args(sqlite_lab), *args)
    assert as_json.code == as_text.code == code
    document = json.loads(as_json.out)
    assert list(document) == ["format_version", "error"]
    assert document["error"]["kind"] == kind and document["error"]["message"]
    assert problems(document, schema("error")) == []
    if kind != "NoSuchOption":  # click's own words for its own errors
        assert document["error"]["message"] in as_text.err.replace("\n", " ") or (
            document["error"]["message"].split(":")[0] in as_text.err
        )


def test_an_unreachable_database_under_json_is_an_environment_error_document(gg, tmp_path):
    os.environ.update(NO_CONFIG)
    run = gg("--db", f"sqlite:///{tmp_path}/none/missing.db", "status", "--json")
    assert run.code == 3
    error = json.loads(run.out)["error"]
    assert error["kind"] in ("DatabaseUnreachable", "SchemaMissing") and error["hint"]
