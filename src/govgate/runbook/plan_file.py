"""Plan files: load and validate them on their own (YAML, keys, types), into a `Plan`.

Every problem names its file, line and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
)

from ..errors import PlanError, PlanProblem
from ..files import MiB, read_bounded
from .plan import Approvals, Assignment, Plan

PLAN_LIMIT = 16 * MiB  # far above any real plan: its patterns name collections, not rows
MAX_DEPTH = 64  # plans nest four levels deep; deeper YAML is refused before it is built

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]
Pattern = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_*?\[\]!-]+$")
]


class _AssignmentModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    collections: list[Pattern] = Field(min_length=1)
    duties: list[Identifier] | None = Field(default=None, min_length=1)


def _shape(value) -> str | None:
    return "list" if isinstance(value, list) else "map" if isinstance(value, dict) else None


_TAGS = ("list", "map")
_AssignValue = Annotated[
    Annotated[list[Pattern], Tag("list"), Field(min_length=1)]
    | Annotated[_AssignmentModel, Tag("map")],
    Discriminator(
        _shape,
        custom_error_type="assignment_shape",
        custom_error_message="must be a list of collection patterns, or a mapping "
        "with collections (and optional duties)",
    ),
]


Principal = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\s,]+$")]


class _ApprovalsModel(BaseModel):
    """Who must approve: how many distinct people, from whom, valid for how long."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    required: int = Field(default=1, ge=1, le=9)
    from_: list[Principal] | None = Field(default=None, alias="from", min_length=1)
    valid_days: int | None = Field(default=None, ge=1, le=366)


class _PlanModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    proposal: Identifier
    approval: Identifier
    title: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
    protected: list[Pattern]
    assign: dict[Identifier, _AssignValue] = Field(min_length=1)
    approvals: _ApprovalsModel | None = None


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file. Raises PlanError (exit 2) naming each problem."""
    name = str(path)
    try:
        text = read_bounded(path, PLAN_LIMIT).decode("utf-8")
    except FileNotFoundError:
        raise PlanError([PlanProblem("plan file not found", name, hint="check the path")]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise PlanError(
            [
                PlanProblem(
                    f"the plan file is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} "
                    "cannot be decoded",
                    name,
                    line,
                    hint="save the plan as UTF-8",
                )
            ]
        ) from None
    except OSError as exc:
        raise PlanError([PlanProblem(f"cannot read plan file: {exc}", name)]) from None
    return parse_plan(text, name)


def parse_plan(text: str, file: str = "<plan>") -> Plan:
    """Validate plan TEXT; FILE names it in errors."""
    try:
        node = _compose(text, file)
        lines = _line_index(node, file)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise PlanError([_yaml_problem(exc, text, file)]) from None
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        raise PlanError([_too_deep(text, file)]) from None
    if not isinstance(data, dict):
        raise PlanError(
            [
                PlanProblem(
                    "a plan must be a YAML mapping with keys proposal, approval, "
                    "title, protected, assign",
                    file,
                    1,
                )
            ]
        )
    try:
        model = _PlanModel.model_validate(data)
    except ValidationError as exc:
        raise PlanError([_problem_from(err, data, lines, file) for err in exc.errors()]) from None
    return _to_plan(model, lines, file, text)


class _Loader(yaml.SafeLoader):
    """SafeLoader whose value errors (e.g. `!!int abc`) name the value's place."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({exc})", node.start_mark
            ) from exc


def _yaml_problem(exc: yaml.YAMLError, text: str, file: str) -> PlanProblem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark else None
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.reader.ReaderError):  # no mark: only a character position
        line = text[: exc.position].count("\n") + 1
        problem = f"character #x{exc.character:04x} is not allowed ({exc.reason})"
    return PlanProblem(f"not valid YAML: {problem}", file, line, hint="fix the YAML syntax")


def _too_deep(text: str, file: str) -> PlanProblem:
    """Where TEXT nests deeper than MAX_DEPTH, found by PyYAML's parser, which keeps its own
    stack instead of recursing."""
    depth, line = 0, 1
    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(ev, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    line = ev.start_mark.line + 1
                    break
            elif isinstance(ev, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        return _yaml_problem(exc, text, file)
    return PlanProblem(
        f"lists and mappings nested more than {MAX_DEPTH} levels deep",
        file,
        line,
        hint="a plan nests four levels at most: proposal, assign, an authority, its collections",
    )


def _compose(text: str, file: str):
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise PlanError([_yaml_problem(exc, text, file)]) from None
    if node is None:
        raise PlanError([PlanProblem("the plan file is empty", file, 1)])
    return node


def _line_index(
    node, file: str, path: tuple = (), above: frozenset = frozenset(), visited: set | None = None
) -> dict[tuple, int]:
    """Path of every key and item -> its 1-based line; refuses duplicate keys."""
    line_of = node.start_mark.line + 1
    if id(node) in above:  # an alias of one of its own containers
        raise _refused(
            "a value refers to itself (a YAML alias inside its own anchor)",
            file,
            line_of,
            path,
            "write the value out instead of using the alias",
        )
    index = {path: line_of}
    visited = set() if visited is None else visited
    if id(node) in visited:  # an alias of a node indexed already: walking it again could explode
        return index
    visited.add(id(node))
    above = above | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise _refused(
                    "a key must be a plain name, not a list or mapping",
                    file,
                    line,
                    path,
                    "write the key as a name",
                )
            key = key_node.value
            if key in seen:
                raise _refused(
                    f"key '{key}' appears twice (first on line {seen[key]})",
                    file,
                    line,
                    path + (key,),
                    "merge the two entries into one",
                )
            seen[key] = line
            index.update(_line_index(value_node, file, path + (key,), above, visited))
            index[path + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index.update(_line_index(item, file, path + (i,), above, visited))
    return index


def _refused(message: str, file: str, line: int, path: tuple, hint: str) -> PlanError:
    """The PlanError of one problem at PATH (its keys joined by dots; none at the top)."""
    return PlanError([PlanProblem(message, file, line, ".".join(map(str, path)) or None, hint)])


def _problem_from(err: dict, data, lines: dict, file: str) -> PlanProblem:
    path = _data_path(err["loc"], data)
    key = ".".join(str(p) for p in path) or "(top)"
    # The line index is keyed by the YAML text of mapping keys; a key YAML reads as a
    # number (e.g. `2024:`) is an int in DATA, so look it up by its text.
    where = _line_path(path, data)
    line = lines.get(where) or lines.get(where[:-1]) or 1
    return PlanProblem(_explain(err, path), file, line, key, _HINTS.get(err["type"]))


def _line_path(path: tuple, data) -> tuple:
    # list indexes stay ints; mapping keys become the text they have in the file
    out, here = [], data
    for part in path:
        if isinstance(here, list):
            out.append(part)
            here = here[part] if isinstance(part, int) and part < len(here) else None
        else:
            out.append(str(part))
            here = here.get(part) if isinstance(here, dict) else None
    return tuple(out)


def _data_path(loc: tuple, data) -> tuple:
    # pydantic puts the union tags ("list", "map") into loc; keep only real keys and indexes.
    path, here = [], data
    for part in loc:
        if (
            isinstance(here, dict)
            and part in here
            or isinstance(here, list)
            and isinstance(part, int)
            and part < len(here)
        ):
            path.append(part)
            here = here[part]
        elif part not in _TAGS:
            path.append(part)
            break
    return tuple(path)


def _explain(err: dict, path: tuple) -> str:
    kind, last = err["type"], path[-1] if path else None
    if kind == "extra_forbidden":
        return f"unknown key '{last}'"
    if kind == "too_short":
        return f"'{last}' must list at least one entry"
    if kind == "missing":
        return f"required key '{last}' is missing"
    if kind == "string_pattern_mismatch":
        return f"'{err.get('input')}' is not a valid name or pattern"
    return err["msg"].replace("Input should be", "must be")


_HINTS = {
    "extra_forbidden": "allowed keys: proposal, approval, title, protected, assign, approvals; "
    "an assignment takes collections and duties; approvals takes required, from, valid_days",
    "missing": "add the key",
    "string_pattern_mismatch": "use letters, digits and . _ : - (patterns may use * ? [ ])",
}


def _to_plan(model: _PlanModel, lines: dict, file: str, text: str) -> Plan:
    a = model.approvals
    assignments = []
    for authority, spec in model.assign.items():
        base = ("assign", authority)
        if isinstance(spec, list):
            patterns, duties, pat_base = spec, None, base
        else:
            patterns, duties, pat_base = spec.collections, spec.duties, base + ("collections",)
        assignments.append(
            Assignment(
                authority=authority,
                collections=tuple(patterns),
                duties=tuple(duties) if duties is not None else None,
                line=lines.get(base),
                pattern_lines=tuple(lines.get(pat_base + (i,)) for i in range(len(patterns))),
                duty_lines=tuple(lines.get(base + ("duties", i)) for i in range(len(duties or ()))),
            )
        )
    return Plan(
        model.proposal,
        model.approval,
        model.title,
        tuple(model.protected),
        tuple(assignments),
        file,
        text,
        tuple(lines.get(("protected", i)) for i in range(len(model.protected))),
        Approvals(a.required, tuple(a.from_ or ()), a.valid_days) if a else Approvals(),
    )
