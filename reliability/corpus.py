"""The bad-input corpus: plans, database URLs, configuration files, command arguments and
web query strings, each with the exit code (or HTTP status) and the places its message must name.

Small inputs are written here as text; the large ones (/dev/zero aside) are generated at run time
into the run's folder; reliability/corpus/ holds hand-made files kept as they are. Expectations
are the contract (SPEC section 7, errors.py): 2 bad input, 3 environment (a well-formed URL
naming no database, a file that cannot be written).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent / "corpus"
LINE = "<line>"  # in `where`: the message must name the file with a line number, `plan.yaml:N`


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    argv: tuple[str, ...]  # {db}: the lab's URL; {dir}: the run's folder; {file}: the input file
    code: int = 2
    where: tuple[str, ...] = ()  # each must appear in the message ({file}: the file's name)
    content: bytes | None = None  # written to {dir}/<id>.<ext> as {file}
    ext: str = "yaml"
    env: dict = field(default_factory=dict)
    path: str | None = None  # {file} is this path instead (a device, a folder, a corpus file)


HEAD = "proposal: PROP-BAD-1\napproval: APR-BAD-1\ntitle: A bad plan\n"
PROTECTED = "protected: [billing_*, signoff_*, law_*]\n"


def plan(body: str, head: str = HEAD + PROTECTED) -> bytes:
    return (head + body).encode()


def _plans() -> list[Case]:
    cases: list[tuple[str, bytes, tuple[str, ...]]] = []
    # YAML bombs: aliases multiplying a list (the billion laughs), and an alias in its own anchor.
    for depth in (3, 6, 9, 12):
        lines = ["a0: &a0 [transport_*, transport_*, transport_*, transport_*]"]
        lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, depth)]
        body = "\n".join(lines) + f"\nassign:\n  GOV-DOT: *a{depth - 1}\n"
        cases.append((f"bomb_{depth}", plan(body), (LINE,)))
    cases.append(("bomb_self", plan("assign: &x\n  GOV-DOT: *x\n"), (LINE, "assign")))
    cases.append(
        ("bomb_merge", plan("assign:\n  <<: &m {GOV-DOT: [transport_*]}\n  <<: *m\n"), (LINE,))
    )
    # Deep nesting, in flow and block style.
    for depth in (50, 500, 5000, 50000):
        cases.append(
            (
                f"deep_list_{depth}",
                plan(f"assign:\n  GOV-DOT: {'[' * depth}{']' * depth}\n"),
                (LINE,),
            )
        )
        cases.append(
            (
                f"deep_map_{depth}",
                plan("assign: " + "{a: " * depth + "1" + "}" * depth + "\n"),
                (LINE,),
            )
        )
    for depth in (100, 1000):
        body = "assign:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth))
        cases.append((f"deep_block_{depth}", plan(body + "  " * (depth + 1) + "x\n"), (LINE,)))
    # Duplicate keys, at every level.
    cases += [
        (
            "dup_top",
            plan("assign:\n  GOV-DOT: [transport_*]\n", HEAD + PROTECTED + PROTECTED),
            (LINE, "protected"),
        ),
        (
            "dup_proposal",
            plan("assign:\n  GOV-DOT: [transport_*]\nproposal: PROP-BAD-2\n"),
            (LINE, "proposal"),
        ),
        (
            "dup_authority",
            plan("assign:\n  GOV-DOT: [transport_*]\n  GOV-DOT: [it_*]\n"),
            (LINE, "GOV-DOT"),
        ),
        (
            "dup_in_mapping",
            plan("assign:\n  GOV-DOT:\n    collections: [transport_*]\n    collections: [it_*]\n"),
            (LINE, "collections"),
        ),
        (
            "dup_quoted",
            plan("assign:\n  GOV-DOT: [transport_*]\n  'GOV-DOT': [it_*]\n"),
            (LINE, "GOV-DOT"),
        ),
    ]
    # Byte order marks and encodings other than UTF-8.
    valid_body = "assign:\n  GOV-DOT: [transport_*]\n"
    text = (HEAD + PROTECTED + valid_body).replace("title: A bad plan", "title: [unclosed")
    cases += [
        ("bom_utf8_bad_yaml", b"\xef\xbb\xbf" + text.encode(), (LINE,)),
        ("bom_utf16le", b"\xff\xfe" + (HEAD + PROTECTED + valid_body).encode("utf-16-le"), ()),
        ("bom_utf16be", b"\xfe\xff" + (HEAD + PROTECTED + valid_body).encode("utf-16-be"), ()),
        ("bom_utf32", b"\xff\xfe\x00\x00" + (HEAD + valid_body).encode("utf-32-le"), ()),
        ("bom_inside_key", plan("\ufeffassign:\n  GOV-DOT: [transport_*]\n"), (LINE,)),
        ("bom_in_authority", plan("assign:\n  \ufeffGOV-DOT: [transport_*]\n"), (LINE,)),
        (
            "latin1",
            plan("assign:\n  GOV-DOT: [transport_*]\n").replace(b"A bad", b"Un \xe9t\xe9"),
            (LINE,),
        ),
    ]
    # Invalid UTF-8 at several places.
    for i, bad in enumerate(
        (
            b"\xff",
            b"\xc3\x28",
            b"\xe2\x82",
            b"\xf0\x28\x8c\xbc",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf8\x88\x80\x80\x80",
        )
    ):
        cases.append((f"utf8_title_{i}", plan(valid_body).replace(b"A bad", b"A " + bad), (LINE,)))
        cases.append((f"utf8_key_{i}", plan(valid_body).replace(b"GOV-DOT", bad + b"GOV"), (LINE,)))
    # Confusable characters: Cyrillic, Greek, full-width and mathematical look-alikes.
    for i, (name, fake) in enumerate(
        [
            ("GOV-DOT", "GOV-D\u041eT"),
            ("GOV-DOT", "G\u039fV-DOT"),
            ("GOV-DOT", "\uff27\uff2f\uff36-DOT"),
            ("GOV-DOT", "GOV\u2010DOT"),
            ("GOV-DOT", "GOV-DO\u0422"),
            ("transport_*", "tr\u0430nsport_*"),
            ("transport_*", "transport\uff3f*"),
            ("transport_*", "\U0001d42d\U0001d42bansport_*"),
        ]
    ):
        cases.append((f"confusable_{i}", plan(valid_body.replace(name, fake)), (LINE,)))
    for i, (real, fake) in enumerate(
        (("proposal", "pr\u043eposal"), ("assign", "assi\u0261n"), ("protected", "prote\u0441ted"))
    ):
        body = (HEAD + PROTECTED + valid_body).replace(real + ":", fake + ":", 1)
        cases.append((f"confusable_key_{i}", body.encode(), (LINE,)))
    # Control characters: terminal escapes, NUL, bidi overrides, invisible characters.
    for i, ch in enumerate(
        (
            "\x00",
            "\x1b[2J",
            "\x07",
            "\x08",
            "\x7f",
            "\u202e",
            "\u2066",
            "\u200b",
            "\u200d",
            "\u2028",
            "\x85",
            "\ufff9",
            "\U000e0041",
        )
    ):
        cases.append(
            (f"control_authority_{i}", plan(valid_body.replace("GOV-DOT", f"GOV{ch}DOT")), (LINE,))
        )
        cases.append(
            (
                f"control_pattern_{i}",
                plan(valid_body.replace("transport_*", f"trans{ch}*")),
                (LINE,),
            )
        )
    # SQL-looking names.
    for i, sql in enumerate(
        (
            "x'; DROP TABLE os_audit; --",
            "1 OR 1=1",
            '"; DELETE FROM os_rollouts',
            "os_audit/*",
            "`billing_invoices`",
            "transport_*) OR (1=1",
            "$$; drop table x; $$",
            "%' --",
        )
    ):
        cases.append((f"sql_authority_{i}", plan(f'assign:\n  "{sql}": [transport_*]\n'), (LINE,)))
        cases.append((f"sql_pattern_{i}", plan(f'assign:\n  GOV-DOT: ["{sql}"]\n'), (LINE,)))
    for i, sql in enumerate(("PROP'--", "PROP; DROP TABLE os_proposals")):
        cases.append(
            (
                f"sql_proposal_{i}",
                plan(valid_body, HEAD.replace("PROP-BAD-1", f'"{sql}"') + PROTECTED),
                (LINE, "proposal"),
            )
        )
    # Protected collections reached through glob character classes and wildcards.
    for i, pattern in enumerate(
        (
            "[b]illing_*",
            "[a-c]illing_invoices",
            "billin?_*",
            "*_invoices",
            "*",
            "[!a]illing_*",
            "[b-b]illing_[i]nvoices",
            "?illing_*",
            "[s]ignoff_*",
            "l[a]w_*",
            "*ign*",
            "[bsl]*",
        )
    ):
        cases.append(
            (f"protected_{i}", plan(f'assign:\n  GOV-DOT: ["{pattern}"]\n'), (LINE, "protected"))
        )
    # Wrong shapes and types.
    cases += [
        ("not_a_mapping", b"- a\n- b\n", (LINE,)),
        ("scalar_only", b"just words\n", (LINE,)),
        ("empty_file", b"", (LINE,)),
        ("only_comment", b"# nothing\n", (LINE,)),
        (
            "proposal_number",
            plan(valid_body, HEAD.replace("PROP-BAD-1", "123") + PROTECTED),
            (LINE, "proposal"),
        ),
        ("assign_list", plan("assign: [GOV-DOT]\n"), (LINE, "assign")),
        ("assign_empty", plan("assign: {}\n"), (LINE, "assign")),
        ("protected_missing", plan(valid_body, HEAD), ("protected",)),
        ("unknown_key", plan(valid_body + "extra: 1\n"), (LINE, "extra")),
        ("unknown_authority", plan("assign:\n  GOV-NOBODY: [transport_*]\n"), (LINE,)),
        (
            "unknown_duty",
            plan("assign:\n  GOV-DOT:\n    collections: [transport_*]\n    duties: [bribery]\n"),
            (LINE,),
        ),
        ("no_match", plan("assign:\n  GOV-DOT: [nothing_like_this_*]\n"), (LINE,)),
        (
            "twice_assigned",
            plan("assign:\n  GOV-DOT: [transport_*]\n  GOV-MOIT: [transport_*]\n"),
            (LINE, "GOV-DOT", "GOV-MOIT"),
        ),
        (
            "tagged_python",
            plan(valid_body + "x: !!python/object/apply:os.system ['true']\n"),
            (LINE,),
        ),
        ("tagged_int", plan(valid_body.replace("transport_*", "!!int abc")), (LINE,)),
        ("huge_int", plan(valid_body + "approvals: {required: " + "9" * 5000 + "}\n"), (LINE,)),
        ("tab_indent", plan("assign:\n\tGOV-DOT: [transport_*]\n"), (LINE,)),
        ("long_title", plan(valid_body).replace(b"A bad plan", b"x" * 100_000), ()),
        ("long_name", plan(valid_body.replace("GOV-DOT", "G" * 10_000)), (LINE,)),
    ]
    out = [
        Case(f"plan_{i}", "plan", ("--db", "{db}", "propose", "{file}"), 2, ("{file}", *w), c)
        for i, c, w in cases
    ]
    # Devices, folders and files that are not plans.
    for i, path in (
        ("dev_zero", "/dev/zero"),
        ("dev_urandom", "/dev/urandom"),
        ("dev_null", "/dev/null"),
        ("folder", "{dir}"),
        ("missing", "{dir}/nope.yaml"),
        ("proc_self", "/proc/self/mem"),
    ):
        out.append(
            Case(
                f"plan_{i}",
                "plan",
                ("--db", "{db}", "propose", "{file}"),
                2,
                ("{file}",),
                path=path,
            )
        )
    for name in sorted(os.listdir(HERE)) if HERE.is_dir() else []:
        if name.endswith(".yaml"):
            out.append(
                Case(
                    f"plan_corpus_{name}",
                    "plan",
                    ("--db", "{db}", "propose", "{file}"),
                    2,
                    ("{file}",),
                    path=str(HERE / name),
                )
            )
    return out


def generated_files(folder: Path) -> list[Case]:
    """Large inputs, made at run time (never committed): a 20 MB plan, a 20 MB config."""
    big_plan = folder / "huge.yaml"
    with open(big_plan, "wb") as f:
        f.write(plan("assign:\n  GOV-DOT: [transport_*]\n# "))
        f.write(b"x" * (20 * 1024 * 1024))
        f.write(b"\nunknown_key_at_the_end: 1\n")  # past the 16 MiB limit: refused unparsed
    wide = folder / "wide.yaml"
    with open(wide, "wb") as f:
        f.write(plan("assign:\n  GOV-DOT: [" + ", ".join(["transport_*"] * 400_000) + ", bad!]\n"))
    big_conf = folder / "huge.toml"
    big_conf.write_bytes(b'[agent]\nidentity = "' + b"a" * (20 * 1024 * 1024) + b'"\nx = 1\n')
    argv = ("--db", "{db}", "propose", "{file}")
    return [
        Case("plan_huge_20mb", "plan", argv, 2, ("{file}", "16 MiB"), path=str(big_plan)),
        Case("plan_400k_items", "plan", argv, 2, ("{file}",), path=str(wide)),
        Case(
            "config_huge_20mb",
            "config",
            ("--config", "{file}", "--db", "{db}", "status"),
            2,
            ("{file}",),
            path=str(big_conf),
        ),
    ]
