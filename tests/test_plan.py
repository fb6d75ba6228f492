"""Plan validation: a bad plan gets a clear error saying what and where, exit 2, and changes
nothing (SPEC 4.11, 6).

Every case is a real file run through the real command line, `govgate propose PLAN`,
on SQLite and on PostgreSQL. The error must name the file and the exact line
(`file:LINE:`), the key or slot, and the problem; the database (every row of every
table, and the gate's fingerprint) must be exactly as it was before.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import pytest

from govgate import api

# A valid plan for reference: line 1 proposal ... line 6 the first assignment.
VALID = """\
proposal: PROP-TEST-1
approval: APR-TEST-1
title: Transport takes its collections
protected: [billing_*, signoff_*, law_*]
assign:
  GOV-DOT: [transport_*]
"""

HEAD = """\
proposal: PROP-TEST-1
approval: APR-TEST-1
title: Test plan
protected: [billing_*, signoff_*, law_*]
assign:
"""  # the next line is line 6


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes
    lines: tuple[int, ...]  # each must appear as `plan.yaml:LINE:` in the error
    phrases: tuple[str, ...]  # each must appear in the error
    absent: tuple[str, ...] = ()  # none of these may appear
    setup: tuple[str, ...] = field(default=())  # SQL run on production before the "before" snapshot


def _plan(body: str) -> str:
    """HEAD plus BODY as the entries of `assign` (indented two spaces; its first line is line 6)."""
    return HEAD + textwrap.indent(textwrap.dedent(body), "  ")


CASES = [
    # -- the file is not YAML, or not a mapping ----------------------------------------
    Case(
        "yaml_syntax_error_in_a_flow_list",
        "proposal: PROP-TEST-1\napproval: APR-TEST-1\ntitle: [unclosed\n"
        "protected: []\nassign: {}\n",
        (4,),
        ("not valid YAML", "expected ',' or ']'"),
    ),
    Case(
        "yaml_syntax_error_from_bad_indentation",
        "proposal: PROP-TEST-1\napproval: APR-TEST-1\ntitle: T\n  protected: []\nassign: {}\n",
        (4,),
        ("not valid YAML", "mapping values are not allowed here"),
    ),
    Case(
        "tab_used_for_indentation",
        HEAD + "\tGOV-DOT: [transport_*]\n",
        (6,),
        ("not valid YAML", "'\\t' that cannot start any token"),
    ),
    Case(
        "two_yaml_documents_in_one_file",
        VALID + "---\nproposal: PROP-OTHER\n",
        (7,),
        ("not valid YAML", "found another document"),
    ),
    Case(
        "control_character_in_a_value",
        "proposal: PROP-TEST-1\napproval: APR-TEST-1\ntitle: bell\x07\nprotected: []\n"
        "assign:\n  GOV-DOT: [transport_*]\n",
        (3,),
        ("not valid YAML", "#x0007 is not allowed"),
    ),
    Case(
        "unknown_yaml_tag",
        "proposal: PROP-TEST-1\napproval: APR-TEST-1\ntitle: !!python/object:os.system T\n"
        "protected: []\nassign:\n  GOV-DOT: [transport_*]\n",
        (3,),
        ("not valid YAML", "could not determine a constructor", "python/object:os.system"),
    ),
    Case(
        "int_tag_on_a_word",
        "proposal: PROP-TEST-1\napproval: APR-TEST-1\ntitle: !!int abc\nprotected: []\n"
        "assign:\n  GOV-DOT: [transport_*]\n",
        (3,),
        ("not valid YAML", "cannot read this value", "'abc'"),
    ),
    Case(
        "alias_inside_its_own_anchor",
        "proposal: PROP-TEST-1\napproval: APR-TEST-1\ntitle: T\nprotected: &p [billing_*, *p]\n"
        "assign:\n  GOV-DOT: [transport_*]\n",
        (4,),
        ("a value refers to itself", "(at protected.1)"),
    ),
    Case(
        "nested_aliases_that_would_expand_to_millions_of_entries",
        VALID
        + "l0: &l0 [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9)),
        (7, 15),
        ("unknown key 'l0'", "unknown key 'l8'"),
    ),
    Case("empty_file", "", (1,), ("the plan file is empty",)),
    Case("file_with_only_comments", "# nothing planned yet\n\n", (1,), ("the plan file is empty",)),
    Case("root_is_a_string", "just some words\n", (1,), ("a plan must be a YAML mapping",)),
    Case("root_is_a_list", "- GOV-DOT\n- transport_*\n", (1,), ("a plan must be a YAML mapping",)),
    Case(
        "not_utf8_text",
        b"proposal: PROP-TEST-1\napproval: APR-TEST-1\ntitle: caf\xe9\nprotected: []\n"
        b"assign:\n  GOV-DOT: [transport_*]\n",
        (3,),
        ("not UTF-8", "0xe9"),
    ),
    # -- keys: missing, unknown, twice ---------------------------------------------------
    *[
        Case(
            f"required_key_{key}_missing",
            "".join(
                line + "\n"
                for line in VALID.splitlines()
                if not line.startswith(key + ":")
                and not (key == "assign" and line.startswith("  "))
            ),
            (1,),
            (f"required key '{key}' is missing", f"(at {key})"),
        )
        for key in ("proposal", "approval", "title", "protected", "assign")
    ],
    Case(
        "required_key_missing_after_a_comment_points_at_the_mapping",
        "# a plan\n\napproval: APR-TEST-1\ntitle: T\nprotected: []\n"
        "assign:\n  GOV-DOT: [transport_*]\n",
        (3,),
        ("required key 'proposal' is missing",),
    ),
    Case(
        "unknown_top_level_key",
        VALID.replace("assign:", "owner: jane\nassign:"),
        (5,),
        ("unknown key 'owner'", "(at owner)"),
    ),
    Case(
        "unknown_key_in_an_assignment_mapping",
        _plan("""\
           GOV-DOT:
             collections: [transport_*]
             authority_name: Transport
         """),
        (8,),
        ("unknown key 'authority_name'", "(at assign.GOV-DOT.authority_name)"),
    ),
    Case(
        "duplicate_top_level_key",
        VALID.replace("protected:", "title: Another title\nprotected:"),
        (4,),
        ("key 'title' appears twice (first on line 3)", "(at title)"),
    ),
    Case(
        "duplicate_authority_inside_assign",
        _plan("""\
           GOV-DOT: [transport_*]
           GOV-MOIT: [it_*]
           GOV-DOT: [kg_*]
         """),
        (8,),
        ("key 'GOV-DOT' appears twice (first on line 6)", "(at assign.GOV-DOT)"),
    ),
    Case(
        "duplicate_key_inside_an_assignment_mapping",
        _plan("""\
           GOV-DOT:
             collections: [transport_*]
             collections: [it_*]
         """),
        (8,),
        ("key 'collections' appears twice (first on line 7)", "(at assign.GOV-DOT.collections)"),
    ),
    # -- wrong types -------------------------------------------------------------------
    Case(
        "title_is_a_number",
        VALID.replace("title: Transport takes its collections", "title: 42"),
        (3,),
        ("must be a valid string", "(at title)"),
    ),
    Case(
        "title_is_blank",
        VALID.replace("title: Transport takes its collections", 'title: "   "'),
        (3,),
        ("at least 1 character", "(at title)"),
    ),
    Case(
        "protected_is_a_string",
        VALID.replace("[billing_*, signoff_*, law_*]", "billing_*"),
        (4,),
        ("must be a valid list", "(at protected)"),
    ),
    Case(
        "protected_entry_is_a_number",
        VALID.replace("[billing_*, signoff_*, law_*]", "[billing_*, 5]"),
        (4,),
        ("must be a valid string", "(at protected.1)"),
    ),
    Case(
        "assign_is_a_list",
        HEAD + "  - GOV-DOT\n  - GOV-MOIT\n",
        (5,),
        ("must be a valid dictionary", "(at assign)"),
    ),
    Case(
        "assignment_value_is_a_number",
        _plan("  GOV-DOT: 42\n"),
        (6,),
        ("must be a list of collection patterns, or a mapping", "(at assign.GOV-DOT)"),
    ),
    Case(
        "assignment_value_is_missing",
        _plan("  GOV-DOT: [transport_*]\n  GOV-MOIT:\n"),
        (7,),
        ("must be a list of collection patterns, or a mapping", "(at assign.GOV-MOIT)"),
    ),
    Case(
        "collections_is_a_string",
        _plan("""\
           GOV-DOT:
             collections: transport_*
         """),
        (7,),
        ("must be a valid list", "(at assign.GOV-DOT.collections)"),
    ),
    Case(
        "duties_is_a_string",
        _plan("""\
           GOV-DOT:
             collections: [transport_*]
             duties: ownership
         """),
        (8,),
        ("must be a valid list", "(at assign.GOV-DOT.duties)"),
    ),
    Case(
        "collection_pattern_is_a_number",
        _plan("""\
           GOV-DOT:
             collections:
               - transport_*
               - 7
         """),
        (9,),
        ("must be a valid string", "(at assign.GOV-DOT.collections.1)"),
    ),
    Case(
        "assignment_mapping_without_collections",
        _plan("""\
           GOV-DOT:
             duties: [ownership]
         """),
        (6,),
        ("required key 'collections' is missing", "(at assign.GOV-DOT.collections)"),
    ),
    Case(
        "authority_code_is_a_number",
        _plan("  GOV-DOT: [transport_*]\n  2024: [it_*]\n"),
        (7,),
        ("must be a valid string", "(at assign.2024"),
    ),
    Case(
        "authority_code_is_a_list",
        _plan("  [GOV-DOT, GOV-MOIT]: [transport_*]\n"),
        (6,),
        ("a key must be a plain name, not a list or mapping", "(at assign)"),
    ),
    # -- empty lists -------------------------------------------------------------------
    Case(
        "empty_assign",
        HEAD.replace("assign:\n", "assign: {}\n"),
        (5,),
        ("must list at least one entry", "(at assign)"),
    ),
    Case(
        "empty_pattern_list",
        _plan("  GOV-DOT: []\n"),
        (6,),
        ("must list at least one entry", "(at assign.GOV-DOT)"),
    ),
    Case(
        "empty_collections_list",
        _plan("""\
           GOV-DOT:
             collections: []
         """),
        (7,),
        ("must list at least one entry", "(at assign.GOV-DOT.collections)"),
    ),
    Case(
        "empty_duties_list",
        _plan("""\
           GOV-DOT:
             collections: [transport_*]
             duties: []
         """),
        (8,),
        ("must list at least one entry", "(at assign.GOV-DOT.duties)"),
    ),
    # -- names that are not names --------------------------------------------------------
    Case(
        "invalid_proposal_id_characters",
        VALID.replace("proposal: PROP-TEST-1", "proposal: PROP TEST/1"),
        (1,),
        ("'PROP TEST/1' is not a valid name or pattern", "(at proposal)"),
    ),
    Case(
        "invalid_approval_id_characters",
        VALID.replace("approval: APR-TEST-1", 'approval: "APR\'; DROP"'),
        (2,),
        ("'APR'; DROP' is not a valid name", "(at approval)"),
    ),
    Case(
        "invalid_collection_pattern_characters",
        _plan('  GOV-DOT: ["transport routes; drop"]\n'),
        (6,),
        ("'transport routes; drop' is not a valid name or pattern", "(at assign.GOV-DOT.0)"),
    ),
    # -- the plan does not fit the database -------------------------------------------------
    Case(
        "unknown_authority",
        _plan("  GOV-DOT: [transport_*]\n  GOV-NOPE: [it_*]\n"),
        (7,),
        (
            "unknown authority 'GOV-NOPE'",
            "(at assign.GOV-NOPE)",
            "known authorities: GOV-COUNCIL, GOV-DOT, GOV-KG-SYS, GOV-MOIT",
        ),
    ),
    Case(
        "inactive_authority",
        _plan("  GOV-DOT: [transport_*]\n  GOV-MOIT: [it_*]\n"),
        (7,),
        ("authority 'GOV-MOIT' is inactive", "(at assign.GOV-MOIT)"),
        setup=("UPDATE os_authorities SET active = :false WHERE code = 'GOV-MOIT'",),
    ),
    Case(
        "unknown_duty",
        _plan("""\
           GOV-DOT:
             collections: [transport_*]
             duties:
               - ownership
               - dancing
         """),
        (10,),
        ("unknown duty 'dancing'", "(at assign.GOV-DOT.duties)", "known duties:"),
    ),
    Case(
        "pattern_matching_nothing",
        _plan("""\
           GOV-DOT: [transport_*]
           GOV-MOIT:
             - it_*
             - nothing_*
         """),
        (9,),
        ("pattern 'nothing_*' matches no governed collection", "(at assign.GOV-MOIT)"),
        absent=("'it_*'",),
    ),
    Case(
        "collection_named_literally_that_is_not_governed",
        _plan("  GOV-DOT: [transport_routes]\n  GOV-MOIT: [it_assets, it_nowhere]\n"),
        (7,),
        ("pattern 'it_nowhere' matches no governed collection", "(at assign.GOV-MOIT)"),
        absent=("'it_assets'", "'transport_routes'"),
    ),
    Case(
        "protected_collection_named_literally",
        _plan("  GOV-DOT: [transport_*]\n  GOV-MOIT: [billing_invoices]\n"),
        (7,),
        (
            "'billing_invoices' names a protected collection (protected: billing_*)",
            "(at assign.GOV-MOIT)",
        ),
    ),
    Case(
        "protected_glob",
        _plan("  GOV-DOT: [transport_*]\n  GOV-MOIT: [billing_*]\n"),
        (7,),
        ("'billing_*' names a protected collection (protected: billing_*)", "(at assign.GOV-MOIT)"),
    ),
    Case(
        "catch_all_pattern_could_reach_a_protected_collection",
        _plan('  GOV-DOT: ["*"]\n'),
        (6,),
        ("'*' names a protected collection", "(at assign.GOV-DOT)"),
    ),
    Case(
        "pattern_matching_a_governed_protected_collection",
        _plan('  GOV-DOT: [transport_*]\n  GOV-MOIT: ["*_invoices"]\n'),
        (7,),
        (
            "'*_invoices' matches protected collection 'billing_invoices' (protected: billing_*)",
            "(at assign.GOV-MOIT)",
        ),
        setup=(
            "INSERT INTO os_governed_collections (collection, domain) VALUES "
            "('billing_invoices', 'finance')",
        ),
    ),
    Case(
        "slot_assigned_twice_by_two_authorities",
        _plan("  GOV-DOT: [transport_*]\n  GOV-MOIT: [transport_routes]\n"),
        (7,),
        (
            "conflict: slots transport_routes/access, transport_routes/change, "
            "transport_routes/incident, "
            "transport_routes/ownership, transport_routes/retention, "
            "transport_routes/stewardship are "
            "assigned to both GOV-DOT (line 6) and GOV-MOIT (line 7)",
            "(at assign.GOV-MOIT)",
        ),
        absent=("transport_stops",),
    ),
    Case(
        "duties_restricted_assignments_overlapping",
        _plan("""\
           GOV-DOT:
             collections: [transport_*]
             duties: [ownership, change]
           GOV-MOIT:
             collections: [transport_routes]
             duties: [access, change]
         """),
        (10,),
        (
            "conflict: slot transport_routes/change is assigned to both GOV-DOT (line 7) and "
            "GOV-MOIT (line 10)",
            "(at assign.GOV-MOIT)",
        ),
        absent=("transport_routes/access", "transport_routes/ownership"),
    ),
    Case(
        "slot_already_held_in_production_by_another_authority",
        _plan("  GOV-DOT: [transport_*]\n"),
        (6,),
        (
            "conflict: slot transport_routes/ownership is already held in production by GOV-MOIT, "
            "not GOV-DOT",
            "(at assign.GOV-DOT)",
        ),
        absent=("transport_routes/access",),
        setup=(
            "INSERT INTO os_accountability (collection, duty, authority, rollout_id) "
            "VALUES ('transport_routes', 'ownership', 'GOV-MOIT', NULL)",
        ),
    ),
    Case(
        "several_problems_reported_together",
        _plan("""\
           GOV-DOT: [transport_*, nothing_*]
           GOV-NOPE: [it_*]
           GOV-MOIT:
             collections: [kg_*]
             duties: [dancing]
         """),
        (6, 7, 10),
        (
            "3 problems in the plan; nothing was changed",
            "pattern 'nothing_*' matches no governed",
            "unknown authority 'GOV-NOPE'",
            "unknown duty 'dancing'",
        ),
    ),
    Case(
        "several_shape_problems_reported_together",
        _plan("""\
           GOV-DOT: 42
           GOV-MOIT:
             collections: svc_*
             owner: me
         """).replace("title: Test plan", "title: 7"),
        (3, 6, 8, 9),
        (
            "4 problems in the plan",
            "(at title)",
            "(at assign.GOV-DOT)",
            "(at assign.GOV-MOIT.collections)",
            "unknown key 'owner'",
        ),
    ),
]

assert len({c.id for c in CASES}) == len(CASES)


def _write(tmp_path, text: str | bytes):
    path = tmp_path / "plan.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _before(lab):
    return lab.snapshot(), api.status(lab.settings).fingerprint


def _assert_unchanged(lab, before) -> None:
    snapshot, fingerprint = before
    assert lab.snapshot() == snapshot, "the database changed"
    assert api.status(lab.settings).fingerprint == fingerprint


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_plan_is_refused_with_its_line_and_nothing_changes(case: Case, lab, gg, tmp_path):
    for sql in case.setup:
        lab.execute(sql, **({"false": False} if ":false" in sql else {}))
    before = _before(lab)
    path = _write(tmp_path, case.text)

    result = gg("--db", lab.url, "propose", str(path))

    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err
    for line in case.lines:
        assert f"{path}:{line}:" in result.err, result.err
    for phrase in case.phrases:
        assert phrase in result.err, result.err
    for phrase in case.absent:
        assert phrase not in result.err, result.err
    _assert_unchanged(lab, before)


def test_missing_plan_file_is_refused_by_name(lab, gg, tmp_path):
    before = _before(lab)
    path = tmp_path / "no-such-plan.yaml"
    result = gg("--db", lab.url, "propose", str(path))
    assert result.code == 2
    assert f"{path}: plan file not found" in result.err
    _assert_unchanged(lab, before)


def test_directory_given_as_plan_is_refused_by_name(lab, gg, tmp_path):
    before = _before(lab)
    folder = tmp_path / "plans.yaml"
    folder.mkdir()
    result = gg("--db", lab.url, "propose", str(folder))
    assert result.code == 2
    assert "is a directory" in result.err.lower()
    assert "plans.yaml" in result.err
    _assert_unchanged(lab, before)


def test_valid_plan_with_a_new_proposal_id_is_frozen(lab, gg, tmp_path):
    before = lab.scalar("SELECT COUNT(*) FROM os_proposals")
    path = _write(tmp_path, VALID)
    result = gg("--db", lab.url, "propose", str(path))
    assert result.code == 0, result.err
    assert "proposal PROP-TEST-1 frozen" in result.out
    assert lab.scalar("SELECT COUNT(*) FROM os_proposals") == before + 1
    assert lab.scalar("SELECT COUNT(*) FROM os_proposals WHERE id = 'PROP-TEST-1'") == 1


def test_bad_plan_error_lists_each_problem_on_its_own_line(lab, gg, tmp_path):
    path = _write(tmp_path, _plan("  GOV-NOPE: [transport_*]\n  GOV-MOIT: [nothing_*]\n"))
    result = gg("--db", lab.url, "propose", str(path))
    assert result.code == 2
    bullets = [line for line in result.err.splitlines() if line.strip().startswith("•")]
    assert len(bullets) == 2
    assert f"{path}:6:" in bullets[0] and "GOV-NOPE" in bullets[0]
    assert f"{path}:7:" in bullets[1] and "nothing_*" in bullets[1]
