"""Plan files (SPEC section 6): load, validate, and resolve into exact slots.

Loading checks the file on its own (YAML, keys, types); resolving checks it
against the database's state (authorities, duties, collections, protection,
double assignment). Every problem names its file, line and key.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Union

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, ValidationError

from .errors import PlanError, PlanProblem
from .state import Slot, State

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_*?\[\]!-]+$")]


class _AssignmentModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    collections: list[Pattern] = Field(min_length=1)
    duties: list[Identifier] | None = Field(default=None, min_length=1)


def _shape(value) -> str | None:
    return "list" if isinstance(value, list) else "map" if isinstance(value, dict) else None


_TAGS = ("list", "map")
_AssignValue = Annotated[
    Union[Annotated[list[Pattern], Tag("list"), Field(min_length=1)], Annotated[_AssignmentModel, Tag("map")]],
    Discriminator(_shape, custom_error_type="assignment_shape",
                  custom_error_message="must be a list of collection patterns, or a mapping "
                                       "with collections (and optional duties)"),
]


class _PlanModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    proposal: Identifier
    approval: Identifier
    title: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
    protected: list[Pattern]
    assign: dict[Identifier, _AssignValue] = Field(min_length=1)


@dataclass(frozen=True)
class Assignment:
    """One authority's share of a plan, with where it stands in the file."""

    authority: str
    collections: tuple[str, ...]
    duties: tuple[str, ...] | None  # None: every duty
    line: int | None
    pattern_lines: tuple[int | None, ...]
    duty_lines: tuple[int | None, ...]


@dataclass(frozen=True)
class Plan:
    """A validated plan file: inert, it knows nothing of any database."""

    proposal: str
    approval: str
    title: str
    protected: tuple[str, ...]
    assignments: tuple[Assignment, ...]
    file: str
    text: str
    protected_lines: tuple[int | None, ...] = ()

    def problem(self, message: str, line: int | None, key: str, hint: str | None = None) -> PlanProblem:
        return PlanProblem(message, self.file, line, key, hint)


# -- loading ---------------------------------------------------------------------


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file. Raises PlanError (exit 2) naming each problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError([PlanProblem("plan file not found", name, hint="check the path")]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise PlanError([PlanProblem(f"the plan file is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} "
                                     "cannot be decoded", name, line, hint="save the plan as UTF-8")]) from None
    except OSError as exc:
        raise PlanError([PlanProblem(f"cannot read plan file: {exc}", name)]) from None
    return parse_plan(text, name)


def parse_plan(text: str, file: str = "<plan>") -> Plan:
    """Validate plan TEXT; FILE names it in errors."""
    node = _compose(text, file)
    lines = _line_index(node, file)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise PlanError([_yaml_problem(exc, text, file)]) from None
    if not isinstance(data, dict):
        raise PlanError([PlanProblem("a plan must be a YAML mapping with keys proposal, approval, "
                                     "title, protected, assign", file, 1)])
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
            raise yaml.constructor.ConstructorError(None, None, f"cannot read this value ({exc})",
                                                    node.start_mark) from exc


def _yaml_problem(exc: yaml.YAMLError, text: str, file: str) -> PlanProblem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark else None
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.reader.ReaderError):  # no mark: only a character position
        line = text[:exc.position].count("\n") + 1
        problem = f"character #x{exc.character:04x} is not allowed ({exc.reason})"
    return PlanProblem(f"not valid YAML: {problem}", file, line, hint="fix the YAML syntax")


def _compose(text: str, file: str):
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise PlanError([_yaml_problem(exc, text, file)]) from None
    if node is None:
        raise PlanError([PlanProblem("the plan file is empty", file, 1)])
    return node


def _line_index(node, file: str, path: tuple = (), above: frozenset = frozenset(),
                visited: set | None = None) -> dict[tuple, int]:
    """Path of every key and item -> its 1-based line; refuses duplicate keys."""
    line_of = node.start_mark.line + 1
    if id(node) in above:  # an alias of one of its own containers
        raise PlanError([PlanProblem("a value refers to itself (a YAML alias inside its own anchor)",
                                     file, line_of, ".".join(map(str, path)) or None,
                                     "write the value out instead of using the alias")])
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
                raise PlanError([PlanProblem("a key must be a plain name, not a list or mapping", file, line,
                                             ".".join(map(str, path)) or None, "write the key as a name")])
            key = key_node.value
            if key in seen:
                raise PlanError([PlanProblem(f"key '{key}' appears twice (first on line {seen[key]})",
                                             file, line, ".".join(map(str, path + (key,))),
                                             "merge the two entries into one")])
            seen[key] = line
            index.update(_line_index(value_node, file, path + (key,), above, visited))
            index[path + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index.update(_line_index(item, file, path + (i,), above, visited))
    return index


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
        if isinstance(here, dict) and part in here:
            path.append(part)
            here = here[part]
        elif isinstance(here, list) and isinstance(part, int) and part < len(here):
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
    "extra_forbidden": "allowed keys: proposal, approval, title, protected, assign; "
                       "an assignment takes collections and duties",
    "missing": "add the key",
    "string_pattern_mismatch": "use letters, digits and . _ : - (patterns may use * ? [ ])",
}


def _to_plan(model: _PlanModel, lines: dict, file: str, text: str) -> Plan:
    assignments = []
    for authority, spec in model.assign.items():
        base = ("assign", authority)
        if isinstance(spec, list):
            patterns, duties, pat_base = spec, None, base
        else:
            patterns, duties, pat_base = spec.collections, spec.duties, base + ("collections",)
        assignments.append(Assignment(
            authority=authority,
            collections=tuple(patterns),
            duties=tuple(duties) if duties is not None else None,
            line=lines.get(base),
            pattern_lines=tuple(lines.get(pat_base + (i,)) for i in range(len(patterns))),
            duty_lines=tuple(lines.get(base + ("duties", i)) for i in range(len(duties or ()))),
        ))
    return Plan(model.proposal, model.approval, model.title, tuple(model.protected),
                tuple(assignments), file, text,
                tuple(lines.get(("protected", i)) for i in range(len(model.protected))))


# -- resolving against the database --------------------------------------------------


def resolve(plan: Plan, state: State) -> tuple[Slot, ...]:
    """The exact slots the plan assigns, checked against STATE.

    Slots already held in production by the same authority are left out (they are
    in place already). Raises PlanError naming every problem found.
    """
    problems: list[PlanProblem] = []
    known = {code: active for code, _, active in state.authorities}
    claims: dict[tuple[str, str], dict[str, int | None]] = defaultdict(dict)  # slot -> authority -> line
    for a in plan.assignments:
        problems += _authority_problems(plan, a, known)
        duties = _duties_of(plan, a, state, problems)
        for collection, line in _collections_of(plan, a, state, problems):
            for duty in duties:
                claims[(collection, duty)].setdefault(a.authority, line)
    problems += _double_claims(plan, claims)
    problems += _held_elsewhere(plan, claims, state.holders())
    if problems:
        raise PlanError(problems)
    holders = state.holders()
    return tuple(Slot(c, d, next(iter(who))) for (c, d), who in sorted(claims.items())
                 if not holders.get((c, d)))


def _grouped(items) -> dict:
    """(collection, key) -> duties, so one problem speaks for a whole collection."""
    out: dict = defaultdict(list)
    for (collection, duty), key in items:
        out[(collection, key)].append(duty)
    return out


def _slots_text(collection: str, duties: list[str]) -> str:
    names = ", ".join(f"{collection}/{d}" for d in duties)
    return f"slot {names} is" if len(duties) == 1 else f"slots {names} are"


def _double_claims(plan: Plan, claims: dict) -> list[PlanProblem]:
    doubles = ((slot, tuple(who.items())) for slot, who in claims.items() if len(who) > 1)
    out = []
    for (collection, who), duties in _grouped(doubles).items():
        names = " and ".join(f"{a} (line {line})" for a, line in who)
        out.append(plan.problem(f"conflict: {_slots_text(collection, duties)} assigned to both {names}",
                                who[-1][1], f"assign.{who[-1][0]}", "assign each slot to one authority only"))
    return out


def _held_elsewhere(plan: Plan, claims: dict, holders: dict) -> list[PlanProblem]:
    held = ((slot, (tuple(sorted(holders[slot])), a, line)) for slot, who in claims.items()
            for a, line in who.items() if holders.get(slot, set()) - {a})
    return [plan.problem(f"conflict: {_slots_text(collection, duties)} already held in production by "
                         f"{', '.join(others)}, not {a}", line, f"assign.{a}",
                         "leave them out of the plan or remove the existing rows first")
            for (collection, (others, a, line)), duties in _grouped(held).items()]


def _authority_problems(plan: Plan, a: Assignment, known: dict[str, bool]) -> list[PlanProblem]:
    key = f"assign.{a.authority}"
    if a.authority not in known:
        return [plan.problem(f"unknown authority '{a.authority}'", a.line, key,
                             f"known authorities: {', '.join(sorted(known)) or 'none'}")]
    if not known[a.authority]:
        return [plan.problem(f"authority '{a.authority}' is inactive", a.line, key,
                             "activate it in os_authorities or assign its slots to another")]
    return []


def _duties_of(plan: Plan, a: Assignment, state: State, problems: list) -> list[str]:
    every = [code for code, _ in state.duties]
    if a.duties is None:
        return every
    for duty, line in zip(a.duties, a.duty_lines):
        if duty not in every:
            problems.append(plan.problem(f"unknown duty '{duty}'", line, f"assign.{a.authority}.duties",
                                         f"known duties: {', '.join(every) or 'none'}"))
    seen = []
    for duty in a.duties:
        if duty in every and duty not in seen:
            seen.append(duty)
    return seen


def _collections_of(plan: Plan, a: Assignment, state: State, problems: list) -> list[tuple[str, int | None]]:
    """(collection, line of the pattern that matched it) for each collection the assignment names."""
    governed = [c for c, _ in state.governed]
    matched: dict[str, int | None] = {}
    key = f"assign.{a.authority}"
    for pattern, line in zip(a.collections, a.pattern_lines):
        guard = _protected_by(plan, pattern)
        if guard:
            problems.append(plan.problem(f"'{pattern}' names a protected collection (protected: {guard})",
                                         line, key, "protected collections can never be assigned"))
            continue
        hits = [c for c in governed if fnmatch.fnmatchcase(c, pattern)]
        if not hits:
            problems.append(plan.problem(f"pattern '{pattern}' matches no governed collection", line, key,
                                         "check the spelling, or add the table to os_governed_collections"))
        for hit in hits:
            guard = _protected_by(plan, hit)
            if guard:
                problems.append(plan.problem(f"'{pattern}' matches protected collection '{hit}' "
                                             f"(protected: {guard})", line, key,
                                             "narrow the pattern so it leaves protected collections out"))
            else:
                matched.setdefault(hit, line)
    return list(matched.items())


def _protected_by(plan: Plan, name: str) -> str | None:
    # A pattern is refused when it could name a protected collection, e.g. `billing_*`.
    for guard in plan.protected:
        if fnmatch.fnmatchcase(name, guard) or fnmatch.fnmatchcase(guard, name):
            return guard
    return None
